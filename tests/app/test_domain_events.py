"""Domain events: recorded with each change, published and followed up only once it commits (real Redis)."""

import json

import pytest

from app.domain_events import CHANNEL, STREAM
from app.extensions import db, get_redis
from app.jobs import get_queue
from app.services import cases as svc
from tests.factories import Cast, advance, check, reported


@pytest.fixture
def listener(app):
    """A Redis pub/sub subscription to the domain-event channel; returns a function draining it."""
    sub = get_redis().pubsub(ignore_subscribe_messages=True)
    sub.subscribe(CHANNEL)
    sub.get_message(timeout=1)  # the subscription confirmation

    def drain() -> list[dict]:
        out = []
        while (msg := sub.get_message(timeout=0.5)) is not None:
            out.append(json.loads(msg["data"]))
        return out

    yield drain
    sub.close()


def queued(queue: str) -> list[str]:
    """Names of the jobs waiting in an RQ queue."""
    return [j.func_name.rsplit(".", 1)[1] for j in get_queue(queue).jobs]


def test_committed_verbs_are_published_with_their_case(town, listener):
    case = reported(town)
    db.session.commit()
    svc.verify_case(case.id, town.dispatcher, valid=True)
    svc.file_case(case.id, town.dispatcher)
    db.session.commit()
    got = listener()
    assert [(e["action"], e["status"]) for e in got] == [("report", "reported"), ("verify", "verified"),
                                                         ("file", "filed")]
    assert {e["case_id"] for e in got} == {case.id} and got[0]["number"] == case.number
    assert got[0]["grid_id"] == case.grid_id and got[1]["actor_id"] == town.dispatcher.id
    # The same events are in the stream, in order, under the ids the channel announced: a client that was away
    # asks for what came after the last id it saw.
    replay = get_redis().xrange(STREAM, min=f"({got[0]['id']}")
    assert [json.loads(fields[b"event"])["action"] for _, fields in replay] == ["verify", "file"]
    assert [sid.decode() for sid, _ in replay] == [e["id"] for e in got[1:]]


def test_rolled_back_change_publishes_and_enqueues_nothing(town, listener):
    case = reported(town)
    db.session.commit()
    listener()
    svc.verify_case(case.id, town.dispatcher, valid=True)
    svc.file_case(case.id, town.dispatcher)
    db.session.flush()  # the rows were written, then the transaction is abandoned
    db.session.rollback()
    assert listener() == [] and get_redis().xlen(STREAM) == 1  # only the report
    assert queued("dispatch") == []


def test_follow_up_jobs_whoever_made_the_change(town, client):
    """Filing from any path queues a dispatch round; a resolved case a check task; a case sent out or resolved
    re-plans patrol rounds; a check or a rating learning."""
    case = reported(town)
    db.session.commit()
    advance(town, case, "filed")
    db.session.commit()
    assert queued("dispatch") == ["auto_dispatch"]
    get_queue("dispatch").empty()
    advance(town, case, "dispatched")
    db.session.commit()
    assert queued("dispatch") == ["plan_patrols"]  # the worker sent out: their patrol round gives way now
    advance(town, case, "resolved")
    db.session.commit()
    assert "assign_checks" in queued("dispatch") and "plan_patrols" in queued("dispatch")  # free again
    get_queue("dispatch").empty()
    check(town, case, passed=True)  # the check assignment (a resolved case stays resolved) queues no new round
    db.session.commit()
    assert queued("default") == ["learn_outcomes"] and queued("dispatch") == []


def test_citizen_rating_on_the_tracking_page_queues_learning(town, client):
    case = reported(town)
    case.tracking_token = "t0ken-for-the-test"
    advance(town, case, "closed")
    db.session.commit()
    get_queue("default").empty()
    client.post(f"/track/{case.tracking_token}/rate", data={"rating": "5"})
    db.session.expire_all()
    assert db.session.get(type(case), case.id).rating == 5
    assert queued("default") == ["learn_outcomes"]  # was left to the sweeper (up to a minute)


def test_redis_down_the_change_still_commits(app_with, town, caplog):
    app = app_with(REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        cast = Cast()
        case = reported(cast)
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(type(case), case.id).status.value == "reported"
    assert "could not publish 1 domain events" in caplog.text


def test_going_on_or_off_duty_replans_patrols_at_once_and_moving_does_not(town):
    from app.services import users

    users.set_on_duty(town.worker, True)
    db.session.commit()
    assert queued("dispatch") == ["plan_patrols"]  # a first round now, not at the next periodic step
    get_queue("dispatch").empty()
    users.report_position(town.worker, 120.004, 30.003)
    db.session.commit()
    assert queued("dispatch") == []  # a position alone changes no plan
    users.set_on_duty(town.worker, False)
    db.session.commit()
    assert queued("dispatch") == ["plan_patrols"]  # their round ends with the shift
