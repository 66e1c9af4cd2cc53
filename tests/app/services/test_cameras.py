"""The camera register: GeoJSON import (every problem listed, all or nothing, updates in place) and the listing."""

import json

import pytest

from app.errors import ValidationError
from app.extensions import db
from app.models import Camera
from app.services import vision
from app.services.cameras import import_cameras, register

CALIBRATION = [{"px": [0, 360], "lonlat": [120.0100, 30.0000]}, {"px": [640, 360], "lonlat": [120.0104, 30.0000]},
               {"px": [640, 150], "lonlat": [120.0104, 30.0006]}, {"px": [0, 150], "lonlat": [120.0100, 30.0006]}]


def camera(code, lon=120.01, lat=30.0, **props):
    """A camera feature."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"code": code, "stream_url": f"rtsp://admin:secret@10.0.0.7/{code}/101", **props}}


def fc(*features):
    """A FeatureCollection."""
    return {"type": "FeatureCollection", "features": list(features)}


def test_import_registers_cameras_and_detection_reads_the_sub_stream(app):
    rep = import_cameras(fc(
        camera("XH-001", name="西湖路口", detect_url="rtsp://admin:secret@10.0.0.7/XH-001/102", fps=2, heading=90,
               zones=[{"name": "人行道", "polygon": [[0, 130], [640, 130], [640, 360]],
                       "categories": ["exposed_garbage"]}], calibration=CALIBRATION),
        camera("XH-002", enabled=False)))
    db.session.commit()
    assert (rep.created, rep.updated) == (2, 0)
    one = db.session.query(Camera).filter_by(code="XH-001").one()
    assert (one.name, one.fps, one.heading_deg, one.enabled) == ("西湖路口", 2.0, 90.0, True)
    assert [(z.name, z.kind, z.category_codes) for z in one.zones] == [("人行道", "watch", ["exposed_garbage"])]
    assert one.calibration_rms_m is not None and one.calibration_rms_m < 1
    setup = vision.camera_setup(one)
    assert setup["url"].endswith("/102") and setup["calibration"] is not None
    two = db.session.query(Camera).filter_by(code="XH-002").one()
    assert not two.enabled and vision.camera_setup(two)["url"].endswith("/101")  # no sub-stream: the main one
    listed = {c["code"]: c for c in register()}
    assert listed["XH-001"]["detect"] == "rtsp://***@10.0.0.7/XH-001/102" and listed["XH-001"]["sub_stream"]
    assert "secret" not in json.dumps(listed)


def test_reimport_updates_in_place_and_keeps_zones_unless_given(app):
    import_cameras(fc(camera("XH-001", zones=[{"polygon": [[0, 0], [10, 0], [10, 10]], "kind": "ignore"}])))
    db.session.commit()
    cid = db.session.query(Camera.id).filter_by(code="XH-001").scalar()
    rep = import_cameras(fc(camera("XH-001", lon=120.02, name="改名", fps=0.5), camera("XH-003")))
    db.session.commit()
    assert (rep.created, rep.updated) == (1, 1)
    cam = db.session.get(Camera, cid)  # the same row: its leases and findings stay attached
    assert (cam.name, cam.fps, [z.kind for z in cam.zones]) == ("改名", 0.5, ["ignore"])
    assert vision.camera_setup(cam)["position"] == (120.02, 30.0)
    import_cameras(fc(camera("XH-001", zones=[])))
    db.session.commit()
    db.session.refresh(cam)
    assert cam.zones == []


@pytest.mark.parametrize(("feature", "expected"), [
    (camera(""), "missing properties.code"),
    (camera("has space"), "code must be"),
    (camera("A", stream_url=""), "missing properties.stream_url"),
    (camera("A", detect_url="rtsp://x/ 102"), "detect_url must be one URL"),
    (camera("A", lon=500000), "longitude/latitude"),
    ({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
      "properties": {"code": "A", "stream_url": "rtsp://x"}}, "must be a Point"),
    (camera("A", fps=0), "fps must be between"),
    (camera("A", fps="fast"), "fps must be a number"),
    (camera("A", heading=400), "heading must be between"),
    (camera("A", frame_width=640.5), "frame_width must be a whole number"),
    (camera("A", enabled="yes"), "enabled must be true or false"),
    (camera("A", zones={"polygon": []}), "zones must be a list"),
    (camera("A", zones=[{"polygon": [[0, 0], [1, 1]]}]), "at least 3"),
    (camera("A", zones=[{"polygon": [[0, 0], [1, 1], [1, 0]], "kind": "parking"}]), "kind must be one of"),
    (camera("A", zones=[{"polygon": [[0, 0], [1, 1], [1, 0]], "categories": ["no_such"]}]), "unknown categories"),
    (camera("A", calibration=CALIBRATION[:2]), "calibration unusable"),
    ("not a feature", "missing properties.code"),
])
def test_bad_cameras_are_reported(app, feature, expected):
    with pytest.raises(ValidationError) as err:
        import_cameras(fc(feature))
    assert any(expected in line for line in err.value.details), err.value.details


def test_every_problem_is_listed_and_nothing_stored(app):
    import_cameras(fc(camera("XH-001", name="原名")))
    db.session.commit()
    with pytest.raises(ValidationError) as err:
        import_cameras(fc(camera("XH-001", name="新名"), camera("XH-001"), camera("XH-009", fps=99)))
    db.session.rollback()
    assert len(err.value.details) == 2  # the repeated code and the fps
    assert [c.name for c in db.session.query(Camera)] == ["原名"]
    for doc in ({"type": "Feature"}, fc()):
        with pytest.raises(ValidationError):
            import_cameras(doc)


def test_cli_imports_and_lists_and_exits_1_on_bad_files(app, tmp_path):
    runner = app.test_cli_runner()
    good = tmp_path / "cams.geojson"
    good.write_text(json.dumps(fc(camera("XH-001", detect_url="rtsp://u:p@cam/102"), camera("XH-002"))))
    r = runner.invoke(args=["cameras", "import", str(good)])
    assert r.exit_code == 0 and "imported 2 new and 0 updated" in r.output, r.output
    r = runner.invoke(args=["cameras", "list"])
    assert r.exit_code == 0 and "rtsp://***@cam/102" in r.output and "u:p" not in r.output
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    r = runner.invoke(args=["cameras", "import", str(bad)])
    assert r.exit_code == 1 and "JSON" in r.output and "line 1 column 2" in r.output
    assert db.session.query(Camera).count() == 2
