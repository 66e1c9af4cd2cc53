"""Dispatching: learned worker statistics, notifications, job state, and the check task on cases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('system_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_system_state'))
    )
    op.create_table('worker_stats',
    sa.Column('worker_id', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=48), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('handle_min', sa.Float(), nullable=False),
    sa.Column('first_fix_rate', sa.Float(), nullable=False),
    sa.Column('satisfaction', sa.Float(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['worker_id'], ['users.id'], name=op.f('fk_worker_stats_worker_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('worker_id', 'category_code', name=op.f('pk_worker_stats'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_notifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    op.create_index(op.f('ix_notifications_case_id'), 'notifications', ['case_id'], unique=False)
    op.create_index('ix_notifications_user_unread', 'notifications', ['user_id', 'read_at'], unique=False)
    op.add_column('cases', sa.Column('checker_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_cases_checker_id_users'), 'cases', 'users', ['checker_id'], ['id'], ondelete='SET NULL')


def downgrade():
    op.drop_constraint(op.f('fk_cases_checker_id_users'), 'cases', type_='foreignkey')
    op.drop_column('cases', 'checker_id')
    op.drop_index('ix_notifications_user_unread', table_name='notifications')
    op.drop_index(op.f('ix_notifications_case_id'), table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('worker_stats')
    op.drop_table('system_state')
