"""Initial schema: regions and grids, categories and calendar, people, cameras, cases and their event chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    # PostGIS must exist before any geometry column; downgrade leaves it (other schemas may use it).
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('cameras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('heading_deg', sa.Float(), nullable=True),
    sa.Column('stream_url', sa.String(length=500), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('fps', sa.Float(), nullable=False),
    sa.Column('frame_width', sa.Integer(), nullable=True),
    sa.Column('frame_height', sa.Integer(), nullable=True),
    sa.Column('calibration', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('calibration_rms_m', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cameras')),
    sa.UniqueConstraint('code', name=op.f('uq_cameras_code'))
    )
    op.create_geospatial_index('idx_cameras_position', 'cameras', ['position'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('case_counters',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_case_counters'))
    )
    op.create_table('category_classes',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_category_classes'))
    )
    op.create_table('departments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_departments_code'))
    )
    op.create_index(op.f('ix_departments_type'), 'departments', ['type'], unique=False)
    op.create_table('holidays',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_workday', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_holidays'))
    )
    op.create_table('regions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('level', sa.Enum('district', 'street', 'community', name='regionlevel', native_enum=False, length=24), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['regions.id'], name=op.f('fk_regions_parent_id_regions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions')),
    sa.UniqueConstraint('code', name=op.f('uq_regions_code'))
    )
    op.create_index(op.f('ix_regions_parent_id'), 'regions', ['parent_id'], unique=False)
    op.create_table('camera_zones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('pixel_polygon', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('category_codes', postgresql.ARRAY(sa.String(length=48)), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_camera_zones_camera_id_cameras'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera_zones'))
    )
    op.create_index(op.f('ix_camera_zones_camera_id'), 'camera_zones', ['camera_id'], unique=False)
    op.create_table('categories',
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('class_code', sa.String(length=32), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('detectable', sa.Boolean(), nullable=False),
    sa.Column('default_priority', sa.SmallInteger(), nullable=False),
    sa.Column('dispatch_minutes', sa.Integer(), nullable=False),
    sa.Column('handle_minutes', sa.Integer(), nullable=False),
    sa.Column('check_minutes', sa.Integer(), nullable=False),
    sa.Column('time_basis', sa.Enum('natural', 'working', name='timebasis', native_enum=False, length=24), nullable=False),
    sa.Column('department_type', sa.String(length=32), nullable=False),
    sa.Column('allow_outside_grid', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['class_code'], ['category_classes.code'], name=op.f('fk_categories_class_code_category_classes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_categories'))
    )
    op.create_geospatial_table('grids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('properties', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['regions.id'], name=op.f('fk_grids_community_id_regions'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grids')),
    sa.UniqueConstraint('code', name=op.f('uq_grids_code'))
    )
    op.create_geospatial_index('idx_grids_geom', 'grids', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_grids_community_id'), 'grids', ['community_id'], unique=False)
    op.create_geospatial_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('role', sa.Enum('citizen', 'worker', 'handler', 'dispatcher', 'supervisor', 'admin', 'system', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.SmallInteger(), nullable=False),
    sa.Column('last_position', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_users_department_id_departments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_geospatial_index('idx_users_last_position', 'users', ['last_position'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_users_role'), 'users', ['role'], unique=False)
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_api_tokens_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'], unique=False)
    op.create_geospatial_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Enum('camera', 'citizen', 'inspector', 'hotline', 'api', name='source', native_enum=False, length=24), nullable=False),
    sa.Column('category_code', sa.String(length=48), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.Enum('reported', 'verified', 'filed', 'dispatched', 'accepted', 'handling', 'resolved', 'closed', 'suspended', 'invalid', 'void', 'merged', name='casestatus', native_enum=False, length=24), nullable=False),
    sa.Column('suspended_from', sa.Enum('reported', 'verified', 'filed', 'dispatched', 'accepted', 'handling', 'resolved', 'closed', 'suspended', 'invalid', 'void', 'merged', name='casestatus', native_enum=False, length=24), nullable=True),
    sa.Column('suspended_remaining_min', sa.Float(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatch_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handle_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('check_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('reporter_name', sa.String(length=80), nullable=True),
    sa.Column('reporter_contact', sa.String(length=80), nullable=True),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('client_request_id', sa.String(length=64), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('delay_count', sa.Integer(), nullable=False),
    sa.Column('return_count', sa.Integer(), nullable=False),
    sa.Column('pending_delay_minutes', sa.Integer(), nullable=True),
    sa.Column('pending_delay_reason', sa.String(length=500), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('rating_comment', sa.String(length=1000), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.String(length=500), nullable=True),
    sa.Column('extra', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('priority BETWEEN 1 AND 4', name=op.f('ck_cases_priority_range')),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_cases_rating_range')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_cases_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_cases_camera_id_cameras'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_cases_category_code_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_cases_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_cases_grid_id_grids'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_cases_handler_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['cases.id'], name=op.f('fk_cases_merged_into_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_cases_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('client_request_id', name=op.f('uq_cases_client_request_id')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    op.create_geospatial_index('idx_cases_location', 'cases', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_cases_assignee_id'), 'cases', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_cases_category_code'), 'cases', ['category_code'], unique=False)
    op.create_index(op.f('ix_cases_grid_id'), 'cases', ['grid_id'], unique=False)
    op.create_index('ix_cases_reported_at', 'cases', ['reported_at'], unique=False)
    op.create_index(op.f('ix_cases_reporter_id'), 'cases', ['reporter_id'], unique=False)
    op.create_index('ix_cases_status_category', 'cases', ['status', 'category_code'], unique=False)
    op.create_table('grid_owners',
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grids.id'], name=op.f('fk_grid_owners_grid_id_grids'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grid_owners_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grid_id', 'user_id', name=op.f('pk_grid_owners'))
    )
    op.create_index(op.f('ix_grid_owners_user_id'), 'grid_owners', ['user_id'], unique=False)
    op.create_table('user_skills',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category_code', sa.String(length=48), nullable=False),
    sa.ForeignKeyConstraint(['category_code'], ['categories.code'], name=op.f('fk_user_skills_category_code_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_skills_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'category_code', name=op.f('pk_user_skills'))
    )
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.Enum('report', 'verify', 'invalidate', 'file', 'dispatch', 'accept', 'handle', 'feedback', 'check_pass', 'check_fail', 'evaluate', 'reopen', 'return', 'request_delay', 'approve_delay', 'reject_delay', 'suspend', 'resume', 'void', 'merge', 'add_evidence', name='action', native_enum=False, length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=24), nullable=False),
    sa.Column('from_status', sa.Enum('reported', 'verified', 'filed', 'dispatched', 'accepted', 'handling', 'resolved', 'closed', 'suspended', 'invalid', 'void', 'merged', name='casestatus', native_enum=False, length=24), nullable=True),
    sa.Column('to_status', sa.Enum('reported', 'verified', 'filed', 'dispatched', 'accepted', 'handling', 'resolved', 'closed', 'suspended', 'invalid', 'void', 'merged', name='casestatus', native_enum=False, length=24), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_case_events_hash'))
    )
    op.create_index(op.f('ix_case_events_case_id'), 'case_events', ['case_id'], unique=False)
    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('mime', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('evidence', 'before', 'after', 'check', name='mediakind', native_enum=False, length=24), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_media_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['case_events.id'], name=op.f('fk_media_event_id_case_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_media_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media'))
    )
    op.create_index(op.f('ix_media_case_id'), 'media', ['case_id'], unique=False)
    op.create_index(op.f('ix_media_sha256'), 'media', ['sha256'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_media_sha256'), table_name='media')
    op.drop_index(op.f('ix_media_case_id'), table_name='media')
    op.drop_table('media')
    op.drop_index(op.f('ix_case_events_case_id'), table_name='case_events')
    op.drop_table('case_events')
    op.drop_table('user_skills')
    op.drop_index(op.f('ix_grid_owners_user_id'), table_name='grid_owners')
    op.drop_table('grid_owners')
    op.drop_index('ix_cases_status_category', table_name='cases')
    op.drop_index(op.f('ix_cases_reporter_id'), table_name='cases')
    op.drop_index('ix_cases_reported_at', table_name='cases')
    op.drop_index(op.f('ix_cases_grid_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_category_code'), table_name='cases')
    op.drop_index(op.f('ix_cases_assignee_id'), table_name='cases')
    op.drop_geospatial_index('idx_cases_location', table_name='cases', postgresql_using='gist', column_name='location')
    op.drop_geospatial_table('cases')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index(op.f('ix_users_role'), table_name='users')
    op.drop_geospatial_index('idx_users_last_position', table_name='users', postgresql_using='gist', column_name='last_position')
    op.drop_geospatial_table('users')
    op.drop_index(op.f('ix_grids_community_id'), table_name='grids')
    op.drop_geospatial_index('idx_grids_geom', table_name='grids', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('grids')
    op.drop_table('categories')
    op.drop_index(op.f('ix_camera_zones_camera_id'), table_name='camera_zones')
    op.drop_table('camera_zones')
    op.drop_index(op.f('ix_regions_parent_id'), table_name='regions')
    op.drop_table('regions')
    op.drop_table('holidays')
    op.drop_index(op.f('ix_departments_type'), table_name='departments')
    op.drop_table('departments')
    op.drop_table('category_classes')
    op.drop_table('case_counters')
    op.drop_geospatial_index('idx_cameras_position', table_name='cameras', postgresql_using='gist', column_name='position')
    op.drop_geospatial_table('cameras')
