"""Longitude and latitude of each case as stored numbers beside its point, for the map's viewport aggregation.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    # Generated from `location` by PostgreSQL (STORED): counting cases per screen cell over hundreds of thousands
    # of rows reads two floats instead of calling ST_X/ST_Y several times per row (bench/viewport.py).
    op.add_column('cases', sa.Column('lon', sa.Float(), sa.Computed('ST_X(location)', persisted=True)))
    op.add_column('cases', sa.Column('lat', sa.Float(), sa.Computed('ST_Y(location)', persisted=True)))


def downgrade():
    op.drop_column('cases', 'lat')
    op.drop_column('cases', 'lon')
