"""Flask CLI commands: reference data, users and tokens, audit, seeding, workers and the demo supervisor."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db, get_redis
from app.seed import DEFAULT_PASSWORD
from app.services.kpis import GROUPS as KPI_GROUPS


def domain_command(func):
    """Commit on success; on a DomainError roll back, print the message and details, exit 1."""

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            db.session.commit()
            return result
        except DomainError as exc:
            db.session.rollback()
            click.echo(f"error: {exc.message}", err=True)
            for line in exc.details or []:
                click.echo(f"  - {line}", err=True)
            sys.exit(1)

    return wrapped


grids_cli = AppGroup("grids", help="Unit grids (单元网格).")
cameras_cli = AppGroup("cameras", help="The camera register.")
categories_cli = AppGroup("categories", help="Case categories and their time limits.")
calendar_cli = AppGroup("calendar", help="Holidays and make-up workdays.")
users_cli = AppGroup("users", help="Accounts and device tokens.")
audit_cli = AppGroup("audit", help="The hash-chained case event log.")
seed_cli = AppGroup("seed", help="Demo data.")


@grids_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@domain_command
def grids_import(path):
    """Validate and import a GeoJSON FeatureCollection of grids (all or nothing)."""
    from app.services.grids import import_grids

    rep = import_grids(path)
    click.echo(f"imported {rep.created} new and {rep.updated} updated grids, {rep.regions} new regions")


@cameras_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@domain_command
def cameras_import(path):
    """Validate and import a GeoJSON FeatureCollection of cameras (all or nothing; same code = update)."""
    from app.services.cameras import import_cameras

    rep = import_cameras(path)
    click.echo(f"imported {rep.created} new and {rep.updated} updated cameras")


@cameras_cli.command("list")
def cameras_list():
    """Every camera: code, enabled, fps, the stream detection reads (credentials hidden) and the node running it."""
    from app.services.cameras import register

    for c in register():
        click.echo(f"{c['code']}\t{'on' if c['enabled'] else 'off'}\t{c['fps']:g} fps\t{c['detect']}\t"
                   f"{c['node'] or '-'}\t{c['name']}")


@categories_cli.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@domain_command
def categories_load(path):
    """Load categories from the YAML file (default: the shipped app/data/categories.yaml)."""
    from app.services.catalog import DEFAULT_FILE, load_categories

    click.echo(json.dumps(load_categories(path or DEFAULT_FILE)))


@calendar_cli.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@domain_command
def calendar_load(path):
    """Load holidays and make-up workdays from YAML (default: app/data/holidays.yaml)."""
    from app.services.calendar import DEFAULT_HOLIDAYS, load_holidays

    click.echo(f"{load_holidays(path or DEFAULT_HOLIDAYS)} calendar days loaded")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["citizen", "worker", "handler", "dispatcher",
                                                          "supervisor", "admin", "system"]))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
@domain_command
def users_create(username, role, password, name):
    """Create an account."""
    from app.services.users import create_user

    user = create_user(username, role, password=password, display_name=name)
    db.session.flush()
    click.echo(f"created user {user.username} (id {user.id}, {user.role.value})")


@users_cli.command("token")
@click.argument("username")
@click.option("--name", default="device", help="what the token is for")
@click.option("--camera", default=None, help="camera code the token is bound to")
@domain_command
def users_token(username, name, camera):
    """Issue a bearer token for a device or camera (printed once)."""
    from sqlalchemy import select

    from app.models import Camera
    from app.services.users import get_user, issue_token

    cam = None
    if camera:
        cam = db.session.scalars(select(Camera).where(Camera.code == camera)).first()
        if cam is None:
            raise click.ClickException(f"no camera {camera}")
    click.echo(issue_token(get_user(username), name, camera=cam))


@audit_cli.command("verify")
def audit_verify():
    """Recompute every case's event chain and the anchors; exit 1 and name what was tampered with."""
    from app.services.audit import verify_chain

    rep = verify_chain()
    if rep.ok:
        click.echo(f"audit chain ok: {rep.checked} events, {rep.anchors} anchors")
        return
    where = ", ".join(filter(None, [f"case {rep.case_id}" if rep.case_id else "",
                                    f"event {rep.broken_at}" if rep.broken_at else ""]))
    click.echo(f"audit chain BROKEN{' at ' + where if where else ''}: {rep.reason} "
               f"({rep.checked} events ok before it)", err=True)
    sys.exit(1)


@audit_cli.command("anchor")
def audit_anchor():
    """Anchor the chains now (the scheduler does it every 10 minutes)."""
    from app.services.audit import anchor_chains

    anchor = anchor_chains()
    db.session.commit()
    click.echo(f"anchor {anchor.id}: {len(anchor.heads)} chains" if anchor else "nothing moved since the last anchor")


@seed_cli.command("demo")
@click.option("--cases", "n_cases", default=300, show_default=True, help="historical cases to create")
@click.option("--seed", "rng_seed", default=7, show_default=True)
@click.option("--password", default=DEFAULT_PASSWORD, show_default=True, help="password of every demo account")
@domain_command
def seed_demo(n_cases, rng_seed, password):
    """Create the demo district: grids, departments, workers, cameras, accounts and cases."""
    from app.seed.demo import seed_demo as run

    summary = run(n_cases=n_cases, seed=rng_seed, password=password)
    click.echo(json.dumps(summary, ensure_ascii=False, indent=1))


dispatch_cli = AppGroup("dispatch", help="Routing: rounds by hand and the policy simulator.")


@dispatch_cli.command("round")
@domain_command
def dispatch_round():
    """Run one auto-dispatch round now and print what it did."""
    from app.services.dispatching import auto_dispatch

    click.echo(json.dumps(auto_dispatch()))


@dispatch_cli.command("simulate")
@click.option("--policy", type=click.Choice(["ours", "nearest", "round_robin"]), default="ours", show_default=True)
@click.option("--workers", default=32, show_default=True)
@click.option("--hours", default=10.0, show_default=True, help="measured window, after the warm-up")
@click.option("--load", default=0.85, show_default=True, help="target utilisation of the field force")
@click.option("--seed", default=1, show_default=True)
@click.option("--warmup-days", default=14, show_default=True, help="simulated history before the window")
@click.option("--city", type=click.Choice(["demo", "generated"]), default="demo", show_default=True)
@click.option("--seeds", type=click.IntRange(1, 30), default=None,
              help="compare every policy on this many evaluation seeds (per-seed ratios, spread, decomposition)")
@click.option("--no-camera-checks", is_flag=True, help="every check is an inspector's visit")
@click.option("--json", "as_json", is_flag=True)
def dispatch_simulate(policy, workers, hours, load, seed, warmup_days, city, seeds, no_camera_checks, as_json):
    """Discrete-event simulation of the district with the production routing code."""
    import yaml

    from app.seed.district import GRIDS_FILE
    from app.services.catalog import DEFAULT_FILE
    from dispatch import evaluation
    from dispatch.simulator import City, SimConfig, profiles_from_categories, simulate

    town = (City.from_geojson(json.loads(GRIDS_FILE.read_text(encoding="utf-8")), seed=1) if city == "demo"
            else City.generated(20, 15, seed=1))
    profiles = profiles_from_categories(yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))["categories"])
    base = {"workers": workers, "hours": hours, "load": load, "warmup_hours": 24 * warmup_days}
    if seeds:
        chosen = list(evaluation.EVALUATION_SEEDS[:seeds])
        results = evaluation.run(town, profiles, chosen, evaluation.VARIANTS, jobs=os.cpu_count() or 1, **base)
        summ = evaluation.summary(results)
        click.echo(json.dumps({"seeds": chosen, "summary": summ}, ensure_ascii=False) if as_json
                   else evaluation.text(chosen, results, summ))
        return
    report = simulate(town, profiles, SimConfig(policy=policy, seed=seed, camera_checks=not no_camera_checks,
                                                **base))
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        for k, v in report.items():
            click.echo(f"{k:<22}{v}")


@click.command("kpis")
@click.option("--from", "start", default=None, help="ISO date; default 30 days ago")
@click.option("--to", "end", default=None, help="ISO date; default now")
@click.option("--group-by", type=click.Choice(list(KPI_GROUPS)), default=None)
@click.option("--json", "as_json", is_flag=True)
@domain_command
def kpis_cmd(start, end, group_by, as_json):
    """Closed-loop KPIs (按期结案率, 结案率, 返工率, 延期率, time to close, satisfaction …)."""
    from app.services import kpis

    out = kpis.compute(*kpis.period(start, end), group_by)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"{out['from']} → {out['to']}")
    for k, v in out["summary"].items():
        click.echo(f"  {k:<22}{v}")
    for g in out.get("groups", []):
        rank = f"#{g['rank']} " if "rank" in g else ""
        click.echo(f"  {rank}[{g[group_by]}] cases={g['cases']} on_time={g['on_time_rate']} "
                   f"mean_close_min={g['mean_close_min']} rework={g['rework_rate']} score={g['score']}")


open311_cli = AppGroup("open311", help="The Open311 GeoReport v2 endpoint.")
open311_keys = AppGroup("keys", help="API keys for Open311 clients.")
open311_cli.add_command(open311_keys)


@open311_keys.command("create")
@click.argument("name")
@domain_command
def open311_key_create(name):
    """Create an API key for a civic tool (printed once)."""
    from app.services.open311 import create_key

    click.echo(create_key(name))


demo_cli = AppGroup("demo", help="The live demo.")


@demo_cli.command("field-force")
@click.option("--base-url", default=lambda: f"http://127.0.0.1:{os.environ.get('PORT', '5000')}", show_default=True)
@click.option("--workers", "n_workers", default=12, show_default=True, help="demo workers to animate")
@click.option("--tick", default=2.0, show_default=True, help="seconds between rounds")
def field_force(base_url, n_workers, tick):
    """Animate demo workers, inspectors, citizens and a dispatcher through the HTTP API (DEMO_MODE only)."""
    if not current_app.config["DEMO_MODE"]:
        raise click.ClickException("the simulated field force runs only with DEMO_MODE=1")
    from geoalchemy2.shape import to_shape
    from sqlalchemy import select

    from app.models import Grid, Role, User
    from app.seed.field import FieldForce
    from app.services.users import get_user, issue_token

    workers = db.session.scalars(select(User).where(User.role == Role.WORKER, User.username.like("w%"),
                                                    User.last_position.is_not(None)).order_by(User.id)
                                 .limit(n_workers)).all()
    tokens = {
        "dispatcher": issue_token(get_user("dispatcher"), "demo field force"),
        "citizens": [issue_token(u, "demo field force") for u in db.session.scalars(
            select(User).where(User.role == Role.CITIZEN).order_by(User.id).limit(4))],
        "workers": [],
    }
    for w in workers:
        w.on_duty = True
        p = to_shape(w.last_position)
        tokens["workers"].append({"id": w.id, "token": issue_token(w, "demo field force"), "lon": p.x, "lat": p.y})
    grids = [(p.x, p.y) for p in (to_shape(g.geom).representative_point() for g in db.session.scalars(select(Grid)))]
    db.session.commit()
    for _ in range(60):  # the web server may still be starting
        try:
            force = FieldForce(base_url, tokens, grids=grids)
            break
        except OSError:
            time.sleep(1)
    else:
        raise click.ClickException(f"no platform answering at {base_url}")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    click.echo(f"field force: {len(workers)} workers on {base_url}")
    try:
        force.run(lambda: bool(stopping), tick_s=tick)
    except KeyboardInterrupt:
        pass


@click.command("worker")
@click.option("--queues", default=None, help="comma-separated queue names (default: all)")
@click.option("--processes", default=1, show_default=True, help="worker processes (RQ worker pool)")
@click.option("--burst", is_flag=True, help="exit when the queues are empty")
@click.option("--nice", default=0, show_default=True, help="lower CPU priority (e.g. 10 for photo blurring)")
def worker_cmd(queues, processes, burst, nice):
    """Run RQ worker(s) on the named queues, configured like the app."""
    if nice:
        os.nice(nice)  # background CPU work yields to the web processes on the same machine
    from rq.worker_pool import WorkerPool

    from app.jobs import AppWorker, dispose_engine_after_fork

    names = queues.split(",") if queues else list(current_app.config["RQ_QUEUES"])
    unknown = set(names) - set(current_app.config["RQ_QUEUES"])
    if unknown:
        raise click.BadParameter(f"unknown queues: {', '.join(sorted(unknown))}", param_hint="--queues")
    _claim_redis()
    dispose_engine_after_fork()
    conn = get_redis()
    if processes > 1:
        WorkerPool(names, connection=conn, num_workers=processes, worker_class=AppWorker).start(burst=burst)
    else:
        AppWorker(names, connection=conn).work(burst=burst, with_scheduler=False)


@click.command("scheduler")
def scheduler_cmd():
    """Run RQ's cron scheduler over the periodic job list."""
    from rq.cron import CronScheduler

    from app.jobs import periodic_jobs

    _claim_redis()
    sched = CronScheduler(connection=get_redis())
    for p in periodic_jobs():
        sched.register(p.func, queue_name=p.queue, interval=p.interval, cron=p.cron, job_timeout=p.timeout)
    sched.start()


def _claim_redis() -> None:
    from app.extensions import RedisTaken, claim_redis

    try:
        claim_redis()
    except RedisTaken as exc:
        raise click.ClickException(str(exc)) from exc


def stream_server_command(host: str, port: int, threads: int) -> list[str]:
    """The gunicorn command line of the live stream's own server: one process, a thread per open stream.

    Each open stream waits in Redis (XREAD BLOCK) holding one thread and no database connection; the sync web
    workers, which the same stream would hold for as long as a page is open, never serve it.
    """
    return [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "--threads", str(threads),
            "-b", f"{host}:{port}", "--access-logfile", "-", "wsgi:app"]


@click.command("serve-stream")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True)
@click.option("--threads", default=256, show_default=True, help="open streams at once (a thread each)")
def serve_stream(host, port, threads):
    """Serve the live stream (GET /api/v1/events/stream) for a proxy to route to; see README, Production."""
    os.execv(sys.executable, stream_server_command(host, port, threads))


@click.command("serve-all")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")), show_default="5000 or $PORT")
@click.option("--web-workers", default=2, show_default=True)
@click.option("--log-dir", default=None, type=click.Path(file_okay=False),
              help="write each process's output to DIR/NAME.log instead of this terminal")
def serve_all(host, port, web_workers, log_dir):
    """Run the web and stream servers, the RQ workers and the scheduler in the foreground; Ctrl-C stops them all."""
    _claim_redis()  # before anything starts: two platforms on one Redis database would run each other's jobs
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    # No proxy here: pages (from `port`) open the live stream on its own server at the next port of this host.
    os.environ["STREAM_PORT"] = str(port + 1)
    procs = {
        "web": [sys.executable, "-m", "gunicorn", "-w", str(web_workers), "-b", f"{host}:{port}",
                "--access-logfile", "-", "wsgi:web()"],
        "stream": stream_server_command(host, port + 1, 64),
        # Blurring photos is CPU work: its own worker, so dispatch rounds never wait behind a queue of photos.
        "worker": flask + ["worker", "--queues", "dispatch,default,maintenance"],
        "media-worker": flask + ["worker", "--queues", "media", "--nice", "10"],
        "scheduler": flask + ["scheduler"],
    }
    if current_app.config["DEMO_MODE"]:
        procs["field-force"] = flask + ["demo", "field-force", "--base-url", f"http://{host}:{port}"]
        if Path(current_app.config["VISION_WEIGHTS"]).exists():
            procs["cameras"] = flask + ["vision", "run"]
    logs = {}
    if log_dir:
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        logs = {name: open(Path(log_dir) / f"{name}.log", "a", encoding="utf-8") for name in procs}
    running = {name: subprocess.Popen(cmd, stdout=logs.get(name), stderr=subprocess.STDOUT if logs else None)
               for name, cmd in procs.items()}
    base = f"http://{host}:{port}"
    if _wait_until_up(base, running["web"]):
        click.echo(banner(base, list(procs), log_dir, demo=current_app.config["DEMO_MODE"]))

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            for name, proc in running.items():
                if proc.poll() is not None:
                    click.echo(f"{name} exited with {proc.returncode}; stopping the rest", err=True)
                    raise KeyboardInterrupt
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for proc in running.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in running.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for fh in logs.values():
            fh.close()


def _wait_until_up(base: str, web: subprocess.Popen, seconds: float = 60) -> bool:
    """Wait for the web server to answer (so the banner comes after the servers' start-up lines)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and web.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()
            return True
        except urllib.error.HTTPError:
            return True  # it answers (a 503 only says a worker is still starting)
        except OSError:
            time.sleep(0.5)
    return False


def banner(base: str, processes: list[str], log_dir: str | None, *, demo: bool) -> str:
    """What a newcomer needs once everything runs: where to go and, in the demo, who to sign in as."""
    from app.seed.demo import ACCOUNT_NOTES, demo_accounts

    rule = "─" * 72
    lines = [rule, f"  智慧城管 is running:  {base}", ""]
    if demo:
        lines.append(f"  Demo accounts (password {DEFAULT_PASSWORD}):")
        lines += [f"    {a['username']:<12}{a['role']:<12}{ACCOUNT_NOTES.get(a['username'], '')}"
                  for a in demo_accounts(DEFAULT_PASSWORD)]
        lines.append("")
    lines.append(f"  Command map {base}/console · performance {base}/console/dashboard · wall {base}/console/wall")
    lines.append(f"  Inspectors' phone app {base}/m/ · citizens report at {base}/report")
    if log_dir:
        lines.append(f"  Logs: {log_dir}/{{{','.join(processes)}}}.log")
    lines += ["  Ctrl-C stops everything.", rule]
    return "\n".join(lines)


def register_cli(app) -> None:
    """Attach every command group to the app's CLI."""
    from app.cli_intel import intel_cli
    from app.cli_patrol import patrol_cli
    from app.cli_vision import vision_cli

    app.cli.add_command(vision_cli)
    app.cli.add_command(intel_cli)
    app.cli.add_command(patrol_cli)
    for cmd in (grids_cli, cameras_cli, categories_cli, calendar_cli, users_cli, audit_cli, seed_cli, dispatch_cli,
                kpis_cmd, demo_cli, open311_cli, worker_cmd, scheduler_cmd, serve_all, serve_stream):
        app.cli.add_command(cmd)
