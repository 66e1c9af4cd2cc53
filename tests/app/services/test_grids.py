"""Grid import (validation, overlaps, all-or-nothing, hierarchy) and point lookup on PostGIS."""

import json

import pytest
from shapely.geometry import Polygon, box

from app.errors import ValidationError
from app.extensions import db
from app.models import Grid, Region
from app.services.grids import grid_for_point, grids_geojson, import_grids
from tests.factories import EAST, WEST, collection, grid_feature, make_grids


def test_import_creates_grids_and_hierarchy_from_code(app):
    rep = make_grids()
    assert (rep.created, rep.updated) == (2, 0)
    g = db.session.query(Grid).filter_by(code="330100001001001").one()
    assert g.community.code == "330100001001"
    assert g.community.parent.code == "330100001"
    assert g.community.parent.parent.code == "330100"
    assert db.session.query(Region).count() == 3


def test_reimport_updates_in_place(app):
    make_grids()
    rep = import_grids(collection(grid_feature("330100001001001", WEST, name="改名网格")))
    assert (rep.created, rep.updated) == (0, 1)
    assert db.session.query(Grid).filter_by(code="330100001001001").one().name == "改名网格"


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ({"type": "Feature", "geometry": WEST.__geo_interface__, "properties": {}}, "missing properties.code"),
        (grid_feature("12AB", WEST), "does not match"),
        (grid_feature("330100001001009", Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])), "invalid geometry"),
        ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [120, 30]},
          "properties": {"code": "330100001001009"}}, "must be a Polygon"),
        ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "junk"},
          "properties": {"code": "330100001001009"}}, "cannot be read"),
        (grid_feature("330100001001009", box(500000, 3000000, 500100, 3000100)), "longitude/latitude"),
    ],
)
def test_bad_features_are_reported(app, feature, expected):
    with pytest.raises(ValidationError) as err:
        import_grids(collection(feature))
    assert any(expected in line for line in err.value.details), err.value.details


def test_every_problem_is_listed_and_nothing_imported(app):
    doc = collection(
        grid_feature("330100001001001", WEST),
        grid_feature("330100001001001", EAST),  # duplicate code
        grid_feature("bad", box(120.03, 30.0, 120.04, 30.01)),
    )
    with pytest.raises(ValidationError) as err:
        import_grids(doc)
    assert len(err.value.details) == 2
    db.session.rollback()
    assert db.session.query(Grid).count() == 0


def test_overlaps_are_refused_and_nothing_is_imported(app):
    make_grids()
    db.session.commit()
    overlapping = box(120.005, 30.0, 120.015, 30.01)  # half over each existing grid
    doc = collection(grid_feature("330100001001003", box(120.03, 30.0, 120.04, 30.01)),
                     grid_feature("330100001001004", overlapping))
    with pytest.raises(ValidationError) as err:
        import_grids(doc)
    assert any("330100001001004" in line and "overlaps" in line for line in err.value.details)
    db.session.rollback()
    assert db.session.query(Grid).count() == 2  # the good new grid was not half-imported


def test_shared_edges_are_fine(app):
    rep = import_grids(collection(grid_feature("330100001001001", WEST), grid_feature("330100001001002", EAST)))
    assert rep.created == 2


def test_not_a_feature_collection(app, tmp_path):
    with pytest.raises(ValidationError):
        import_grids({"type": "Feature"})
    bad = tmp_path / "x.geojson"
    bad.write_text("{not json")
    with pytest.raises(ValidationError) as err:
        import_grids(str(bad))
    assert "JSON" in err.value.message
    with pytest.raises(ValidationError):
        import_grids(collection())


def test_lookup_inside_boundary_outside(app):
    make_grids()
    assert grid_for_point(120.005, 30.005).code == "330100001001001"
    assert grid_for_point(120.015, 30.005).code == "330100001001002"
    # On the shared edge both grids cover the point; the lower code wins, always.
    assert grid_for_point(120.01, 30.005).code == "330100001001001"
    # On the outer boundary the point still belongs to its grid.
    assert grid_for_point(120.00, 30.005).code == "330100001001001"
    assert grid_for_point(120.5, 30.5) is None


def test_lookup_uses_the_gist_index(app):
    make_grids()
    db.session.commit()
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(r[0] for r in db.session.execute(db.text(
        "EXPLAIN SELECT id FROM grids WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(120.005, 30.005), 4326))")))
    assert "idx_grids_geom" in plan


def test_grids_geojson(app):
    make_grids()
    fc = grids_geojson()
    assert [f["properties"]["code"] for f in fc["features"]] == ["330100001001001", "330100001001002"]
    assert fc["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert len(grids_geojson((120.011, 30.0, 120.02, 30.01))["features"]) == 1
    json.dumps(fc)


def test_demo_district_file_is_valid(app):
    from app.seed.district import GRIDS_FILE

    rep = import_grids(str(GRIDS_FILE))
    assert rep.created >= 40
