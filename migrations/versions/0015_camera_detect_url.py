"""Cameras: the sub-stream detection reads (detect_url), for a register imported with `flask cameras import`.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cameras', sa.Column('detect_url', sa.String(500), server_default='', nullable=False))


def downgrade():
    op.drop_column('cameras', 'detect_url')
