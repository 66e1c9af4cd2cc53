"""Auto-dispatch, timers and learning on real PostGIS, including parallel rounds."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.errors import ValidationError
from app.extensions import db
from app.models import Case, CaseEvent, Category, Notification, Role, WorkerStat
from app.models.types import utcnow
from app.services import cases as svc
from app.services import dispatching as dsp
from app.services.grids import grid_for_point, point_sql
from dispatch.lifecycle import Action, CaseStatus
from tests.factories import Cast, advance, check, jpeg, make_grids, make_user, reported

S = CaseStatus
WEST_PT, EAST_PT = (120.005, 30.005), (120.015, 30.005)


def field_worker(grid_code, where, *, skills=("exposed_garbage", "banner"), capacity=3, on_duty=True):
    w = make_user(Role.WORKER)
    w.skills = [db.session.get(Category, c) for c in skills]
    w.grids = [grid_for_point(*where)] if grid_code else []
    w.capacity, w.on_duty = capacity, on_duty
    w.last_position, w.last_seen_at = point_sql(*where), utcnow()
    db.session.flush()
    return w


@pytest.fixture
def town(app):
    make_grids()
    cast = Cast()
    cast.worker.on_duty = False  # the factory's worker stays out of routing
    west = field_worker("W", (120.004, 30.004))
    east = field_worker("E", (120.016, 30.006))
    db.session.commit()
    return cast, west, east


def filed(cast, where=WEST_PT, category="exposed_garbage"):
    case = reported(cast, category=category, where=where)
    advance(cast, case, "filed")
    return case


def test_round_assigns_the_owner_and_records_why(town):
    cast, west, east = town
    a, b = filed(cast, WEST_PT), filed(cast, EAST_PT)
    rep = dsp.auto_dispatch()
    db.session.commit()
    assert rep == {"considered": 2, "assigned": 2, "waiting": 0}
    assert (a.assignee_id, b.assignee_id) == (west.id, east.id)
    event = svc.timeline(a)[-1]
    assert event.action is Action.DISPATCH and event.actor.username == "auto-dispatch"
    assert event.data["auto"] is True and {"travel", "handle", "lateness"} <= set(event.data["terms"])
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == west.id, Notification.kind == "task")) == 1


def test_skills_duty_and_waiting_reason(town):
    cast, west, east = town
    case = filed(cast, WEST_PT, category="illegal_construction")  # nobody has this skill
    dsp.auto_dispatch()
    assert case.status is S.FILED and "skill" in case.extra["waiting"]
    west.on_duty = east.on_duty = False
    db.session.commit()
    other = filed(cast, WEST_PT)
    assert dsp.auto_dispatch()["assigned"] == 0 and other.status is S.FILED


def test_work_goes_to_whoever_is_still_on_shift_to_start_it(app, town):
    from app.services.users import set_on_duty

    cast, west, east = town
    now = utcnow()
    # The owner, idle and 150 m away, goes off duty in 15 seconds: they could not even get there.
    set_on_duty(west, True, hours=8, at=now - timedelta(hours=7, minutes=59, seconds=45))
    set_on_duty(east, True, at=now)  # the neighbour's shift has just begun (SHIFT_HOURS)
    assert east.duty_until == now + timedelta(hours=app.config["SHIFT_HOURS"])
    db.session.commit()
    case = filed(cast, WEST_PT)
    dsp.auto_dispatch(now=now)
    assert case.assignee_id == east.id
    later = filed(cast, WEST_PT)
    set_on_duty(west, True, at=now + timedelta(minutes=1))  # back on duty after the end: a new shift
    dsp.auto_dispatch(now=now + timedelta(minutes=1))
    assert later.assignee_id == west.id
    set_on_duty(west, False)
    assert west.duty_until is None


def test_capacity_is_respected(town):
    cast, west, east = town
    west.capacity, east.capacity = 1, 1
    cases = [filed(cast, WEST_PT) for _ in range(4)]
    dsp.auto_dispatch()
    assert sum(c.status is S.DISPATCHED for c in cases) == 2
    assert all(c.extra.get("waiting") for c in cases if c.status is S.FILED)


def test_parallel_rounds_never_double_assign_or_overfill(app, town, monkeypatch):
    # No late binding here, so every round tries to fill every worker to capacity at once.
    monkeypatch.setitem(app.config, "DISPATCH_WEIGHTS", '{"commit_horizon_min": 100000}')
    cast, west, east = town
    extra = [field_worker("W", (120.003 + i * 0.001, 30.003), capacity=2) for i in range(3)]
    ids = [filed(cast, WEST_PT if i % 2 else EAST_PT).id for i in range(30)]
    db.session.commit()

    def round_():
        with app.app_context():
            try:
                rep = dsp.auto_dispatch(limit=8)
                db.session.commit()
                return rep["assigned"]
            finally:
                db.session.remove()

    with ThreadPoolExecutor(4) as pool:
        assigned = sum(pool.map(lambda _: round_(), range(8)))
    db.session.expire_all()
    dispatches = db.session.execute(
        select(CaseEvent.case_id, func.count()).where(CaseEvent.action == Action.DISPATCH,
                                                      CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
    ).all()
    assert all(n == 1 for _, n in dispatches)  # nobody got the same case twice
    capacity = {w.id: w.capacity for w in [west, east, *extra]}
    load = dict(db.session.execute(select(Case.assignee_id, func.count()).where(
        Case.id.in_(ids), Case.status == S.DISPATCHED).group_by(Case.assignee_id)).all())
    assert all(load[w] <= capacity[w] for w in load)  # nobody over capacity
    assert assigned == len(dispatches) == sum(capacity.values())


def test_offer_timeout_goes_to_next_best_with_reason(app, town):
    cast, west, east = town
    case = filed(cast, WEST_PT)
    t0 = utcnow()
    dsp.auto_dispatch(now=t0)
    assert case.assignee_id == west.id
    rep = dsp.expire_offers(now=t0 + timedelta(minutes=app.config["ACCEPT_TIMEOUT_MIN"] + 1))
    assert rep == {"moved": 1, "kept": 0}
    assert case.assignee_id == east.id and west.id in case.extra["exclude"]
    last = svc.timeline(case)[-1]
    assert last.data["reason"] == "offer_timeout" and last.data["previous"] == west.id
    # Nobody else left: the offer stays, and dispatch is told once.
    rep = dsp.expire_offers(now=t0 + timedelta(minutes=40))
    rep2 = dsp.expire_offers(now=t0 + timedelta(minutes=41))
    assert rep == {"moved": 0, "kept": 1} and rep2 == {"moved": 0, "kept": 1}
    told = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "offer_expired", Notification.user_id == cast.dispatcher.id))
    assert told == 1


def test_deadline_warning_and_escalation_happen_once(town):
    cast, west, _ = town
    case = filed(cast, WEST_PT)  # exposed_garbage: natural time, handling 120 minutes
    t0 = utcnow()
    dsp.auto_dispatch(now=t0)
    assert dsp.watch_deadlines(now=t0 + timedelta(minutes=60)) == {"warned": 0, "escalated": 0}
    assert dsp.watch_deadlines(now=t0 + timedelta(minutes=100)) == {"warned": 1, "escalated": 0}
    assert dsp.watch_deadlines(now=t0 + timedelta(minutes=130)) == {"warned": 0, "escalated": 1}
    assert dsp.watch_deadlines(now=t0 + timedelta(minutes=140)) == {"warned": 0, "escalated": 0}
    assert svc.timeline(case)[-1].action is Action.ESCALATE and case.status is S.DISPATCHED
    kinds = dict(db.session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all())
    assert kinds["warning"] == 1 and kinds["overdue"] == 2  # the dispatcher and the supervisor


def test_filed_case_waiting_past_dispatch_limit_is_escalated(town):
    cast, west, east = town
    west.on_duty = east.on_duty = False
    case = filed(cast, WEST_PT)
    assert dsp.watch_deadlines(now=case.dispatch_due_at + timedelta(minutes=1))["escalated"] == 1
    assert svc.timeline(case)[-1].data["phase"] == "dispatch"


def test_check_task_goes_to_someone_other_than_the_handler(town):
    cast, west, east = town
    case = filed(cast, WEST_PT)
    dsp.auto_dispatch()
    svc.accept_case(case.id, west)
    svc.feedback_case(case.id, west, photos=[jpeg()])
    assert dsp.assign_checks() == {"checks": 1, "camera": 0, "waiting": 0}
    assert case.checker_id == east.id  # west handled it, so the nearest other inspector checks
    given = svc.timeline(case)[-1]  # a verb with its own audited event, not a silent column update
    assert given.action is Action.ASSIGN_CHECK and given.data == {"checker_id": east.id}
    assert given.actor.role is Role.SYSTEM and case.status is CaseStatus.RESOLVED
    assert dsp.assign_checks() == {"checks": 0, "camera": 0, "waiting": 0}
    with pytest.raises(ValidationError):  # never the handler
        svc.assign_checker(case.id, cast.dispatcher, checker_id=west.id)


def test_twice_failed_worker_is_not_sent_again(town):
    cast, west, east = town
    east.on_duty = False  # west is the only one available, twice
    case = filed(cast, WEST_PT)
    for _ in range(2):
        dsp.auto_dispatch()
        assert case.assignee_id == west.id
        svc.accept_case(case.id, west)
        svc.feedback_case(case.id, west, photos=[jpeg()])
        check(cast, case, passed=False, note="没修好")
    assert dsp.auto_dispatch()["assigned"] == 0  # not a third time, although west is the only one there
    east.on_duty = True
    dsp.auto_dispatch()
    assert case.status is S.DISPATCHED and case.assignee_id == east.id


def test_one_failure_prefers_someone_else(town):
    cast, west, east = town
    case = filed(cast, WEST_PT)
    dsp.auto_dispatch()
    svc.accept_case(case.id, west)
    svc.feedback_case(case.id, west, photos=[jpeg()])
    check(cast, case, passed=False, note="没修好")
    dsp.auto_dispatch()
    assert case.assignee_id == east.id  # further away, but west's fix already failed once


def test_learning_from_checks_and_ratings(town):
    cast, west, _ = town
    t0 = utcnow() - timedelta(hours=5)
    for i in range(3):
        case = filed(cast, WEST_PT)
        dsp.auto_dispatch(now=t0)
        svc.accept_case(case.id, west, at=t0 + timedelta(minutes=1))
        svc.feedback_case(case.id, west, photos=[jpeg((i, 9, 9))], at=t0 + timedelta(minutes=11))
        check(cast, case, passed=True, at=t0 + timedelta(minutes=30))
        svc.evaluate_case(case.id, cast.citizen, rating=5, at=t0 + timedelta(minutes=40))
    assert dsp.learn_outcomes()["learned"] == 6
    assert dsp.learn_outcomes() == {"learned": 0}  # idempotent
    st = db.session.get(WorkerStat, (west.id, "exposed_garbage"))
    assert st.n == 3 and st.handle_min < 24 and st.satisfaction > 4.3  # prior 24 min: this one is quicker
    pooled = db.session.get(WorkerStat, (west.id, "*"))
    assert pooled.handle_min < 1.0
    assert dsp.pending_work() == {"filed": 0, "unlearned": 0}


def test_sweeper_requeues_what_was_missed(app, town):
    from app.jobs import get_queue
    from app.jobs.tasks import sweep

    cast, _, _ = town
    db.session.commit()  # the town: its workers going on duty queue a patrol-planning step
    get_queue("dispatch").empty()
    filed(cast, WEST_PT)
    db.session.commit()
    assert [j.func_name.rsplit(".", 1)[1] for j in get_queue("dispatch").jobs] == ["auto_dispatch"]  # at once
    get_queue("dispatch").empty()  # as if Redis had been down when the case was filed
    assert sweep()["filed"] == 1
    assert [j.func_name.rsplit(".", 1)[1] for j in get_queue("dispatch").jobs] == ["auto_dispatch"]


def test_round_locks_do_not_block_foreign_keys_to_workers(app, town):
    """A round holds the workers' rows; an event or notification naming a worker must not wait for it."""
    import threading

    from sqlalchemy import text

    cast, west, _ = town
    filed(cast, WEST_PT)
    db.session.commit()
    held, release = threading.Event(), threading.Event()

    def round_holding_locks():
        with app.app_context():
            dsp.worker_states(utcnow())  # takes the worker row locks
            held.set()
            release.wait(10)
            db.session.rollback()
            db.session.remove()

    t = threading.Thread(target=round_holding_locks)
    t.start()
    try:
        assert held.wait(10)
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        db.session.add(Notification(user_id=west.id, kind="task"))
        db.session.flush()  # FK check on users(west): must not block
        db.session.rollback()
    finally:
        release.set()
        t.join()


def test_waiting_reason_is_shown_in_the_users_language(client, town):
    cast, west, east = town
    case = filed(cast, WEST_PT, category="illegal_construction")
    dsp.auto_dispatch()
    db.session.commit()
    from tests.factories import token_for

    r = client.get(f"/api/v1/cases/{case.id}", headers=token_for(cast.dispatcher))
    assert r.json["properties"]["waiting"] == "附近没有具备该技能且有余力的在岗人员。"


def test_suggestions_for_dispatching_by_hand_match_what_a_round_would_do(town, client):
    from tests.factories import token_for

    cast, west, east = town
    case = filed(cast, WEST_PT)
    far_case = filed(cast, EAST_PT, category="road_damage")  # nobody has the skill
    db.session.commit()
    headers = token_for(cast.dispatcher)
    r = client.get(f"/api/v1/cases/{case.id}/candidates?lang=en", headers=headers)
    assert r.status_code == 200
    picks = r.json["candidates"]
    assert [p["worker"]["id"] for p in picks] == [west.id, east.id]  # the grid's own worker first (属地)
    assert picks[0]["tier_label"] == "this grid" and picks[1]["tier_label"] == "neighbouring grid"
    assert picks[0]["minutes"]["travel"] < picks[1]["minutes"]["travel"] and picks[0]["cost"] < picks[1]["cost"]
    assert client.get(f"/api/v1/cases/{case.id}/candidates?k=1", headers=headers).json["candidates"][0][
        "worker"]["id"] == west.id
    nobody = client.get(f"/api/v1/cases/{far_case.id}/candidates?lang=en", headers=headers).json
    assert nobody["candidates"] == [] and "skill" in nobody["waiting"]

    rep = dsp.auto_dispatch()  # the round agrees with the first suggestion
    db.session.commit()
    assert rep["assigned"] == 1 and db.session.get(Case, case.id).assignee_id == west.id
    again = client.get(f"/api/v1/cases/{case.id}/candidates", headers=headers).json["candidates"]
    assert [p["worker"]["id"] for p in again] == [east.id]  # 改派: someone other than the assignee
    assert client.get(f"/api/v1/cases/{case.id}/candidates", headers=token_for(west)).status_code == 403
    closed = advance(cast, reported(cast), "verified")
    db.session.commit()
    assert client.get(f"/api/v1/cases/{closed.id}/candidates", headers=headers).status_code == 409
