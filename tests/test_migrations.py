"""Alembic: one head, a clean upgrade and downgrade on an empty database, and no drift from the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from app import create_app
from app.config import BASE_DIR, TestConfig
from app.extensions import db

MIGRATIONS = BASE_DIR / "migrations"


def test_single_head():
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


@pytest.fixture
def empty_db_app(app):
    url = make_url(TestConfig.SQLALCHEMY_DATABASE_URI)
    scratch = url.set(database=f"{url.database}_migrations")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    mig_app = create_app({**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
                          "SQLALCHEMY_DATABASE_URI": scratch.render_as_string(hide_password=False)})
    yield mig_app
    with mig_app.app_context():
        db.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
    admin.dispose()


def _tables(engine):
    return set(sa.inspect(engine).get_table_names()) - {"spatial_ref_sys"}


def test_upgrade_downgrade_upgrade_on_empty_database(empty_db_app):
    with empty_db_app.app_context():
        upgrade()
        tables = _tables(db.engine)
        assert {"cases", "case_events", "grids", "users", "categories", "cameras"} <= tables
        indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("cases")}
        assert "idx_cases_location" in indexes  # GiST index created by the migration
        downgrade(revision="base")
        assert _tables(db.engine) == {"alembic_version"}
        upgrade()
        assert _tables(db.engine) == tables


def test_models_match_migrations(app):
    """Autogenerate against the migrated test database finds nothing to do (same filter as env.py)."""
    from geoalchemy2 import alembic_helpers

    def include(obj, name, obj_type, reflected, compare_to):
        if obj_type == "table" and reflected and compare_to is None:
            return False
        return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        assert compare_metadata(ctx, db.metadata) == []


def test_audit_chains_rechained_both_ways(empty_db_app, capfd):
    """0008 re-links the one global chain per case (and back), and refuses a log that does not verify."""
    from app.models import CaseEvent
    from app.services.audit import GENESIS, chain_hash, verify_chain
    from app.services.catalog import load_categories
    from tests.factories import Cast, advance, make_grids, reported

    with empty_db_app.app_context():
        upgrade()
        load_categories()
        make_grids()
        cast = Cast()
        for to in ("closed", "dispatched", "verified"):
            advance(cast, reported(cast), to)
        db.session.commit()
        per_case = dict(db.session.execute(sa.select(CaseEvent.id, CaseEvent.hash)).all())
        db.session.rollback()  # the migration's DDL waits for any transaction still reading the table

        downgrade(revision="0007")
        then = [c for c in CaseEvent.__table__.c if c.name != "client_action_id"]  # added by 0009
        rows = db.session.execute(sa.select(*then).order_by(CaseEvent.id)).all()
        prev = GENESIS
        for row in rows:  # one chain over the table, in id order, as before 0008
            assert row.prev_hash == prev and row.hash == chain_hash(prev, row)
            prev = row.hash
        db.session.rollback()

        upgrade()
        assert verify_chain().ok
        assert dict(db.session.execute(sa.select(CaseEvent.id, CaseEvent.hash)).all()) == per_case
        db.session.rollback()

        downgrade(revision="0007")
        db.session.execute(sa.text("UPDATE case_events SET note = 'forged' WHERE id = 3"))
        db.session.commit()
        with pytest.raises(SystemExit):  # Flask-Migrate logs the error and exits 1
            upgrade()
        assert "case event 3 does not verify" in capfd.readouterr().err
        assert "audit_anchors" not in _tables(db.engine)  # nothing of 0008 applied
        db.session.remove()
