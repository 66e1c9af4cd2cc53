"""AI 核查 looks: the same answer in N consecutive looks, spread over the span, decides."""

from vision.checks import FAIL, PASS, SpotCheck
from vision.rules import Detection

GARBAGE = Detection("exposed_garbage", 0.8, (180.0, 220.0, 220.0, 250.0))  # anchor (200, 250)
ELSEWHERE = Detection("exposed_garbage", 0.8, (480.0, 220.0, 520.0, 250.0))
BANNER_HERE = Detection("banner", 0.9, (180.0, 220.0, 220.0, 250.0))


def check(**kw):
    return SpotCheck(7, "exposed_garbage", (200.0, 250.0), looks=3, span_s=60, **kw)


def test_absent_in_every_look_passes_after_the_span():
    c = check()
    verdicts = [c.look(t, []) for t in range(0, 61, 5)]  # a frame every 5 s; a look every 20 s
    assert verdicts.index(PASS) == 8  # looks at 0, 20, 40 s: decided at the third, not before
    assert [c.look(t, [ELSEWHERE, BANNER_HERE]) for t in (100, 120, 140)][-1] == PASS  # others do not count


def test_still_there_fails():
    c = check()
    assert [c.look(t, [GARBAGE]) for t in (0, 20, 40)] == [None, None, FAIL]


def test_a_flicker_starts_the_run_again():
    c = check()
    assert c.look(0, []) is None and c.look(20, []) is None
    assert c.look(40, [GARBAGE]) is None  # a missed detection or a passer-by: no verdict yet
    assert c.look(60, []) is None and c.look(80, []) is None and c.look(100, []) == PASS
    assert check().present([Detection("exposed_garbage", 0.5, (150.0, 150.0, 190.0, 200.0))])  # box near the spot
    assert not check().present([Detection("exposed_garbage", 0.5, (300.0, 100.0, 340.0, 180.0))])
