"""What each camera process publishes about itself (fps, errors, findings) in Redis, for the console and API."""

from __future__ import annotations

import json

from app.extensions import get_redis

HEALTH_KEY = "urbanops:camera:{code}"
SNAPSHOT_KEY = "urbanops:camera:{code}:snapshot"
HEALTH_TTL_S = 120  # a dead process's camera disappears from the console within two minutes


def write_health(code: str, data: dict) -> None:
    """Keep a camera's health for two minutes."""
    get_redis().set(HEALTH_KEY.format(code=code), json.dumps(data), ex=HEALTH_TTL_S)


def read_health(codes: list[str]) -> dict[str, dict | None]:
    """Health per camera code (None when the camera is not running)."""
    if not codes:
        return {}
    raw = get_redis().mget([HEALTH_KEY.format(code=c) for c in codes])
    return {c: json.loads(r) if r else None for c, r in zip(codes, raw, strict=True)}


def write_snapshot(code: str, jpeg: bytes) -> None:
    """Keep a camera's latest frame (small JPEG) as long as its health."""
    get_redis().set(SNAPSHOT_KEY.format(code=code), jpeg, ex=HEALTH_TTL_S)


def read_snapshot(code: str) -> bytes | None:
    """A running camera's latest frame as JPEG, or None."""
    return get_redis().get(SNAPSHOT_KEY.format(code=code))
