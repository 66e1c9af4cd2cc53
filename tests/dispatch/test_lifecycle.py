"""The state machine: every legal transition lands where the loop says; every other pair is refused."""

import itertools

import pytest

from dispatch.lifecycle import (
    PHASE_OF,
    TRANSITIONS,
    Action,
    CaseStatus,
    IllegalTransition,
    allowed_actions,
    next_status,
)

S, A = CaseStatus, Action

EXPECTED = {
    (S.REPORTED, A.VERIFY): S.VERIFIED,
    (S.REPORTED, A.INVALIDATE): S.INVALID,
    (S.VERIFIED, A.FILE): S.FILED,
    (S.FILED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.DISPATCH): S.DISPATCHED,
    (S.DISPATCHED, A.ACCEPT): S.ACCEPTED,
    (S.ACCEPTED, A.HANDLE): S.HANDLING,
    (S.ACCEPTED, A.FEEDBACK): S.RESOLVED,
    (S.HANDLING, A.FEEDBACK): S.RESOLVED,
    (S.RESOLVED, A.CHECK_PASS): S.CLOSED,
    (S.RESOLVED, A.CHECK_FAIL): S.FILED,
    (S.CLOSED, A.EVALUATE): S.CLOSED,
    (S.CLOSED, A.REOPEN): S.FILED,
    (S.DISPATCHED, A.RETURN): S.FILED,
    (S.ACCEPTED, A.RETURN): S.FILED,
    (S.HANDLING, A.RETURN): S.FILED,
    (S.ACCEPTED, A.REQUEST_DELAY): S.ACCEPTED,
    (S.HANDLING, A.APPROVE_DELAY): S.HANDLING,
    (S.FILED, A.SUSPEND): S.SUSPENDED,
    (S.HANDLING, A.SUSPEND): S.SUSPENDED,
    (S.REPORTED, A.VOID): S.VOID,
    (S.SUSPENDED, A.VOID): S.VOID,
    (S.REPORTED, A.MERGE): S.MERGED,
    (S.VERIFIED, A.MERGE): S.MERGED,
}


@pytest.mark.parametrize(("start", "action"), list(EXPECTED))
def test_expected_transitions(start, action):
    assert next_status(start, action) is EXPECTED[(start, action)]


def test_every_table_entry_is_consistent_with_next_status():
    for (start, action), target in TRANSITIONS.items():
        assert next_status(start, action) is (start if target is None else target)


ILLEGAL = [
    (s, a)
    for s, a in itertools.product(CaseStatus, Action)
    if (s, a) not in TRANSITIONS and a is not Action.RESUME
]


@pytest.mark.parametrize(("start", "action"), ILLEGAL)
def test_illegal_transitions_are_refused(start, action):
    with pytest.raises(IllegalTransition) as err:
        next_status(start, action)
    assert err.value.status is start and err.value.action is action


def test_terminal_states_allow_nothing():
    for s in (S.INVALID, S.VOID, S.MERGED):
        assert allowed_actions(s) == []
        assert s.is_terminal and not s.is_open


def test_resume_returns_to_where_it_was_suspended_from():
    assert next_status(S.SUSPENDED, A.RESUME, suspended_from=S.HANDLING) is S.HANDLING
    with pytest.raises(IllegalTransition):
        next_status(S.SUSPENDED, A.RESUME)  # nowhere to go back to
    with pytest.raises(IllegalTransition):
        next_status(S.FILED, A.RESUME, suspended_from=S.FILED)


def test_closed_cases_cannot_be_dispatched_or_voided():
    for a in (A.DISPATCH, A.VOID, A.SUSPEND, A.FEEDBACK):
        with pytest.raises(IllegalTransition):
            next_status(S.CLOSED, a)


def test_phase_of_open_states():
    assert PHASE_OF[S.FILED].value == "dispatch"
    assert PHASE_OF[S.HANDLING].value == "handle"
    assert PHASE_OF[S.RESOLVED].value == "check"
    assert S.REPORTED not in PHASE_OF
