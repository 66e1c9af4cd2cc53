"""The case state machine of the standard closed loop (report → verify → file → dispatch → … → evaluate).

Pure: given a status and an action it answers the next status or raises `IllegalTransition`.
The app's case service is the only caller that changes a case; it consults this table first.
"""

from __future__ import annotations

import enum


class CaseStatus(enum.StrEnum):
    """Where a case stands in the loop."""

    REPORTED = "reported"  # 上报, waiting for verification (核实)
    VERIFIED = "verified"  # 核实有效, waiting to be filed (立案)
    FILED = "filed"  # 已立案, waiting for dispatch (派遣); rework returns here
    DISPATCHED = "dispatched"  # 已派遣, waiting for the assignee to accept
    ACCEPTED = "accepted"  # 已接单
    HANDLING = "handling"  # 处置中 (on site)
    RESOLVED = "resolved"  # 已反馈, waiting for the check (核查)
    CLOSED = "closed"  # 已结案
    SUSPENDED = "suspended"  # 挂账/缓办
    INVALID = "invalid"  # 核实无效
    VOID = "void"  # 作废
    MERGED = "merged"  # duplicate merged into another case

    @property
    def is_terminal(self) -> bool:
        """True where no work remains (a closed case may still be rated)."""
        return self in TERMINAL

    @property
    def is_open(self) -> bool:
        """True while the case still needs work from somebody."""
        return self not in TERMINAL and self is not CaseStatus.CLOSED


TERMINAL = frozenset({CaseStatus.INVALID, CaseStatus.VOID, CaseStatus.MERGED})
# Cases someone still works on, in the order of the loop, and the rest; as plain values too, for SQL.
OPEN_STATUSES = tuple(s for s in CaseStatus if s.is_open)
DONE_STATUSES = tuple(s for s in CaseStatus if not s.is_open)
OPEN_VALUES = tuple(s.value for s in OPEN_STATUSES)
DONE_VALUES = tuple(s.value for s in DONE_STATUSES)


class Action(enum.StrEnum):
    """Every verb that can be recorded on a case; one event row per action."""

    REPORT = "report"
    VERIFY = "verify"
    INVALIDATE = "invalidate"
    FILE = "file"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    HANDLE = "handle"
    FEEDBACK = "feedback"
    CHECK_PASS = "check_pass"
    CHECK_FAIL = "check_fail"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    RETURN = "return"
    REQUEST_DELAY = "request_delay"
    APPROVE_DELAY = "approve_delay"
    REJECT_DELAY = "reject_delay"
    SUSPEND = "suspend"
    RESUME = "resume"
    VOID = "void"
    MERGE = "merge"
    ADD_EVIDENCE = "add_evidence"
    ESCALATE = "escalate"  # overdue: the dispatcher and supervisor are alerted (status unchanged)
    ASSIGN_CHECK = "assign_check"  # the check (核查) of a resolved case given to an inspector (status unchanged)
    FIX_ON_SITE = "fix_on_site"  # 即时处置: the inspector who reported it fixed it there and then
    RECATEGORISE = "recategorise"  # 改类: the dispatcher corrects the category before anyone is sent


class Phase(enum.StrEnum):
    """Which time limit of the category governs a status."""

    DISPATCH = "dispatch"
    HANDLE = "handle"
    CHECK = "check"


S = CaseStatus
A = Action
SAME = None  # the action leaves the status unchanged
_HANDLING_STATES = (S.DISPATCHED, S.ACCEPTED, S.HANDLING)
_VOIDABLE = (S.REPORTED, S.VERIFIED, S.FILED, S.DISPATCHED, S.ACCEPTED, S.HANDLING, S.SUSPENDED)
_SUSPENDABLE = (S.FILED, S.DISPATCHED, S.ACCEPTED, S.HANDLING)
# Later sightings of an open problem; on a resolved case they warn the checker it may not be fixed.
_EVIDENCE_OK = (S.REPORTED, S.VERIFIED, S.FILED, S.DISPATCHED, S.ACCEPTED, S.HANDLING, S.RESOLVED, S.SUSPENDED)

TRANSITIONS: dict[tuple[CaseStatus, Action], CaseStatus | None] = {
    (S.REPORTED, A.VERIFY): S.VERIFIED,
    (S.REPORTED, A.INVALIDATE): S.INVALID,
    (S.REPORTED, A.MERGE): S.MERGED,
    (S.VERIFIED, A.FILE): S.FILED,
    (S.VERIFIED, A.MERGE): S.MERGED,
    (S.FILED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.DISPATCH): S.DISPATCHED,  # 改派: reassign before acceptance
    (S.DISPATCHED, A.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, A.HANDLE): S.HANDLING,
    (S.ACCEPTED, A.FEEDBACK): S.RESOLVED,
    (S.HANDLING, A.FEEDBACK): S.RESOLVED,
    (S.RESOLVED, A.CHECK_PASS): S.CLOSED,
    (S.RESOLVED, A.CHECK_FAIL): S.FILED,  # 返工: back to dispatch
    (S.CLOSED, A.EVALUATE): SAME,
    (S.CLOSED, A.REOPEN): S.FILED,  # citizen says it is not fixed
    **{(s, A.RETURN): S.FILED for s in _HANDLING_STATES},  # 回退: wrong department
    **{(s, A.REQUEST_DELAY): SAME for s in (S.ACCEPTED, S.HANDLING)},
    **{(s, A.APPROVE_DELAY): SAME for s in (S.ACCEPTED, S.HANDLING)},
    **{(s, A.REJECT_DELAY): SAME for s in (S.ACCEPTED, S.HANDLING)},
    **{(s, A.SUSPEND): S.SUSPENDED for s in _SUSPENDABLE},
    **{(s, A.VOID): S.VOID for s in _VOIDABLE},
    **{(s, A.ADD_EVIDENCE): SAME for s in _EVIDENCE_OK},
    **{(s, A.ESCALATE): SAME for s in (S.FILED, S.DISPATCHED, S.ACCEPTED, S.HANDLING, S.RESOLVED)},
    (S.RESOLVED, A.ASSIGN_CHECK): SAME,
    (S.VERIFIED, A.FIX_ON_SITE): S.CLOSED,  # an inspector's own report, verified by having seen it
    # Before dispatch only: once someone is sent, a wrong category goes back by 回退 (return).
    **{(s, A.RECATEGORISE): SAME for s in (S.REPORTED, S.VERIFIED, S.FILED)},
}
# RESUME goes back to wherever the case was suspended from; handled in `next_status`.

PHASE_OF: dict[CaseStatus, Phase] = {
    S.FILED: Phase.DISPATCH,
    S.DISPATCHED: Phase.HANDLE,
    S.ACCEPTED: Phase.HANDLE,
    S.HANDLING: Phase.HANDLE,
    S.RESOLVED: Phase.CHECK,
}


class IllegalTransition(Exception):
    """An action that the loop does not allow from the case's current status."""

    def __init__(self, status: CaseStatus, action: Action):
        super().__init__(f"cannot {action.value} a case that is {status.value}")
        self.status = status
        self.action = action


def next_status(
    status: CaseStatus, action: Action, *, suspended_from: CaseStatus | None = None
) -> CaseStatus:
    """Return the status after `action`, or raise IllegalTransition."""
    if action is A.RESUME:
        if status is not S.SUSPENDED or suspended_from is None:
            raise IllegalTransition(status, action)
        return suspended_from
    try:
        target = TRANSITIONS[(status, action)]
    except KeyError:
        raise IllegalTransition(status, action) from None
    return status if target is SAME else target


def allowed_actions(status: CaseStatus) -> list[Action]:
    """Actions that are legal from `status` (for UIs: which buttons to show)."""
    acts = [a for (s, a) in TRANSITIONS if s is status]
    if status is S.SUSPENDED:
        acts.append(A.RESUME)
    return acts
