"""The console map's viewport query on a city's worth of cases: p50/p95 at city, district and street zoom.

    .venv/bin/python bench/viewport.py [--cases 1000000] [--queries 150] [--seed 1] [--reuse]

Builds `urbanops_bench_viewport` (its own database, the real migrations) with `--cases` cases spread over a
60 × 40 km city: most of them around hot spots (markets, stations, old streets), the rest anywhere; three years
of history (more recent than old: exponential ages, mean one year), inserted oldest first as a running platform
does, 2 % still open, a quarter of those overdue, the rest closed, void or invalid. `--reuse` keeps the
database of an earlier run with the same size and seed.

Then it asks `GET /api/v1/cases/map` (through the app, signed in as a dispatcher: parsing, SQL, JSON) for
`--queries` random viewports per zoom — 1040 × 900 px, the console's map on a 1440 × 900 screen — centred where
cases are, at zoom 11 (city, ≈ 70 km across), 13 (district) and 16 (street), for the views a command centre
uses: the default (every open case), overdue only, the last 30 days in every status, closed cases of the last 90
days (what the console asks when "closed" is chosen) and a stress view the console never sends by itself (every
closed case ever, 90 % of the table). Prints p50/p95/max in ms, how the answer came (points or cells) and the
most features one answer held (what the browser draws). The viewports' centres come from the seed; the data from
seed + 1000.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

DB = os.environ.get("BENCH_VIEWPORT_DB",
                    "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_bench_viewport")
REDIS = "redis://127.0.0.1:6379/12"
CENTRE = (120.16, 30.27)  # the city's centre (lon, lat)
HALF = (0.31, 0.18)  # half its extent in degrees: ≈ 60 × 40 km
MAP_PX = (1040, 900)
ZOOMS = {"city": 11, "district": 13, "street": 16}
OPEN_SHARE, OVERDUE_OF_OPEN = 0.02, 0.25
NULL = "\\N"  # COPY's text format


def make_app():
    """The bench's app (its own database and Redis db)."""
    from app import create_app
    from app.config import Config

    return create_app(type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": DB, "REDIS_URL": REDIS,
                                                "RATELIMIT_STORAGE_URI": REDIS,
                                                "WTF_CSRF_ENABLED": False}))


def generate(app, n: int, seed: int) -> None:
    """Fresh database, then `n` cases by COPY (the service's one-by-one path would take hours)."""
    import numpy as np
    import sqlalchemy as sa

    from bench.world import fresh_district
    from dispatch.lifecycle import CaseStatus

    fresh_district(app, DB, REDIS)
    rng = np.random.default_rng(seed + 1000)
    with app.app_context():
        from app.extensions import db

        codes = list(db.session.scalars(sa.text("SELECT code FROM categories ORDER BY code")))
        now = datetime.now(timezone.utc)
        hot = rng.uniform(-1, 1, (60, 2)) * np.array(HALF) * 0.7 + np.array(CENTRE)
        spread = rng.uniform(0.002, 0.015, 60)
        which = rng.integers(0, 60, n)
        clustered = rng.random(n) < 0.75
        xy = np.where(clustered[:, None], hot[which] + rng.normal(0, 1, (n, 2)) * spread[which, None],
                      np.array(CENTRE) + rng.uniform(-1, 1, (n, 2)) * np.array(HALF))
        # Oldest first: cases are inserted when they are reported, so the table's physical order follows
        # reported_at (what a date filter reads), as it does in a running platform.
        age_min = np.sort(rng.exponential(365 * 24 * 60, n).clip(0, 3 * 365 * 24 * 60))[::-1]
        u = rng.random(n)
        # The newest cases are the open ones (2 %); the rest closed (90 %), void, invalid or merged.
        rank = np.argsort(np.argsort(age_min))
        is_open = rank < n * OPEN_SHARE
        open_states = [s.value for s in (CaseStatus.REPORTED, CaseStatus.FILED, CaseStatus.DISPATCHED,
                                         CaseStatus.ACCEPTED, CaseStatus.HANDLING, CaseStatus.RESOLVED)]
        sources = ["camera", "citizen", "inspector", "hotline", "api"]
        src = rng.choice(len(sources), n, p=[0.35, 0.3, 0.25, 0.07, 0.03])
        cat = rng.integers(0, len(codes), n)
        state = rng.integers(0, len(open_states), n)
        late = rng.random(n) < OVERDUE_OF_OPEN
        buf = io.StringIO()
        for i in range(n):
            reported = now - timedelta(minutes=float(age_min[i]))
            if is_open[i]:
                status = open_states[state[i]]
                due = now - timedelta(hours=2) if late[i] else now + timedelta(hours=4)
                closed = NULL
            else:
                status = "closed" if u[i] < 0.92 else ("void" if u[i] < 0.95 else
                                                       "invalid" if u[i] < 0.99 else "merged")
                due = reported + timedelta(hours=8)
                closed = (reported + timedelta(hours=3)).isoformat() if status == "closed" else NULL
            buf.write(f"B{i:010d}\t{sources[src[i]]}\t{codes[cat[i]]}\t\tSRID=4326;POINT({xy[i, 0]:.6f} "
                      f"{xy[i, 1]:.6f})\t\t3\t{status}\t{reported.isoformat()}\t{closed}\t"
                      f"{due.isoformat()}\t{due.isoformat()}\t{due.isoformat()}\t0\t0\t0\t{{}}\t{now.isoformat()}\n")
        buf.seek(0)
        raw = db.engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy(
                "COPY cases (number, source, category_code, description, location, address, priority, status, "
                "reported_at, closed_at, dispatch_due_at, handle_due_at, check_due_at, rework_count, "
                "delay_count, return_count, extra, updated_at) FROM STDIN"
            ) as copy:
                while chunk := buf.read(1 << 20):
                    copy.write(chunk)
            raw.commit()
            raw.driver_connection.autocommit = True
            with raw.cursor() as cur:
                cur.execute("VACUUM ANALYZE cases")
                # Write the load out now: timed while the server still flushes a million fresh rows, p95 tripled.
                cur.execute("CHECKPOINT")
        finally:
            raw.close()


def sign_in(app):
    """A test client signed in as a dispatcher of the bench district."""
    with app.app_context():
        from app.extensions import db
        from app.models import Role
        from app.services.users import create_user

        if db.session.execute(__import__("sqlalchemy").text("SELECT 1 FROM users WHERE username='bench'")).first() \
                is None:
            create_user("bench", Role.DISPATCHER, password="bench-password-1", display_name="Bench")
            db.session.commit()
    client = app.test_client()
    r = client.post("/login", data={"username": "bench", "password": "bench-password-1"})
    assert r.status_code in (200, 302), r.get_data(as_text=True)[:500]
    return client


def viewports(zoom: int, count: int, seed: int, app) -> list[tuple[float, float, float, float]]:
    """`count` viewports at `zoom`, centred on random cases (where a dispatcher looks)."""
    import random

    import sqlalchemy as sa

    rnd = random.Random(seed * 100 + zoom)
    with app.app_context():
        from app.extensions import db

        pts = db.session.execute(sa.text(
            "SELECT ST_X(location), ST_Y(location) FROM cases TABLESAMPLE SYSTEM (1) LIMIT 5000")).all()
    out = []
    import math

    for _ in range(count):
        x, y = rnd.choice(pts)
        w = MAP_PX[0] * 360 / (256 * 2 ** zoom)
        h = MAP_PX[1] * 360 / (256 * 2 ** zoom) * math.cos(math.radians(y))
        out.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    return out


def main() -> None:
    """Generate (or reuse) the city, then time the viewport queries."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=150)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reuse", action="store_true", help="keep the database of an earlier run")
    args = ap.parse_args()
    app = make_app()
    import sqlalchemy as sa

    have = 0
    if args.reuse:
        try:
            with app.app_context():
                from app.extensions import db

                have = db.session.scalar(sa.text("SELECT count(*) FROM cases"))
        except sa.exc.OperationalError:
            have = 0
    if have != args.cases:
        t0 = time.perf_counter()
        generate(app, args.cases, args.seed)
        print(f"generated {args.cases:,} cases in {time.perf_counter() - t0:.0f} s")
    client = sign_in(app)
    from dispatch.lifecycle import OPEN_STATUSES

    since = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%d")
    since90 = (datetime.now(timezone.utc) - timedelta(days=90)).strftime("%Y-%m-%d")
    views = {
        "open (default)": {"status": ",".join(s.value for s in OPEN_STATUSES)},
        "overdue": {"status": ",".join(s.value for s in OPEN_STATUSES), "overdue": "1"},
        "30 days, all": {"from": since},
        "closed, 90 days": {"status": "closed", "from": since90},  # what the console asks when closed is chosen
        "closed, ever": {"status": "closed"},
    }
    print(f"{'view':16} {'zoom':14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'cells':>6} {'max feat':>8}")
    for name, params in views.items():
        for label, zoom in ZOOMS.items():
            times, cells, most = [], 0, 0
            for box in viewports(zoom, args.queries, args.seed, app):
                query = {**params, "bbox": ",".join(f"{v:.6f}" for v in box), "zoom": zoom}
                t0 = time.perf_counter()
                r = client.get("/api/v1/cases/map", query_string=query)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.get_data(as_text=True)
                body = r.get_json()
                cells += body["mode"] == "cells"
                most = max(most, len(body["features"]))
            q = statistics.quantiles(times, n=20)
            print(f"{name:16} {label + f' (z{zoom})':14} {statistics.median(times):7.1f} {q[18]:7.1f} "
                  f"{max(times):7.1f} {cells / len(times):6.0%} {most:8d}")


if __name__ == "__main__":
    main()
