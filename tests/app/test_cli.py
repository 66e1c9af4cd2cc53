"""The Flask CLI commands exit 0 on success and 1 with every problem listed on bad input."""

import json

from app.extensions import db
from app.models import Grid, User
from tests.factories import EAST, WEST, collection, grid_feature


def test_grids_import_cli(app, tmp_path):
    good = tmp_path / "g.geojson"
    doc = collection(grid_feature("330100001001001", WEST), grid_feature("330100001001002", EAST))
    good.write_text(json.dumps(doc))
    r = app.test_cli_runner().invoke(args=["grids", "import", str(good)])
    assert r.exit_code == 0 and "imported 2 new" in r.output
    bad = tmp_path / "b.geojson"
    bad.write_text(json.dumps(collection(grid_feature("330100001001003", WEST.buffer(0.001)), {"properties": {}})))
    r = app.test_cli_runner().invoke(args=["grids", "import", str(bad)])
    assert r.exit_code == 1 and "feature 1" in r.output
    assert db.session.query(Grid).count() == 2


def test_users_create_and_token(app):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "disp01", "--role", "dispatcher", "--password", "long-enough"])
    assert r.exit_code == 0, r.output
    assert db.session.query(User).filter_by(username="disp01").one().check_password("long-enough")
    r = runner.invoke(args=["users", "create", "disp01", "--role", "dispatcher", "--password", "long-enough"])
    assert r.exit_code == 1 and "disp01" in r.output
    r = runner.invoke(args=["users", "token", "disp01", "--name", "tablet"])
    assert r.exit_code == 0 and r.output.strip().startswith("uo_")
    r = runner.invoke(args=["users", "create", "x", "--role", "worker", "--password", "short"])
    assert r.exit_code == 1
