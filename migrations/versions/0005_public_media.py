"""Public copies of photos (re-encoded without EXIF) beside the private originals.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('media', sa.Column('public_path', sa.String(length=255), nullable=True))


def downgrade():
    op.drop_column('media', 'public_path')
