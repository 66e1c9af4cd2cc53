"""The one place where a change's side effects run: after its transaction commits, never for a rollback.

Services register what must follow a change (`on_commit`: move staged files into place, enqueue a job) and
what undoes their preparations if the change is abandoned (`on_rollback`: delete staged files). Both lists
live on the session and are cleared when its transaction ends, so a rolled-back request leaves no files and
enqueues nothing, and a committed one never runs a job before its rows are visible to the worker.
"""

from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_COMMIT, _ROLLBACK = "after_commit_hooks", "after_rollback_hooks"


def on_commit(func: Callable[[], object], *, session: Session | None = None) -> None:
    """Run `func` once the current transaction (of `session`, the app's by default) has committed.

    Errors are logged, not raised: the change is already decided.
    """
    (session or db.session).info.setdefault(_COMMIT, []).append(func)


def on_rollback(func: Callable[[], object]) -> None:
    """Run `func` if the current transaction ends without committing."""
    db.session.info.setdefault(_ROLLBACK, []).append(func)


def _run(funcs: list, when: str) -> None:
    for func in funcs:
        try:
            func()
        except Exception:  # noqa: BLE001 - the change is already decided; one failing follow-up must not stop the rest
            log.exception("%s hook %r failed", when, func)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    session.info.pop(_ROLLBACK, None)
    _run(session.info.pop(_COMMIT, []), "after-commit")


@event.listens_for(Session, "after_transaction_end")
def _after_end(session: Session, transaction) -> None:
    if transaction.parent is not None:  # a savepoint: the outer transaction decides
        return
    session.info.pop(_COMMIT, None)  # still here: the transaction did not commit
    _run(session.info.pop(_ROLLBACK, []), "after-rollback")
