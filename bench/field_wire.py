"""What the field app costs on the wire and how soon it is usable on a slow mobile network.

    .venv/bin/python bench/field_wire.py [--seeds 1,2,3] [--tasks 8]

Serves the app with gunicorn on loopback against its own database (`urbanops_bench_field`, Redis db 12), with a
grid worker who has `--tasks` open tasks with photos, and drives Debian's Chromium on a phone viewport with the
network throttled like DevTools' "Slow 3G" (400 ms latency, 400 kbit/s each way). Per seed (the photos' content):

- first load: bytes over the network (requests and answers, the page's and its service worker's) from signing in
  to the app with its task list and thumbnails, with an empty cache (map tiles never asked for), and seconds
  until the task list is shown;
- later load: the same when the service worker has the app (÷ first load);
- resolve: bytes on the wire for "done" with one phone photo (3000×2000 JPEG) ÷ the photo as taken.

Goals (issue 11): first load ≤ 250 KB, usable < 4 s on slow 3G, a resolve with one photo ≤ 400 KB. Bodies are
uncompressed here (gunicorn); behind nginx with gzip the text is smaller still. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

DB = "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_bench_field"
REDIS = "redis://127.0.0.1:6379/12"
PORT = 5096
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}


def phone_photo(seed: int, size=(3000, 2000)) -> bytes:
    """A camera-like JPEG (texture and noise, quality 90), different per seed."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    base = rng.integers(40, 220, size=(size[1] // 20, size[0] // 20, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1.5))
    arr = np.clip(np.asarray(img, dtype=float) + rng.normal(0, 6, size=(size[1], size[0], 3)), 0, 255)
    out = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(out, "JPEG", quality=90)
    return out.getvalue()


def setup(n_tasks: int, seed: int) -> tuple[str, tuple[float, float], list[int]]:
    """A fresh district with a worker and their dispatched tasks; returns (username, position, case ids)."""
    from app import create_app
    from app.config import Config
    from bench.world import fresh_district

    media = ROOT / "instance" / "bench-media"
    media.mkdir(parents=True, exist_ok=True)
    app = create_app(type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": DB, "REDIS_URL": REDIS,
                                                "RATELIMIT_STORAGE_URI": REDIS, "MEDIA_ROOT": str(media)}))
    district = fresh_district(app, DB, REDIS)
    with app.app_context():
        from app.extensions import db
        from app.models import Grid, Role
        from app.services import cases as svc
        from app.services.users import create_user, report_position

        worker = create_user("fw01", Role.WORKER, password="bench-pass")
        staff = create_user("fdisp", Role.DISPATCHER, password="bench-pass")
        grid_id, point = district[0]
        worker.grids = [db.session.get(Grid, grid_id)]
        report_position(worker, point.x, point.y)
        ids = []
        for i in range(n_tasks):
            _, p = district[i % len(district)]
            case, _ = svc.report_case(staff, category_code="exposed_garbage", lon=p.x, lat=p.y,
                                      photos=[phone_photo(seed * 100 + i, (1600, 1200))], description=f"bench {i}")
            svc.file_case(case.id, staff)
            svc.dispatch_case(case.id, staff, assignee_id=worker.id)
            ids.append(case.id)
        db.session.commit()
        return "fw01", (point.x, point.y), ids


def serve() -> subprocess.Popen:
    """gunicorn with 2 sync workers on the bench database."""
    from bench.world import wait_until_serving

    env = {**os.environ, "DATABASE_URL": DB, "REDIS_URL": REDIS, "MEDIA_ROOT": str(ROOT / "instance" / "bench-media")}
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{PORT}", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_serving(PORT)
    return web


def measure(browser, user: str, where: tuple[float, float], case_id: int, photo: bytes) -> dict:
    """One phone: sign in, first load, later load, one resolve with `photo`."""
    base = f"http://127.0.0.1:{PORT}"
    ctx = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              locale="zh-CN", geolocation={"longitude": where[0], "latitude": where[1]},
                              permissions=["geolocation"])
    # No request interception here: it would turn the browser's HTTP cache off, which phones have. Nothing but
    # 127.0.0.1 is asked for (the map tab, the only one with tiles, is never opened).
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    wire: list[int] = []  # bytes that crossed the network, from the page or its service worker

    def count(request):
        response = request.response() if "/events/stream" not in request.url else None
        if response is not None and not response.from_service_worker:
            sizes = request.sizes()
            wire.append(sizes["responseBodySize"] + sizes["responseHeadersSize"] + sizes["requestBodySize"]
                        + sizes["requestHeadersSize"])
            if os.environ.get("WIRE_DETAIL"):
                print(f"  {wire[-1]:>8} {'sw ' if request.service_worker else ''}{request.url}")

    ctx.on("requestfinished", count)
    page.goto("/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "bench-pass")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    wire.clear()
    start = time.monotonic()
    page.click("button[type=submit]")
    page.wait_for_selector("li.task", timeout=60_000)
    usable_s = time.monotonic() - start
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_timeout(6000)  # thumbnails and the worker's own caching (the live stream never idles)
    first = sum(wire)

    wire.clear()
    page.reload()
    page.wait_for_selector("li.task", timeout=60_000)
    page.wait_for_timeout(6000)
    later = sum(wire)

    page.click(f"li.task[data-id='{case_id}']")
    page.click("dialog button.act >> nth=0")  # accept (one tap)
    page.wait_for_selector("#outbox", state="hidden", timeout=60_000)
    page.wait_for_selector(f"li.task[data-id='{case_id}']:has-text('已接单')", timeout=60_000)
    page.click(f"li.task[data-id='{case_id}']")
    page.click("dialog button.act:has-text('处置完成')")
    page.set_input_files("dialog input[type=file]", files=[{"name": "IMG.jpg", "mimeType": "image/jpeg",
                                                            "buffer": photo}])
    upload = ctx.expect_event("requestfinished", predicate=lambda r: r.url.endswith(f"/{case_id}/feedback"),
                              timeout=120_000)
    with upload as finished:
        page.click("dialog button.go")
    request = finished.value
    sizes = request.sizes()  # the body's size from its Content-Length (not captured without interception)
    resolve = int(request.all_headers().get("content-length", 0)) + sizes["requestHeadersSize"] \
        + sizes["responseBodySize"] + sizes["responseHeadersSize"]
    ctx.close()
    return {"first_kb": first / 1024, "usable_s": usable_s, "later_kb": later / 1024, "resolve_kb": resolve / 1024,
            "photo_kb": len(photo) / 1024}


def main() -> None:
    """Per seed: a fresh district and one phone; one line each."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--tasks", type=int, default=8)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from bench.world import stop

    print(f"{'seed':>5}{'first load KB':>15}{'usable s':>10}{'later KB':>10}{'÷ first':>9}{'resolve KB':>12}"
          f"{'photo KB':>10}{'÷ photo':>9}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for seed in map(int, args.seeds.split(",")):
            user, where, ids = setup(args.tasks, seed)
            web = serve()
            try:
                r = measure(browser, user, where, ids[0], phone_photo(seed))
            finally:
                stop([web])
            print(f"{seed:>5}{r['first_kb']:>15.1f}{r['usable_s']:>10.2f}{r['later_kb']:>10.1f}"
                  f"{r['later_kb'] / r['first_kb']:>9.2f}{r['resolve_kb']:>12.1f}{r['photo_kb']:>10.1f}"
                  f"{r['resolve_kb'] / r['photo_kb']:>9.2f}", flush=True)
        browser.close()


if __name__ == "__main__":
    main()
