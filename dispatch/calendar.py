"""Working-time calendar and deadline maths.

Categories count their limits either in natural time or in working time (default working periods
08:00–12:00 and 14:00–18:00 on workdays; statutory holidays are off, make-up workdays are on).
All functions are pure: the calendar is a value built from configuration and the holiday table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A calendar without any workday in this many days is a configuration error, not a long deadline.
_MAX_SEARCH_DAYS = 3660


class TimeBasis(enum.StrEnum):
    """How a category's limits are counted."""

    NATURAL = "natural"  # 自然时
    WORKING = "working"  # 工作时


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """Parse "08:00-12:00,14:00-18:00" into sorted, non-overlapping periods; ValueError if bad."""
    periods = []
    for chunk in text.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        try:
            a, b = (time.fromisoformat(p.strip()) for p in chunk.split("-"))
        except ValueError as exc:
            raise ValueError(f"bad working period {chunk!r}: use HH:MM-HH:MM") from exc
        if a >= b:
            raise ValueError(f"bad working period {chunk!r}: start must be before end")
        periods.append((a, b))
    periods.sort()
    if not periods:
        raise ValueError("at least one working period is needed")
    for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
        if start < end:
            raise ValueError("working periods overlap")
    return tuple(periods)


@dataclass(frozen=True)
class WorkCalendar:
    """Working periods, holidays and make-up workdays of one jurisdiction."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = ((time(8), time(12)), (time(14), time(18)))
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # 调休上班: weekend days that are worked

    def is_workday(self, day: date) -> bool:
        """True when `day` has working periods."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def _spans(self, day: date):
        """Working spans of `day` as aware datetimes."""
        if not self.is_workday(day):
            return
        for a, b in self.periods:
            yield datetime.combine(day, a, self.tz), datetime.combine(day, b, self.tz)

    def add(self, start: datetime, minutes: float, basis: TimeBasis = TimeBasis.WORKING) -> datetime:
        """Return the moment `minutes` of `basis` time after `start` (aware datetimes)."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        if basis is TimeBasis.NATURAL:
            return start + timedelta(minutes=minutes)
        remaining = timedelta(minutes=minutes)
        local = start.astimezone(self.tz)
        day = local.date()
        for _ in range(_MAX_SEARCH_DAYS):
            for a, b in self._spans(day):
                if local >= b:
                    continue
                seg_start = max(local, a)
                available = b - seg_start
                if remaining <= available:
                    return (seg_start + remaining).astimezone(start.tzinfo)
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("the calendar has no working time in the next ten years")

    def minutes_between(self, a: datetime, b: datetime, basis: TimeBasis = TimeBasis.WORKING) -> float:
        """Minutes of `basis` time from `a` to `b`; negative when `b` is before `a`."""
        if b < a:
            return -self.minutes_between(b, a, basis)
        if basis is TimeBasis.NATURAL:
            return (b - a).total_seconds() / 60
        la, lb = a.astimezone(self.tz), b.astimezone(self.tz)
        total = timedelta()
        day = la.date()
        while day <= lb.date():
            for s, e in self._spans(day):
                lo, hi = max(s, la), min(e, lb)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60


def share_used(start: datetime, due: datetime, now: datetime, cal: WorkCalendar, basis: TimeBasis) -> float:
    """Fraction of the time limit from `start` to `due` already used at `now` (may exceed 1)."""
    total = cal.minutes_between(start, due, basis)
    if total <= 0:
        return 1.0 if now >= due else 0.0
    return cal.minutes_between(start, now, basis) / total
