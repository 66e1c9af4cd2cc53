"""Camera findings become cases through the case service: replay a recording, dedupe, dry-run, errors."""

import json

import pytest

from app.extensions import db
from app.models import Camera, CameraZone, Case
from app.models.types import utcnow
from app.services.grids import point_sql
from app.services.vision import camera_setup
from dispatch.lifecycle import Action
from tests.factories import make_grids
from vision.synth import Actor, make_video

# Pixel (x, y) of a 640×360 view ↔ lon/lat inside the two test grids (lon 120.00–120.02, lat 30.00–30.01).
CONTROL = [{"px": [x, y], "lonlat": [120.0 + x * 3e-5, 30.0 + (360 - y) * 2.5e-5]}
           for x, y in ((0, 0), (640, 0), (640, 360), (0, 360), (320, 180))]


@pytest.fixture
def camera(app, tmp_path, monkeypatch, tiny_weights):
    make_grids()
    cam = Camera(code="CAMT", name="测试路口", position=point_sql(120.009, 30.004), fps=2, frame_width=640,
                 frame_height=360, calibration=CONTROL)
    cam.zones = [CameraZone(name="路面", kind="watch", pixel_polygon=[[0, 100], [640, 100], [640, 360], [0, 360]],
                            category_codes=[])]
    db.session.add(cam)
    db.session.commit()
    rules = tmp_path / "rules.yaml"
    rules.write_text("exposed_garbage: {dwell_s: 8, min_conf: 0.25, min_median_conf: 0.35, verify_below: 0.0}\n")
    monkeypatch.setitem(app.config, "VISION_RULES", str(rules))
    monkeypatch.setitem(app.config, "VISION_WEIGHTS", str(tiny_weights))
    monkeypatch.setitem(app.config, "VISION_CONF", 0.2)
    return cam


def replay(app, video, *extra):
    r = app.test_cli_runner().invoke(args=["vision", "replay", str(video), "--camera", "CAMT", *extra])
    assert r.exit_code == 0, r.output
    return json.loads(r.output.strip().splitlines()[-1])


def test_camera_setup(camera):
    setup = camera_setup(camera)
    assert setup["calibration"].rms_m < 0.5 and setup["zones"][0].kind == "watch"
    assert setup["position"] == pytest.approx((120.009, 30.004))


def test_replay_creates_one_case_then_adds_evidence(app, camera, tmp_path):
    video = make_video(tmp_path / "garbage.avi", [Actor("exposed_garbage", 200, 250, start=3)], seconds=40, fps=5)
    out = replay(app, video)
    assert [r["action"] for r in out["results"]] == ["created"]
    assert out["inferred"] < out["frames"]  # the change gate skipped the static stretches
    case = db.session.scalars(db.select(Case)).one()
    assert case.source.value == "camera" and case.camera_id == camera.id
    assert case.status.value == "filed"  # confident: verified and filed by the automation
    assert case.grid.code == "330100001001001"  # x ≈ 200 px → lon ≈ 120.006, the west grid
    assert case.extra["detector"]["located_by"] == "calibration" and case.extra["detector"]["camera"] == "CAMT"
    assert [m.kind.value for m in case.media] == ["evidence", "evidence"]  # annotated frame and crop
    again = replay(app, video)
    assert [r["action"] for r in again["results"]] == ["evidence"] and again["results"][0]["case"] == case.number
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    assert [e.action for e in case.events][-1] is Action.ADD_EVIDENCE


def test_low_confidence_goes_to_verification(app, camera, tmp_path):
    (tmp_path / "rules.yaml").write_text("exposed_garbage: {dwell_s: 8, min_conf: 0.25, min_median_conf: 0.35, "
                                         "verify_below: 1.01}\n")
    video = make_video(tmp_path / "g.avi", [Actor("exposed_garbage", 500, 250, start=3)], seconds=30, fps=5)
    replay(app, video)
    case = db.session.scalars(db.select(Case)).one()
    assert case.status.value == "reported" and case.grid.code == "330100001001002"


def test_dry_run_writes_nothing(app, camera, tmp_path):
    video = make_video(tmp_path / "g.avi", [Actor("exposed_garbage", 200, 250, start=3)], seconds=30, fps=5)
    out = replay(app, video, "--dry-run")
    assert out["dry_run"] and [r["action"] for r in out["results"]] == ["would_create"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 0


def test_passer_by_creates_nothing(app, camera, tmp_path):
    video = make_video(tmp_path / "p.avi", [Actor("exposed_garbage", -40, 250, start=1, speed=25)], seconds=30)
    assert replay(app, video)["results"] == []


def test_startup_errors_are_clear(app, camera, tmp_path):
    r = app.test_cli_runner().invoke(args=["vision", "replay", str(tmp_path / "x.avi"), "--camera", "CAMT",
                                           "--weights", str(tmp_path / "none.pt")])
    assert r.exit_code == 1 and "weights file not found" in r.output
    r = app.test_cli_runner().invoke(args=["vision", "replay", str(tmp_path / "x.avi"), "--camera", "CAMT"])
    assert r.exit_code == 1 and "cannot open" in r.output
    assert utcnow()


def test_camera_loop_records_and_reports_health(app, camera, tmp_path):
    import threading

    from app.camera_runtime.health import read_health
    from app.camera_runtime.process import run_cameras

    video = make_video(tmp_path / "cam.avi", [Actor("exposed_garbage", 200, 250, start=3)], seconds=30, fps=5)
    camera.stream_url = str(video)
    db.session.commit()
    run_cameras([camera.id], threading.Event())  # a recording: runs to its end
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1
    health = read_health(["CAMT", "NOPE"])
    assert health["NOPE"] is None and health["CAMT"]["stopped"] and health["CAMT"]["frames_used"] == 60


def test_supervisor_runs_camera_processes_and_stops_them(app, camera, tmp_path):
    import multiprocessing as mp
    import threading
    import time

    from app.camera_runtime.demo import demo_video
    from app.camera_runtime.health import read_health
    from app.camera_runtime.supervisor import supervise

    camera.stream_url = "demo://camera/7"  # a demo camera: its video loops like a live stream
    make_video(demo_video(camera.stream_url, tmp_path), [Actor("banner", 300, 200)], seconds=4, fps=5)
    second = Camera(code="CAM2", name="第二路口", position=point_sql(120.008, 30.004), fps=2, frame_width=640,
                    frame_height=360, stream_url="demo://camera/8")
    make_video(demo_video(second.stream_url, tmp_path), [Actor("exposed_garbage", 300, 260)], seconds=4, fps=5)
    db.session.add(second)
    db.session.commit()
    config = {k: v for k, v in app.config.items() if k.isupper()} | {"DEMO_VIDEO_DIR": str(tmp_path)}
    stop = mp.get_context("spawn").Event()
    # batch 0, as `flask vision run` does by default: both cameras in one process, one detector, a reader each
    t = threading.Thread(target=supervise, args=([camera.id, second.id], None, None, config, stop),
                         kwargs={"batch": 0})
    t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            h = read_health(["CAMT", "CAM2"])
            if all(x and x["frames_used"] >= 5 for x in h.values()):
                break
            time.sleep(0.5)
        assert all(x and x["frames_used"] >= 5 and x["errors"] == 0 and x["batched_with"] == 2 for x in h.values())
    finally:
        stop.set()
        t.join(30)
    assert not t.is_alive()
    assert all(x["stopped"] is True for x in read_health(["CAMT", "CAM2"]).values())


def test_cameras_api_shows_health(client, camera):
    from app.camera_runtime.health import write_health
    from app.models import Role
    from tests.factories import make_user, token_for

    write_health("CAMT", {"fps": 1.0, "errors": 0, "frames_used": 3})
    staff = token_for(make_user(Role.SUPERVISOR))
    fc = client.get("/api/v1/cameras", headers=staff).json
    props = fc["features"][0]["properties"]
    assert props["code"] == "CAMT" and props["health"]["fps"] == 1.0 and props["calibration_rms_m"] is None
    assert client.get("/api/v1/cameras", headers=token_for(make_user(Role.WORKER))).status_code == 403


def test_saving_calibration_reports_the_error(client, camera):
    from app.models import Role
    from tests.factories import make_user, token_for

    admin = token_for(make_user(Role.ADMIN))
    r = client.post("/api/v1/cameras/CAMT/calibration", json={"points": CONTROL}, headers=admin)
    assert r.status_code == 200 and r.json["calibration_rms_m"] < 0.1  # cm: degrees are not quite metres
    noisy = [dict(p, lonlat=[p["lonlat"][0] + (i % 2) * 2e-5, p["lonlat"][1]]) for i, p in enumerate(CONTROL)]
    assert client.post("/api/v1/cameras/CAMT/calibration", json={"points": noisy},
                       headers=admin).json["calibration_rms_m"] > 0.3
    bad = client.post("/api/v1/cameras/CAMT/calibration", json={"points": CONTROL[:3]}, headers=admin)
    assert bad.status_code == 400 and "4" in bad.json["error"]["message"]
    assert client.post("/api/v1/cameras/NOPE/calibration", json={"points": CONTROL}, headers=admin).status_code == 404
    db.session.expire_all()
    assert db.session.get(Camera, camera.id).calibration_rms_m > 0.3  # the last good save is kept


def test_two_cameras_in_one_batched_process(app, camera, tmp_path):
    import threading

    from app.camera_runtime.health import read_health
    from app.camera_runtime.process import run_cameras

    other = Camera(code="CAMU", name="另一路口", position=point_sql(120.015, 30.004), fps=2, calibration=CONTROL)
    db.session.add(other)
    camera.stream_url = str(make_video(tmp_path / "a.avi", [Actor("exposed_garbage", 150, 250, start=3)],
                                       seconds=30, fps=5))
    other.stream_url = str(make_video(tmp_path / "b.avi", [Actor("exposed_garbage", 560, 250, start=3)],
                                      seconds=30, fps=5))
    db.session.commit()
    run_cameras([camera.id, other.id], threading.Event())
    cases = db.session.scalars(db.select(Case).order_by(Case.camera_id)).all()
    assert [c.camera_id for c in cases] == [camera.id, other.id]
    health = read_health(["CAMT", "CAMU"])
    assert health["CAMT"]["batched_with"] == 2 and health["CAMU"]["findings"] == 1


def test_camera_cases_are_recorded_under_the_camera_account(app, camera, tmp_path):
    video = make_video(tmp_path / "g.avi", [Actor("exposed_garbage", 200, 250, start=3)], seconds=30, fps=5)
    replay(app, video)
    case = db.session.scalars(db.select(Case)).one()
    assert case.events[0].actor.username == "camera-bot" and case.events[0].actor.display_name == "视频智能识别"


def test_camera_findings_marked_invalid_become_negatives_for_retraining(app, tmp_path):
    import csv

    from app.models.cases import Source
    from app.services import cases as svc
    from app.services.vision import camera_actor
    from tests.factories import Cast, jpeg

    make_grids()
    cast = Cast()
    frame, crop = jpeg((10, 10, 10), (64, 48)), jpeg((200, 200, 200), (24, 16))
    shadow, _ = svc.report_case(camera_actor(), category_code="exposed_garbage", lon=120.005, lat=30.005,
                                source=Source.CAMERA, photos=[frame, crop],
                                extra={"detector": {"model": "tiny-1", "confidence": 0.41}})
    real, _ = svc.report_case(camera_actor(), category_code="banner", lon=120.006, lat=30.005,
                              source=Source.CAMERA, photos=[frame, crop])
    svc.verify_case(shadow.id, cast.dispatcher, valid=False, note="树影，不是垃圾")
    svc.verify_case(real.id, cast.dispatcher, valid=True)
    db.session.commit()
    r = app.test_cli_runner().invoke(args=["vision", "negatives", str(tmp_path / "neg")])
    assert r.exit_code == 0 and r.output.startswith("1 negatives"), r.output
    from PIL import Image

    with Image.open(tmp_path / "neg" / "images" / f"{shadow.number}.jpg") as img:
        assert img.size == (24, 16)  # the crop (the raw region), not the annotated frame
    assert (tmp_path / "neg" / "labels" / f"{shadow.number}.txt").read_text() == ""
    rows = list(csv.DictReader(open(tmp_path / "neg" / "negatives.csv", encoding="utf-8")))
    assert rows == [{"case": shadow.number, "category": "exposed_garbage", "model": "tiny-1", "confidence": "0.41",
                     "reason": "树影，不是垃圾"}]


@pytest.mark.parametrize("code", ["¹", "١٢", "9" * 30])
def test_odd_camera_codes_are_not_found_rather_than_a_server_error(client, code):
    from app.models import Role
    from tests.factories import make_user, token_for

    r = client.post(f"/api/v1/cameras/{code}/calibration", json={"points": CONTROL},
                    headers=token_for(make_user(Role.ADMIN)))
    assert r.status_code == 404


# --- AI 核查: the camera that found a problem checks its fix ---------------------------------------------------


def found_and_fixed(app, tmp_path):
    """A case the camera found, handled by a worker and now waiting for its check (核查)."""
    from app.services import cases as svc
    from tests.factories import Cast, jpeg

    replay(app, make_video(tmp_path / "found.avi", [Actor("exposed_garbage", 200, 250, start=3)], seconds=30, fps=5))
    case = db.session.scalars(db.select(Case)).one()
    cast = Cast()
    db.session.commit()
    svc.dispatch_case(case.id, cast.dispatcher, assignee_id=cast.worker.id)
    svc.accept_case(case.id, cast.worker)
    svc.feedback_case(case.id, cast.worker, photos=[jpeg()])
    db.session.commit()
    return case, cast


@pytest.fixture
def quick_checks(app, monkeypatch):
    monkeypatch.setitem(app.config, "CAMERA_CHECK_MINUTES", 0.1)  # three looks over 6 s of video


def check_events(case):
    db.session.expire_all()
    return [(e.action, e.actor.username if e.actor else None) for e in db.session.get(Case, case.id).events[-2:]]


def test_the_camera_passes_a_fix_it_no_longer_sees(app, camera, tmp_path, quick_checks):
    case, _ = found_and_fixed(app, tmp_path)
    out = replay(app, make_video(tmp_path / "clean.avi", [], seconds=20, fps=5))
    assert out["checks_decided"] == 1 and out["results"] == []
    assert check_events(case) == [(Action.ASSIGN_CHECK, "camera-bot"), (Action.CHECK_PASS, "camera-bot")]
    case = db.session.get(Case, case.id)
    last = case.events[-1]
    assert case.status.value == "closed" and "AI 核查" in last.note
    assert [m.kind.value for m in last.media] == ["check"]  # the frame it decided on, as evidence


def test_the_camera_sends_back_a_fix_that_did_not_hold(app, camera, tmp_path, quick_checks):
    case, _ = found_and_fixed(app, tmp_path)
    out = replay(app, make_video(tmp_path / "still.avi", [Actor("exposed_garbage", 200, 250, start=0)],
                                 seconds=20, fps=5))
    assert out["checks_decided"] == 1
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    failed = next(e for e in case.events if e.action is Action.CHECK_FAIL)
    assert failed.actor.username == "camera-bot" and "问题仍在" in failed.note and failed.media
    assert case.status.value == "filed" and case.rework_count == 1  # 返工: back to dispatch
    # Still there afterwards: the camera's finding is added to the same case, not a new one.
    assert case.events[-1].action is Action.ADD_EVIDENCE
    assert db.session.scalar(db.select(db.func.count()).select_from(Case)) == 1


def test_inspectors_are_sent_only_when_the_camera_cannot_check(app, camera, tmp_path):
    import time

    from app.camera_runtime.health import write_health
    from app.services.dispatching import assign_checks

    case, cast = found_and_fixed(app, tmp_path)
    cast.checker.on_duty, cast.checker.last_position = True, cast.worker.last_position or camera.position
    db.session.commit()
    write_health("CAMT", {"fps": 2, "at": time.time()})  # the camera runs: it will look
    assert assign_checks() == {"checks": 0, "camera": 1, "waiting": 0}
    write_health("CAMT", {"fps": 2, "at": time.time(), "stopped": True})  # it stopped: an inspector goes
    assert assign_checks()["checks"] == 1
    db.session.commit()
    assert db.session.get(Case, case.id).checker_id == cast.checker.id


def test_a_citizen_case_in_a_cameras_view_is_checked_by_that_camera(app, camera, tmp_path, quick_checks):
    from app.services.vision import pending_camera_checks
    from tests.factories import Cast, advance, reported

    cast = Cast()
    from app.services import citizen
    from tests.factories import jpeg

    # Pixel (330, 220) of CAMT's view is (120.0099, 30.0035) on the ground (see CONTROL), 90 m from the camera:
    # reported on the public form (a private tracking link), then handled.
    seen, _ = citizen.submit({"category": "exposed_garbage", "lon": "120.0099", "lat": "30.0035",
                              "description": "路口垃圾"}, [jpeg()])
    seen = advance(cast, seen, "resolved")
    far = advance(cast, reported(cast, where=(120.019, 30.009)), "resolved")  # outside the frame
    db.session.commit()
    pending = {p["case_id"]: p for p in pending_camera_checks([camera.id])}
    assert set(pending) == {seen.id}
    assert pending[seen.id]["anchor_px"] == pytest.approx((330, 220), abs=0.5)
    out = replay(app, make_video(tmp_path / "clean.avi", [], seconds=20, fps=5))
    assert out["checks_decided"] == 1
    db.session.expire_all()
    assert db.session.get(Case, seen.id).status.value == "closed"
    assert db.session.get(Case, far.id).status.value == "resolved"  # an inspector's, as before
    # The reporter's tracking page says who checked it.
    token = db.session.get(Case, seen.id).tracking_token
    page = app.test_client().get(f"/track/{token}").get_data(as_text=True)
    assert "由现场摄像头核查" in page


def test_cameras_leave_and_join_a_running_loop_when_the_node_says(app, camera, tmp_path, monkeypatch):
    import queue
    import threading
    import time

    from app.camera_runtime import process
    from app.camera_runtime.demo import demo_video
    from app.camera_runtime.health import read_health

    monkeypatch.setattr(process, "HEALTH_EVERY_S", 0.3)
    monkeypatch.setitem(app.config, "DEMO_VIDEO_DIR", str(tmp_path))
    other = Camera(code="CAMU", name="另一路口", position=point_sql(120.015, 30.004), fps=2,
                   stream_url="demo://camera/2")
    camera.stream_url = "demo://camera/1"
    db.session.add(other)
    db.session.commit()
    for url in (camera.stream_url, other.stream_url):
        make_video(demo_video(url, tmp_path), [Actor("exposed_garbage", 300, 250, start=1)], seconds=4, fps=5)
    control, stop = queue.Queue(), threading.Event()
    lease = {"node": "A", "versions": {camera.id: 1}}

    def loop():
        with app.app_context():
            process.run_cameras([camera.id], stop, lease=lease, control=control)

    def until(check, seconds=30):
        t0 = time.monotonic()
        while not check():
            assert time.monotonic() - t0 < seconds, read_health(["CAMT", "CAMU"])
            time.sleep(0.1)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        until(lambda: (read_health(["CAMT"])["CAMT"] or {}).get("frames_used", 0) > 0)
        assert read_health(["CAMU"])["CAMU"] is None
        control.put({other.id: 3})  # the node gave CAMT up and took CAMU
        until(lambda: (read_health(["CAMU"])["CAMU"] or {}).get("frames_used", 0) > 0)
        time.sleep(0.5)  # CAMT's reader has stopped: its health no longer moves
        left = read_health(["CAMT"])["CAMT"]["at"]
        time.sleep(1.0)
        health = read_health(["CAMT", "CAMU"])
        assert health["CAMT"]["at"] == left and health["CAMU"]["at"] > left
        assert health["CAMU"]["pid"] == health["CAMT"]["pid"] and lease["versions"] == {other.id: 3}
        assert [t.name for t in threading.enumerate() if t.name.startswith("read-")] == ["read-CAMU"]
        control.put({camera.id: 4, other.id: 3})
        until(lambda: read_health(["CAMT"])["CAMT"]["at"] > left and
              read_health(["CAMT"])["CAMT"]["batched_with"] == 2)
        assert thread.is_alive()  # one loop all along: nothing was restarted
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert all(h["stopped"] for h in read_health(["CAMT", "CAMU"]).values())
