"""The one input layer: typed, bounded fields for every endpoint and form, and a guard on every request.

Views declare their inputs as `Field`s and call `parse`; the same tables generate the OpenAPI document, so
what the document promises (types, ranges, lengths, enums, formats) is exactly what the server enforces.
`register(app)` adds what holds for every request whatever the view: no control characters in any text
(PostgreSQL cannot store NUL and XML cannot carry C0 controls), JSON bodies that parse and nest sanely, and
path ids that are ASCII digits within the database's integer range.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BaseConverter
from werkzeug.routing import ValidationError as NoRouteMatch

from app.errors import ValidationError
from app.models.types import MAX_ID

INT_MIN, INT_MAX = -(2**31), MAX_ID  # PostgreSQL `integer`
MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 20
_TRUE = {"1", "true", "yes", "on", "pass", "valid"}
_FALSE = {"0", "false", "no", "off", "fail", "invalid"}
_INT = re.compile(r"[+-]?[0-9]{1,12}")  # ASCII digits only: int() would also take '١٢' or '1_000'
_FLOAT = re.compile(r"[+-]?(?:[0-9]{1,20}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})(?:[eE][+-]?[0-9]{1,3})?")
# C0 controls other than tab, newline and carriage return, and DEL: nothing a person types.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
BBOX_PATTERN = rf"{NUMBER_PATTERN},{NUMBER_PATTERN},{NUMBER_PATTERN},{NUMBER_PATTERN}"
CASE_REF_PATTERN = r"[0-9]{1,10}|[0-9]{8}-[0-9]{5,6}"  # an id or a case number


@dataclass(frozen=True)
class Field:
    """One input of an endpoint or form, with the bounds the server enforces (and OpenAPI states)."""

    name: str
    type: type = str  # str, int, float, bool or an Enum class
    required: bool = False
    description: str = ""
    min: float | None = None  # numbers; ints default to the database's integer range
    max: float | None = None
    max_length: int = 200  # text
    pattern: str | None = None  # text must match it entirely
    choices: tuple[str, ...] | None = None  # text must be one of these
    many: bool = False  # a comma-separated list (or a JSON array) of such values
    max_items: int = 50

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(min, max) for numbers, with the integer column range as the default for whole numbers."""
        if self.type is int:
            return (INT_MIN if self.min is None else self.min), (INT_MAX if self.max is None else self.max)
        return self.min, self.max

    @property
    def values(self) -> tuple[str, ...] | None:
        """The allowed values of an enum or choice field."""
        if isinstance(self.type, type) and issubclass(self.type, enum.Enum):
            return tuple(m.value for m in self.type)
        return self.choices

    def schema(self) -> dict:
        """This field as JSON Schema (one value; `many` fields are a comma-separated string)."""
        if self.many:
            item = "|".join(re.escape(v) for v in self.values) if self.values else (self.pattern or "[^,]+")
            return {"type": "string", "pattern": f"^(?:{item})(?:,(?:{item}))*$",
                    "description": f"comma-separated, at most {self.max_items}"}
        if self.values:
            return {"type": "string", "enum": list(self.values)}
        kind = {str: "string", int: "integer", float: "number", bool: "boolean"}[self.type]
        out: dict = {"type": kind}
        lo, hi = self.bounds
        if lo is not None:
            out["minimum"] = lo
        if hi is not None:
            out["maximum"] = hi
        if self.type is str:
            out["maxLength"] = self.max_length
            if self.required:
                out["minLength"] = 1
                out.setdefault("pattern", r"\S")
            if self.pattern:
                out["pattern"] = f"^(?:{self.pattern})$"
        return out


# The fields several endpoints share, defined once so that their bounds cannot drift apart.
LON = Field("lon", float, True, "longitude (WGS 84)", min=-180, max=180)
LAT = Field("lat", float, True, "latitude (WGS 84)", min=-90, max=90)
REPORT_TEXT = Field("text", str, True, "a report's description (category suggestions)", max_length=1000)
BBOX = Field("bbox", str, description="minLon,minLat,maxLon,maxLat", pattern=BBOX_PATTERN, max_length=120)
# A photo's perceptual hash as the photo check answers it (16 hex digits), for "same problem?" before sending.
PHASH = Field("phash", str, description="perceptual hash of the report's photo, from the photo check",
              pattern="[0-9a-f]{16}")


def optional(field: Field, name: str | None = None) -> Field:
    """The same field, not required (and renamed, e.g. Open311's `long`)."""
    return replace(field, required=False, name=name or field.name)


def payload() -> dict:
    """The request's fields from a JSON object body or a form."""
    if request.is_json:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError(_l("The request body must be a JSON object."))
        return data
    return request.form.to_dict()


def _number(field: Field, raw, kind: type):
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValidationError(_l("%(field)s must be a number."), field=field.name)
    if isinstance(raw, str):
        text = raw.strip()
        if not (_INT if kind is int else _FLOAT).fullmatch(text):
            message = _l("%(field)s must be a whole number.") if kind is int else _l("%(field)s must be a number.")
            raise ValidationError(message, field=field.name)
        raw = int(text) if kind is int else float(text)
    if kind is int and isinstance(raw, float):
        if not raw.is_integer():
            raise ValidationError(_l("%(field)s must be a whole number."), field=field.name)
        raw = int(raw)
    if kind is float:
        raw = float(raw)
        if not math.isfinite(raw):
            raise ValidationError(_l("%(field)s must be a number."), field=field.name)
    lo, hi = field.bounds
    if (lo is not None and raw < lo) or (hi is not None and raw > hi):
        raise ValidationError(_l("%(field)s must be between %(lo)s and %(hi)s."), field=field.name,
                              lo=_plain(lo), hi=_plain(hi))
    return raw


def _plain(value) -> str:
    return "…" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def _one(field: Field, raw):
    """Convert one raw value to the field's type or raise ValidationError naming the field."""
    if field.type is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower() if isinstance(raw, str | int) else ""
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValidationError(_l("%(field)s must be true or false."), field=field.name)
    if field.type in (int, float):
        return _number(field, raw, field.type)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValidationError(_l("%(field)s must be text."), field=field.name)
    text = str(raw).strip()
    if values := field.values:
        if text not in values:
            raise ValidationError(_l("%(field)s must be one of: %(values)s."), field=field.name,
                                  values=", ".join(values))
        return field.type(text) if field.type is not str else text
    if len(text) > field.max_length:
        raise ValidationError(_l("%(field)s may be at most %(n)d characters."), field=field.name,
                              n=field.max_length)
    if field.pattern and text and not re.fullmatch(field.pattern, text):
        raise ValidationError(_l("%(field)s is not in the expected format."), field=field.name)
    return text


def coerce(field: Field, raw):
    """The field's value from raw input (a list for `many` fields), or a ValidationError naming the field."""
    if not field.many:
        return _one(field, raw)
    items = raw if isinstance(raw, list) else str(raw).split(",")
    items = [i for i in items if not (isinstance(i, str) and not i.strip())]
    if len(items) > field.max_items:
        raise ValidationError(_l("%(field)s may list at most %(n)d values."), field=field.name, n=field.max_items)
    return [_one(field, i) for i in items]


def parse(fields: list[Field], data=None) -> dict:
    """Typed values of `fields` from the request (missing optional fields are omitted)."""
    data = payload() if data is None else data
    out = {}
    for f in fields:
        raw = data.get(f.name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required:
                raise ValidationError(_l("%(field)s is required."), field=f.name)
            continue
        value = coerce(f, raw)
        if f.required and value in ("", []):
            raise ValidationError(_l("%(field)s is required."), field=f.name)
        out[f.name] = value
    return out


def read_json_file(source) -> dict:
    """An import file's JSON (a dict passes through); unreadable or malformed files are a ValidationError."""
    if isinstance(source, dict):
        return source
    try:
        return json.loads(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(_l("Cannot read %(path)s: %(err)s"), path=str(source), err=str(exc)) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(_l("The file is not valid JSON: %(err)s"), err=str(exc)) from exc


def coded_features(doc, pattern: re.Pattern, rule: str, problems: list[str]) -> Iterator[tuple[dict, dict, str, str]]:
    """Each feature of an import file's GeoJSON FeatureCollection as (feature, properties, code, where), its
    `properties.code` checked (present, matching `pattern` — `rule` says how — and not repeated); every problem is
    appended to `problems` as "feature i (code): …", so an import can list them all at once."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(
            doc.get("features"), list):
        raise ValidationError(_l("Expected a GeoJSON FeatureCollection."))
    if not doc["features"]:
        problems.append("the collection has no features")
    seen: dict[str, int] = {}
    for i, feat in enumerate(doc["features"]):
        feat = feat if isinstance(feat, dict) else {}
        props = feat.get("properties") if isinstance(feat.get("properties"), dict) else {}
        code = str(props.get("code") or "").strip()
        where = f"feature {i}" + (f" ({code})" if code else "")
        if not code:
            problems.append(f"{where}: missing properties.code")
        elif not pattern.match(code):
            problems.append(f"{where}: {rule}")
        elif code in seen:
            problems.append(f"{where}: code also used by feature {seen[code]}")
        else:
            seen[code] = i
        yield feat, props, code, where


def photos(field: str = "photos") -> list[bytes]:
    """Uploaded photo bytes from multipart field `field` (several allowed)."""
    return [f.read() for f in request.files.getlist(field) if f and f.filename]


def bbox_arg(raw: str | None) -> tuple[float, float, float, float] | None:
    """Parse bbox=minLon,minLat,maxLon,maxLat."""
    if not raw:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in raw.split(",")) if re.fullmatch(BBOX_PATTERN, raw.strip()) else ()
    except ValueError:
        raise ValidationError(_l("bbox must be minLon,minLat,maxLon,maxLat.")) from None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError(_l("bbox must be minLon,minLat,maxLon,maxLat."))
    return x0, y0, x1, y1


# --- what holds for every request ------------------------------------------------------------


class IdConverter(BaseConverter):
    """`<id:name>`: a database id — ASCII digits within `integer`; anything else matches no route (404)."""

    regex = r"[0-9]{1,10}"
    part_isolating = True

    def to_python(self, value: str) -> int:
        """The id as an int, or no match when it is beyond the column's range."""
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise NoRouteMatch()
        return number

    def to_url(self, value) -> str:
        """The id as digits."""
        return str(int(value))


def _refuse(name: str):
    raise ValidationError(_l("%(field)s contains characters that are not allowed."), field=name[:40])


def _check_json(value, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(_l("The request body is nested too deeply."))
    if isinstance(value, str):
        if CONTROL.search(value):
            _refuse("body")
    elif isinstance(value, dict):
        for key, item in value.items():
            if CONTROL.search(key):
                _refuse("body")
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)


def guard_request() -> None:
    """Refuse control characters in the path, query and form, and malformed or oversized JSON bodies."""
    if CONTROL.search(request.path):
        _refuse("path")
    for key, value in request.args.items(multi=True):
        if CONTROL.search(key) or CONTROL.search(value):
            _refuse(key)
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    if request.is_json:
        if (request.content_length or 0) > MAX_JSON_BYTES:
            from werkzeug.exceptions import RequestEntityTooLarge

            raise RequestEntityTooLarge()
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # the JSON parser recurses per nesting level
            raise ValidationError(_l("The request body is nested too deeply.")) from None
        if data is None and request.get_data(cache=True):
            raise ValidationError(_l("The request body is not valid JSON."))
        _check_json(data)
    elif request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, value in request.form.items(multi=True):
            if CONTROL.search(key or "") or CONTROL.search(value or ""):  # odd multipart parts parse as None
                _refuse(key or "form")


def register(app) -> None:
    """Install the `id` converter and the request guard (before any blueprint's routes are added)."""
    app.url_map.converters["id"] = IdConverter
    app.before_request(guard_request)
