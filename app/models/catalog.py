"""Reference data that cities edit: case categories with their time limits, and the holiday calendar."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import enum_column
from dispatch.calendar import TimeBasis


class CategoryClass(db.Model):
    """A major class (大类) such as 市容环境 or 街面秩序."""

    __tablename__ = "category_classes"
    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80))


class Category(db.Model):
    """A case category (小类) with default priority, time limits and responsible department type."""

    __tablename__ = "categories"
    code: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    class_code: Mapped[str] = mapped_column(sa.ForeignKey("category_classes.code", ondelete="RESTRICT"))
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    detectable: Mapped[bool] = mapped_column(default=False)  # one of the camera-detectable types
    default_priority: Mapped[int] = mapped_column(sa.SmallInteger, default=3)  # 1 urgent … 4 low
    dispatch_minutes: Mapped[int] = mapped_column(default=60)
    handle_minutes: Mapped[int] = mapped_column(default=480)
    check_minutes: Mapped[int] = mapped_column(default=240)
    time_basis: Mapped[TimeBasis] = mapped_column(enum_column(TimeBasis), default=TimeBasis.WORKING)
    department_type: Mapped[str] = mapped_column(sa.String(32))
    allow_outside_grid: Mapped[bool] = mapped_column(default=False)
    fix_on_site: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # 即时处置 by an inspector
    active: Mapped[bool] = mapped_column(default=True)
    # A catch-all (其他): reports filed under it from the API get their category from their words.
    generic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Category-specific questions (Open311 attributes): [{code, description, datatype, required, values}]
    attributes: Mapped[list] = mapped_column(sa.JSON, default=list, server_default=sa.text("'[]'"))
    # Every place that shows a category names its class too: one join instead of a query per category.
    major_class: Mapped[CategoryClass] = relationship(lazy="joined")

    def name(self, locale: str) -> str:
        """Name in `locale` (zh by default)."""
        return self.name_en if locale.startswith("en") else self.name_zh


class Holiday(db.Model):
    """A calendar exception: a holiday (off) or a make-up workday (调休上班)."""

    __tablename__ = "holidays"
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(default=False)
    name: Mapped[str] = mapped_column(sa.String(60), default="")
