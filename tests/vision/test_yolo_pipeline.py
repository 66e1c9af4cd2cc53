"""The real Ultralytics path on a tiny model, and whole videos through gate → detect → rules → map."""

import threading
import time

import cv2
import numpy as np
import pytest

from vision.calibration import calibrate
from vision.detector import DetectorError, YoloDetector, load_classmap
from vision.gating import ChangeGate
from vision.pipeline import Pipeline
from vision.rules import Rule, RuleEngine
from vision.sources import FrameSource, SourceError
from vision.synth import Actor, background, draw, make_video
from vision.train import evaluate

RULE = Rule(min_conf=0.25, confirm_frames=3, min_median_conf=0.35, min_presence=0.6, dwell_s=8, cooldown_s=600,
            max_drift_px=25, lost_after_s=6)
# A camera looking at a flat street: pixel (x, y) ↔ a small lon/lat patch.
CONTROL = [{"px": [x, y], "lonlat": [120.0 + x * 1e-6, 30.0 + (360 - y) * 1e-6]}
           for x, y in ((0, 0), (640, 0), (640, 360), (0, 360), (320, 180))]


@pytest.fixture(scope="module")
def detector(tiny_weights):
    return YoloDetector(tiny_weights, imgsz=640, conf=0.2)  # objects stay at their training scale


def frame_with(cls, x, y, size=48, seed=1):
    import random

    img = background(640, 360, random.Random(seed))
    draw(img, cls, x, y, size)
    return img


def test_detects_what_it_was_trained_on(detector):
    dets = detector.detect([frame_with("exposed_garbage", 300, 250)])[0]
    best = max(dets, key=lambda d: d.conf)
    assert best.category == "exposed_garbage" and best.conf > 0.3
    x1, y1, x2, y2 = best.box
    assert x1 < 300 < x2 and y1 < 250 < y2
    assert detector.detect([])[0:] == []
    assert len(detector.detect([frame_with("banner", 200, 200), frame_with("bin_overflow", 400, 200)])) == 2


def test_weights_errors_are_clear(tmp_path):
    with pytest.raises(DetectorError, match="not found"):
        YoloDetector(tmp_path / "missing.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorError, match="cannot load"):
        YoloDetector(bad)


def test_class_map_maps_and_ignores(tiny_weights, tmp_path):
    cmap = tmp_path / "classes.yaml"
    cmap.write_text("classes:\n  banner: outdoor_advertising\n")
    det = YoloDetector(tiny_weights, load_classmap(cmap), imgsz=640, conf=0.2)
    cats = {d.category for f in (frame_with("banner", 300, 200), frame_with("exposed_garbage", 300, 200))
            for d in det.detect([f])[0]}
    assert cats == {"outdoor_advertising"}  # exposed_garbage is not in the map: ignored
    cmap.write_text("- not a mapping\n")
    with pytest.raises(DetectorError):
        load_classmap(cmap)


def test_evaluate_reports_per_class_and_confusion(tiny_weights, synthetic_data):
    rep = evaluate(tiny_weights, synthetic_data, imgsz=160)
    assert rep["map50"] > 0.3
    assert set(rep["per_class_map50_95"]) == {"exposed_garbage", "banner", "bin_overflow"}
    assert rep["confusion"]["labels"][-1] == "background" and len(rep["confusion"]["matrix"]) == 4


def run_video(detector, tmp_path, actors, seconds=30, gate=None):
    video = make_video(tmp_path / "v.avi", actors, seconds=seconds, fps=5)
    pipe = Pipeline(detector, RuleEngine({"exposed_garbage": RULE, "banner": RULE, "bin_overflow": RULE}),
                    gate=gate, calibration=calibrate(CONTROL))
    found = []
    pipe.run(FrameSource(str(video), fps=2).frames(), found.append)
    return found, pipe


def test_static_violation_makes_exactly_one_find_at_the_right_place(detector, tmp_path):
    found, _ = run_video(detector, tmp_path, [Actor("exposed_garbage", 300, 250, start=4)])
    assert len(found) == 1
    f = found[0]
    assert f.violation.category == "exposed_garbage" and 12 <= f.ts <= 20
    ax, ay = f.violation.anchor
    assert abs(ax - 300) < 15 and abs(ay - 274) < 15  # bottom of the drawn circle (size 48)
    assert f.lon == pytest.approx(120.0 + ax * 1e-6, abs=2e-6) and f.lat == pytest.approx(30.0 + (360 - ay) * 1e-6,
                                                                                          abs=2e-6)
    assert f.located_by == "calibration" and f.frame_jpeg[:2] == b"\xff\xd8" and f.crop_jpeg[:2] == b"\xff\xd8"


def test_passer_by_and_flicker_make_none(detector, tmp_path):
    walker = Actor("banner", -40, 200, start=2, speed=30)
    flicker = Actor("bin_overflow", 450, 300, start=0, every=4)
    found, _ = run_video(detector, tmp_path, [walker, flicker])
    assert found == []


def test_gate_skips_a_static_scene_but_still_sees_it(detector, tmp_path):
    found, pipe = run_video(detector, tmp_path, [Actor("exposed_garbage", 300, 250, start=0)], seconds=60,
                            gate=ChangeGate(recheck_s=5))
    assert len(found) == 1
    assert pipe.gate.skipped > pipe.gate.passed  # most frames never reached the model
    assert pipe.inferred == pipe.gate.passed


def test_recording_that_cannot_open_is_an_error(tmp_path):
    with pytest.raises(SourceError):
        list(FrameSource(str(tmp_path / "nothing.avi")).frames())


def test_live_stream_reconnects(tmp_path):
    path = tmp_path / "live.avi"
    src = FrameSource(str(path), fps=50, live=True, backoff_s=0.05, max_backoff_s=0.2)

    def appear():
        time.sleep(0.3)
        make_video(tmp_path / "tmp.avi", [Actor("banner", 100, 100)], seconds=1, fps=5).rename(path)

    threading.Thread(target=appear).start()
    got = []
    for _ts, frame in src.frames(stop=lambda: len(got) >= 12):
        got.append(frame)
    assert len(got) == 12 and isinstance(got[0], np.ndarray)
    assert src.health.errors >= 1  # it was not there at first
    assert src.health.reconnects >= 1  # a 1-second clip: the stream "dropped" and came back


def test_folder_source_replays_on_its_own_clock(tmp_path):
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"{i:03d}.jpg"), frame_with("banner", 100 + i, 100))
    frames = list(FrameSource(str(tmp_path), fps=0.5, folder_fps=1).frames())
    assert [ts for ts, _ in frames] == [0.0, 2.0, 4.0]


def test_looped_recording_plays_like_a_camera(tmp_path):
    video = make_video(tmp_path / "loop.avi", [Actor("banner", 100, 100)], seconds=1, fps=5)
    naps = []
    src = FrameSource(str(video), fps=100, loop=True, sleep=naps.append)
    got = [f for _, f in zip(range(12), src.frames(), strict=False)]
    assert len(got) == 12 and src.health.errors == 0 and src.health.reconnects == 0  # rewound, not dropped
    assert naps and all(abs(n - 0.2) < 1e-6 for n in naps)  # paced at the file's 5 fps


def test_bytetrack_keeps_one_id_for_a_still_object(tiny_weights):
    det = YoloDetector(tiny_weights, imgsz=640, conf=0.2, track=True)
    ids = []
    for i in range(6):
        found = [d for d in det.detect([frame_with("exposed_garbage", 300 + i, 250, seed=i)])[0]
                 if d.category == "exposed_garbage"]
        assert found
        ids.append(found[0].track_id)
    assert ids[0] is not None and len(set(ids[1:])) == 1


def test_several_cameras_share_batched_inference(detector, tmp_path):
    from vision.pipeline import run_batched

    calls = []

    class Counting:
        model_version = detector.model_version

        def detect(self, frames):
            calls.append(len(frames))
            return detector.detect(frames)

    videos = {
        "A": make_video(tmp_path / "a.avi", [Actor("exposed_garbage", 200, 250, start=2)], seconds=20, fps=5),
        "B": make_video(tmp_path / "b.avi", [Actor("bin_overflow", 450, 260, start=4)], seconds=20, fps=5),
    }
    cams = [(k, Pipeline(Counting(), RuleEngine({"exposed_garbage": RULE, "bin_overflow": RULE}),
                         gate=ChangeGate(recheck_s=5), position=(120.0, 30.0)), FrameSource(str(v), fps=2).frames())
            for k, v in videos.items()]
    found = []
    run_batched(cams, Counting(), lambda key, f: found.append((key, f.violation.category)))
    assert sorted(found) == [("A", "exposed_garbage"), ("B", "bin_overflow")]
    assert max(calls) == 2 and sum(calls) < 2 * 40  # frames of both cameras in one call; still ones skipped


def test_a_stream_converts_only_the_frames_it_samples(tmp_path, monkeypatch):
    video = make_video(tmp_path / "s.avi", [Actor("banner", 100, 100)], seconds=4, fps=10)
    retrieved = []
    real = cv2.VideoCapture

    class Counting:
        def __init__(self, url):
            self.cap = real(url)

        def retrieve(self):
            retrieved.append(1)
            return self.cap.retrieve()

        def __getattr__(self, name):
            return getattr(self.cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", Counting)
    src = FrameSource(str(video), fps=2)
    frames = list(src.frames())
    assert len(frames) == 8 and src.health.frames_read == 40  # every frame decoded (grab) …
    assert len(retrieved) == 8  # … only the sampled ones converted and copied out


def test_many_cameras_read_by_their_own_threads_never_wait_for_each_other(tmp_path):
    import threading

    from vision.pipeline import run_batched
    from vision.sources import LatestFrame

    quick = make_video(tmp_path / "q.avi", [Actor("banner", 100, 100)], seconds=2, fps=10)
    stop = threading.Event()
    stalled = threading.Event()  # a camera whose stream hangs: its reader waits, nobody else does

    class Hanging(FrameSource):
        def frames(self, stop=lambda: False):
            stalled.wait(5)
            yield from ()

    fed = {"quick": 0, "hung": 0}

    class Count:
        def __init__(self, key):
            self.key = key

        def wants(self, ts, frame):
            return False

        def feed(self, ts, frame, detections):
            fed[self.key] += 1
            return []

        last = []

    cams = [("quick", Count("quick"), LatestFrame(FrameSource(str(quick), fps=10, live=True, loop=True), stop.is_set)),
            ("hung", Count("hung"), LatestFrame(Hanging("x://hung", fps=1), stop.is_set))]
    t0 = time.monotonic()
    run_batched(cams, None, lambda key, f: None, stop=lambda: time.monotonic() - t0 > 1.5)
    stop.set()
    stalled.set()
    assert fed["hung"] == 0 and 8 <= fed["quick"] <= 16  # ≈ 10 fps for 1.5 s, newest frames only, no waiting
    reader = LatestFrame(FrameSource(str(quick), fps=10), lambda: False)  # a recording ends: so does iteration
    assert sum(1 for item in reader if item is not None) >= 1
