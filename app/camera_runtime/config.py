"""The detector and the per-category rules built from the app's settings, with one plain error for bad ones."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml


class RuntimeConfigError(Exception):
    """A camera setting cannot be used (weights, class map, rules file, camera list, stream): fail at start-up."""


def build_detector(config: Mapping, weights: str | None = None, classmap: str | None = None, *,
                   track: bool | None = None):
    """The configured YOLO detector (`weights`/`classmap` override the settings); a bad file is a clear error."""
    from vision.detector import DetectorError, YoloDetector, load_classmap

    cmap = classmap or config["VISION_CLASSMAP"]
    try:
        return YoloDetector(weights or config["VISION_WEIGHTS"], load_classmap(cmap) if cmap else None,
                            device=config["VISION_DEVICE"], conf=config["VISION_CONF"], imgsz=config["VISION_IMGSZ"],
                            track=config["VISION_TRACK"] if track is None else track,
                            half=bool(config.get("VISION_HALF")))
    except DetectorError as exc:
        raise RuntimeConfigError(str(exc)) from exc


def load_rules(config: Mapping) -> dict:
    """Per-category rules: the defaults, overridden by the VISION_RULES YAML file."""
    from vision.rules import rules_from_config

    path = config["VISION_RULES"]
    try:
        return rules_from_config(yaml.safe_load(Path(path).read_text(encoding="utf-8")) if path else None)
    except (OSError, yaml.YAMLError, TypeError) as exc:
        raise RuntimeConfigError(f"bad VISION_RULES {path}: {exc}") from exc
