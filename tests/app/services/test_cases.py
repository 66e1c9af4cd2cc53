"""The case service on real PostGIS: the whole loop, each side path, deadlines and refusals."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.errors import Conflict, Forbidden, ValidationError
from app.extensions import db
from app.models import Case, CaseEvent, Role
from app.services import cases as svc
from app.services.calendar import load_holidays
from dispatch.lifecycle import Action, CaseStatus, IllegalTransition
from tests.factories import (
    INSIDE_WEST,
    OUTSIDE,
    Cast,
    advance,
    check,
    jpeg,
    make_department,
    make_grids,
    make_user,
    reported,
)

TZ = ZoneInfo("Asia/Shanghai")
S = CaseStatus


@pytest.fixture
def cast(app):
    make_grids()
    return Cast()


def actions(case):
    return [e.action for e in svc.timeline(case)]


def test_full_loop_writes_one_event_per_step(cast):
    case = reported(cast, photos=[jpeg()])
    advance(cast, case, "closed")
    svc.evaluate_case(case.id, cast.citizen, rating=5, comment="很好")
    db.session.commit()
    assert case.status is S.CLOSED and case.rating == 5
    assert actions(case) == [Action.REPORT, Action.VERIFY, Action.FILE, Action.DISPATCH, Action.ACCEPT,
                             Action.HANDLE, Action.FEEDBACK, Action.ASSIGN_CHECK, Action.CHECK_PASS, Action.EVALUATE]
    statuses = [(e.from_status, e.to_status) for e in svc.timeline(case)]
    assert statuses[0] == (None, S.REPORTED) and statuses[-2] == (S.RESOLVED, S.CLOSED)
    assert case.grid.code == "330100001001001"
    assert case.number.endswith("-00001") and len(case.number) == 14
    assert [m.kind.value for m in case.media] == ["evidence", "after"]


def test_case_numbers_are_sequential_per_day(cast):
    a, b = reported(cast), reported(cast)
    assert int(b.number[-5:]) == int(a.number[-5:]) + 1
    later, _ = svc.report_case(cast.citizen, category_code="banner", lon=INSIDE_WEST[0], lat=INSIDE_WEST[1],
                               at=datetime(2026, 1, 5, 10, tzinfo=TZ))
    assert later.number == "20260105-00001"


def test_deadlines_follow_category_limits_and_calendar(cast):
    load_holidays()
    monday_9 = datetime(2026, 11, 23, 9, tzinfo=TZ)
    # road_damage: working time; dispatch 60, handle 1440 (three working days), check 480.
    case = reported(cast, category="road_damage")
    svc.verify_case(case.id, cast.dispatcher, valid=True, at=monday_9)
    svc.file_case(case.id, cast.dispatcher, at=monday_9)
    assert case.dispatch_due_at == datetime(2026, 11, 23, 10, tzinfo=TZ)
    svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.worker.id, at=monday_9)
    assert case.handle_due_at == datetime(2026, 11, 26, 9, tzinfo=TZ)  # 3 × 8 working hours later
    # exposed_garbage: natural time, handle 120 minutes even at night.
    night = datetime(2026, 11, 23, 23, tzinfo=TZ)
    other = reported(cast, category="exposed_garbage")
    advance(cast, other, "filed", at=night)
    svc.dispatch_case(other.id, cast.dispatcher, assignee_id=cast.worker.id, at=night)
    assert other.handle_due_at == night + timedelta(minutes=120)


def test_reporting_validation(cast):
    with pytest.raises(ValidationError):
        svc.report_case(cast.citizen, category_code="nope", lon=120.005, lat=30.005)
    with pytest.raises(ValidationError):
        svc.report_case(cast.citizen, category_code="banner", lon="abc", lat=30.005)
    with pytest.raises(ValidationError):
        svc.report_case(cast.citizen, category_code="banner", lon=200, lat=30.005)
    with pytest.raises(ValidationError) as err:
        svc.report_case(cast.citizen, category_code="banner", lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert "outside every grid" in err.value.message or "网格" in err.value.message
    with pytest.raises(ValidationError):
        svc.report_case(cast.citizen, category_code="banner", lon=120.005, lat=30.005,
                        description="x" * (svc.MAX_DESCRIPTION + 1))
    assert db.session.query(Case).count() == 0


def test_outside_grid_allowed_for_some_categories(cast):
    case, _ = svc.report_case(cast.citizen, category_code="muck_truck_uncovered", lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert case.grid is None and case.status is S.REPORTED


def test_inspector_reports_are_verified_at_once(cast):
    case, _ = svc.report_case(cast.worker, category_code="banner", lon=120.005, lat=30.005)
    assert case.status is S.VERIFIED and case.source.value == "inspector"
    assert actions(case) == [Action.REPORT, Action.VERIFY]


def test_idempotent_report(cast):
    kw = dict(category_code="banner", lon=120.005, lat=30.005, client_request_id="req-123")
    first, created = svc.report_case(cast.citizen, **kw)
    again, created_again = svc.report_case(cast.citizen, **kw)
    assert created and not created_again and again.id == first.id
    assert db.session.query(Case).count() == 1


def test_invalid_verification_needs_reason_and_ends_case(cast):
    case = reported(cast)
    with pytest.raises(ValidationError):
        svc.verify_case(case.id, cast.dispatcher, valid=False)
    svc.verify_case(case.id, cast.dispatcher, valid=False, note="无此问题")
    assert case.status is S.INVALID
    with pytest.raises(IllegalTransition):
        svc.file_case(case.id, cast.dispatcher)


def test_check_fail_sends_back_to_dispatch_as_rework(cast):
    case = advance(cast, reported(cast), "resolved")
    with pytest.raises(Forbidden):  # the handler cannot check their own work
        svc.check_case(case.id, cast.worker, passed=True)
    with pytest.raises(ValidationError):
        check(cast, case, passed=False)  # a reason is required
    check(cast, case, passed=False, note="未清理干净")
    assert case.status is S.FILED and case.rework_count == 1
    assert case.assignee_id is None and case.dispatch_due_at is not None and case.handle_due_at is None
    event = svc.timeline(case)[-1]
    assert event.action is Action.CHECK_FAIL and event.data["handler_id"] == cast.worker.id


def test_low_rating_reopens_as_rework(cast):
    case = advance(cast, reported(cast), "closed")
    with pytest.raises(ValidationError):
        svc.evaluate_case(case.id, cast.citizen, rating=6)
    other = make_user(Role.CITIZEN)
    with pytest.raises(Forbidden):
        svc.evaluate_case(case.id, other, rating=1)
    svc.evaluate_case(case.id, cast.citizen, rating=2, comment="没修好")
    assert case.status is S.FILED and case.rework_count == 1 and case.closed_at is None
    assert actions(case)[-2:] == [Action.EVALUATE, Action.REOPEN]
    # After the second closure the citizen may rate again, but only once.
    advance(cast, case, "closed")
    svc.evaluate_case(case.id, cast.citizen, rating=4)
    with pytest.raises(Conflict):
        svc.evaluate_case(case.id, cast.citizen, rating=5)
    assert case.rating == 4


def test_evaluate_only_closed(cast):
    case = advance(cast, reported(cast), "handling")
    with pytest.raises(IllegalTransition):
        svc.evaluate_case(case.id, cast.citizen, rating=5)


def test_only_the_assignee_accepts_and_handles(cast):
    case = advance(cast, reported(cast), "dispatched")
    stranger = make_user(Role.WORKER)
    with pytest.raises(Forbidden):
        svc.accept_case(case.id, stranger)
    with pytest.raises(Forbidden):
        svc.accept_case(case.id, cast.dispatcher)  # role may not accept
    svc.accept_case(case.id, cast.worker)
    with pytest.raises(Forbidden):
        svc.feedback_case(case.id, stranger, photos=[jpeg()])
    with pytest.raises(ValidationError):
        svc.feedback_case(case.id, cast.worker)  # after-photo required
    svc.feedback_case(case.id, cast.worker, photos=[jpeg()])
    assert case.status is S.RESOLVED and case.handler_id == cast.worker.id


def test_department_dispatch_any_handler_of_it_accepts(cast):
    dept, other_dept = make_department("sanitation"), make_department("municipal")
    handler = make_user(Role.HANDLER, department=dept)
    outsider = make_user(Role.HANDLER, department=other_dept)
    case = advance(cast, reported(cast), "filed")
    svc.dispatch_case(case.id, cast.dispatcher, department_id=dept.id)
    with pytest.raises(Forbidden):
        svc.accept_case(case.id, outsider)
    svc.accept_case(case.id, handler)
    assert case.assignee_id == handler.id and case.department_id == dept.id


def test_dispatch_validation_and_reassignment(cast):
    case = advance(cast, reported(cast), "filed")
    with pytest.raises(ValidationError):
        svc.dispatch_case(case.id, cast.dispatcher)
    with pytest.raises(ValidationError):
        svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.citizen.id)
    svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.worker.id)
    due = case.handle_due_at
    svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.checker.id)  # 改派 keeps the clock
    assert case.assignee_id == cast.checker.id and case.handle_due_at == due


def test_return_to_dispatcher(cast):
    case = advance(cast, reported(cast), "accepted")
    with pytest.raises(ValidationError):
        svc.return_case(case.id, cast.worker, reason="  ")
    svc.return_case(case.id, cast.worker, reason="不属于本部门")
    assert case.status is S.FILED and case.return_count == 1 and case.assignee_id is None


def test_delay_request_and_approval_moves_deadline(cast):
    case = advance(cast, reported(cast, category="exposed_garbage"), "accepted")
    due = case.handle_due_at
    with pytest.raises(Conflict):
        svc.decide_delay(case.id, cast.dispatcher, approve=True)
    with pytest.raises(ValidationError):
        svc.request_delay(case.id, cast.worker, minutes=0, reason="x")
    svc.request_delay(case.id, cast.worker, minutes=90, reason="需要吊车")
    with pytest.raises(Conflict):
        svc.request_delay(case.id, cast.worker, minutes=30, reason="again")
    with pytest.raises(Forbidden):
        svc.decide_delay(case.id, cast.worker, approve=True)
    svc.decide_delay(case.id, cast.dispatcher, approve=True)
    assert case.handle_due_at == due + timedelta(minutes=90) and case.delay_count == 1
    svc.request_delay(case.id, cast.worker, minutes=30, reason="再等等")
    svc.decide_delay(case.id, cast.dispatcher, approve=False)
    assert case.delay_count == 1 and case.pending_delay_minutes is None


def test_suspend_and_resume_keep_remaining_time(cast):
    t0 = datetime(2026, 11, 23, 9, tzinfo=TZ)
    case = reported(cast, category="exposed_garbage")  # natural time, handle 120 min
    advance(cast, case, "accepted", at=t0)
    assert case.handle_due_at == t0 + timedelta(minutes=120)
    svc.suspend_case(case.id, cast.dispatcher, reason="等待产权单位", at=t0 + timedelta(minutes=30))
    assert case.status is S.SUSPENDED and case.suspended_remaining_min == pytest.approx(90)
    with pytest.raises(IllegalTransition):
        svc.accept_case(case.id, cast.worker)
    svc.resume_case(case.id, cast.dispatcher, at=t0 + timedelta(days=2))
    assert case.status is S.ACCEPTED
    assert case.handle_due_at == t0 + timedelta(days=2, minutes=90)


def test_void_needs_reason_and_is_final(cast):
    case = advance(cast, reported(cast), "dispatched")
    with pytest.raises(Forbidden):
        svc.void_case(case.id, cast.worker, reason="x")
    svc.void_case(case.id, cast.supervisor, reason="测试数据")
    assert case.status is S.VOID and case.void_reason == "测试数据"
    with pytest.raises(IllegalTransition):
        svc.void_case(case.id, cast.supervisor, reason="again")


def test_merge_duplicate_into_open_case(cast):
    target, dup = reported(cast), reported(cast)
    with pytest.raises(ValidationError):
        svc.merge_case(dup.id, cast.dispatcher, into=dup.id)
    svc.merge_case(dup.id, cast.dispatcher, into=target.number)
    assert dup.status is S.MERGED and dup.merged_into_id == target.id
    assert actions(target)[-1] is Action.ADD_EVIDENCE
    closed = advance(cast, reported(cast), "closed")
    third = reported(cast)
    with pytest.raises(Conflict):
        svc.merge_case(third.id, cast.dispatcher, into=closed.id)


def test_illegal_transition_leaves_case_and_log_untouched(cast):
    case = reported(cast)
    db.session.commit()
    before = db.session.query(CaseEvent).count()
    with pytest.raises(IllegalTransition):
        svc.feedback_case(case.id, cast.worker, photos=[jpeg()])
    db.session.rollback()
    assert db.session.get(Case, case.id).status is S.REPORTED
    assert db.session.query(CaseEvent).count() == before


def test_citizen_cannot_run_staff_verbs(cast):
    case = reported(cast)
    for verb, kw in [(svc.verify_case, {"valid": True}), (svc.file_case, {}), (svc.void_case, {"reason": "x"}),
                     (svc.suspend_case, {"reason": "x"})]:
        with pytest.raises(Forbidden):
            verb(case.id, cast.citizen, **kw)


def test_only_the_assigned_checker_or_staff_checks(cast):
    case = advance(cast, reported(cast), "resolved")
    bystander = make_user(Role.WORKER)
    case.checker_id = cast.checker.id
    with pytest.raises(Forbidden):
        svc.check_case(case.id, bystander, passed=True)  # any worker used to pass any check
    with pytest.raises(Forbidden):
        svc.check_case(case.id, cast.worker, passed=True)  # nor the handler, even if assigned
    svc.check_case(case.id, cast.supervisor, passed=False, note="督查未通过")  # staff may
    assert case.status is S.FILED


def test_only_grid_owners_or_staff_verify(cast):
    case = reported(cast)
    outsider = make_user(Role.WORKER)
    with pytest.raises(Forbidden):
        svc.verify_case(case.id, outsider, valid=True)
    with pytest.raises(Forbidden):
        svc.verify_case(case.id, outsider, valid=False, note="不存在")
    owner = make_user(Role.WORKER)
    owner.grids.append(case.grid)
    svc.verify_case(case.id, owner, valid=True)
    assert case.status is S.VERIFIED


def test_only_the_reporter_rates(cast):
    case = advance(cast, reported(cast), "closed")
    for staff in (cast.dispatcher, cast.supervisor, make_user(Role.ADMIN), cast.worker):
        with pytest.raises(Forbidden):
            svc.evaluate_case(case.id, staff, rating=1)
    assert case.status is S.CLOSED and case.rating is None
    svc.evaluate_case(case.id, cast.citizen, rating=5)
    assert case.rating == 5


def test_a_request_id_without_a_reporter_to_scope_it_is_ignored(cast):
    kw = {"category_code": "exposed_garbage", "lon": INSIDE_WEST[0], "lat": INSIDE_WEST[1],
          "client_request_id": "k"}
    a, _ = svc.report_case(None, **kw)
    b, created = svc.report_case(None, **kw)
    assert created and a.id != b.id and a.client_request_id is None
    c, _ = svc.report_case(None, request_scope="device:abc", **kw)
    d, created = svc.report_case(None, request_scope="device:abc", **kw)
    e, created_e = svc.report_case(None, request_scope="device:xyz", **kw)
    assert c.id == d.id and not created and created_e and e.id != c.id
