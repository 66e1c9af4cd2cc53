"""What each camera process publishes about itself (fps, errors, findings) in Redis, for the console and API."""

from __future__ import annotations

import json

from app.extensions import get_redis

HEALTH_KEY = "urbanops:camera:{code}"
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
