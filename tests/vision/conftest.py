"""A tiny YOLO trained once per test session on generated shapes (real training, loading and inference)."""

import os

import pytest

os.environ["YOLO_OFFLINE"] = "1"

from vision.synth import make_dataset  # noqa: E402
from vision.train import SYNTHETIC, train  # noqa: E402

TINY = os.path.join(os.path.dirname(__file__), "..", "..", "vision", "models", "yolo11t.yaml")


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synth"), train=256, val=16, size=160)


@pytest.fixture(scope="session")
def tiny_weights(synthetic_data, tmp_path_factory):
    return train(synthetic_data, model=os.path.abspath(TINY), epochs=10, imgsz=160, batch=8,
                 project=tmp_path_factory.mktemp("runs"), name="tiny", verbose=False, **SYNTHETIC)
