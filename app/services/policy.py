"""Who may perform which case action: role rules plus the actor's relation to the case."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.errors import Forbidden, NotFound
from app.models import Case, Role, User
from app.models.people import STAFF_ROLES
from dispatch.lifecycle import Action

A = Action
R = Role
_STAFF = set(STAFF_ROLES)

# Roles allowed per action. Actions done by "the assignee" are checked against the case as well.
ROLE_RULES: dict[Action, set[Role]] = {
    A.REPORT: {R.CITIZEN, R.WORKER, R.HANDLER, R.SYSTEM, *_STAFF},
    A.ADD_EVIDENCE: {R.CITIZEN, R.WORKER, R.HANDLER, R.SYSTEM, *_STAFF},
    A.VERIFY: {R.WORKER, R.SYSTEM, *_STAFF},  # SYSTEM: confident camera findings
    A.INVALIDATE: {R.WORKER, *_STAFF},
    A.FILE: _STAFF | {R.SYSTEM},
    A.DISPATCH: _STAFF | {R.SYSTEM},  # SYSTEM: the auto-dispatcher
    A.ACCEPT: {R.WORKER, R.HANDLER},
    A.HANDLE: {R.WORKER, R.HANDLER},
    A.FEEDBACK: {R.WORKER, R.HANDLER},
    A.REQUEST_DELAY: {R.WORKER, R.HANDLER},
    A.RETURN: {R.WORKER, R.HANDLER, *_STAFF},
    A.APPROVE_DELAY: _STAFF,
    A.REJECT_DELAY: _STAFF,
    A.CHECK_PASS: {R.WORKER, R.SYSTEM, *_STAFF},  # SYSTEM: a camera checking by looking again (AI 核查)
    A.CHECK_FAIL: {R.WORKER, R.SYSTEM, *_STAFF},
    # Only the reporter rates (their rating feeds KPIs and routing); staff never rate for them.
    A.EVALUATE: {R.CITIZEN},
    A.REOPEN: {R.CITIZEN},
    A.SUSPEND: _STAFF,
    A.RESUME: _STAFF,
    A.VOID: _STAFF,
    A.MERGE: _STAFF,
    A.ESCALATE: _STAFF | {R.SYSTEM},
    A.ASSIGN_CHECK: _STAFF | {R.SYSTEM},
    A.FIX_ON_SITE: {R.WORKER},
    A.RECATEGORISE: _STAFF,
}

_ASSIGNEE_ACTIONS = {A.ACCEPT, A.HANDLE, A.FEEDBACK, A.REQUEST_DELAY}


def is_assignee(actor: User, case: Case) -> bool:
    """True if the case is assigned to `actor`, or to `actor`'s department with nobody named yet."""
    if case.assignee_id is not None:
        return case.assignee_id == actor.id
    return (
        actor.role is Role.HANDLER
        and case.department_id is not None
        and case.department_id == actor.department_id
    )


def check_role(actor: User, action: Action) -> None:
    """Raise Forbidden unless `actor`'s role may perform `action` at all."""
    if actor is None or not actor.is_authenticated:
        raise Forbidden(_l("Please sign in."))
    if actor.role not in ROLE_RULES[action]:
        raise Forbidden(_l("Your role may not perform this action."), details={"reason": "role"})


def owns_grid(actor: User, case: Case) -> bool:
    """True if `actor` is one of the owners (责任网格员) of the case's grid."""
    return case.grid_id is not None and any(g.id == case.grid_id for g in actor.grids)


def check_visible(actor: User | None, case: Case) -> Case:
    """Raise NotFound (never Forbidden: that would confirm the case exists) unless `actor` may read `case`.

    Citizens see only their own reports; staff, workers, handlers and system accounts see every case.
    Everything that answers with a case's content (reading, adding evidence) goes through here.
    """
    if actor is None or not actor.is_authenticated or (actor.role is R.CITIZEN and case.reporter_id != actor.id):
        raise NotFound(_l("Case %(ref)s does not exist."), ref=case.number)
    return case


def check_relation(actor: User, action: Action, case: Case) -> None:
    """Raise Forbidden unless `actor` stands in the right relation to `case` for `action`."""
    if action in _ASSIGNEE_ACTIONS and not is_assignee(actor, case):
        raise Forbidden(_l("Only the assignee of this case may do this."))
    if action is A.RETURN and actor.role in (R.WORKER, R.HANDLER) and not is_assignee(actor, case):
        raise Forbidden(_l("Only the assignee of this case may do this."))
    if (action in (A.VERIFY, A.INVALIDATE) and actor.role is R.WORKER and case.reporter_id != actor.id
            and not owns_grid(actor, case)):  # an inspector's own patrol report is verified by having seen it
        raise Forbidden(_l("Only the inspectors of this case's grid may verify it."))
    if action in (A.CHECK_PASS, A.CHECK_FAIL):
        if case.handler_id == actor.id:
            raise Forbidden(_l("A case must be checked by someone other than its handler."))
        if actor.role in (R.WORKER, R.SYSTEM) and case.checker_id != actor.id:
            raise Forbidden(_l("Only the inspector assigned to check this case may do this."))
    if action is A.FIX_ON_SITE and case.reporter_id != actor.id:
        raise Forbidden(_l("Only the inspector who reported it may close it as fixed on the spot."))
    if action in (A.EVALUATE, A.REOPEN) and case.reporter_id != actor.id:
        raise Forbidden(_l("Only the person who reported the case may rate it."))


def authorize(actor: User, action: Action, case: Case | None = None) -> None:
    """Raise Forbidden unless `actor` may perform `action` (on `case`)."""
    check_role(actor, action)
    if case is not None:
        check_relation(actor, action, case)
