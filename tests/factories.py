"""Factories that create rows through the real services (so audit events and deadlines are real)."""

from __future__ import annotations

import io
import itertools

from PIL import Image
from shapely.geometry import box, mapping

from app.extensions import db
from app.models import Department, Role, User
from app.services import cases as svc
from app.services.grids import import_grids
from app.services.users import create_user, issue_token

_seq = itertools.count(1)
PASSWORD = "secret-pass"

# Two neighbouring 0.01° grids sharing the edge lon = 120.01.
WEST = box(120.00, 30.00, 120.01, 30.01)
EAST = box(120.01, 30.00, 120.02, 30.01)
INSIDE_WEST = (120.005, 30.005)
OUTSIDE = (121.5, 31.5)


def grid_feature(code: str, geom, name: str | None = None) -> dict:
    return {"type": "Feature", "geometry": mapping(geom), "properties": {"code": code, "name": name or code}}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def make_grids():
    """The two standard test grids."""
    return import_grids(collection(grid_feature("330100001001001", WEST), grid_feature("330100001001002", EAST)))


def make_user(role: Role | str = Role.WORKER, **kw) -> User:
    user = create_user(kw.pop("username", f"user{next(_seq)}"), role, password=kw.pop("password", PASSWORD), **kw)
    db.session.flush()
    return user


def make_department(type_: str = "urban_management") -> Department:
    n = next(_seq)
    dept = Department(code=f"D{n}", name=f"部门{n}", type=type_)
    db.session.add(dept)
    db.session.flush()
    return dept


def token_for(user: User) -> dict:
    token = issue_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def jpeg(color=(200, 30, 30), size=(32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def png(size=(8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (0, 90, 200)).save(buf, "PNG")
    return buf.getvalue()


class Cast:
    """The people of one case's story."""

    def __init__(self):
        self.citizen = make_user(Role.CITIZEN)
        self.dispatcher = make_user(Role.DISPATCHER)
        self.worker = make_user(Role.WORKER)
        self.checker = make_user(Role.WORKER)
        self.supervisor = make_user(Role.SUPERVISOR)


def reported(cast: Cast, category: str = "exposed_garbage", where=INSIDE_WEST, **kw):
    case, _ = svc.report_case(cast.citizen, category_code=category, lon=where[0], lat=where[1], **kw)
    return case


HOT_CORNER = (120.0014, 30.0014)  # where most past problems were (`past_problems`)


def past_problems(cast: Cast, days: int = 42, seed: int = 5) -> int:
    """Weeks of real problems reported by citizens: 70 % at one corner of the west grid, the rest anywhere in
    the two grids (a district's history for the forecast)."""
    import random
    from datetime import timedelta

    from app.models.types import utcnow

    rng, now, n = random.Random(seed), utcnow(), 0
    for day in range(days):
        for _ in range(rng.randint(2, 5)):
            hot = rng.random() < 0.7
            lon = HOT_CORNER[0] + rng.uniform(-0.0002, 0.0002) if hot else rng.uniform(120.0005, 120.0195)
            lat = HOT_CORNER[1] + rng.uniform(-0.0002, 0.0002) if hot else rng.uniform(30.0005, 30.0095)
            svc.report_case(cast.citizen, category_code=rng.choice(["exposed_garbage", "mobile_vendor"]), lon=lon,
                            lat=lat, at=now - timedelta(days=days - day, hours=rng.uniform(0, 20)))
            n += 1
    return n


def check(cast: Cast, case, *, passed: bool, note: str = "", at=None):
    """The cast's checker is given the 核查 task (as the assign_checks job would) and checks."""
    if case.checker_id != cast.checker.id:
        svc.assign_checker(case.id, cast.dispatcher, checker_id=cast.checker.id, at=at)
    return svc.check_case(case.id, cast.checker, passed=passed, note=note, at=at)


def advance(cast: Cast, case, to: str, at=None):
    """Drive `case` through the happy path until status `to`."""
    steps = [
        ("verified", lambda: svc.verify_case(case.id, cast.dispatcher, valid=True, at=at)),
        ("filed", lambda: svc.file_case(case.id, cast.dispatcher, at=at)),
        ("dispatched", lambda: svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.worker.id, at=at)),
        ("accepted", lambda: svc.accept_case(case.id, cast.worker, at=at)),
        ("handling", lambda: svc.handle_case(case.id, cast.worker, at=at)),
        ("resolved", lambda: svc.feedback_case(case.id, cast.worker, photos=[jpeg((1, 2, 3))], at=at)),
        ("closed", lambda: check(cast, case, passed=True, at=at)),
    ]
    order = ["reported"] + [name for name, _ in steps]
    for _, do in steps[order.index(case.status.value):]:
        if case.status.value == to:
            break
        do()
    assert case.status.value == to
    return case
