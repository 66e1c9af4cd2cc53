"""Parsing request input (JSON or form) into typed values with clear 400s."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import lazy_gettext as _l

from app.errors import ValidationError

_TRUE = {"1", "true", "yes", "on", "pass", "valid"}
_FALSE = {"0", "false", "no", "off", "fail", "invalid"}


@dataclass(frozen=True)
class Field:
    """One input field of an endpoint."""

    name: str
    type: type = str
    required: bool = False
    description: str = ""


def payload() -> dict:
    """The request's fields from a JSON object body or a form."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError(_l("The request body must be a JSON object."))
        return data
    return request.form.to_dict()


def coerce(field: Field, raw):
    """Convert one raw value to the field's type or raise ValidationError naming the field."""
    if field.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(_l("%(field)s must be true or false."), field=field.name)
    if field.type is int:
        if isinstance(raw, bool):
            raise ValidationError(_l("%(field)s must be a whole number."), field=field.name)
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ValidationError(_l("%(field)s must be a whole number."), field=field.name) from None
    if field.type is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValidationError(_l("%(field)s must be a number."), field=field.name) from None
    return str(raw)


def parse(fields: list[Field], data: dict | None = None) -> dict:
    """Typed values of `fields` from the request (missing optional fields are omitted)."""
    data = payload() if data is None else data
    out = {}
    for f in fields:
        raw = data.get(f.name)
        if raw is None or (isinstance(raw, str) and raw.strip() == "" and f.type is not str):
            if f.required:
                raise ValidationError(_l("%(field)s is required."), field=f.name)
            continue
        value = coerce(f, raw)
        if f.required and f.type is str and not value.strip():
            raise ValidationError(_l("%(field)s is required."), field=f.name)
        out[f.name] = value
    return out


def photos() -> list[bytes]:
    """Uploaded photo bytes from multipart field `photos` (several allowed)."""
    return [f.read() for f in request.files.getlist("photos") if f and f.filename]


def bbox_arg(raw: str | None) -> tuple[float, float, float, float] | None:
    """Parse bbox=minLon,minLat,maxLon,maxLat."""
    if not raw:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in raw.split(","))
    except ValueError:
        raise ValidationError(_l("bbox must be minLon,minLat,maxLon,maxLat.")) from None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError(_l("bbox must be minLon,minLat,maxLon,maxLat."))
    return x0, y0, x1, y1
