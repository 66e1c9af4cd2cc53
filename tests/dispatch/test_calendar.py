"""Deadline maths across lunch breaks, nights, weekends, holidays and make-up workdays."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dispatch.calendar import TimeBasis, WorkCalendar, parse_periods, share_used

TZ = ZoneInfo("Asia/Shanghai")
W = TimeBasis.WORKING


def at(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# 2026-11-23 is a Monday.
CAL = WorkCalendar(
    tz=TZ,
    holidays=frozenset({date(2026, 11, 25)}),  # a Wednesday off
    workdays=frozenset({date(2026, 11, 29)}),  # a Sunday worked
)


def test_within_a_morning_period():
    assert CAL.add(at(2026, 11, 23, 9), 60, W) == at(2026, 11, 23, 10)


def test_across_the_lunch_break():
    assert CAL.add(at(2026, 11, 23, 11, 30), 60, W) == at(2026, 11, 23, 14, 30)


def test_across_the_night():
    assert CAL.add(at(2026, 11, 23, 17), 120, W) == at(2026, 11, 24, 9)


def test_started_at_night_counts_from_next_morning():
    assert CAL.add(at(2026, 11, 23, 22), 30, W) == at(2026, 11, 24, 8, 30)


def test_lunch_start_counts_from_afternoon():
    assert CAL.add(at(2026, 11, 23, 12, 30), 15, W) == at(2026, 11, 23, 14, 15)


def test_skips_holiday():
    # Tuesday 17:00 + 2h → Wednesday is a holiday → Thursday 09:00.
    assert CAL.add(at(2026, 11, 24, 17), 120, W) == at(2026, 11, 26, 9)


def test_weekend_skipped_but_make_up_workday_worked():
    # Saturday 28th is off; Sunday 29th is a make-up workday.
    assert CAL.add(at(2026, 11, 27, 17, 30), 60, W) == at(2026, 11, 29, 8, 30)
    plain = WorkCalendar(tz=TZ)
    assert plain.add(at(2026, 11, 27, 17, 30), 60, W) == at(2026, 11, 30, 8, 30)


def test_whole_working_day_is_eight_hours():
    assert CAL.add(at(2026, 11, 23, 8), 8 * 60, W) == at(2026, 11, 23, 18)
    assert CAL.add(at(2026, 11, 23, 8), 8 * 60 + 1, W) == at(2026, 11, 24, 8, 1)


def test_natural_basis_ignores_calendar():
    start = at(2026, 11, 24, 23)
    assert CAL.add(start, 120, TimeBasis.NATURAL) == start + timedelta(hours=2)


def test_zero_minutes_and_result_timezone():
    start = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # 09:00 local
    out = CAL.add(start, 0, W)
    assert out == start and out.tzinfo is timezone.utc
    assert CAL.add(start, 30, W) == datetime(2026, 11, 23, 1, 30, tzinfo=timezone.utc)


def test_rejects_naive_and_negative():
    with pytest.raises(ValueError):
        CAL.add(datetime(2026, 11, 23, 9), 10, W)
    with pytest.raises(ValueError):
        CAL.add(at(2026, 11, 23, 9), -1, W)


def test_minutes_between_is_the_inverse_of_add():
    start = at(2026, 11, 23, 10, 17)
    for minutes in (0, 1, 59, 100, 480, 481, 2000, 5000):
        end = CAL.add(start, minutes, W)
        assert CAL.minutes_between(start, end, W) == pytest.approx(minutes)
        assert CAL.minutes_between(end, start, W) == pytest.approx(-minutes)


def test_minutes_between_over_holiday_and_night():
    assert CAL.minutes_between(at(2026, 11, 24, 17), at(2026, 11, 26, 9), W) == 120
    assert CAL.minutes_between(at(2026, 11, 23, 19), at(2026, 11, 23, 23), W) == 0


def test_share_used():
    start, due = at(2026, 11, 23, 8), at(2026, 11, 23, 18)
    assert share_used(start, due, at(2026, 11, 23, 14), CAL, W) == pytest.approx(0.5)
    assert share_used(start, due, at(2026, 11, 24, 9), CAL, W) > 1


def test_calendar_without_workdays_is_an_error():
    never = WorkCalendar(tz=TZ, periods=((time(8), time(9)),), holidays=frozenset(
        date(2026, 1, 1) + timedelta(days=i) for i in range(4000)))
    with pytest.raises(ValueError):
        never.add(at(2026, 1, 1, 8), 10, W)


@pytest.mark.parametrize("text", ["", "8-12", "12:00-08:00", "08:00-12:00,11:00-13:00", "xx"])
def test_parse_periods_rejects_bad_text(text):
    with pytest.raises(ValueError):
        parse_periods(text)


def test_parse_periods_sorts():
    assert parse_periods("14:00-18:00, 08:00-12:00") == ((time(8), time(12)), (time(14), time(18)))
