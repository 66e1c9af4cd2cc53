"""Background work on RQ: named queues, the app-context wrapper for jobs, and the periodic job list.

Jobs take ids, reload rows, and run inside an app context; `job` commits on success and rolls back on
failure. Workers and the cron scheduler start through the Flask CLI (`flask worker`, `flask scheduler`)
so they are configured like the web app.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Callable

from flask import current_app, g, has_app_context
from rq import Queue, Retry, Worker

from app.extensions import db, get_redis

DEFAULT_TIMEOUT = 120
RETRIES = 3  # a job whose work-horse or worker died is run again (jobs are idempotent: they re-read the rows)
# Liveness on the scale of a minute: idle workers heartbeat every WORKER_TTL - 15 s, a dead one's key is gone
# after WORKER_TTL + 60 s, and abandoned jobs (the whole worker killed) are requeued by the next maintenance.
WORKER_TTL = 60
MAINTENANCE_INTERVAL = 60
LIVE_WITHIN_S = 90  # /healthz counts a worker as live if it sent a heartbeat this recently
_app = None


def _ensure_app():
    """An app for jobs run outside `flask worker` (e.g. a plain `rq worker`)."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def job(func: Callable) -> Callable:
    """Run `func` in an app context; commit on success, roll back on error, always release the session."""

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        if has_app_context():
            return _run(func, args, kwargs)
        with _ensure_app().app_context():
            return _run(func, args, kwargs)

    return wrapped


def _run(func, args, kwargs):
    try:
        result = func(*args, **kwargs)
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise
    finally:
        db.session.remove()
        g.pop("_cache", None)  # workers keep one app context: nothing cached may outlive the job


def get_queue(name: str = "default") -> Queue:
    """One of the configured named queues."""
    if name not in current_app.config["RQ_QUEUES"]:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis())


def enqueue(func: Callable, *args, queue: str = "default", timeout: int = DEFAULT_TIMEOUT, retry: Retry | None = None,
            **kwargs):
    """Put `func(*args, **kwargs)` on a named queue with an explicit timeout, retried if its worker dies (or as
    `retry` says)."""
    return get_queue(queue).enqueue(func, *args, job_timeout=timeout, retry=retry or Retry(max=RETRIES), **kwargs)


class AppWorker(Worker):
    """RQ's worker with heartbeats and abandoned-job recovery within a minute or two (RQ's defaults: ~7 and 10)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("job_monitoring_interval", 15)
        super().__init__(*args, **kwargs)


def dispose_engine_after_fork() -> None:
    """Forked work-horses must not reuse the parent's database connections."""
    engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


@dataclass(frozen=True)
class Periodic:
    """A job the cron scheduler enqueues on an interval (seconds) or a cron expression."""

    func: Callable
    queue: str
    timeout: int
    interval: int | None = None
    cron: str | None = None


def periodic_jobs() -> list[Periodic]:
    """THE list of periodic jobs (one place to read what runs on its own)."""
    from app.jobs import tasks

    return [
        Periodic(tasks.sweep, queue="dispatch", timeout=60, interval=60),
        Periodic(tasks.expire_offers, queue="dispatch", timeout=120, interval=60),
        Periodic(tasks.watch_deadlines, queue="dispatch", timeout=120, interval=60),
        Periodic(tasks.assign_checks, queue="dispatch", timeout=120, interval=60),
        Periodic(tasks.learn_outcomes, queue="default", timeout=300, interval=300),
        Periodic(tasks.retrain_text_model, queue="maintenance", timeout=1800, cron="40 3 * * *"),  # nightly
        Periodic(tasks.plan_patrols, queue="dispatch", timeout=120, interval=120),
        Periodic(tasks.refit_forecast, queue="maintenance", timeout=900, cron="10 4 * * *"),  # nightly
        Periodic(tasks.anchor_audit_chains, queue="maintenance", timeout=300, interval=600),
        Periodic(tasks.verify_audit_chain, queue="maintenance", timeout=900, cron="17 * * * *"),
    ]
