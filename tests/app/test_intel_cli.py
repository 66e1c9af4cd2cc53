"""`flask intel train|eval|classify` on the shipped catalogue, the held-out texts and the district's cases."""

import json

import pytest

from app.extensions import db
from app.services import intel
from tests.factories import Cast, advance, make_grids, reported


@pytest.fixture
def models(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "INTEL_MODEL_DIR", str(tmp_path / "intel"))
    return tmp_path / "intel"


def run(app, *args, stdin=None):
    return app.test_cli_runner().invoke(args=["intel", *args], input=stdin)


def test_classify_reads_lines_and_prints_one_json_object_each(app, models):
    r = run(app, "classify", stdin="垃圾桶满了\n")
    assert r.exit_code == 1 and "flask intel train" in r.output  # no model yet: said plainly
    r = run(app, "train", "--catalogue-only")
    assert r.exit_code == 0 and "27 categories" in r.output and (models / "current").exists()
    r = run(app, "classify", stdin="小区门口垃圾桶满了好几天没人收\n\n井盖冇了\nsomeone parked on the sidewalk\n")
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert [row["text"] for row in rows] == [
        "小区门口垃圾桶满了好几天没人收", "井盖冇了", "someone parked on the sidewalk"]
    assert [row["top"][0]["category"] for row in rows] == ["bin_overflow", "manhole_abnormal", "illegal_parking"]
    assert all(len(row["top"]) == 3 and 0 < row["top"][0]["confidence"] <= 1 for row in rows)


def test_eval_on_the_held_out_texts_meets_the_goal(app, models):
    run(app, "train", "--catalogue-only")
    r = run(app, "eval", "--json")
    report = json.loads(r.output)
    assert report["n"] == len(intel.eval_examples()) >= 140
    assert report["top1"] >= 0.85 and report["top3"] >= 0.95  # the goal, catalogue alone
    text = run(app, "eval").output
    assert "top-1" in text and "top-3" in text


def test_training_reads_the_districts_verified_cases(app, models):
    make_grids()
    cast = Cast()
    for _ in range(3):
        case = reported(cast, category="manhole_abnormal", description="路口雨水篦子又被偷了")
        advance(cast, case, "filed")
    reported(cast, category="banner", description="这条不算：还没立案")
    db.session.commit()
    r = run(app, "train")
    assert r.exit_code == 0 and "3 verified cases" in r.output
    first = (models / "current").read_text()
    run(app, "train")
    assert (models / "current").read_text() != first and len(list(models.glob("text-*.joblib"))) == 2


def test_the_nightly_job_makes_a_new_current_version(app, models):
    from app.jobs import tasks

    out = tasks.retrain_text_model()
    assert (models / "current").read_text() == out["version"] and out["catalogue"] > 0
    assert intel.current_model()[0] == out["version"]


def test_the_suggest_api_answers_in_the_readers_language(app, client, models):
    from tests.factories import make_grids

    make_grids()
    db.session.commit()
    empty = client.post("/api/v1/categories/suggest", json={"text": "井盖丢了"})
    assert empty.status_code == 200 and empty.json == {"model": None, "top": []}  # no model yet
    run(app, "train", "--catalogue-only")
    r = client.post("/api/v1/categories/suggest?lang=en", json={"text": "井盖丢了，很危险"})
    assert r.json["model"] and r.json["top"][0] == {**r.json["top"][0], "code": "manhole_abnormal",
                                                    "name": "Missing or damaged manhole cover"}
    assert all(g["confidence"] >= intel.SUGGEST_MIN_CONFIDENCE for g in r.json["top"])
    assert client.post("/api/v1/categories/suggest", json={"text": "井"}).json["top"] == []  # too short to tell
    assert client.post("/api/v1/categories/suggest", json={}).status_code == 400
    r = client.post("/api/v1/categories/suggest", json=["井盖丢了"])  # not an object: a clear 400, not a crash
    assert r.status_code == 400 and r.json["error"]["message"]
    too_long = client.post("/api/v1/categories/suggest", json={"text": "井" * 1001})
    assert too_long.status_code == 400 and too_long.json["error"]["message"]


def test_eval_duplicates_prints_precision_and_recall_beside_the_old_rule(app):
    r = run(app, "eval-duplicates", "--seeds", "301,302", "--json")
    report = json.loads(r.output)
    assert [s["seed"] for s in report["seeds"]] == [301, 302] and report["threshold"] == 0.5
    links = report["summary"]["links"]
    assert links["precision"]["min"] <= links["precision"]["mean"] <= links["precision"]["max"]
    assert links["precision"]["mean"] >= 0.85 and links["recall"]["mean"] >= 0.75
    assert links["recall"]["mean"] > report["summary"]["old_rule"]["recall"]["mean"]
    text = run(app, "eval-duplicates", "--seeds", "303", "--threshold", "0.9").output
    assert "seeds 303" in text and "old rule" in text and "≥ 0.9" in text
    assert run(app, "eval-duplicates", "--seeds", "x-y").exit_code == 2  # a clear usage error


def test_words_and_the_photos_suggestion_are_combined(app, client, models):
    from intel.text import Guess

    words = [Guess("bin_overflow", 0.5), Guess("exposed_garbage", 0.3), Guess("bagged_garbage", 0.1)]
    agreed = intel.combine(words, {"code": "exposed_garbage", "confidence": 0.6})
    assert agreed[0] == Guess("exposed_garbage", 0.72)  # 1 − 0.7 × 0.4: two kinds of evidence agreeing
    assert intel.combine(words, {"code": "banner", "confidence": 0.8})[0].category == "banner"  # a sure photo enters
    assert intel.combine(words, None) == words
    run(app, "train", "--catalogue-only")
    plain = client.post("/api/v1/categories/suggest", json={"text": "垃圾很多"}).json["top"]
    both = client.post("/api/v1/categories/suggest", json={"text": "垃圾很多", "photo_category": "bagged_garbage",
                                                            "photo_confidence": 0.9}).json["top"]
    assert both[0]["code"] == "bagged_garbage" and both[0]["confidence"] >= 0.9
    assert [g["code"] for g in plain] != [g["code"] for g in both]
    bad = client.post("/api/v1/categories/suggest", json={"text": "垃圾", "photo_confidence": 3})
    assert bad.status_code == 400
