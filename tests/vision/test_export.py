"""Exported detectors: the tiny model exported to ONNX and OpenVINO finds what PyTorch finds, with the same quality."""

import pytest

from app.camera_runtime.config import build_detector
from tests.vision.test_yolo_pipeline import frame_with
from vision.detector import DetectorError, YoloDetector
from vision.export import ExportError, export, model_format
from vision.train import evaluate


@pytest.fixture(scope="module")
def exports(tiny_weights, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    made = {fmt: export(tiny_weights, fmt, imgsz=160, out=out / ("tiny.onnx" if fmt == "onnx" else "tiny"))
            for fmt in ("onnx", "openvino")}
    assert made["openvino"].name == "tiny_openvino_model"  # the name by which a folder is known as OpenVINO
    return made


def boxes(detector, frames):
    return [[(d.category, round(d.conf, 2), tuple(round(v) for v in d.box)) for d in sorted(
        found, key=lambda d: -d.conf)[:3]] for found in detector.detect(frames)]


def in_bf16(fmt: str) -> bool:
    """Whether the runtime computes in bf16 on this CPU: OpenVINO does where the CPU has it (AMD Zen 4, Intel
    Sapphire Rapids), which moves single confidences by a few hundredths; ONNX Runtime stays in fp32."""
    if fmt != "openvino":
        return False
    import openvino

    return "bf" in str(openvino.Core().get_property("CPU", "INFERENCE_PRECISION_HINT")).lower()


def test_exports_detect_what_pytorch_detects_in_batches(tiny_weights, exports):
    frames = [frame_with("exposed_garbage", 300, 250), frame_with("banner", 200, 200),
              frame_with("bin_overflow", 400, 200)]
    torch_boxes = boxes(YoloDetector(tiny_weights, imgsz=640, conf=0.2), frames)
    assert model_format(exports["onnx"]) == "onnx" and model_format(exports["openvino"]) == "openvino"
    for fmt, path in exports.items():
        det = YoloDetector(path, imgsz=640, conf=0.2)
        assert det.format == fmt and det.model_version.startswith(path.name)
        got = boxes(det, frames)  # three frames in one call: the export's batch size is dynamic
        conf_tol, px_tol = (0.05, 4) if in_bf16(fmt) else (0.02, 2)
        for mine, theirs in zip(got, torch_boxes, strict=True):
            assert [c for c, _, _ in mine[:1]] == [c for c, _, _ in theirs[:1]]  # the same best category …
            for (_, conf_a, box_a), (_, conf_b, box_b) in zip(mine, theirs, strict=False):
                shift = max(abs(a - b) for a, b in zip(box_a, box_b, strict=True))
                assert abs(conf_a - conf_b) <= conf_tol and shift <= px_tol, (fmt, mine, theirs)  # … same place


def test_exports_keep_the_quality(tiny_weights, synthetic_data, exports):
    base = evaluate(tiny_weights, synthetic_data, imgsz=160)["map50_95"]
    for path in exports.values():
        assert abs(evaluate(path, synthetic_data, imgsz=160)["map50_95"] - base) <= 0.01  # the bar


def test_the_app_loads_an_export_from_its_setting(exports, app):
    det = build_detector({**app.config, "VISION_WEIGHTS": str(exports["openvino"]), "VISION_IMGSZ": 160})
    assert det.format == "openvino" and "banner" in det.names.values()


def test_export_and_load_errors_are_clear(tmp_path, tiny_weights):
    with pytest.raises(ExportError, match="format"):
        export(tiny_weights, "tensorrt-ish")
    with pytest.raises(ExportError, match="not found"):
        export(tmp_path / "missing.pt", "onnx")
    (tmp_path / "empty_openvino_model").mkdir()
    with pytest.raises(DetectorError, match="OpenVINO"):
        YoloDetector(tmp_path / "empty_openvino_model")
    misnamed = tmp_path / "renamed"
    misnamed.mkdir()
    (misnamed / "model.xml").write_text("<net/>")
    with pytest.raises(DetectorError, match="_openvino_model"):
        YoloDetector(misnamed)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a graph")
    with pytest.raises(DetectorError, match="cannot load"):
        YoloDetector(broken)


def test_fp16_is_asked_for_on_a_gpu_only(tiny_weights, app):
    on_gpu = build_detector({**app.config, "VISION_WEIGHTS": str(tiny_weights), "VISION_HALF": True,
                             "VISION_DEVICE": "cuda:0"})
    on_cpu = build_detector({**app.config, "VISION_WEIGHTS": str(tiny_weights), "VISION_HALF": True})
    assert on_gpu.half is True and on_cpu.half is False  # the CPU runs FP32 whatever is asked
    assert build_detector({**app.config, "VISION_WEIGHTS": str(tiny_weights)}).half is False  # off by default
