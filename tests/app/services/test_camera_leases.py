"""Cameras shared by lease among vision nodes (real PostgreSQL): fair shares, takeover of a dead node's cameras,
capacity, parallel nodes never taking the same camera, and fencing of a node that lost a camera."""

import threading
from types import SimpleNamespace

from app.extensions import db
from app.models import Camera, Case
from app.services import camera_leases as leases
from app.services.grids import point_sql
from app.services.vision import record_violation


def cameras(n: int) -> list[int]:
    rows = [Camera(code=f"C{i}", name=f"路口{i}", position=point_sql(120.001 * i, 30.0)) for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [c.id for c in rows]


def beat(node, capacity, held):
    held = leases.beat(node, capacity, held)
    db.session.commit()
    return held


def age(node: str, seconds: float = 3600) -> None:
    """`node` stopped beating `seconds` ago: its heartbeat and its leases are that old."""
    db.session.execute(db.text("UPDATE vision_nodes SET heartbeat_at = now() - make_interval(secs => :s) "
                               "WHERE name = :n"), {"n": node, "s": seconds})
    db.session.execute(db.text("UPDATE cameras SET lease_expires_at = now() - make_interval(secs => :s) "
                               "WHERE node = :n"), {"n": node, "s": seconds})
    db.session.commit()


def test_a_new_node_gets_a_fair_share_and_a_dead_ones_cameras_are_taken_over(app):
    ids = cameras(5)
    a = beat("A", 10, {})
    assert sorted(a) == ids and all(v == 1 for v in a.values())  # alone: every camera, lease version 1
    b = beat("B", 10, {})
    assert b == {}  # everything is leased to A, whose leases are fresh
    a = beat("A", 10, a)  # A sees B alive: keeps its share (3), gives the highest ids back
    assert sorted(a) == ids[:3]
    b = beat("B", 10, b)
    assert sorted(b) == ids[3:] and set(a).isdisjoint(b)
    assert beat("A", 10, a) == a and beat("B", 10, b) == b  # stable: renewed, nothing moves
    db.session.get(Camera, ids[4]).enabled = False  # switched off: its node lets it go
    db.session.commit()
    b = beat("B", 10, b)
    assert sorted(b) == [ids[3]] and db.session.get(Camera, ids[4]).node is None
    db.session.get(Camera, ids[4]).enabled = True
    db.session.commit()
    b = beat("B", 10, b)
    assert sorted(b) == ids[3:]
    age("A")  # A dies: no heartbeat, its leases expire
    b = beat("B", 10, b)
    assert sorted(b) == ids and b[ids[0]] == 2  # taken over, under a new lease version
    assert {c.node for c in db.session.scalars(db.select(Camera))} == {"B"}
    leases.leave("B")
    db.session.commit()
    assert {c.node for c in db.session.scalars(db.select(Camera))} == {None}  # given back on shutdown


def test_capacity_is_respected_and_the_rest_goes_to_the_others(app):
    cameras(6)
    small = beat("S", 1, {})
    big = beat("T", 10, {})
    small, big = beat("S", 1, small), beat("T", 10, big)
    assert len(small) == 1 and len(big) == 5  # the small node takes what it can, the big one the rest


def test_nodes_beating_at_once_never_take_the_same_camera(app):
    ids = cameras(20)
    got, go = {}, threading.Barrier(4)

    def node(name):
        with app.app_context():
            go.wait()
            got[name] = leases.acquire(name, 20)
            db.session.commit()
            db.session.remove()

    threads = [threading.Thread(target=node, args=(f"N{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    taken = [cid for held in got.values() for cid in held]
    assert sorted(taken) == ids  # every camera once: SKIP LOCKED, no waiting, no double lease


def test_a_node_that_lost_its_camera_writes_no_finding(app):
    (cid,) = cameras(1)
    a = beat("A", 10, {})
    age("A")
    b = beat("B", 10, {})
    finding = SimpleNamespace(violation=SimpleNamespace(category="exposed_garbage"))  # fenced before it is read
    out = record_violation(cid, finding, "m", lease=("A", a[cid]))
    assert out == {"action": "skipped", "category": "exposed_garbage", "reason": "lease lost"}
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0
    assert leases.holds(cid, "B", b[cid]) and not leases.holds(cid, "A", a[cid])
    db.session.rollback()


def test_the_console_sees_which_node_runs_each_camera(app, client):
    from app.models import Role
    from tests.factories import make_user, token_for

    cameras(2)
    beat("A", 1, {})
    staff = token_for(make_user(Role.SUPERVISOR))
    nodes = {f["properties"]["code"]: f["properties"]["node"] for f in client.get("/api/v1/cameras",
                                                                                   headers=staff).json["features"]}
    assert nodes == {"C0": "A", "C1": None}  # capacity 1: the second camera waits for another node
    assert client.get("/api/v1/cameras/C0", headers=staff).json["node"] == "A"
    age("A")
    assert client.get("/api/v1/cameras/C0", headers=staff).json["node"] is None  # a dead node's lease runs nothing
