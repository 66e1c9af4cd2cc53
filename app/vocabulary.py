"""The platform's one vocabulary: what people read for each status, action, role, waiting reason, photo kind and
notification kind, keyed by the enums, with the open/done status sets of `dispatch.lifecycle`; and all of it,
translated, for pages and scripts.

Every template, serializer, error message and script takes its labels from here (`as_json` is what the
pages hand to their JavaScript), so a word is changed once and nothing spells a status list of its own.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.models.cases import MediaKind, Source
from app.models.dispatching import NotificationKind
from app.models.people import Role
from dispatch import routing
from dispatch.lifecycle import DONE_STATUSES, OPEN_STATUSES, Action, CaseStatus

S, A = CaseStatus, Action


STATUS_LABELS: dict[CaseStatus, object] = {
    S.REPORTED: _l("reported"),
    S.VERIFIED: _l("verified"),
    S.FILED: _l("filed"),
    S.DISPATCHED: _l("dispatched"),
    S.ACCEPTED: _l("accepted"),
    S.HANDLING: _l("being handled"),
    S.RESOLVED: _l("resolved, awaiting check"),
    S.CLOSED: _l("closed"),
    S.SUSPENDED: _l("suspended"),
    S.INVALID: _l("invalid"),
    S.VOID: _l("void"),
    S.MERGED: _l("merged"),
}

# What citizens read: a few plain stages instead of the loop's internal states (已挂账, 已反馈，待核查 mean nothing
# to them). Several internal states share one stage.
PUBLIC_STATUS_LABELS: dict[CaseStatus, object] = {
    S.REPORTED: _l("Received, being looked at"),
    S.VERIFIED: _l("Confirmed, being scheduled"),
    S.FILED: _l("Confirmed, being scheduled"),
    S.DISPATCHED: _l("Someone has been sent"),
    S.ACCEPTED: _l("Someone has been sent"),
    S.HANDLING: _l("Being fixed now"),
    S.RESOLVED: _l("Fixed, being double-checked"),
    S.CLOSED: _l("Fixed"),
    S.SUSPENDED: _l("On hold for now"),
    S.INVALID: _l("Not taken up"),
    S.VOID: _l("Withdrawn"),
    S.MERGED: _l("Joined with a report of the same problem"),
}

# The history on a citizen's tracking page, in their words; internal steps (escalation, check assignment, delay
# requests) are not shown at all.
PUBLIC_EVENT_LABELS: dict[Action, object] = {
    A.REPORT: _l("Your report was received"),
    A.VERIFY: _l("Confirmed on site or from the photos"),
    A.INVALIDATE: _l("Looked at and not taken up"),
    A.FILE: _l("Accepted for handling"),
    A.DISPATCH: _l("Given to a team to fix"),
    A.ACCEPT: _l("The team took it on"),
    A.HANDLE: _l("The team is on site"),
    A.FEEDBACK: _l("The team says it is fixed"),
    A.CHECK_PASS: _l("Checked: it is fixed"),
    A.CHECK_FAIL: _l("Checked: not fixed yet, sent back to the team"),
    A.EVALUATE: _l("You rated the result"),
    A.REOPEN: _l("You said it is not fixed: reopened"),
    A.RETURN: _l("Being given to another team"),
    A.APPROVE_DELAY: _l("More time was given to fix it"),
    A.SUSPEND: _l("Put on hold"),
    A.RESUME: _l("Work resumed"),
    A.VOID: _l("Withdrawn"),
    A.MERGE: _l("Joined with a report of the same problem"),
    A.ADD_EVIDENCE: _l("More photos or details were added"),
    A.FIX_ON_SITE: _l("Fixed on the spot by an inspector"),
    A.RECATEGORISE: _l("The kind of problem was corrected"),
}

ACTION_LABELS: dict[Action, object] = {
    A.REPORT: _l("report"),
    A.VERIFY: _l("verify"),
    A.INVALIDATE: _l("mark invalid"),
    A.FILE: _l("file"),
    A.DISPATCH: _l("dispatch"),
    A.ACCEPT: _l("accept"),
    A.HANDLE: _l("start handling"),
    A.FEEDBACK: _l("give feedback"),
    A.CHECK_PASS: _l("pass the check"),
    A.CHECK_FAIL: _l("fail the check"),
    A.EVALUATE: _l("evaluate"),
    A.REOPEN: _l("reopen"),
    A.RETURN: _l("return"),
    A.REQUEST_DELAY: _l("request a delay"),
    A.APPROVE_DELAY: _l("approve a delay"),
    A.REJECT_DELAY: _l("reject a delay"),
    A.SUSPEND: _l("suspend"),
    A.RESUME: _l("resume"),
    A.VOID: _l("void the case"),  # not "void": the status's word, translated as a state (已作废)
    A.MERGE: _l("merge"),
    A.ADD_EVIDENCE: _l("add evidence"),
    A.ESCALATE: _l("escalate"),
    A.ASSIGN_CHECK: _l("assign the check"),
    A.FIX_ON_SITE: _l("fix on the spot"),
    A.RECATEGORISE: _l("change the category"),
}

ROLE_LABELS: dict[Role, object] = {
    Role.CITIZEN: _l("citizen"),
    Role.WORKER: _l("grid worker"),
    Role.HANDLER: _l("department handler"),
    Role.DISPATCHER: _l("dispatcher"),
    Role.SUPERVISOR: _l("supervisor"),
    Role.ADMIN: _l("administrator"),
    Role.SYSTEM: _l("system"),
}

# Why a filed case is still waiting for a worker; the keys are what `dispatch.routing` records.
WAITING_LABELS: dict[str, object] = {
    routing.WAIT_BUSY: _l("Every eligible worker nearby is busy; it waits for the next round."),
    routing.WAIT_FULL: _l("Every worker on duty is at capacity."),
    routing.WAIT_QUEUE: _l("Queued behind more urgent cases."),
    routing.WAIT_NO_WORKER: _l("No worker on duty nearby has the skill and room for it."),
    routing.WAIT_OUTSIDE: _l("No eligible worker near this place."),
}

SOURCE_LABELS: dict[Source, object] = {
    Source.CAMERA: _l("camera"),
    Source.CITIZEN: _l("citizen report"),
    Source.INSPECTOR: _l("inspector"),
    Source.HOTLINE: _l("hotline"),
    Source.API: _l("other systems (Open311, API)"),
}

PHOTO_LABELS: dict[MediaKind, object] = {
    MediaKind.EVIDENCE: _l("As reported"),
    MediaKind.BEFORE: _l("Before handling"),
    MediaKind.AFTER: _l("After handling"),
    MediaKind.CHECK: _l("On-site check"),
}

# Where a suggested worker comes from, relative to the case's grid (属地 first).
TIER_LABELS: dict[int, object] = {
    routing.OWNER: _l("this grid"),
    routing.NEIGHBOUR: _l("neighbouring grid"),
    routing.WIDE: _l("from farther away"),
}

# What a field task asks of its person (the kinds of `app.services.inspector.Task`).
TASK_LABELS: dict[str, object] = {
    "handle": _l("Handle"),
    "verify": _l("Verify"),
    "check": _l("Check"),
}

NOTIFICATION_LABELS: dict[NotificationKind, object] = {
    NotificationKind.TASK: _l("New task"),
    NotificationKind.WARNING: _l("Deadline near"),
    NotificationKind.OVERDUE: _l("Overdue"),
    NotificationKind.CHECK: _l("Check to do"),
    NotificationKind.OFFER_EXPIRED: _l("Offer not accepted in time"),
}

# The dashboard's figures (dispatch.kpi.summarize keys and the composite score) and the case sets behind them
# (app.services.case_search.KPI_SETS, the drill-down).
KPI_LABELS: dict[str, object] = {
    "cases": _l("Cases"),
    "closed": _l("Closed"),
    "open": _l("Not closed"),
    "on_time": _l("Closed on time"),
    "late": _l("Closed late"),
    "reworked": _l("Reworked"),
    "first_time_fix": _l("Fixed the first time"),
    "delayed": _l("Delayed"),
    "rated": _l("Rated"),
    "dissatisfied": _l("Dissatisfied (1–2 stars)"),
    "closure_rate": _l("Closure rate"),
    "on_time_rate": _l("On-time closure"),
    "rework_rate": _l("Rework rate"),
    "delay_rate": _l("Delay rate"),
    "first_time_fix_rate": _l("First-time fix"),
    "mean_close_min": _l("Mean time to close (min)"),
    "median_close_min": _l("Median time to close (min)"),
    "p90_close_min": _l("p90 time to close (min)"),
    "mean_satisfaction": _l("Satisfaction"),
    "dispatch_accuracy": _l("Dispatch accuracy"),
    "proactive_rate": _l("Found proactively"),
    "proactive": _l("Found by inspectors or cameras"),
    "patrol_coverage_rate": _l("Patrol coverage"),
    "discovery_h": _l("Time to discovery (h, estimated)"),
    "score": _l("Composite score"),
}


def label(table: dict, key) -> str:
    """The translated label of `key` (an enum member or its value: a StrEnum hashes as its value) in `table`."""
    return str(table.get(key, key))


def as_json() -> dict:
    """Every label in the current language, keyed by value, and the open/done sets: what pages give their scripts."""
    return {
        "status": {s.value: str(t) for s, t in STATUS_LABELS.items()},
        "public_status": {s.value: str(t) for s, t in PUBLIC_STATUS_LABELS.items()},
        "action": {a.value: str(t) for a, t in ACTION_LABELS.items()},
        "role": {r.value: str(t) for r, t in ROLE_LABELS.items()},
        "photo": {k.value: str(t) for k, t in PHOTO_LABELS.items()},
        "source": {k.value: str(t) for k, t in SOURCE_LABELS.items()},
        "notification": {k.value: str(t) for k, t in NOTIFICATION_LABELS.items()},
        "task": {k: str(t) for k, t in TASK_LABELS.items()},
        "kpi": {k: str(t) for k, t in KPI_LABELS.items()},
        "open": [s.value for s in OPEN_STATUSES],
        "done": [s.value for s in DONE_STATUSES],
    }
