"""Schedules from the config: a cron line's days of the week are cron's (0 and 7 are Sunday), not APScheduler's."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bothy.schedules import ScheduleError, parse_schedule

LONDON = ZoneInfo("Europe/London")
FRIDAY_NOON = datetime(2026, 6, 5, 12, tzinfo=LONDON)


def next_days(expression: str, count: int = 7) -> list[str]:
    trigger, days, now = parse_schedule(expression, LONDON), [], FRIDAY_NOON
    for _ in range(count):
        fire = trigger.get_next_fire_time(None, now)
        days.append(fire.strftime("%a"))
        now = fire + timedelta(seconds=1)
    return days


@pytest.mark.parametrize(("field", "days"), [
    ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]),  # weekdays ran Tuesday to Saturday
    ("0", ["Sun"] * 7),  # Sunday ran on Mondays
    ("7", ["Sun"] * 7),  # refused
    ("5-7", ["Sat", "Sun", "Fri", "Sat", "Sun", "Fri", "Sat"]),  # Friday's 10:00 has gone
    ("0-6", ["Sat", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("*/2", ["Sat", "Sun", "Tue", "Thu", "Sat", "Sun", "Tue"]),  # from Sunday, every other day
    ("1,3,5", ["Mon", "Wed", "Fri", "Mon", "Wed", "Fri", "Mon"]),
    ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon", "Tue"]),
    ("SUN", ["Sun"] * 7),
    ("*", ["Sat", "Sun", "Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("1/2", ["Sun", "Mon", "Wed", "Fri", "Sun", "Mon", "Wed"]),  # from Monday to Sunday (7), as cron runs it
])
def test_the_days_of_the_week_of_a_cron_line_are_crons(field, days):
    assert next_days(f"0 10 * * {field}") == days


@pytest.mark.parametrize("field", ["8", "5-1", "funday", "1/0", "1-", "*/9"])
def test_a_day_of_the_week_that_is_no_day_is_refused_with_the_reason(field):
    with pytest.raises(ScheduleError):
        parse_schedule(f"0 10 * * {field}", LONDON)


def test_a_day_of_the_month_and_a_day_of_the_week_together_are_refused():
    """Cron runs "0 10 1 * 1" on the 1st and on Mondays, APScheduler only on a 1st that is a Monday (a second
    reviewer's): one of them must be *."""
    with pytest.raises(ScheduleError, match="day of the month or the day of the week"):
        parse_schedule("0 10 1 * 1", LONDON)
    for both in ("0 10 1 * *", "0 10 */2 * 1", "0 10 1 * */2"):  # a field from "*" restricts nothing for cron either
        assert parse_schedule(both, LONDON) is not None
