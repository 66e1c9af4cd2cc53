"""A dispatch round whose worker dies mid-job is run again, and the case is dispatched exactly once.

Real processes: `flask worker` (RQ forks a work-horse per job) against the test database and Redis. The
round is held mid-job by a row lock the test takes on the field worker, then the work-horse (or the whole
worker) is killed with SIGKILL: its transaction dies with its connection, and RQ's retry runs it again.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq.job import JobStatus
from rq.registry import StartedJobRegistry

from app.config import TestConfig
from app.extensions import db
from app.jobs import RETRIES, enqueue, get_queue
from app.jobs.tasks import auto_dispatch
from app.models import Case, CaseEvent
from dispatch.lifecycle import Action, CaseStatus
from tests.app.services.test_dispatching import WEST_PT, field_worker, filed
from tests.factories import Cast, make_grids

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _wait(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _start_worker(app) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": TestConfig.SQLALCHEMY_DATABASE_URI, "REDIS_URL": TestConfig.REDIS_URL,
           "MEDIA_ROOT": app.config["MEDIA_ROOT"], "YOLO_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queues", "dispatch"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.fixture
def scene(app):
    make_grids()
    cast = Cast()
    cast.worker.on_duty = False
    west = field_worker("W", (120.004, 30.004))
    case = filed(cast, WEST_PT)
    db.session.commit()
    get_queue("dispatch").empty()  # filing queued a round at once; each test enqueues the round it follows
    blocker = db.engine.connect()  # holds the field worker's row: the round waits there, mid-job
    blocker.execute(sa.text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": west.id})
    procs = []
    yield {"case_id": case.id, "blocker": blocker, "procs": procs}
    if blocker.in_transaction():
        blocker.rollback()
    blocker.close()
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def _held_round(scene) -> int:
    """The pid of a work-horse that is inside the dispatch round, waiting on the test's lock."""
    def waiting_horse():
        waiting = db.session.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FOR NO KEY%'"
        )).scalar()
        db.session.rollback()
        horses = [c for p in scene["procs"] if p.poll() is None for c in _children(p.pid)]
        return horses[0] if waiting and horses else None

    return _wait(waiting_horse, what="the round to block on the lock")


def _dispatched_exactly_once(scene) -> None:
    """Release the lock; the case must end up dispatched by one round, never two."""
    scene["blocker"].rollback()
    # The killed round's backend may still have held the case when the retry ran (it then skipped the case,
    # as SKIP LOCKED should): in production the sweeper enqueues the next round within a minute; here, now.
    enqueue(auto_dispatch, queue="dispatch")
    case_id = scene["case_id"]

    def done():
        db.session.rollback()
        return db.session.get(Case, case_id).status is CaseStatus.DISPATCHED

    _wait(done, what="a round to dispatch the case")
    _wait(lambda: not get_queue("dispatch").count and not StartedJobRegistry(queue=get_queue("dispatch")).count,
          what="every queued round to finish")
    db.session.rollback()
    dispatches = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case_id, CaseEvent.action == Action.DISPATCH))
    assert dispatches == 1
    assert get_queue("dispatch").failed_job_registry.count == 0


def test_work_horse_killed_mid_round_is_retried_and_dispatches_once(app, scene):
    scene["procs"].append(_start_worker(app))
    job = enqueue(auto_dispatch, queue="dispatch")
    os.kill(_held_round(scene), signal.SIGKILL)  # the OOM killer, say
    # The worker sees its work-horse die and, the job having retries left, runs it again.
    _wait(lambda: job.refresh() or job.retries_left == RETRIES - 1, what="RQ to retry the job")
    _wait(lambda: job.refresh() or job.get_status() is JobStatus.FINISHED or _held_round(scene),
          what="the retried round to run")
    _dispatched_exactly_once(scene)


def test_worker_killed_mid_round_leaves_an_abandoned_job_that_is_retried(app, scene):
    first = _start_worker(app)
    scene["procs"].append(first)
    job = enqueue(auto_dispatch, queue="dispatch")
    horse = _held_round(scene)
    os.kill(horse, signal.SIGKILL)  # the machine's processes die together: nobody marks the job failed
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    registry = StartedJobRegistry(queue=get_queue("dispatch"))
    assert job.id in registry.get_job_ids()  # abandoned
    # What a surviving worker's maintenance does once the job's heartbeat has expired (~75 s), now.
    registry.cleanup(timestamp=time.time() + 600)
    assert get_queue("dispatch").count == 1 and job.id not in registry.get_job_ids()
    scene["procs"].append(_start_worker(app))
    _dispatched_exactly_once(scene)
