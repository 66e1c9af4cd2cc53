"""`flask seed demo`: a realistic demo district driven through the real services.

Every historical case is created and moved through the loop by the same verbs the API calls, with
past timestamps, so timelines, deadlines, the audit chain and KPIs are all genuine.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

from geoalchemy2.shape import to_shape
from pyproj import Transformer
from shapely.geometry import Point
from sqlalchemy import select

from app.extensions import db
from app.models import Camera, CameraZone, Category, Department, Grid, Role, User
from app.models.cases import Source
from app.models.types import utcnow
from app.seed.district import GRIDS_FILE
from app.seed.field import photo
from app.services import cases as svc
from app.services.calendar import load_holidays
from app.services.catalog import load_categories
from app.services.grids import import_grids, point_value
from app.services.users import create_user
from dispatch.lifecycle import CaseStatus
from vision.calibration import calibrate

DEPARTMENTS = [
    ("UM", "城管执法中队", "urban_management"),
    ("SAN", "环卫所", "sanitation"),
    ("MUN", "市政养护所", "municipal"),
    ("GRN", "园林绿化所", "greening"),
    ("TRF", "交警中队", "traffic"),
]
STAFF = [
    ("admin", Role.ADMIN, "系统管理员"),
    ("supervisor", Role.SUPERVISOR, "值班长 王敏"),
    ("dispatcher", Role.DISPATCHER, "派遣员 李强"),
    ("dispatcher2", Role.DISPATCHER, "派遣员 赵芳"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "军", "涛", "明", "超", "霞", "平", "刚", "桂英"]
N_WORKERS = 32
N_CITIZENS = 8
N_CAMERAS = 6


ACCOUNT_NOTES = {
    "admin": "everything",
    "supervisor": "map console, KPIs, every action",
    "dispatcher": "verify, file, dispatch",
    "w01": "grid worker (w01 … w32)",
    "h-san": "department handler",
    "citizen1": "my reports (citizen1 … citizen8)",
}


def demo_accounts(password: str) -> list[dict]:
    """The accounts a newcomer signs in with (printed on start)."""
    return [
        {"username": "admin", "role": "admin", "password": password},
        {"username": "supervisor", "role": "supervisor", "password": password},
        {"username": "dispatcher", "role": "dispatcher", "password": password},
        {"username": "w01", "role": "worker", "password": password},
        {"username": "h-san", "role": "handler", "password": password},
        {"username": "citizen1", "role": "citizen", "password": password},
    ]


def _random_point(rng: random.Random, poly) -> tuple[float, float]:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(200):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if poly.contains(p):
            return p.x, p.y
    c = poly.representative_point()
    return c.x, c.y


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _camera_calibration(rng: random.Random, lon: float, lat: float, heading: float) -> list[dict]:
    """Control points of a pinhole camera 6 m up looking along `heading` (640×360 view, ~0.3 m survey noise)."""
    to_ll = Transformer.from_crs(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +units=m", "EPSG:4326", always_xy=True)
    f, cx, horizon, cam_h = 300.0, 320.0, 100.0, 6.0
    pts = []
    for dist, lateral in ((12, -6), (12, 6), (30, -10), (30, 10), (20, 0), (45, 3)):
        u, v = cx + f * lateral / dist, horizon + f * cam_h / dist
        a = math.radians(heading)
        gx = dist * math.sin(a) + lateral * math.cos(a) + rng.gauss(0, 0.3)
        gy = dist * math.cos(a) - lateral * math.sin(a) + rng.gauss(0, 0.3)
        glon, glat = to_ll.transform(gx, gy)
        pts.append({"px": [round(u, 1), round(v, 1)], "lonlat": [round(glon, 7), round(glat, 7)]})
    return pts


def _people(rng, password, grids, departments, categories):
    users = {}
    for username, role, name in STAFF:
        users[username] = create_user(username, role, password=password, display_name=name)
    for code, dept in departments.items():
        users[f"h-{code.lower()}"] = create_user(
            f"h-{code.lower()}", Role.HANDLER, password=password, display_name=f"{dept.name} {_name(rng)}",
            department=dept,
        )
    users["camera-bot"] = create_user("camera-bot", Role.SYSTEM, display_name="视频智能识别")
    citizens = [create_user(f"citizen{i}", Role.CITIZEN, password=password, display_name=f"市民{_name(rng)}",
                            phone=f"1380000{i:04d}") for i in range(1, N_CITIZENS + 1)]
    by_type: dict[str, list[Category]] = {}
    for cat in categories:
        by_type.setdefault(cat.department_type, []).append(cat)
    workers = []
    um = departments["UM"]
    for i in range(1, N_WORKERS + 1):
        w = create_user(f"w{i:02d}", Role.WORKER, password=password, display_name=f"网格员 {_name(rng)}",
                        department=um, phone=f"1390000{i:04d}")
        # Every inspector handles the common street-order and appearance problems, plus a speciality.
        w.skills = sorted({*by_type["urban_management"], *rng.sample(by_type["sanitation"], 2),
                           *rng.sample(categories, 3)}, key=lambda c: c.code)
        w.capacity = rng.choice((4, 5, 6))
        workers.append(w)
    for i, grid in enumerate(grids):
        owner = workers[i % len(workers)]
        owner.grids = [*owner.grids, grid]
    db.session.flush()
    now = utcnow()
    for w in workers:
        poly = to_shape(w.grids[0].geom) if w.grids else to_shape(grids[0].geom)
        w.last_position = point_value(*_random_point(rng, poly))
        w.last_seen_at = now - timedelta(minutes=rng.randrange(1, 30))
        w.on_duty = rng.random() < 0.8
    return users, citizens, workers


def _cameras(rng, grids):
    cams = []
    for i, grid in enumerate(rng.sample(grids, N_CAMERAS), start=1):
        c = to_shape(grid.geom).representative_point()
        heading = rng.choice((0, 45, 90, 135, 180, 225, 270, 315))
        points = _camera_calibration(rng, c.x, c.y, heading)
        cam = Camera(
            code=f"CAM{i:03d}", name=f"{grid.name}路口", position=point_value(c.x, c.y), heading_deg=heading,
            stream_url=f"demo://camera/{i}", fps=1.0, frame_width=640, frame_height=360,
            calibration=points, calibration_rms_m=round(calibrate(points).rms_m, 3),
        )
        cam.zones = [CameraZone(name="人行道与路面", kind="watch",
                                pixel_polygon=[[0, 130], [640, 130], [640, 360], [0, 360]],
                                category_codes=[])]
        db.session.add(cam)
        cams.append(cam)
    db.session.flush()
    return cams


class _Stop(Exception):
    """The case reached the status it was meant to stay in."""


def _drive(case, rng, ctx, t, target):
    """Walk one case along the loop from time `t` until now, a random side path, or `target`."""
    now, cat, grid, actor = ctx["now"], case.category, case.grid, ctx["actor"]
    dispatcher = rng.choice(ctx["dispatchers"])
    workers, owners = ctx["workers"], ctx["owners"]
    clock = {"t": t}

    def step(lo, hi):
        """Advance the clock; False when the next step would be in the future."""
        clock["t"] += timedelta(minutes=rng.uniform(lo, hi))
        return clock["t"] < now

    def done():
        if case.status is target:
            raise _Stop

    if target is CaseStatus.MERGED or (target is None and ctx["open"] and rng.random() < 0.03):
        into = next((c for c in reversed(ctx["open"]) if c.status.is_open and c.status is not CaseStatus.SUSPENDED
                     and c.id != case.id), None)
        if into is not None:
            svc.merge_case(case.id, dispatcher, into=into.id, note="重复上报，合并", at=clock["t"])
            return
    done()
    if case.status is CaseStatus.REPORTED:
        if not step(5, 90):
            return
        if target is CaseStatus.INVALID or (target is None and rng.random() < 0.05):
            svc.verify_case(case.id, dispatcher, valid=False, note="现场核实不存在", at=clock["t"])
            return
        svc.verify_case(case.id, dispatcher, valid=True, at=clock["t"])
        done()
    if not step(2, 30):
        return
    if target is CaseStatus.VOID or (target is None and rng.random() < 0.02):
        svc.void_case(case.id, dispatcher, reason="重复上报，已作废", at=clock["t"])
        return
    svc.file_case(case.id, dispatcher, at=clock["t"])
    done()
    for attempt in range(3):
        if not step(3, 50):
            return
        capable = [w for w in (owners[grid.id] or workers) if cat in w.skills] or workers
        worker = rng.choice(capable) if attempt == 0 else rng.choice(workers)
        svc.dispatch_case(case.id, dispatcher, assignee_id=worker.id, at=clock["t"])
        done()
        if not step(2, 25):
            return
        if target is None and rng.random() < 0.04:
            svc.return_case(case.id, worker, reason="非本部门职责，申请回退", at=clock["t"])
            continue
        svc.accept_case(case.id, worker, at=clock["t"])
        done()
        if not step(10, 60):
            return
        svc.handle_case(case.id, worker, photos=[photo(rng, f"B{case.id}")], note="已到达现场", at=clock["t"])
        if target is CaseStatus.SUSPENDED or (target is None and rng.random() < 0.03):
            svc.suspend_case(case.id, dispatcher, reason="需协调产权单位，暂缓处理", at=clock["t"])
            return
        done()
        if target is None and rng.random() < 0.05 and step(30, 90):
            svc.request_delay(case.id, worker, minutes=240, reason="需调配机械", at=clock["t"])
            if step(5, 30):
                svc.decide_delay(case.id, dispatcher, approve=True, at=clock["t"])
        limit = cat.handle_minutes
        if not step(limit * 0.1, limit * (1.3 if rng.random() < 0.1 else 0.8)):
            return
        svc.feedback_case(case.id, worker, photos=[photo(rng, f"A{case.id}")], note="已处置完毕", at=clock["t"])
        done()
        if not step(10, 900):
            return
        checker = rng.choice([w for w in workers if w.id != worker.id])
        case.checker_id = checker.id  # the 核查 task, as the assign_checks job gives it
        if target is None and rng.random() < 0.1:
            svc.check_case(case.id, checker, passed=False, note="现场仍有残留，返工", at=clock["t"])
            continue
        svc.check_case(case.id, checker, passed=True, at=clock["t"])
        if case.source is Source.CITIZEN and rng.random() < 0.7 and step(30, 600):
            rating = rng.choices((5, 4, 3, 2, 1), weights=(55, 25, 10, 6, 4))[0]
            svc.evaluate_case(case.id, actor, rating=rating, comment="处理及时" if rating >= 4 else "", at=clock["t"])
            if rating <= 2:
                continue
        return


def _history(rng, n_cases, categories, grids, users, citizens, workers, cameras) -> dict:
    """Drive `n_cases` cases through the loop with past timestamps; returns counts per final status.

    The newest cases are each taken to one status in turn, so every stage of the loop is on show.
    """
    now = utcnow()
    grid_polys = [(g, to_shape(g.geom)) for g in grids]
    ctx = {
        "now": now, "workers": workers, "open": [],
        "owners": {g.id: [w for w in workers if g in w.grids] for g in grids},
        "dispatchers": [users["dispatcher"], users["dispatcher2"]],
    }
    detectable = [c for c in categories if c.detectable]
    people = [c for c in categories if not c.detectable]
    rotation = list(CaseStatus)
    showcase = n_cases - 2 * len(rotation)
    for i in range(n_cases):
        target = rotation[i % len(rotation)] if i >= showcase else None
        if target is not None:
            t = now - timedelta(hours=8) * rng.random() - timedelta(minutes=30)
        elif rng.random() < 0.2:  # a fifth of the history is from the last day and a half
            t = now - timedelta(hours=36) * rng.random()
        else:
            t = now - timedelta(days=60) * rng.random() ** 1.3
        if target is CaseStatus.CLOSED:
            t -= timedelta(days=3)  # enough time to get through the whole loop
        cat = rng.choice(detectable if rng.random() < 0.7 else people)
        grid, poly = rng.choice(grid_polys)
        lon, lat = _random_point(rng, poly)
        roll = rng.random()
        if roll < 0.3 and cameras:
            actor, source, cam = users["camera-bot"], Source.CAMERA, rng.choice(cameras)
        elif roll < 0.7:
            actor, source, cam = rng.choice(citizens), Source.CITIZEN, None
        else:
            actor, source, cam = (ctx["owners"][grid.id] or workers)[0], Source.INSPECTOR, None
        if target is CaseStatus.REPORTED:
            actor, source, cam = rng.choice(citizens), Source.CITIZEN, None  # inspectors' reports skip 核实
        case, _ = svc.report_case(
            actor, category_code=cat.code, lon=lon, lat=lat, source=source, camera_id=cam.id if cam else None,
            description=f"{cat.name_zh}，请尽快处理。", address=f"{grid.name}附近",
            photos=[photo(rng, f"E{i}")], at=t,
            extra={"detector": {"confidence": round(rng.uniform(0.55, 0.97), 2), "model": "demo"}} if cam else None,
        )
        ctx["actor"] = actor
        try:
            _drive(case, rng, ctx, t, target)
        except _Stop:
            pass
        if case.status.is_open and t > now - timedelta(hours=36):
            ctx["open"].append(case)
    rows = db.session.execute(select(svc.Case.status, db.func.count()).group_by(svc.Case.status)).all()
    return {s.value: n for s, n in rows}


def seed_demo(n_cases: int = 300, seed: int = 7, password: str = "demo1234") -> dict:
    """Create the demo district unless it exists (then only report the accounts): running it twice is harmless."""
    exists = db.session.scalars(select(User).where(User.username == "dispatcher")).first() is not None
    if exists:
        return {"seeded": False, "reason": "demo data already present", "accounts": demo_accounts(password)}
    rng = random.Random(seed)
    cats = load_categories()
    load_holidays()
    grid_report = import_grids(GRIDS_FILE)
    grids = list(db.session.scalars(select(Grid).order_by(Grid.code)))
    departments = {code: Department(code=code, name=name, type=kind) for code, name, kind in DEPARTMENTS}
    db.session.add_all(departments.values())
    categories = list(db.session.scalars(select(Category).where(Category.active.is_(True)).order_by(Category.code)))
    users, citizens, workers = _people(rng, password, grids, departments, categories)
    cameras = _cameras(rng, grids)
    statuses = _history(rng, n_cases, categories, grids, users, citizens, workers, cameras)
    return {
        "seeded": True, "grids": grid_report.created + grid_report.updated, "categories": cats["categories"],
        "departments": len(departments), "workers": len(workers), "cameras": len(cameras), "cases": statuses,
        "accounts": demo_accounts(password),
    }
