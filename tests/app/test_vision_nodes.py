"""Vision nodes as real processes on this machine: two `flask vision run --node` processes share the cameras;
the first hands two over to the newcomer without restarting its camera process; one is killed with SIGKILL and the
other runs its cameras within 30 s; a clean stop gives every camera back."""

import os
import signal
import subprocess
import sys
import time

import pytest

from app.camera_runtime.demo import demo_video
from app.camera_runtime.health import read_health
from app.extensions import db
from app.models import Camera, Case
from app.services.grids import point_sql
from tests.factories import make_grids
from vision.synth import Actor, make_video

pytestmark = pytest.mark.slow
CODES = ["N1", "N2", "N3", "N4"]


def node(app, name, env, log):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "vision", "run", "--node", name,
                             "--capacity", "10"], env=env, start_new_session=True,  # its own group: killed whole
                            stdout=log, stderr=subprocess.STDOUT)


def holders() -> dict[str, str | None]:
    db.session.expire_all()
    return {c.code: c.node for c in db.session.scalars(db.select(Camera).order_by(Camera.code))}


def wait_for(check, seconds):
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if check():
            return time.monotonic() - t0
        time.sleep(0.5)
    return None


def test_nodes_share_cameras_and_take_over_a_killed_ones(app, tmp_path, tiny_weights):
    make_grids()
    for i, code in enumerate(CODES):
        cam = Camera(code=code, name=f"节点测试{i}", position=point_sql(120.002 + 0.001 * i, 30.004), fps=2,
                     stream_url=f"demo://camera/{i + 1}")
        make_video(demo_video(cam.stream_url, tmp_path), [Actor("exposed_garbage", 300, 260, start=1)], seconds=6,
                   fps=5)
        db.session.add(cam)
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "VISION_WEIGHTS": str(tiny_weights), "VISION_IMGSZ": "160", "DEMO_VIDEO_DIR": str(tmp_path),
           "VISION_LEASE_S": "6", "VISION_RULES": "", "YOLO_OFFLINE": "1", "MEDIA_ROOT": app.config["MEDIA_ROOT"]}
    log = open(tmp_path / "nodes.log", "w")  # noqa: SIM115 - kept open for both processes
    a = node(app, "A", env, log)
    b = None
    try:
        assert wait_for(lambda: set(holders().values()) == {"A"}, 60) is not None  # alone: A takes all four
        running = lambda who: all(h and h.get("node") == who and not h.get("stopped")  # noqa: E731
                                  for h in read_health([c for c, n in holders().items() if n == who]).values())
        assert wait_for(lambda: running("A"), 60) is not None, read_health(CODES)
        pid_a = {h["pid"] for h in read_health(CODES).values()}
        b = node(app, "B", env, log)
        assert wait_for(lambda: sorted(map(str, holders().values())) == ["A", "A", "B", "B"], 60) is not None  # fair
        assert wait_for(lambda: running("A") and running("B"), 60) is not None, (holders(), read_health(CODES))
        kept = [c for c, n in holders().items() if n == "A"]
        assert len(pid_a) == 1 and {h["pid"] for h in read_health(kept).values()} == pid_a  # A never restarted
        os.killpg(a.pid, signal.SIGKILL)  # the node and its camera process, without a chance to give anything back
        a.wait(10)
        took = wait_for(lambda: set(holders().values()) == {"B"}, 30)
        assert took is not None, holders()
        runs = wait_for(lambda: all(h and h.get("node") == "B" and h["at"] > time.time() - 3
                                    for h in read_health(CODES).values()), 30)
        assert runs is not None and took + runs <= 30, (took, runs)  # its cameras run on B within 30 s
        db.session.expire_all()
        per_camera = db.session.execute(db.select(Case.camera_id, db.func.count()).group_by(Case.camera_id)).all()
        assert all(n == 1 for _, n in per_camera)  # one violation per scene: never a second case for it
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        if b is not None:
            b.wait(60)
        log.close()
    assert set(holders().values()) == {None}  # B stopped cleanly: every camera given back at once
