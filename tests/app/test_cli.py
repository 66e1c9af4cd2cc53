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


def test_training_quietly_prints_one_progress_line_and_writes_under_the_project(app, synthetic_data, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory (the checkout, in real use)
    project = tmp_path / "instance" / "runs"
    r = app.test_cli_runner().invoke(args=["vision", "train", "--data", str(synthetic_data), "--model", "tiny",
                                           "--epochs", "2", "--imgsz", "96", "--batch", "8", "--synthetic",
                                           "--quiet", "--project", "instance/runs"])
    assert r.exit_code == 0, r.output
    lines = r.output.strip().split("\n")
    assert lines[0].split("\r")[-1] == "training: epoch 2/2" and len(lines) == 2, r.output
    assert lines[1].startswith(str(project)) and lines[1].endswith(".pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instance"]


def test_two_platforms_never_share_a_redis_database(app, app_with):
    from app.extensions import OWNER_KEY, get_redis

    ours = app.config["SQLALCHEMY_DATABASE_URI"]
    other = app_with(SQLALCHEMY_DATABASE_URI=ours.rsplit("/", 1)[0] + "/urbanops_other_demo")
    r = app.test_cli_runner().invoke(args=["worker", "--burst"])  # claims the test Redis db for the test database
    assert r.exit_code == 0, r.output
    name = ours.rsplit("/", 1)[1]
    assert get_redis().get(OWNER_KEY).decode().endswith(f"/{name}")
    for args in (["serve-all"], ["worker", "--burst"], ["scheduler"]):  # refused before anything starts
        with other.app_context():  # as `flask` gives each command its app's context
            r = other.test_cli_runner().invoke(args=args)
        assert r.exit_code == 1 and name in r.output and "REDIS_URL=" in r.output, r.output
    assert app.test_cli_runner().invoke(args=["worker", "--burst"]).exit_code == 0  # the first one keeps it


def test_the_demo_ends_with_where_to_go_and_who_to_be(app):
    from app.cli import banner

    text = banner("http://127.0.0.1:5010", ["web", "stream"], "instance/logs/5010", demo=True)
    assert "http://127.0.0.1:5010" in text and "http://127.0.0.1:5010/report" in text
    assert "http://127.0.0.1:5010/console/dashboard" in text and "http://127.0.0.1:5010/console/wall" in text
    for account in ("admin", "supervisor", "dispatcher", "w01", "h-san", "citizen1"):
        assert f"    {account} " in text
    assert "demo1234" in text and "instance/logs/5010/{web,stream}.log" in text
    plain = banner("http://127.0.0.1:8000", ["web"], None, demo=False)
    assert "dispatcher" not in plain and "Logs" not in plain
