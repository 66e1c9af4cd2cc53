"""Running a recorded file through one camera's pipeline: what it would find, and (unless dry) the cases."""

from __future__ import annotations

from flask import current_app

from app.camera_runtime.config import RuntimeConfigError, build_detector, load_rules


def replay_file(path: str, camera_ref: str, *, weights: str | None = None, classmap: str | None = None,
                fps: float | None = None, dry_run: bool = False) -> dict:
    """Replay `path` as camera `camera_ref` (its zones and calibration apply); the caller commits."""
    from app.services.vision import camera_setup, get_camera, record_violation
    from vision.gating import ChangeGate
    from vision.pipeline import Pipeline
    from vision.rules import RuleEngine
    from vision.sources import FrameSource, SourceError

    cam = get_camera(camera_ref)
    cam_id, cam_code = cam.id, cam.code  # the checks below commit: keep plain values, not the row
    setup = camera_setup(cam)
    detector = build_detector(current_app.config, weights, classmap)
    pipe = Pipeline(detector, RuleEngine(load_rules(current_app.config), setup["zones"]), gate=ChangeGate(),
                    calibration=setup["calibration"], position=setup["position"])
    source = FrameSource(path, fps=fps or setup["fps"], live=False)
    results = []
    checks = None
    if not dry_run:  # the recording also plays the camera's second looks at its resolved cases (AI 核查)
        from app.camera_runtime.checks import CameraChecks

        checks = CameraChecks([cam_id], release=False)
        checks.refresh()

    def on_found(f):
        v = f.violation
        results.append({"video_ts": round(f.ts, 2), "category": v.category, "confidence": v.median_conf,
                        "anchor_px": [round(c, 1) for c in v.anchor],
                        **record_violation(cam_id, f, detector.model_version, dry_run=dry_run)})

    try:
        pipe.run(source.frames(), on_found,
                 on_frame=(lambda ts, frame, dets: checks.on_frame(cam_id, ts, frame, dets)) if checks else None)
    except SourceError as exc:
        raise RuntimeConfigError(str(exc)) from exc
    return {"camera": cam_code, "frames": source.health.frames_used, "inferred": pipe.inferred,
            "dry_run": dry_run, "results": results, "checks_decided": checks.decided if checks else 0}
