"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import datetime, timezone

import sqlalchemy as sa

MAX_ID = 2**31 - 1  # primary keys are PostgreSQL `integer`: anything larger is not an id, whatever it says


def enum_column(enum_cls: type[enum.Enum], **kw) -> sa.Enum:
    """Store an Enum by its value as VARCHAR (no PG enum type: simpler migrations)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        **kw,
    )


def utcnow() -> datetime:
    """Aware UTC now (the database stores timestamptz)."""
    return datetime.now(timezone.utc)
