"""Vision nodes and camera leases: many machines share the cameras, each taken by one node at a time.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('cameras', sa.Column('node', sa.String(64), nullable=True))
    op.add_column('cameras', sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cameras', sa.Column('lease_version', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_cameras_node', 'cameras', ['node'])
    op.create_table(
        'vision_nodes',
        sa.Column('name', sa.String(64), primary_key=True),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table('vision_nodes')
    op.drop_index('ix_cameras_node', table_name='cameras')
    op.drop_column('cameras', 'lease_version')
    op.drop_column('cameras', 'lease_expires_at')
    op.drop_column('cameras', 'node')
