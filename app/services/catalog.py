"""Loading and reading case categories (the data file that cities edit)."""

from __future__ import annotations

from pathlib import Path

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.errors import NotFound, ValidationError
from app.extensions import db
from app.models import Category, CategoryClass
from dispatch.calendar import TimeBasis

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "data" / "categories.yaml"
_DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}
DEPARTMENT_TYPES = ("urban_management", "sanitation", "municipal", "greening", "traffic")


def _category_row(item: dict, classes: set[str], where: str) -> dict:
    """Validate one category entry of the file and return its column values."""
    problems = []
    for key in ("code", "zh", "en", "class", "limits", "department"):
        if key not in item:
            problems.append(f"{where}: missing '{key}'")
    if problems:
        raise ValidationError(_l("Category file is not valid."), details=problems)
    limits = item["limits"] or {}
    row = {
        "code": str(item["code"]),
        "class_code": str(item["class"]),
        "name_zh": str(item["zh"]),
        "name_en": str(item["en"]),
        "detectable": bool(item.get("detectable", False)),
        "default_priority": item.get("priority", 3),
        "time_basis": item.get("basis", "working"),
        "department_type": str(item["department"]),
        "allow_outside_grid": bool(item.get("outside_grid", False)),
        "fix_on_site": bool(item.get("fix_on_site", False)),
        "generic": bool(item.get("generic", False)),
        "active": True,
        "attributes": list(item.get("attributes") or []),
    }
    for a in row["attributes"]:
        if not isinstance(a, dict) or not a.get("code") or a.get("datatype") not in _DATATYPES:
            problems.append(f"{where}: each attribute needs a code and a datatype of {sorted(_DATATYPES)}")
    for phase in ("dispatch", "handle", "check"):
        value = limits.get(phase)
        if not isinstance(value, int) or value <= 0:
            problems.append(f"{where}: limits.{phase} must be a positive number of minutes")
        row[f"{phase}_minutes"] = value
    if row["class_code"] not in classes:
        problems.append(f"{where}: unknown class '{row['class_code']}'")
    if row["default_priority"] not in (1, 2, 3, 4):
        problems.append(f"{where}: priority must be 1..4")
    if row["time_basis"] not in {b.value for b in TimeBasis}:
        problems.append(f"{where}: basis must be natural or working")
    if problems:
        raise ValidationError(_l("Category file is not valid."), details=problems)
    row["time_basis"] = TimeBasis(row["time_basis"])
    return row


def load_categories(path: str | Path = DEFAULT_FILE) -> dict:
    """Upsert classes and categories from YAML; deactivate categories no longer listed."""
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ValidationError(_l("Cannot read %(path)s: %(err)s"), path=str(path), err=str(exc)) from exc
    classes = [
        {"code": str(c["code"]), "name_zh": str(c["zh"]), "name_en": str(c["en"])} for c in doc.get("classes") or []
    ]
    class_codes = {c["code"] for c in classes} | set(db.session.scalars(select(CategoryClass.code)))
    rows = [_category_row(item, class_codes, f"categories[{i}]") for i, item in enumerate(doc.get("categories") or [])]
    codes = [r["code"] for r in rows]
    if not rows:
        raise ValidationError(_l("Category file is not valid."), details=["no categories"])
    if len(codes) != len(set(codes)):
        raise ValidationError(_l("Category file is not valid."), details=["a category code is listed twice"])
    if classes:
        stmt = insert(CategoryClass).values(classes)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[CategoryClass.code],
                set_={"name_zh": stmt.excluded.name_zh, "name_en": stmt.excluded.name_en},
            )
        )
    stmt = insert(Category).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Category.code],
            set_={k: stmt.excluded[k] for k in rows[0] if k != "code"},
        )
    )
    deactivated = db.session.execute(
        Category.__table__.update().where(Category.code.not_in(codes), Category.active.is_(True)).values(active=False)
    ).rowcount
    db.session.expire_all()
    return {"classes": len(classes), "categories": len(rows), "deactivated": deactivated}


def get_category(code: str, *, active_only: bool = True) -> Category:
    """The category with `code`, or a 400 naming the unknown code."""
    cat = db.session.get(Category, code) if code else None
    if cat is None or (active_only and not cat.active):
        raise ValidationError(_l("Unknown category: %(code)s"), code=str(code))
    return cat


def list_categories() -> list[Category]:
    """Active categories ordered by class then code."""
    return list(
        db.session.scalars(
            select(Category).where(Category.active.is_(True)).order_by(Category.class_code, Category.code)
        )
    )


def require_category(code: str) -> Category:
    """Like get_category but 404 (for URLs naming a category)."""
    cat = db.session.get(Category, code)
    if cat is None:
        raise NotFound()
    return cat
