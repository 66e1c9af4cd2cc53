"""Updates to citizens: contacts following a case (with an opt-out secret) and the messages sent to them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_subscriptions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id', ondelete='CASCADE'), nullable=False),
        sa.Column('channel', sa.String(8), nullable=False),
        sa.Column('address', sa.String(120), nullable=False),
        sa.Column('locale', sa.String(10), nullable=False),
        sa.Column('token', sa.String(64), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('case_id', 'channel', 'address', name='uq_subscription_contact'),
    )
    op.create_index('ix_case_subscriptions_case_id', 'case_subscriptions', ['case_id'])
    op.create_table(
        'citizen_deliveries',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('subscription_id', sa.Integer(), sa.ForeignKey('case_subscriptions.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('event_id', sa.Integer(), sa.ForeignKey('case_events.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(300), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('subscription_id', 'event_id', name='uq_delivery_once'),
    )


def downgrade():
    op.drop_table('citizen_deliveries')
    op.drop_index('ix_case_subscriptions_case_id', table_name='case_subscriptions')
    op.drop_table('case_subscriptions')
