"""What the benchmarks that serve the app share: a fresh bench district (its own database rebuilt with the real
migrations, categories and the demo grids), the CPU its processes spent, and stopping the servers.

Used by load.py, audit.py and stream.py.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import time
from pathlib import Path
from typing import Callable


def fresh_district(app, db_url: str, redis_url: str) -> list[tuple[int, object]]:
    """Drop and recreate `db_url`, empty `redis_url`, then migrate and load the district.

    Returns (grid id, a point inside the grid) for every grid, in id order.
    """
    import json

    import sqlalchemy as sa
    from redis import Redis

    url = sa.engine.make_url(db_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    Redis.from_url(redis_url).flushdb()
    with app.app_context():
        from flask_migrate import upgrade
        from geoalchemy2.shape import to_shape

        from app.extensions import db
        from app.models import Grid
        from app.seed.district import GRIDS_FILE
        from app.services.catalog import load_categories
        from app.services.grids import import_grids

        upgrade()
        load_categories()
        import_grids(json.loads(GRIDS_FILE.read_text(encoding="utf-8")))
        db.session.commit()
        grids = db.session.scalars(sa.select(Grid).order_by(Grid.id))
        return [(g.id, to_shape(g.geom).representative_point()) for g in grids]


def cpu_seconds(classify: Callable[[bytes], str | None]) -> dict[str, float]:
    """CPU seconds so far (utime + stime, Linux /proc) of the processes `classify(cmdline)` names, per name."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if (name := classify(cmd)) is not None:
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def wait_until_serving(port: int, seconds: float = 60) -> None:
    """Wait until the app answers on 127.0.0.1:`port`; exit the bench if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/categories")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"nothing serves the app on port {port}")


def stop(procs: list[subprocess.Popen]) -> None:
    """Terminate the servers and wait for them."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
