"""Offline actions from the inspectors' app: a per-actor idempotency key on case events; categories fixable on the
spot (即时处置).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('case_events', sa.Column('client_action_id', sa.String(length=64), nullable=True))
    op.create_unique_constraint('uq_case_events_action_key', 'case_events', ['actor_id', 'client_action_id'])
    op.add_column('categories', sa.Column('fix_on_site', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('categories', 'fix_on_site')
    op.drop_constraint('uq_case_events_action_key', 'case_events', type_='unique')
    op.drop_column('case_events', 'client_action_id')
