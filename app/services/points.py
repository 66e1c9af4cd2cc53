"""Civic points (文明积分): citizens earn them when their report proves valid, i.e. when it is filed (立案)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import Case, CivicPoints, Role, User
from app.models.cases import Source
from app.models.types import utcnow

VALID_REPORT = "valid_report"


def award_for_filing(case: Case) -> None:
    """Credit the citizen who reported the case, once, however often it is filed again after rework."""
    reporter = case.reporter
    if case.source is not Source.CITIZEN or reporter is None or reporter.role is not Role.CITIZEN:
        return
    points = current_app.config["CIVIC_POINTS_REPORT"]
    if points <= 0:
        return
    # ON CONFLICT: a second filing (rework, return and refile) must not pay twice.
    db.session.execute(insert(CivicPoints).values(
        user_id=reporter.id, case_id=case.id, points=points, reason=VALID_REPORT, at=utcnow(),
    ).on_conflict_do_nothing(constraint="uq_civic_points_award"))


def balance(user: User) -> int:
    """The citizen's civic points."""
    return db.session.scalar(select(func.coalesce(func.sum(CivicPoints.points), 0))
                             .where(CivicPoints.user_id == user.id))


def points_by_case(user: User) -> dict[int, int]:
    """{case id: points earned on it} for the citizen's report list."""
    rows = db.session.execute(select(CivicPoints.case_id, func.sum(CivicPoints.points))
                              .where(CivicPoints.user_id == user.id, CivicPoints.case_id.is_not(None))
                              .group_by(CivicPoints.case_id))
    return {case_id: int(total) for case_id, total in rows}
