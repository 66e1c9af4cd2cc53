"""Possible duplicates among open cases (real PostGIS), the dispatcher's insight and 改类, and categories from the
words of reports filed under the catch-all."""

import io

import numpy as np
import pytest
from PIL import Image

from app.errors import Forbidden, ValidationError
from app.extensions import db
from app.models import Media
from app.services import cases as svc
from app.services import duplicates, intel
from dispatch.lifecycle import IllegalTransition
from tests.factories import INSIDE_WEST, advance, reported, token_for


def scene(seed: int, shift: int = 0) -> bytes:
    """A textured photo (a flat colour has no perceptual hash worth the name); `shift` re-frames it a little."""
    rng = np.random.default_rng(seed)
    img = np.kron(rng.integers(0, 255, (6, 8, 3)), np.ones((40, 40, 1))).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img[shift:shift + 200, shift:shift + 300]).save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture
def model(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    intel.train_text_model(with_history=False)


NEAR = (INSIDE_WEST[0] + 0.0001, INSIDE_WEST[1])  # 10 m east


def test_photos_keep_a_perceptual_hash_that_survives_reframing(app, town):
    a = reported(town, photos=[scene(1)])
    b = reported(town, photos=[scene(1, shift=6)])
    c = reported(town, photos=[scene(2)])
    db.session.commit()
    ha, hb, hc = (db.session.scalars(db.select(Media.phash).where(Media.id == x.media[0].id)).one() for x in (a, b, c))
    bits = lambda x, y: bin((x ^ y) & (2**64 - 1)).count("1")  # noqa: E731
    assert bits(ha, hb) <= 10 < bits(ha, hc)


def test_the_same_problem_is_found_and_a_different_one_is_not(app, town):
    first = reported(town, "bin_overflow", description="人民路12号垃圾桶满了", photos=[scene(1)])
    reported(town, "banner", where=NEAR, description="88号门口挂了一条横幅", photos=[scene(7)])
    reported(town, "bin_overflow", where=(INSIDE_WEST[0] + 0.004, INSIDE_WEST[1]),  # 390 m: out of the window
             description="人民路12号垃圾桶满了", photos=[scene(1)])
    again = reported(town, "bin_overflow", where=NEAR, description="12号门口垃圾桶溢出来了", photos=[scene(1, 6)])
    db.session.commit()
    found = duplicates.duplicates_of(again)
    assert [c.id for c, _ in found] == [first.id]
    why = found[0][1]
    assert why["score"] >= 0.9 and why["distance_m"] == 10 and why["same_category"] and why["photo"] > 0.8
    svc.merge_case(again.id, town.dispatcher, into=first.id)
    db.session.commit()
    assert duplicates.duplicates_of(first) == []  # merged cases are no longer open


def test_the_dispatcher_sees_insight_and_changes_the_category_in_one_call(app, client, town, model):
    case = reported(town, "exposed_garbage", description="路口的井盖不见了，很危险")
    twin = reported(town, "manhole_abnormal", where=NEAR, description="井盖丢了")
    db.session.commit()
    headers = token_for(town.dispatcher)
    body = client.get(f"/api/v1/cases/{case.id}/insight", headers=headers).json
    assert body["category_hint"]["code"] == "manhole_abnormal" and body["category_hint"]["confidence"] >= 0.5
    assert [d["number"] for d in body["duplicates"]] == [twin.number]
    listed = client.get("/api/v1/cases?status=reported", headers=headers).json["features"]
    hints = {f["properties"]["number"]: f["properties"]["category_hint"] for f in listed}
    assert hints[case.number]["code"] == "manhole_abnormal" and hints[twin.number] is None
    assert client.get(f"/api/v1/cases/{case.id}/insight", headers=token_for(town.worker)).status_code == 403
    r = client.post(f"/api/v1/cases/{case.id}/recategorise", json={"category": "manhole_abnormal"}, headers=headers)
    assert r.status_code == 200 and r.json["properties"]["category"] == "manhole_abnormal"
    last = r.json["properties"]["timeline"][-1]
    assert last["action"] == "recategorise" and last["data"] == {"from": "exposed_garbage", "to": "manhole_abnormal"}
    assert client.get(f"/api/v1/cases/{case.id}/insight", headers=headers).json["category_hint"] is None


def test_recategorise_is_for_staff_before_dispatch(app, town):
    case = reported(town, "exposed_garbage")
    advance(town, case, "filed")
    due = case.dispatch_due_at
    with pytest.raises(ValidationError):
        svc.recategorise_case(case.id, town.dispatcher, category="exposed_garbage")
    with pytest.raises(Forbidden):
        svc.recategorise_case(case.id, town.worker, category="fallen_tree")
    svc.recategorise_case(case.id, town.dispatcher, category="fallen_tree")  # 15 natural minutes to dispatch
    assert case.category_code == "fallen_tree" and case.dispatch_due_at < due
    advance(town, case, "dispatched")
    with pytest.raises(IllegalTransition):  # once someone is sent, it goes back by 回退 instead (409 in the API)
        svc.recategorise_case(case.id, town.dispatcher, category="banner")


def test_a_report_under_the_catch_all_takes_the_category_its_words_say(app, town, model):
    case, _ = svc.report_case(None, category_code="other", lon=INSIDE_WEST[0], lat=INSIDE_WEST[1],
                              description="路口的井盖不见了")
    vague, _ = svc.report_case(None, category_code="other", lon=INSIDE_WEST[0], lat=INSIDE_WEST[1],
                               description="有问题")
    assert case.category_code == "manhole_abnormal" and case.extra["category_from_text"]["from"] == "other"
    assert case.events[0].data["category_from_text"]["confidence"] >= 0.5
    assert vague.category_code == "other" and "category_from_text" not in vague.extra  # not clear enough: kept
