"""Possible duplicates of a report among the open cases: PostGIS finds the ones near in place and time, the
duplicate score (`intel.duplicates`) weighs category, words and photo.

Used by the citizen's "same problem?" prompt, the camera's dedupe (evidence instead of a second case) and the
dispatcher's list of possible duplicates with a one-click merge. Nothing here writes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Case, Category
from app.models.cases import MediaKind
from dispatch.lifecycle import OPEN_VALUES
from intel.duplicates import DEFAULT, SEARCH_HOURS, SEARCH_M, Sighting

MAX_CANDIDATES = 50  # the nearest open cases in the window that are scored

# Nearest first; the GiST index on cases.location answers the ST_DWithin.
_NEAR = text(
    """
    SELECT id FROM cases
    WHERE status = ANY(:open) AND id <> :exclude
      AND reported_at BETWEEN :since AND :until
      AND ST_DWithin(location::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :r)
    ORDER BY location::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
    LIMIT :n
    """
)


def _class_of(code: str) -> str:
    category = db.session.get(Category, code)
    return category.class_code if category is not None else ""


def _first_phash(case: Case) -> int | None:
    photos = [m for m in case.media if m.kind is MediaKind.EVIDENCE and m.phash is not None]
    return min(photos, key=lambda m: m.id).phash if photos else None


def sighting_of(case: Case) -> Sighting:
    """A case as the duplicate score sees it."""
    return Sighting(case.lon, case.lat, case.reported_at.timestamp(), case.category_code,
                    case.category.class_code, case.description or "", _first_phash(case))


def sighting(category: str, lon: float, lat: float, at: datetime, *, words: str = "",
             phash: int | None = None) -> Sighting:
    """A report not stored yet (a form being filled, a camera's finding) as the score sees it."""
    return Sighting(float(lon), float(lat), at.timestamp(), category, _class_of(category), words or "", phash)


def matches(new: Sighting, *, exclude: int = 0, threshold: float | None = None, limit: int = 5,
            same_category: bool = False) -> list[tuple[Case, dict]]:
    """Open cases that are likely the same problem as `new`, best first, each with why (score ≥ threshold).

    `same_category` for a camera: its category is what the detector saw, so another category is another problem.
    """
    threshold = current_app.config["DUPLICATE_THRESHOLD"] if threshold is None else threshold
    at = datetime.fromtimestamp(new.at, UTC)
    window = timedelta(hours=SEARCH_HOURS)
    ids = list(db.session.scalars(_NEAR, {
        "open": list(OPEN_VALUES), "exclude": exclude, "since": at - window, "until": at + window,
        "lon": new.lon, "lat": new.lat, "r": SEARCH_M, "n": MAX_CANDIDATES}))
    if not ids:
        return []
    cases = db.session.scalars(select(Case).where(Case.id.in_(ids)).options(selectinload(Case.media))).all()
    scored = [(case, DEFAULT.explain(new, sighting_of(case))) for case in cases
              if not same_category or case.category_code == new.category]
    found = [(c, why) for c, why in scored if why["score"] >= threshold]
    return sorted(found, key=lambda cw: -cw[1]["score"])[:limit]


def duplicates_of(case: Case, limit: int = 5) -> list[tuple[Case, dict]]:
    """Open cases that are likely the same problem as `case` (for the dispatcher's list)."""
    return matches(sighting_of(case), exclude=case.id, limit=limit)


def insight(case: Case, locale: str = "zh") -> dict:
    """What the dispatcher should know before acting on a case: a category its words suggest instead, and the
    open cases it may duplicate (each with the score and what it was made of)."""
    from app.services import intel

    return {"category_hint": intel.category_hint(case, locale),
            "duplicates": [{"id": c.id, "number": c.number, "category": c.category_code,
                            "category_name": c.category.name(locale), "status": c.status.value,
                            "reported_at": c.reported_at.isoformat(), **why}
                           for c, why in duplicates_of(case)]}
