"""Audit-log throughput: case events per second with 1, 2 and 4 writing processes, per-case chains side by side
with one global chain.

    .venv/bin/python bench/audit.py [--seconds 6] [--writers 1,2,4] [--cases 200] [--seed 1]

Each writer is its own process with its own connection, like a web worker or a job worker, and appends events
to random cases of its own share of the cases (an inspector adding evidence: one event, one commit), on a fresh
database `urbanops_bench_audit`. `global` runs the same writers with every append first taking one advisory
lock held until commit, which is what the log did before it was chained per case. Prints events/s per writer
count and the ratio to one writer; the chains are verified after every run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

DB = "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_bench_audit"
REDIS = "redis://127.0.0.1:6379/13"
_GLOBAL_LOCK = 0x5C17_A0D1  # the key the single chain used


def make_app():
    """The app on the bench database (rate limits and Redis as configured, nothing else changed)."""
    from app import create_app
    from app.config import Config

    return create_app(type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": DB, "REDIS_URL": REDIS,
                                                "RATELIMIT_STORAGE_URI": REDIS}))


def setup(n_cases: int, seed: int) -> tuple[list[int], int]:
    """Rebuild the database with the demo grids and `n_cases` reported cases; (case ids, inspector id)."""
    from bench.world import fresh_district

    app = make_app()
    district = fresh_district(app, DB, REDIS)
    with app.app_context():
        from app.extensions import db
        from app.models import Role
        from app.services import cases as svc
        from app.services.users import create_user

        citizen = create_user("bench-citizen", Role.CITIZEN, password="bench-pass")
        inspector = create_user("bench-inspector", Role.DISPATCHER, password="bench-pass")
        db.session.flush()
        points = [p for _, p in district]
        rng = random.Random(seed)
        ids = []
        for i in range(n_cases):
            p = rng.choice(points)
            case, _ = svc.report_case(citizen, category_code="exposed_garbage", lon=p.x, lat=p.y,
                                      description=f"bench {i}")
            ids.append(case.id)
        db.session.commit()
        return ids, inspector.id


def writer(case_ids: list[int], actor_id: int, seconds: float, global_lock: bool, seed: int, start, out) -> None:
    """Append evidence events to random cases of `case_ids` until the time is up; put the count on `out`."""
    from sqlalchemy import text

    app = make_app()
    with app.app_context():
        from app.extensions import db
        from app.models import User
        from app.services import cases as svc

        actor = db.session.get(User, actor_id)
        db.session.commit()
        rng = random.Random(seed)
        start.wait()
        done, deadline = 0, time.monotonic() + seconds
        while time.monotonic() < deadline:
            if global_lock:
                db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _GLOBAL_LOCK})
            svc.add_evidence(rng.choice(case_ids), actor, note="巡查补充")
            db.session.commit()
            done += 1
        out.put(done)
        db.session.remove()


def run(case_ids: list[int], actor_id: int, writers: int, seconds: float, global_lock: bool, seed: int) -> float:
    """Events per second with `writers` processes, each on its own share of the cases."""
    ctx = mp.get_context("spawn")  # fresh interpreters: no connection or app state crosses a fork
    start, out = ctx.Event(), ctx.Queue()
    shares = [case_ids[i::writers] for i in range(writers)]
    procs = [ctx.Process(target=writer, args=(shares[i], actor_id, seconds, global_lock, seed * 100 + i, start, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    time.sleep(3)  # every writer has built its app and connected
    start.set()
    total = sum(out.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join(30)
    return total / seconds


def verified() -> str:
    """The chains' verdict after the runs."""
    app = make_app()
    with app.app_context():
        from app.services.audit import verify_chain

        rep = verify_chain()
        return f"ok ({rep.checked} events)" if rep.ok else f"BROKEN: {rep.reason}"


def main() -> None:
    """Parse options, run every writer count in both modes, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--writers", default="1,2,4")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    counts = [int(w) for w in args.writers.split(",")]
    case_ids, actor_id = setup(args.cases, args.seed)
    rows = []
    for mode in ("per-case", "global"):
        for n in counts:
            rows.append((mode, n, run(case_ids, actor_id, n, args.seconds, mode == "global", args.seed)))
    print(f"{'chain':<10}{'writers':>8}{'events/s':>10}{'vs 1 writer':>13}")
    for mode, n, rate in rows:
        one = next(r for m, w, r in rows if m == mode and w == counts[0])
        print(f"{mode:<10}{n:>8}{rate:>10.1f}{rate / one:>12.2f}×")
    print("audit chains:", verified())


if __name__ == "__main__":
    main()
