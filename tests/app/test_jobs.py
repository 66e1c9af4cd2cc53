"""RQ on the real Redis: named queues, jobs run by a worker in an app context, the periodic list."""

import json

import pytest
from rq import SimpleWorker
from rq.cron import CronScheduler

from app.extensions import db, get_redis
from app.jobs import enqueue, get_queue, job, periodic_jobs
from app.jobs.tasks import AUDIT_KEY, verify_audit_chain
from tests.factories import Cast, advance, make_grids, reported


def test_audit_job_runs_on_a_worker_and_stores_its_verdict(app):
    make_grids()
    cast = Cast()
    advance(cast, reported(cast), "closed")
    db.session.commit()
    queued = enqueue(verify_audit_chain, queue="maintenance", timeout=60)
    assert queued.timeout == 60 and get_queue("maintenance").count == 1
    SimpleWorker([get_queue("maintenance")], connection=get_redis()).work(burst=True)
    queued.refresh()
    assert queued.is_finished and queued.return_value()["checked"] == 9
    assert json.loads(get_redis().get(AUDIT_KEY))["ok"] is True


def test_unknown_queue_is_refused(app):
    with pytest.raises(ValueError):
        get_queue("nope")


@job
def _failing():
    from app.models import Department

    db.session.add(Department(code="X", name="x", type="t"))
    raise RuntimeError("boom")


def test_job_wrapper_rolls_back_on_failure(app):
    from app.models import Department

    with pytest.raises(RuntimeError):
        _failing()
    assert db.session.query(Department).count() == 0


def test_periodic_jobs_register_with_rq_cron(app):
    sched = CronScheduler(connection=get_redis())
    for p in periodic_jobs():
        assert p.queue in app.config["RQ_QUEUES"] and p.timeout > 0 and (p.interval or p.cron)
        sched.register(p.func, queue_name=p.queue, interval=p.interval, cron=p.cron, job_timeout=p.timeout)
    names = [j.func_name.rsplit(".", 1)[1] for j in sched.get_jobs()]
    assert names == ["sweep", "expire_offers", "watch_deadlines", "assign_checks", "learn_outcomes",
                     "retrain_text_model", "plan_patrols", "refit_forecast", "anchor_audit_chains",
                     "verify_audit_chain"]


@job
def _holidays_seen():
    from app.services.calendar import get_calendar

    return len(get_calendar().holidays)


def test_jobs_in_one_worker_context_do_not_share_cached_calendars(app):
    """A worker keeps one app context for all jobs; each job must read the calendar afresh."""
    assert _holidays_seen() == 0
    # Another process (e.g. an admin running `flask calendar load`) adds a holiday.
    db.session.execute(db.text("INSERT INTO holidays (day, is_workday, name) VALUES ('2026-12-31', false, 'x')"))
    db.session.commit()
    assert _holidays_seen() == 1
