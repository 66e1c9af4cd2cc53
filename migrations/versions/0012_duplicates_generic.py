"""A photo's perceptual hash, for the duplicate score; categories that are only a catch-all (其他) to classify.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('media', sa.Column('phash', sa.BigInteger(), nullable=True))
    op.add_column('categories', sa.Column('generic', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    op.drop_column('categories', 'generic')
    op.drop_column('media', 'phash')
