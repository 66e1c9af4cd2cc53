"""The change gate: small objects appearing pass, sensor noise does not, static scenes are re-checked."""

import random

import numpy as np

from vision.gating import ChangeGate
from vision.synth import background, draw


def scene(seed=3):
    return background(640, 360, random.Random(seed))


def test_small_object_appearing_passes_noise_does_not():
    gate = ChangeGate(recheck_s=1000)
    base = scene()
    assert gate.should_infer(base, 0)  # the first frame always goes through
    noisy = np.clip(base.astype(int) + np.random.default_rng(1).integers(-6, 6, base.shape), 0, 255).astype(np.uint8)
    assert not gate.should_infer(noisy, 1)
    with_object = base.copy()
    draw(with_object, "exposed_garbage", 300, 250, 40)  # 40 px in a 640 px view
    assert gate.should_infer(with_object, 2)
    assert [gate.should_infer(with_object, t) for t in (3, 4, 5, 6)] == [True, True, False, False]  # follow 2
    assert (gate.passed, gate.skipped) == (4, 3)


def test_static_scene_is_rechecked():
    gate = ChangeGate(recheck_s=10)
    frame = scene()
    passed = [t for t in range(0, 35) if gate.should_infer(frame, float(t))]
    assert passed == [0, 10, 20, 30]
