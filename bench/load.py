"""Load on loopback: gunicorn serving models side by side, mixed traffic, reports accepted vs stored.

    .venv/bin/python bench/load.py [--seconds 10] [--concurrency 32] [--models sync:2,gthread:4x8] [--seed 1]

A fresh database `urbanops_bench` (dropped and rebuilt with the real migrations, the demo grids, citizens,
inspectors and a supervisor with tokens) and Redis db 14; rate limits are lifted for the run, everything else
is the production configuration, including a photo worker at lower priority that blurs in the background.
Per serving model it runs three phases for `--seconds` each at `--concurrency` clients:

- json:  citizen reports without photos (POST /api/v1/cases)
- photo: citizen reports with one ≈190 KB phone-sized JPEG
- mixed: 55 % JSON reports, 15 % photo reports, 15 % inspector actions (position, my tasks), 15 % map
         queries (cases in a bbox, grids)
- floor: a citizen reading their own profile (GET /api/v1/me): token sign-in, one row, JSON — what any API
         request costs on this machine before it does its own work (not run unless named in --phases)

and prints requests/s, p50/p95 latency, 5xx and errors, reports accepted (201) vs stored (rows with the bench's
request ids: nothing accepted may be lost), and the CPU the web workers and the database's backends spent per
request (read from /proc, so steal from a shared host does not count: steadier than requests/s between runs).
The last column compares each model with the first.
Only 127.0.0.1 is contacted; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

DB = "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_bench"
REDIS = "redis://127.0.0.1:6379/14"
PORT = 5099
UNLIMITED = "1000000 per minute"


def setup(seed: int) -> dict:
    """Rebuild the bench database; return tokens, grid points and a bbox."""
    from app import create_app
    from app.config import Config
    from bench.world import fresh_district

    app = create_app(type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": DB, "REDIS_URL": REDIS,
                                                "RATELIMIT_STORAGE_URI": REDIS, "MEDIA_ROOT": media_root()}))
    district = fresh_district(app, DB, REDIS)
    points = [(p.x, p.y) for _, p in district]
    with app.app_context():
        from app.extensions import db
        from app.models import Grid, Role
        from app.services.users import create_user, issue_token

        citizens = [issue_token(create_user(f"c{i:03d}", Role.CITIZEN, password="bench-pass"), "bench")
                    for i in range(64)]
        inspectors = []
        for i, (grid_id, _) in enumerate(district[:16]):
            user = create_user(f"i{i:03d}", Role.WORKER, password="bench-pass")
            user.grids = [db.session.get(Grid, grid_id)]
            inspectors.append(issue_token(user, "bench"))
        supervisor = issue_token(create_user("sup", Role.SUPERVISOR, password="bench-pass"), "bench")
        db.session.commit()
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        bbox = f"{min(xs)},{min(ys)},{(min(xs) + max(xs)) / 2},{(min(ys) + max(ys)) / 2}"
    return {"citizens": citizens, "inspectors": inspectors, "supervisor": supervisor, "points": points,
            "bbox": bbox, "photo": phone_photo(seed)}


def media_root() -> str:
    """Bench photos go under instance/ (ignored), never into a checkout's tracked files."""
    path = ROOT / "instance" / "bench-media"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def phone_photo(seed: int) -> bytes:
    """A 1600×1200 street-like JPEG of about 190 KB (texture, edges, sky), different per seed."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, size=(150, 200, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((1600, 1200), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    noise = rng.normal(0, 9, size=(1200, 1600, 3))
    arr = np.clip(np.asarray(img, dtype=float) + noise, 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=50)
    return out.getvalue()


def serve(model: str) -> list[subprocess.Popen]:
    """gunicorn with `model` ("sync:N" or "gthread:NxT") and a niced photo worker, like `flask serve-all`."""
    kind, size = model.split(":")
    workers, _, threads = size.partition("x")
    cmd = [sys.executable, "-m", "gunicorn", "-w", workers, "-b", f"127.0.0.1:{PORT}", "--timeout", "60",
           "-k", kind, *(["--threads", threads] if threads else []), "wsgi:app"]
    env = {**os.environ, "DATABASE_URL": DB, "REDIS_URL": REDIS, "MEDIA_ROOT": media_root(),
           "RATELIMIT_REPORT": UNLIMITED, "RATELIMIT_CITIZEN": UNLIMITED, "RATELIMIT_DEVICE": UNLIMITED,
           "SUGGEST_CATEGORY": "0"}
    web = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    photos = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queues", "media",
                               "--nice", "10"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    from bench.world import wait_until_serving

    wait_until_serving(PORT)
    return [web, photos]


def cpu_seconds() -> dict[str, float]:
    """CPU time so far of the web server's processes and of the bench database's backends."""
    from bench.world import cpu_seconds as by_name

    def classify(cmd: bytes) -> str | None:
        if b"gunicorn" in cmd and f"127.0.0.1:{PORT}".encode() in cmd:
            return "web"
        return "db" if cmd.startswith(b"postgres:") and b"urbanops_bench" in cmd else None

    return {"web": 0.0, "db": 0.0} | by_name(classify)


def multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    """A multipart/form-data body with the fields and one photo."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Client(threading.Thread):
    """One keep-alive client sending requests of the phase's mix until the deadline."""

    def __init__(self, world: dict, mix: list[tuple[str, float]], deadline: float, rng: random.Random, out: list):
        super().__init__(daemon=True)
        self.world, self.mix, self.deadline, self.rng, self.out = world, mix, deadline, rng, out
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)

    def report(self, photo: bool):
        """A citizen report (JSON, or multipart with the photo) with a fresh bench request id."""
        lon, lat = self.rng.choice(self.world["points"])
        rid = f"bench-{uuid.uuid4().hex}"
        fields = {"category": self.rng.choice(["exposed_garbage", "banner", "mobile_vendor"]), "lon": lon,
                  "lat": lat, "description": "路边问题（压测）", "client_request_id": rid}
        headers = {"Authorization": f"Bearer {self.rng.choice(self.world['citizens'])}"}
        if photo:
            body, ctype = multipart(fields, self.world["photo"])
        else:
            body, ctype = json.dumps(fields).encode(), "application/json"
        return "POST", "/api/v1/cases", body, {**headers, "Content-Type": ctype}, rid

    def request(self, kind: str):
        """(method, path, body, headers, request id) of one request of this kind."""
        if kind in ("json", "photo"):
            return self.report(kind == "photo")
        if kind == "floor":
            token = self.rng.choice(self.world["citizens"])
            return "GET", "/api/v1/me", None, {"Authorization": f"Bearer {token}"}, None
        if kind == "inspector":
            token = self.rng.choice(self.world["inspectors"])
            lon, lat = self.rng.choice(self.world["points"])
            if self.rng.random() < 0.5:
                return ("POST", "/api/v1/me/position", json.dumps({"lon": lon, "lat": lat}).encode(),
                        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, None)
            return "GET", "/api/v1/cases?status=dispatched,accepted&page_size=20", None, \
                {"Authorization": f"Bearer {token}"}, None
        if self.rng.random() < 0.7:
            return "GET", f"/api/v1/cases?bbox={self.world['bbox']}&page_size=100", None, \
                {"Authorization": f"Bearer {self.world['supervisor']}"}, None
        return "GET", "/api/v1/grids", None, {}, None

    def run(self):
        """Send requests until the deadline, recording (kind, status, seconds, request id)."""
        kinds, weights = zip(*self.mix, strict=True)
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(kinds, weights)[0]
            method, path, body, headers, rid = self.request(kind)
            start = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                status = 0
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
            self.out.append((kind, status, time.perf_counter() - start, rid))


MIXES = {
    "json": [("json", 1.0)],
    "photo": [("photo", 1.0)],
    "mixed": [("json", 0.55), ("photo", 0.15), ("inspector", 0.15), ("map", 0.15)],
    "floor": [("floor", 1.0)],
}


def phase(world: dict, mix: str, seconds: float, concurrency: int, seed: int) -> dict:
    """Run one mix at the given concurrency; requests/s, latencies and reports accepted vs stored."""
    out: list = []
    deadline = time.monotonic() + seconds
    clients = [Client(world, MIXES[mix], deadline, random.Random(seed * 1000 + i), out) for i in range(concurrency)]
    cpu_before = cpu_seconds()
    started = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join(seconds + 90)
    elapsed = time.monotonic() - started
    cpu = {k: v - cpu_before[k] for k, v in cpu_seconds().items()}
    lat = sorted(d for _, s, d, _ in out if 200 <= s < 300)
    reports = [(k, s, rid) for k, s, _, rid in out if k in ("json", "photo")]
    accepted = {rid for _, s, rid in reports if s == 201}
    return {
        "requests_per_s": round(len(out) / elapsed, 1),
        "json_reports_per_s": round(sum(1 for k, s, _ in reports if k == "json" and s == 201) / elapsed, 1),
        "photo_reports_per_s": round(sum(1 for k, s, _ in reports if k == "photo" and s == 201) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p95_ms": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "server_errors": sum(1 for _, s, _, _ in out if s >= 500),
        "failed_connections": sum(1 for _, s, _, _ in out if s == 0),
        "web_cpu_ms": round(1000 * cpu["web"] / max(len(out), 1), 1),
        "db_cpu_ms": round(1000 * cpu["db"] / max(len(out), 1), 1),
        "accepted": accepted,
    }


def stored(rids: set[str]) -> int:
    """How many of these request ids are rows in the bench database."""
    import sqlalchemy as sa

    engine = sa.create_engine(DB)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT client_request_id FROM cases WHERE client_request_id LIKE 'bench-%'"))
        found = {r[0] for r in rows}
    engine.dispose()
    return len(rids & found)


def blur_backlog() -> int:
    """Photos still waiting for their public (blurred) copy."""
    import sqlalchemy as sa

    engine = sa.create_engine(DB)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM media WHERE public_path IS NULL")).scalar()
    engine.dispose()
    return n


def main() -> None:
    """Parse options, build the world, run every model and print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--models", default="sync:2,gthread:4x8")
    ap.add_argument("--phases", default="json,photo,mixed")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from bench.world import stop

    results: dict = {}
    for model in args.models.split(","):
        world = setup(args.seed)  # a fresh database per model: no backlog or table growth carried over
        print(f"{model}: photo {len(world['photo']) // 1024} KB; {args.concurrency} clients, "
              f"{args.seconds:.0f} s per phase", flush=True)
        procs = serve(model)
        try:
            for mix in args.phases.split(","):
                res = phase(world, mix, args.seconds, args.concurrency, args.seed)
                res["stored"] = stored(res["accepted"])
                res["lost"] = len(res["accepted"]) - res["stored"]
                res["blur_backlog"] = blur_backlog()
                results[(model, mix)] = res
        finally:
            stop(procs)
    first = args.models.split(",")[0]
    cols = ["requests_per_s", "json_reports_per_s", "photo_reports_per_s", "p50_ms", "p95_ms", "server_errors",
            "failed_connections", "lost", "blur_backlog", "web_cpu_ms", "db_cpu_ms"]
    print(f"{'model':<14}{'phase':<7}" + "".join(f"{c:>{len(c) + 2}}" for c in cols) + f"  req/s vs {first}")
    for (model, mix), res in results.items():
        ratio = res["requests_per_s"] / max(results[(first, mix)]["requests_per_s"], 1e-9)
        print(f"{model:<14}{mix:<7}" + "".join(f"{str(res[c]):>{len(c) + 2}}" for c in cols) + f"{ratio:>8.2f}×")


if __name__ == "__main__":
    main()
