"""The live stream's serving model, side by side: its own gthread server vs the sync web workers.

    .venv/bin/python bench/stream.py [--streams 200] [--seconds 6] [--events 200] [--repeat 3] [--seed 1]

A fresh database `urbanops_bench_stream` and Redis db 13. Two set-ups are served on loopback one after the
other, each with `--streams` event streams open while clients read `GET /api/v1/me` (sign-in, one row, JSON)
from the web server:

- apart:   `gunicorn -w 2` (sync) for the web, `flask serve-stream`'s command (1 gthread process) for the stream
- on web:  the streams opened on the same 2 sync workers (what serving the stream like any route would do);
           only 4 streams, since each holds a whole worker

Per set-up and repetition it prints how many streams the server took within 5 s ("served"), web requests/s
with the streams open ÷ with none open (measured in the same run, just before), and for the events published
meanwhile (`app.domain_events.publish`, `--events` spread over the phase, every one to every stream): the share
delivered, the delivery delay (p50, p95) and the stream server's CPU per delivered event. The bench's own
reader threads share the machine's cores. Only 127.0.0.1 is contacted; every
loop is bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

DB = "postgresql+psycopg://urbanops:urbanops@127.0.0.1:5432/urbanops_bench_stream"
REDIS = "redis://127.0.0.1:6379/13"
WEB, STREAM = 5097, 5098


def make_app():
    """The bench's app (its own database and Redis db)."""
    from app import create_app
    from app.config import Config

    return create_app(type("Bench", (Config,), {"SQLALCHEMY_DATABASE_URI": DB, "REDIS_URL": REDIS,
                                                "RATELIMIT_STORAGE_URI": REDIS}))


def setup(app) -> str:
    """Rebuild the bench database; return a supervisor's token."""
    from bench.world import fresh_district

    fresh_district(app, DB, REDIS)
    with app.app_context():
        from app.extensions import db
        from app.models import Role
        from app.services.users import create_user, issue_token

        token = issue_token(create_user("sup", Role.SUPERVISOR, password="bench-pass"), "bench")
        db.session.commit()
    return token


def serve(apart: bool) -> list[subprocess.Popen]:
    """The web server (2 sync workers) and, when `apart`, the stream's own server."""
    from app.cli import stream_server_command

    # Short heartbeats: a stream whose client went away ends at the next one (and frees its worker "on web").
    env = {**os.environ, "DATABASE_URL": DB, "REDIS_URL": REDIS, "RATELIMIT_DEFAULT": "", "STREAM_HEARTBEAT_S": "1"}
    cmds = [[sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{WEB}", "--timeout", "120", "wsgi:app"]]
    if apart:
        cmds.append(stream_server_command("127.0.0.1", STREAM, 256))
    procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for c in cmds]
    from bench.world import wait_until_serving

    for port in [WEB] + ([STREAM] if apart else []):
        wait_until_serving(port)
    return procs


def server_cpu(port: int) -> float:
    """CPU seconds so far of the gunicorn processes listening on `port`."""
    from bench.world import cpu_seconds

    mark = f"127.0.0.1:{port}".encode()
    return cpu_seconds(lambda cmd: "server" if b"gunicorn" in cmd and mark in cmd else None).get("server", 0.0)


class Stream(threading.Thread):
    """One open event stream; records when each bench event arrived (by its number) and its delay."""

    def __init__(self, port: int, token: str, done: threading.Event):
        super().__init__(daemon=True)
        self.port, self.token, self.done = port, token, done
        self.delays: dict[str, float] = {}
        self.connected = threading.Event()

    def run(self):
        """Read the stream until the phase is done (or the server ends it)."""
        try:
            # The socket timeout outlasts a heartbeat (1 s) but not the phase: a stream still waiting to be
            # served gives up, as a browser would not, but the bench must end.
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/api/v1/events/stream", headers={"Authorization": f"Bearer {self.token}"})
            resp = conn.getresponse()
            self.connected.set()
            while not self.done.is_set():
                line = resp.readline()  # through http.client: chunked encoding is decoded
                if not line:
                    return
                if line.startswith(b"data: "):
                    event = json.loads(line[6:])
                    sent = datetime.fromisoformat(event["at"]).timestamp()
                    self.delays[event["number"]] = time.time() - sent
        except OSError:
            return


def read_me(port: int, token: str, until: float, counts: list) -> None:
    """GET /api/v1/me in a loop until `until`; append the number answered 200."""
    n = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.time() < until:
        try:
            conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            r = conn.getresponse()
            r.read()
            n += r.status == 200
        except OSError:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    counts.append(n)


def phase(app, token: str, stream_port: int, n_streams: int, seconds: float, n_events: int,
          rng: random.Random) -> dict:
    """Web requests/s and event delivery with `n_streams` open (none: the baseline)."""
    from app.domain_events import DomainEvent, publish

    done = threading.Event()
    streams = [Stream(stream_port, token, done) for _ in range(n_streams)]
    for s in streams:
        s.start()
    connect_by = time.time() + 5
    for s in streams:
        s.connected.wait(max(0.0, connect_by - time.time()))
    served = sum(s.connected.is_set() for s in streams)
    time.sleep(0.5)
    counts: list[int] = []
    cpu_before = server_cpu(stream_port)
    end = time.time() + seconds
    readers = [threading.Thread(target=read_me, args=(WEB, token, end, counts)) for _ in range(8)]
    for r in readers:
        r.start()
    sent = []
    with app.app_context():
        for i in range(n_events):
            time.sleep(rng.uniform(0, 2 * seconds / max(1, n_events)) if time.time() < end - 0.5 else 0)
            number = f"bench-{i}"
            publish([DomainEvent(case_id=i, number=number, action="verify", status="verified",
                                 previous_status="reported", assignee_id=None, previous_assignee_id=None,
                                 department_id=None, grid_id=None, checker_id=None, actor_id=None,
                                 at=datetime.now(timezone.utc).isoformat())])
            sent.append(number)
    for r in readers:
        r.join()
    time.sleep(1)
    stream_cpu = server_cpu(stream_port) - cpu_before  # "on web": the web server's, requests included
    done.set()
    delays = [s.delays[n] for s in streams for n in sent if n in s.delays]
    expected = len(sent) * len(streams)
    for s in streams:
        s.join(35)
    return {"rps": sum(counts) / seconds, "served": served,
            "cpu_us": stream_cpu / len(delays) * 1e6 if delays and stream_port == STREAM else None,
            "delivered": len(delays) / expected if expected else None,
            "p50_ms": statistics.median(delays) * 1000 if delays else None,
            "p95_ms": statistics.quantiles(delays, n=20)[18] * 1000 if len(delays) >= 20 else None}


def main() -> None:
    """Both set-ups, `--repeat` times each; one line per run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    from bench.world import stop

    rng = random.Random(args.seed)
    app = make_app()
    token = setup(app)
    print(f"{'set-up':<10}{'streams':>8}{'served':>8}{'events/s':>9}{'web /me per s':>15}{'÷ none open':>13}"
          f"{'delivered':>11}{'p50 ms':>9}{'p95 ms':>9}{'µs CPU/delivery':>17}")
    for apart in (True, False):
        n = args.streams if apart else 4
        procs = serve(apart)
        try:
            for _ in range(args.repeat):
                base = phase(app, token, STREAM if apart else WEB, 0, args.seconds, 0, rng)
                got = phase(app, token, STREAM if apart else WEB, n, args.seconds, args.events, rng)
                fmt = lambda v, f: "–" if v is None else format(v, f)  # noqa: E731
                print(f"{'apart' if apart else 'on web':<10}{n:>8}{got['served']:>8}{args.events / args.seconds:>9.1f}"
                      f"{got['rps']:>15.1f}"
                      f"{got['rps'] / base['rps'] if base['rps'] else 0:>13.2f}{fmt(got['delivered'], '.3f'):>11}"
                      f"{fmt(got['p50_ms'], '.1f'):>9}{fmt(got['p95_ms'], '.1f'):>9}{fmt(got['cpu_us'], '.0f'):>17}",
                      flush=True)
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
