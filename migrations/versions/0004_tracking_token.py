"""Citizens' private tracking links on cases.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('tracking_token', sa.String(length=43), nullable=True))
    op.create_unique_constraint(op.f('uq_cases_tracking_token'), 'cases', ['tracking_token'])


def downgrade():
    op.drop_constraint(op.f('uq_cases_tracking_token'), 'cases', type_='unique')
    op.drop_column('cases', 'tracking_token')
