"""What the console reads: the map's viewport (points or cells), CSV exports and a camera's popup."""

import csv
import io

from app.extensions import db
from app.models import Camera, Case, Role
from app.services.grids import point_sql
from tests.factories import advance, make_user, reported, token_for

WHOLE_TOWN = "119.99,29.99,120.03,30.02"


def test_viewport_points_when_few_cells_when_many(client, town, monkeypatch):
    from app.services import case_search

    west = [reported(town, where=(120.002 + i * 0.0005, 30.003)) for i in range(4)]
    east = [reported(town, where=(120.015, 30.005 + i * 0.0003)) for i in range(3)]
    advance(town, east[0], "closed")
    db.session.commit()
    headers = token_for(town.dispatcher)

    def view(**params):
        r = client.get("/api/v1/cases/map", query_string={"bbox": WHOLE_TOWN, "zoom": 15, **params},
                       headers=headers)
        assert r.status_code == 200, r.json
        return r.json

    points = view(status="reported")
    assert points["mode"] == "points" and points["total"] == 6
    assert {f["id"] for f in points["features"]} == {c.id for c in west + east[1:]}
    assert points["features"][0]["properties"]["status"] == "reported"
    # Only the viewport: the east grid's cases are outside this box.
    assert view(status="reported", bbox="119.99,29.99,120.008,30.02")["total"] == 4
    # More than the map may draw: counts per cell, every case counted once, each cell's box around its cases.
    monkeypatch.setattr(case_search, "VIEWPORT_POINT_LIMIT", 3)
    cells = view(zoom=12)  # ≈ 2.3 km cells at zoom 12: all seven cases share one or two cells
    assert cells["mode"] == "cells" and cells["total"] == 7
    assert sum(f["properties"]["count"] for f in cells["features"]) == 7
    finer = view(zoom=17)  # ≈ 150 m cells: the two grids' cases fall apart
    assert finer["mode"] == "cells" and len(finer["features"]) > len(cells["features"])
    for f in finer["features"]:
        x0, y0, x1, y1 = f["properties"]["bbox"]
        lon, lat = f["geometry"]["coordinates"]
        assert x0 <= lon <= x1 and y0 <= lat <= y1
    # The dashboard's heat map asks for cells whatever the count.
    assert view(cells="1", status="closed")["mode"] == "cells"
    # Filters are the list's: class, source, overdue …
    assert view(source="camera")["total"] == 0
    assert client.get("/api/v1/cases/map?zoom=15", headers=headers).status_code == 400  # bbox required
    assert client.get(f"/api/v1/cases/map?bbox={WHOLE_TOWN}&zoom=40", headers=headers).status_code == 400
    assert client.get(f"/api/v1/cases/map?bbox={WHOLE_TOWN}&zoom=15",
                      headers=token_for(town.citizen)).status_code == 403


def test_csv_export_of_the_filtered_list(client, town, app):
    a = reported(town, category="banner", description="=HYPERLINK(\"http://evil\")")
    b = reported(town)
    advance(town, b, "closed")
    db.session.commit()
    r = client.get("/api/v1/cases/export?status=reported,closed&sort=newest", headers=token_for(town.dispatcher))
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.headers["Content-Type"].endswith("utf-8")
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 Chinese only with the byte-order mark
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["案件编号", "状态", "问题类别"] and len(rows) == 3
    numbers = [row[0] for row in rows[1:]]
    assert numbers == [b.number, a.number]
    closed_row = rows[1]
    assert closed_row[1] == "已结案" and closed_row[10]  # closed time, local
    # Times are the district's wall clock (Asia/Shanghai), never UTC.
    from app.services.calendar import local_text

    with app.test_request_context():
        assert closed_row[7] == local_text(db.session.get(Case, b.id).reported_at)
    only = client.get("/api/v1/cases/export?status=closed", headers=token_for(town.dispatcher))
    assert only.data.decode("utf-8").count("\n") == 2
    en = client.get("/api/v1/cases/export?status=closed", headers={**token_for(town.dispatcher),
                                                                     "Accept-Language": "en"})
    assert en.data.decode("utf-8").lstrip("\ufeff").startswith("Case number,Status")
    assert client.get("/api/v1/cases/export", headers=token_for(town.worker)).status_code == 403


def test_csv_cells_cannot_run_as_formulas(client, town):
    case = reported(town, address="=1+2", description="x")
    db.session.commit()
    text = client.get(f"/api/v1/cases/export?q={case.number}", headers=token_for(town.dispatcher)).data.decode()
    assert "'=1+2" in text and ",=1+2" not in text


def test_camera_popup_and_snapshot(client, town):
    from app.camera_runtime.health import write_health, write_snapshot
    from app.models.cases import Source
    from app.services import cases as svc
    from app.services.vision import camera_actor

    cam = Camera(code="CAMP", name="东门", position=point_sql(120.009, 30.004), fps=1)
    db.session.add(cam)
    db.session.flush()
    bot = camera_actor()
    found = [svc.report_case(bot, category_code="exposed_garbage", lon=120.009 + i * 0.002, lat=30.004,
                             source=Source.CAMERA, camera_id=cam.id)[0] for i in range(3)]
    svc.verify_case(found[0].id, town.dispatcher, valid=False, note="影子")
    svc.verify_case(found[1].id, town.dispatcher, valid=True)
    db.session.commit()
    headers = token_for(town.supervisor)
    assert client.get("/api/v1/cameras/CAMP/snapshot", headers=headers).status_code == 404  # not running
    write_health("CAMP", {"fps": 1.0, "errors": 0, "findings": 3, "at": 0})
    write_snapshot("CAMP", b"\xff\xd8jpeg")
    detail = client.get("/api/v1/cameras/CAMP", headers=headers).json
    assert detail["health"]["fps"] == 1.0 and detail["name"] == "东门"
    assert detail["findings_today"] == [{"category": "exposed_garbage", "name": "暴露垃圾", "found": 3,
                                         "confirmed": 1, "rejected": 1, "waiting": 1}]
    assert {c["number"] for c in detail["open_cases"]} == {found[1].number, found[2].number}
    snap = client.get("/api/v1/cameras/CAMP/snapshot", headers=headers)
    assert snap.status_code == 200 and snap.mimetype == "image/jpeg" and snap.data == b"\xff\xd8jpeg"
    assert "no-store" in snap.headers["Cache-Control"]
    assert client.get("/api/v1/cameras/NOPE", headers=headers).status_code == 404
    assert client.get("/api/v1/cameras/CAMP", headers=token_for(make_user(Role.WORKER))).status_code == 403
