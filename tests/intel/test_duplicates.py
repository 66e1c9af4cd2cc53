"""The duplicate score: its parts, the committed weights against a refit, and its quality on an unseen district."""

from pathlib import Path

import pytest
import yaml

from intel import dupdata
from intel import duplicates as d

DOC = yaml.safe_load((Path(__file__).resolve().parents[2] / "app" / "data" / "categories.yaml").read_text("utf-8"))
T0 = 1_800_000_000.0


def s(lon=104.06, lat=30.66, hours=0.0, category="bin_overflow", klass="city_appearance", text="", phash=None):
    return d.Sighting(lon, lat, T0 + hours * 3600, category, klass, text, phash)


def test_distance_is_in_metres():
    assert d.distance_m(s(), s(lat=30.66 + 100 / 110_540)) == pytest.approx(100, abs=0.5)
    assert d.distance_m(s(), s(lon=104.06 + 0.001)) == pytest.approx(95.8, abs=0.5)  # a degree shrinks east–west


def test_text_and_photo_similarity_say_none_when_a_side_is_missing():
    assert d.text_similarity("垃圾桶满了", "") is None and d.photo_similarity(123, None) is None
    assert d.text_similarity("垃圾桶满了没人收", "垃圾桶满了") > d.text_similarity("垃圾桶满了", "路口挂了横幅") >= 0
    assert d.text_similarity("ＡＢＣ垃圾", "abc垃圾") == pytest.approx(1.0)  # full-width folded like the classifier
    assert d.photo_similarity(0, 0) == 1.0 and d.photo_similarity(0, -1) == 0.0  # signed 64-bit, as stored
    assert d.photo_similarity(0b1111, 0) == pytest.approx(1 - 4 / 64)


def test_house_numbers_agree_or_disagree():
    assert d.number_agreement("人民路12号门口", "12号旁边的垃圾桶") == 1.0
    assert d.number_agreement("人民路12号", "人民路88号") == -1.0
    assert d.number_agreement("人民路", "人民路88号") == 0.0


def test_the_score_rises_with_each_kind_of_agreement():
    w, base = d.DEFAULT, s(text="人民路12号垃圾桶满了", phash=0x0F0F0F0F0F0F0F0F)
    same = w.score(base, s(lat=30.66 + 10 / 110_540, hours=2, text="12号门口垃圾桶溢出来了", phash=0x0F0F0F0F0F0F0F0E))
    far = w.score(base, s(lat=30.66 + 250 / 110_540, hours=2, text="垃圾桶溢出来了"))
    # the very same photo and house number outweigh a pin far off (a hotline address geocoded to the building)
    far_same_photo = w.score(base, s(lat=30.66 + 250 / 110_540, hours=2, text="12号门口垃圾桶溢出来了",
                                     phash=0x0F0F0F0F0F0F0F0E))
    other_photo = w.score(base, s(lat=30.66 + 10 / 110_540, hours=2, text="12号门口垃圾桶溢出来了",
                                  phash=0x70F0F0F0F0F0F0F0))
    other_kind = w.score(base, s(lat=30.66 + 10 / 110_540, hours=2, category="banner", klass="advertising",
                                 text="88号挂了横幅", phash=0x70F0F0F0F0F0F0F0))
    assert same > 0.9 > d.DEFAULT_THRESHOLD > far and far_same_photo > d.DEFAULT_THRESHOLD
    assert same > other_photo > other_kind and other_kind < d.DEFAULT_THRESHOLD
    why = w.explain(base, s(lat=30.66 + 10 / 110_540, hours=2))
    assert why["distance_m"] == 10 and why["hours"] == 2.0 and why["text"] is None and why["photo"] is None


def test_the_committed_weights_are_what_the_tuning_seeds_fit():
    tuning = [p for seed in dupdata.TUNING_SEEDS for p in dupdata.pairs(dupdata.generate(DOC, seed))]
    refit = d.fit(tuning)
    assert refit.intercept == pytest.approx(d.DEFAULT.intercept, abs=0.05)
    assert refit.coef == pytest.approx(d.DEFAULT.coef, abs=0.05)


def test_generated_districts_are_labelled_and_seeded():
    a, b = dupdata.generate(DOC, 7, problems=60), dupdata.generate(DOC, 7, problems=60)
    assert a == b and a != dupdata.generate(DOC, 8, problems=60)
    assert len({pid for _, pid in a}) == 60 and len(a) > 60  # every problem reported, some more than once
    labelled = dupdata.pairs(a)
    assert any(same for *_, same in labelled) and any(not same for *_, same in labelled)
    assert all(d.distance_m(x, y) <= d.SEARCH_M for x, y, _ in labelled)


def test_on_an_unseen_district_the_score_beats_the_old_rule():
    result = dupdata.evaluate(DOC, [301], d.DEFAULT, d.DEFAULT_THRESHOLD)["seeds"][0]
    ours, old = result["links"], result["old_rule"]
    assert ours["precision"] >= 0.85 and ours["recall"] >= 0.75
    assert ours["precision"] > old["precision"] and ours["recall"] > old["recall"]
