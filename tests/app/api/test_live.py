"""The live stream read by a real HTTP client over loopback (real Redis), and the notifications feed."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest
import requests
from sqlalchemy import select

from app.domain_events import STREAM
from app.extensions import db, get_redis
from app.models import Grid, Notification, Role
from app.models.dispatching import NotificationKind
from app.services import cases as svc
from app.services.dispatching import notify
from tests.factories import EAST, advance, make_department, make_user, reported, token_for

EAST_POINT = (EAST.centroid.x, EAST.centroid.y)


class Listener:
    """An open event stream, read line by line in a thread into a queue of (event, id, data) tuples."""

    def __init__(self, base: str, headers: dict, last_id: str | None = None):
        headers = {**headers, **({"Last-Event-ID": last_id} if last_id else {})}
        self.response = requests.get(f"{base}/api/v1/events/stream", headers=headers, stream=True, timeout=30)
        self.frames: queue.Queue = queue.Queue()
        self.comments = 0
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fields: dict = {}
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith(":"):
                    self.comments += 1
                elif line == "":
                    if "data" in fields:
                        self.frames.put((fields.get("event", "message"), fields.get("id"), json.loads(fields["data"])))
                    fields = {}
                else:
                    name, _, value = line.partition(":")
                    fields[name] = value.lstrip(" ")
        except (requests.RequestException, AttributeError, ValueError):  # closed by the test while reading
            pass
        finally:
            self.ended.set()

    def take(self, n: int, timeout: float = 5) -> list:
        """The next `n` frames (fails if they do not come in time)."""
        out, end = [], time.monotonic() + timeout
        while len(out) < n:
            out.append(self.frames.get(timeout=max(0.01, end - time.monotonic())))
        return out

    def quiet(self, wait: float = 0.8) -> bool:
        """True if no frame arrives within `wait` seconds."""
        try:
            self.frames.get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self):
        self.response.close()


@pytest.fixture
def listen(live_server):
    opened = []

    def open_(headers, last_id=None):
        listener = Listener(live_server, headers, last_id)
        opened.append(listener)
        time.sleep(0.3)  # the server has read the stream's newest id before the test writes
        return listener

    yield open_
    for listener in opened:
        listener.close()


@pytest.fixture
def west_worker(town):
    """A second grid worker who owns the west grid only (where the town's cases are reported)."""
    worker = make_user(Role.WORKER)
    worker.grids.append(db.session.scalars(select(Grid).where(Grid.code == "330100001001001")).one())
    db.session.commit()
    return worker


def test_each_listener_gets_what_they_may_see(town, west_worker, listen):
    handler = make_user(Role.HANDLER, department=make_department())
    db.session.commit()
    staff = listen(token_for(town.dispatcher))
    owner = listen(token_for(west_worker))
    assignee = listen(token_for(town.worker))  # owns no grid: sees only what is assigned to them
    dept = listen(token_for(handler))

    case = reported(town)  # west grid
    east = reported(town, where=EAST_POINT)
    db.session.commit()
    advance(town, case, "dispatched")
    db.session.commit()

    got = [(e, d["number"], d["action"]) for e, _, d in staff.take(5)]
    assert got == [("case", case.number, "report"), ("case", east.number, "report"),
                   ("case", case.number, "verify"), ("case", case.number, "file"),
                   ("case", case.number, "dispatch")]
    assert [d["action"] for _, _, d in owner.take(4)] == ["report", "verify", "file", "dispatch"]
    assert owner.quiet()  # nothing of the east grid's case
    event, stream_id, data = assignee.take(1)[0]
    assert (data["action"], data["assignee_id"], data["status"]) == ("dispatch", town.worker.id, "dispatched")
    assert stream_id and event == "case"
    assert dept.quiet()  # nothing of another department

    advance(town, east, "filed")
    svc.dispatch_case(east.id, town.dispatcher, department_id=handler.department_id)
    db.session.commit()
    assert [d["action"] for _, _, d in dept.take(1)] == ["dispatch"]


def test_a_reassignment_reaches_the_worker_it_was_taken_from(town, listen):
    case = advance(town, reported(town), "dispatched")
    db.session.commit()
    first = listen(token_for(town.worker))
    svc.dispatch_case(case.id, town.dispatcher, assignee_id=town.checker.id)  # 改派 to another worker
    db.session.commit()
    (_, _, data), = first.take(1)
    assert (data["assignee_id"], data["previous_assignee_id"]) == (town.checker.id, town.worker.id)


def test_notifications_reach_only_their_reader(town, listen, client):
    mine, other = listen(token_for(town.worker)), listen(token_for(town.checker))
    case = reported(town)
    db.session.commit()
    notify(town.worker.id, case, NotificationKind.TASK)
    db.session.commit()
    (event, _, note), = mine.take(1)  # the report is not theirs to see: only the notification
    assert event == "notification"
    assert (note["user_id"], note["kind"], note["number"]) == (town.worker.id, "task", case.number)
    assert other.quiet()


def test_a_reconnect_replays_what_was_missed(town, listen):
    headers = token_for(town.dispatcher)
    first = listen(headers)
    case = reported(town)
    db.session.commit()
    _, seen_id, _ = first.take(1)[0]
    first.close()
    svc.verify_case(case.id, town.dispatcher, valid=True)  # while the phone is in a tunnel
    svc.file_case(case.id, town.dispatcher)
    db.session.commit()
    again = listen(headers, last_id=seen_id)
    assert [d["action"] for _, _, d in again.take(2)] == ["verify", "file"]
    assert again.quiet()


def test_a_trimmed_past_asks_the_client_to_reload(town, listen):
    case = reported(town)
    db.session.commit()
    get_redis().xtrim(STREAM, maxlen=0)  # as if a day's events had rolled past the client's last id
    svc.verify_case(case.id, town.dispatcher, valid=True)
    db.session.commit()
    listener = listen(token_for(town.dispatcher), last_id="1-0")
    assert [(e, d.get("action")) for e, _, d in listener.take(2)] == [("resync", None), ("case", "verify")]


def test_heartbeats_flow_and_the_stream_ends_by_itself(town, listen, app):
    listener = listen(token_for(town.supervisor))
    assert listener.ended.wait(app.config["STREAM_MAX_S"] + 5)  # closed by the server; the browser reconnects
    assert listener.comments >= 2  # heartbeats kept it busy while nothing happened


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.SYSTEM])
def test_citizens_and_systems_have_no_stream(client, town, role):
    user = town.citizen if role is Role.CITIZEN else make_user(role)
    r = client.get("/api/v1/events/stream", headers=token_for(user))
    assert r.status_code == 403
    assert client.get("/api/v1/events/stream").status_code == 401


def test_the_feed_lists_mine_unread_first_and_marks_them_read(town, client):
    case = reported(town)
    db.session.commit()
    for kind in (NotificationKind.TASK, NotificationKind.WARNING, NotificationKind.CHECK):
        notify(town.worker.id, case, kind)
    notify(town.checker.id, case, NotificationKind.TASK)
    db.session.commit()
    headers = token_for(town.worker)
    body = client.get("/api/v1/notifications?lang=en", headers=headers).json
    assert (body["total"], body["unread"]) == (3, 3)
    assert [n["kind"] for n in body["items"]] == ["check", "warning", "task"]  # newest first
    assert body["items"][0]["kind_label"] == "Check to do"
    assert body["items"][0]["case"] == {"id": case.id, "number": case.number}
    assert client.get("/api/v1/notifications?lang=zh_CN", headers=headers).json["items"][0]["kind_label"] == "待核查"

    oldest = body["items"][-1]["id"]
    r = client.post(f"/api/v1/notifications/{oldest}/read", headers=headers)
    assert r.status_code == 200 and r.json["read_at"]
    body = client.get("/api/v1/notifications?page_size=2", headers=headers).json
    assert [n["read_at"] is None for n in body["items"]] == [True, True] and body["unread"] == 2
    assert client.get("/api/v1/notifications?unread=1", headers=headers).json["total"] == 2

    theirs = db.session.scalars(select(Notification.id).where(Notification.user_id == town.checker.id)).one()
    assert client.post(f"/api/v1/notifications/{theirs}/read", headers=headers).status_code == 404
    assert client.post("/api/v1/notifications/read-all", headers=headers).json == {"marked": 2}
    assert client.get("/api/v1/notifications", headers=headers).json["unread"] == 0
    assert client.get("/api/v1/notifications", headers=token_for(town.checker)).json["unread"] == 1  # untouched
    assert client.get("/api/v1/notifications?page_size=0", headers=headers).status_code == 400


def test_field_positions_reach_staff_maps_only(town, west_worker, listen):
    from app.services.users import report_position, set_on_duty

    staff = listen(token_for(town.dispatcher))
    peer = listen(token_for(west_worker))
    set_on_duty(town.worker, True)
    report_position(town.worker, 120.004, 30.003)
    db.session.commit()
    event, stream_id, data = staff.take(1)[0]
    assert event == "position" and stream_id
    assert (data["user_id"], data["on_duty"], data["lon"], data["lat"]) == (town.worker.id, True, 120.004, 30.003)
    assert peer.quiet()  # a worker's position is not another worker's business
    town.worker.display_name = "改名"  # other changes of a person are not positions
    db.session.commit()
    assert staff.quiet()
