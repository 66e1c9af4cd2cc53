"""Proactive discovery: inspectors' presence per forecast cell and day, and patrol rounds.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cell_looks',
        sa.Column('cell', sa.String(16), primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('grid_id', sa.Integer(), sa.ForeignKey('grids.id', ondelete='SET NULL'), nullable=True),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('looks', sa.Integer(), nullable=False),
        sa.Column('last_by', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
    )
    op.create_index('ix_cell_looks_grid_id', 'cell_looks', ['grid_id'])
    op.create_index('ix_cell_looks_last_at', 'cell_looks', ['last_at'])
    op.create_table(
        'patrol_rounds',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('status', sa.String(24), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('budget_min', sa.Integer(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('stops', postgresql.JSONB(), nullable=False),
    )
    op.create_index('ix_patrol_rounds_user_id', 'patrol_rounds', ['user_id'])
    op.create_index('uq_patrol_round_active', 'patrol_rounds', ['user_id'], unique=True,
                    postgresql_where=sa.text("status = 'active'"))


def downgrade():
    op.drop_table('patrol_rounds')
    op.drop_table('cell_looks')
