"""Idempotency keys scoped to their reporter; one revocable row per sign-in.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cases', sa.Column('request_scope', sa.String(length=80), nullable=True))
    # Keys already stored belonged to whoever reported the case; anonymous ones get no scope (a retry of
    # those makes a new case rather than revealing the old one).
    op.execute("UPDATE cases SET request_scope = 'user:' || reporter_id "
               "WHERE client_request_id IS NOT NULL AND reporter_id IS NOT NULL")
    op.drop_constraint(op.f('uq_cases_client_request_id'), 'cases', type_='unique')
    op.create_unique_constraint('uq_cases_request_key', 'cases', ['request_scope', 'client_request_id'])
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
    op.drop_constraint('uq_cases_request_key', 'cases', type_='unique')
    op.create_unique_constraint(op.f('uq_cases_client_request_id'), 'cases', ['client_request_id'])
    op.drop_column('cases', 'request_scope')
