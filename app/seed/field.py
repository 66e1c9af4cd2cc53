"""The live demo's simulated field force: it drives the running platform through its public HTTP API.

Nothing here touches the database while running: demo workers, inspectors, citizens and a dispatcher
bot use the same /api/v1 calls as the mobile app and the console, so a newcomer watching the console
sees the whole loop move — reports verified and filed, cases auto-dispatched, workers travelling street
by street, handling with photos, checks, ratings, rework; idle workers ride the patrol rounds the platform
plans for them and now and then report a problem found on the way (主动发现). Time is compressed: a worker
covers ground at `time_scale` × street speed and handles a case in tens of seconds.
"""

from __future__ import annotations

import io
import json
import logging
import math
import random
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

log = logging.getLogger(__name__)
OPEN = "dispatched,accepted,handling"


class ApiError(Exception):
    """A non-2xx answer from the platform."""


class Client:
    """JSON and multipart calls with a bearer token."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base.rstrip("/"), token

    def _send(self, method: str, path: str, body: bytes | None = None, ctype: str | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if ctype:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{method} {path}: {exc.code} {exc.read()[:200]!r}") from None

    def get(self, path: str):
        """GET JSON."""
        return self._send("GET", path)

    def post(self, path: str, data: dict | None = None, photos: list[bytes] = ()):
        """POST JSON, or multipart when there are photos."""
        if not photos:
            return self._send("POST", path, json.dumps(data or {}).encode(), "application/json")
        boundary = uuid.uuid4().hex
        out = io.BytesIO()
        for k, v in (data or {}).items():
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        for i, p in enumerate(photos):
            out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p{i}.jpg"\r\n'
                      f"Content-Type: image/jpeg\r\n\r\n".encode() + p + b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
        return self._send("POST", path, out.getvalue(), f"multipart/form-data; boundary={boundary}")


def photo(rng: random.Random, label: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A small, unique JPEG standing in for a phone photo."""
    w, h = size
    img = Image.new("RGB", size, tuple(rng.randrange(60, 200) for _ in range(3)))
    d = ImageDraw.Draw(img)
    for _ in range(8):
        x, y = rng.randrange(w), rng.randrange(h)
        d.ellipse([x, y, x + rng.randrange(20, 80), y + rng.randrange(20, 60)],
                  fill=tuple(rng.randrange(256) for _ in range(3)))
    d.text((8, 8), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def step_towards(lon: float, lat: float, tlon: float, tlat: float, metres: float) -> tuple[float, float, bool]:
    """Move up to `metres` along the streets (east–west first, then north–south); True when arrived."""
    kx, ky = 111_320 * math.cos(math.radians(lat)), 110_574
    dx, dy = (tlon - lon) * kx, (tlat - lat) * ky
    if abs(dx) > 1:
        move = math.copysign(min(abs(dx), metres), dx)
        lon += move / kx
        metres -= abs(move)
    if metres > 0 and abs(dy) > 1:
        move = math.copysign(min(abs(dy), metres), dy)
        lat += move / ky
    arrived = abs((tlon - lon) * kx) + abs((tlat - lat) * ky) < 30
    return lon, lat, arrived


@dataclass
class Walker:
    """One demo worker's state between ticks."""

    id: int
    api: Client
    lon: float
    lat: float
    busy_until: dict = field(default_factory=dict)  # case id → when handling is done (time.monotonic)


class FieldForce:
    """Plays every role of the loop against a running platform, one tick at a time."""

    def __init__(self, base: str, tokens: dict, *, seed: int = 11, speed_kmh: float = 15.0,
                 time_scale: float = 20.0, report_every_s: float = 20.0, grids: list | None = None,
                 handle_s: tuple[float, float] = (10, 40), rate_share: float = 0.5, fail_share: float = 0.08,
                 find_share: float = 0.15):
        self.rng = random.Random(seed)
        self.dispatcher = Client(base, tokens["dispatcher"])
        self.citizens = [Client(base, t) for t in tokens["citizens"]]
        self.walkers = [Walker(w["id"], Client(base, w["token"]), w["lon"], w["lat"]) for w in tokens["workers"]]
        self.speed_mps = speed_kmh / 3.6 * time_scale
        self.report_every_s, self.last_report = report_every_s, 0.0
        self.grids = grids or []
        self.categories = [c["code"] for c in self.dispatcher.get("/api/v1/categories")]
        self.handle_s, self.rate_share, self.fail_share, self.find_share = handle_s, rate_share, fail_share, find_share
        self.last_tick = time.monotonic()

    def tick(self) -> dict:
        """One round of everybody's actions; returns counts of what was done."""
        now = time.monotonic()
        dt, self.last_tick = now - self.last_tick, now
        done = {"verified": 0, "accepted": 0, "handled": 0, "resolved": 0, "checked": 0, "rated": 0, "reported": 0,
                "found": 0}
        for c in self.dispatcher.get("/api/v1/cases?status=reported,verified&page_size=50")["features"]:
            cid = c["id"]
            if c["properties"]["status"] == "reported":
                valid = self.rng.random() > 0.05
                self.dispatcher.post(f"/api/v1/cases/{cid}/verify",
                                     {"valid": valid, "note": "" if valid else "现场无此问题"})
                if not valid:
                    continue
            self.dispatcher.post(f"/api/v1/cases/{cid}/file", {})
            done["verified"] += 1
        for w in self.walkers:
            self._walk(w, dt, now, done)
        for citizen in self.citizens:
            for c in citizen.get("/api/v1/cases?status=closed&page_size=20")["features"]:
                detail = citizen.get(f"/api/v1/cases/{c['id']}")["properties"]
                if detail["rating"] is None and self.rng.random() < self.rate_share:
                    rating = self.rng.choices((5, 4, 3, 2, 1), weights=(60, 22, 9, 5, 4))[0]
                    citizen.post(f"/api/v1/cases/{c['id']}/evaluate", {"rating": rating})
                    done["rated"] += 1
        if self.grids and now - self.last_report > self.report_every_s:
            self.last_report = now
            lon, lat = self.rng.choice(self.grids)
            self.rng.choice(self.citizens).post("/api/v1/cases", {
                "category": self.rng.choice(self.categories), "lon": lon, "lat": lat,
                "description": "随手拍：发现问题，请处理", "client_request_id": uuid.uuid4().hex,
            }, photos=[photo(self.rng, "report")])
            done["reported"] += 1
        return done

    def _walk(self, w: Walker, dt: float, now: float, done: dict) -> None:
        tasks = w.api.get(f"/api/v1/cases?assignee_id={w.id}&status={OPEN}&page_size=10")["features"]
        target, on_site = None, False
        for t in sorted(tasks, key=lambda t: t["properties"]["reported_at"]):
            cid, status = t["id"], t["properties"]["status"]
            if status == "dispatched":
                w.api.post(f"/api/v1/cases/{cid}/accept", {})
                done["accepted"] += 1
                status = "accepted"
            if status == "handling" and now >= w.busy_until.get(cid, 0):  # unknown (restarted): done
                w.api.post(f"/api/v1/cases/{cid}/feedback", {"note": "已处置完毕"}, photos=[photo(self.rng, "after")])
                w.busy_until.pop(cid, None)
                done["resolved"] += 1
            elif status == "handling":
                target, on_site = None, True  # on site, working
                break
            elif status == "accepted" and target is None:
                target = t
        if target is not None:
            tlon, tlat = target["geometry"]["coordinates"]
            w.lon, w.lat, arrived = step_towards(w.lon, w.lat, tlon, tlat, self.speed_mps * dt)
            if arrived:
                w.api.post(f"/api/v1/cases/{target['id']}/handle", {"note": "已到达现场"},
                           photos=[photo(self.rng, "before")])
                w.busy_until[target["id"]] = now + self.rng.uniform(*self.handle_s)
                done["handled"] += 1
        elif not on_site and not tasks:
            self._patrol(w, dt, done)
        w.api.post("/api/v1/me/position", {"lon": round(w.lon, 6), "lat": round(w.lat, 6)})
        for t in w.api.get(f"/api/v1/cases?checker_id={w.id}&status=resolved&page_size=5")["features"]:
            passed = self.rng.random() >= self.fail_share
            w.api.post(f"/api/v1/cases/{t['id']}/check", {"passed": passed, "note": "" if passed else "仍有残留"})
            done["checked"] += 1

    def _patrol(self, w: Walker, dt: float, done: dict) -> None:
        """Nothing to do: ride the patrol round the platform planned, and now and then find a problem on the way
        (reported as a patrol report: found proactively)."""
        rnd = w.api.get("/api/v1/me/patrol")["round"]
        stop = next((s for s in rnd["stops"] if not s["looked"]), None) if rnd else None
        if stop is None:
            return
        w.lon, w.lat, arrived = step_towards(w.lon, w.lat, stop["lon"], stop["lat"], self.speed_mps * dt)
        if arrived and self.rng.random() < self.find_share:
            w.api.post("/api/v1/cases", {
                "category": self.rng.choice(self.categories), "lon": round(w.lon, 6), "lat": round(w.lat, 6),
                "description": "巡查发现", "client_request_id": uuid.uuid4().hex}, photos=[photo(self.rng, "patrol")])
            done["found"] += 1

    def run(self, stop, tick_s: float = 2.0) -> None:
        """Tick until `stop()` is true; errors are logged and the next tick goes on."""
        while not stop():
            try:
                done = self.tick()
                if any(done.values()):
                    log.info("field force: %s", done)
            except (ApiError, OSError) as exc:
                log.warning("field force tick failed: %s", exc)
            time.sleep(tick_s)
