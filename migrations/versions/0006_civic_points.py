"""Civic points (文明积分) for citizens' valid reports; public photo copies looked up by path.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('civic_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('points', sa.SmallInteger(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_civic_points_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_civic_points_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_civic_points')),
    sa.UniqueConstraint('user_id', 'case_id', 'reason', name='uq_civic_points_award')
    )
    op.create_index(op.f('ix_civic_points_user_id'), 'civic_points', ['user_id'], unique=False)
    op.create_index(op.f('ix_media_public_path'), 'media', ['public_path'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_media_public_path'), table_name='media')
    op.drop_index(op.f('ix_civic_points_user_id'), table_name='civic_points')
    op.drop_table('civic_points')
