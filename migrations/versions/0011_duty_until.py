"""When a field worker's shift ends, so routing does not queue work they could only start after it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('duty_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('users', 'duty_until')
