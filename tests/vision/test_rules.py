"""Rules: a static violation confirms once after its dwell; passers-by, flicker and ignored areas never do."""

import pytest

from vision.rules import PARKING, VEHICLE, Detection, Rule, RuleEngine, Zone, rules_from_config

FAST = Rule(min_conf=0.3, confirm_frames=3, min_median_conf=0.5, min_presence=0.6, dwell_s=10,
            cooldown_s=100, max_drift_px=20, verify_below=0.7, lost_after_s=5)


def box_at(x, y, w=40, h=30):
    return (x - w / 2, y - h, x + w / 2, y)  # anchor (bottom-centre) at (x, y)


def run(engine, frames):
    out = []
    for ts, dets in frames:
        out += engine.update(ts, dets)
    return out


def static(category="exposed_garbage", x=100, y=200, conf=0.8, seconds=30, step=1.0, start=0.0):
    return [(start + i * step, [Detection(category, conf, box_at(x, y))]) for i in range(int(seconds / step))]


def test_static_object_confirms_once_after_dwell():
    engine = RuleEngine({"exposed_garbage": FAST})
    frames = static(seconds=30)
    hits = []
    for ts, dets in frames:
        for v in engine.update(ts, dets):
            hits.append((ts, v))
    assert len(hits) == 1
    ts, v = hits[0]
    assert ts == 10.0 and v.category == "exposed_garbage" and v.anchor == (100, 200)
    assert v.frames == 11 and v.median_conf == 0.8 and not v.needs_verify


def test_too_short_stay_does_not_confirm():
    assert run(RuleEngine({"exposed_garbage": FAST}), static(seconds=8)) == []


def test_passer_by_never_confirms():
    frames = [(i * 1.0, [Detection("mobile_vendor", 0.9, box_at(20 + 15 * i, 200))]) for i in range(40)]
    assert run(RuleEngine({"mobile_vendor": FAST}), frames) == []


def test_flickering_false_detection_never_confirms():
    frames = [(i * 1.0, [Detection("banner", 0.9, box_at(300, 100))] if i % 3 == 0 else []) for i in range(60)]
    assert run(RuleEngine({"banner": FAST}), frames) == []


def test_low_scores_never_confirm_and_middling_ones_go_to_verification():
    assert run(RuleEngine({"banner": FAST}), static("banner", conf=0.4)) == []  # median under 0.5
    v = run(RuleEngine({"banner": FAST}), static("banner", conf=0.6))
    assert len(v) == 1 and v[0].needs_verify


def test_cooldown_keeps_the_same_spot_quiet():
    engine = RuleEngine({"exposed_garbage": FAST})
    first = run(engine, static(seconds=20))
    # It disappears for a while (track lost), then is seen again at the same spot within the cooldown.
    again = run(engine, static(seconds=20, start=40))
    later = run(engine, static(seconds=20, start=200))  # after the cooldown: a new violation
    assert (len(first), len(again), len(later)) == (1, 0, 1)


def test_two_objects_two_violations():
    engine = RuleEngine({"exposed_garbage": FAST})
    frames = [(i * 1.0, [Detection("exposed_garbage", 0.8, box_at(100, 200)),
                         Detection("exposed_garbage", 0.8, box_at(400, 220))]) for i in range(15)]
    assert sorted(v.anchor for v in run(engine, frames)) == [(100, 200), (400, 220)]


def test_zones_watch_ignore_and_categories():
    watch = Zone("sidewalk", ((0, 150), (640, 150), (640, 480), (0, 480)), "watch", frozenset({"exposed_garbage"}))
    ignore = Zone("shop", ((0, 150), (200, 150), (200, 480), (0, 480)), "ignore")
    engine = RuleEngine({"exposed_garbage": FAST, "banner": FAST}, [watch, ignore])
    assert run(engine, static(x=100, y=200)) == []  # in the ignore zone
    assert run(engine, static(x=400, y=100)) == []  # above the watched area
    assert run(engine, static("banner", x=400, y=300)) == []  # this zone does not watch banners
    v = run(engine, static(x=400, y=300))
    assert len(v) == 1 and v[0].zone == "sidewalk"


def test_vehicles_count_only_in_no_parking_zones():
    zone = Zone("fire lane", ((300, 300), (600, 300), (600, 480), (300, 480)), "no_parking")
    engine = RuleEngine({PARKING: FAST}, [zone])
    car = lambda x: [(i * 1.0, [Detection(VEHICLE, 0.9, box_at(x, 400), cls_name="car")]) for i in range(20)]  # noqa: E731
    assert run(engine, car(100)) == []  # parked outside the zone
    v = run(engine, car(450))
    assert len(v) == 1 and v[0].category == PARKING and v[0].zone == "fire lane"


def test_tracker_ids_keep_a_jittery_object_together():
    engine = RuleEngine({"exposed_garbage": FAST})
    frames = [(i * 1.0, [Detection("exposed_garbage", 0.8, box_at(100 + (i % 2) * 15, 200), track_id=7)])
              for i in range(15)]
    assert len(run(engine, frames)) == 1


def test_rules_from_config():
    rules = rules_from_config({"banner": {"dwell_s": 5}, "road_occupation": {"min_conf": 0.5}})
    assert rules["banner"].dwell_s == 5 and rules["road_occupation"].dwell_s == 600
    assert rules["road_occupation"].min_conf == 0.5 and rules[PARKING].dwell_s == 300
    with pytest.raises(TypeError):
        rules_from_config({"banner": {"colour": "red"}})
