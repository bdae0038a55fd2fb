"""`staff.hours`: when peer workers are around, and when they are next back."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bothy.staff_hours import StaffHoursError, parse_staff_hours

LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=LONDON)  # 2 March 2026 is a Monday


@pytest.mark.parametrize(("when", "open_", "back"), [
    (at(2, 10), True, at(3, 9)),         # Monday morning
    (at(2, 8, 59), False, at(2, 9)),     # before opening
    (at(2, 17), False, at(3, 9)),        # closing time is closed
    (at(6, 18), False, at(7, 10)),       # Friday evening: Saturday's short window
    (at(7, 14), False, at(9, 9)),        # Saturday afternoon: Monday
    (at(8, 12), False, at(9, 9)),        # Sunday
])
def test_open_and_next_opening(when, open_, back):
    hours = parse_staff_hours("09:00-17:00 mon-fri, 10:00-13:00 sat")
    assert hours.is_open(when) is open_
    assert hours.next_opening(when) == back


def test_days_may_be_left_out_or_wrap_round_the_week():
    assert parse_staff_hours("08:00-20:00").is_open(at(8, 12))
    weekend = parse_staff_hours("10:00-16:00 sat-mon")
    assert weekend.is_open(at(2, 11)) and weekend.is_open(at(8, 11)) and not weekend.is_open(at(3, 11))


def test_a_window_may_run_past_midnight_and_end_at_midnight():
    """A reviewer's: overnight or round-the-clock staffing could not be written, and "00:00-23:59" left a minute in
    which a member of a service open all day was told nobody was around."""
    nights = parse_staff_hours("22:00-08:00 fri-sat")
    assert nights.is_open(at(6, 23)) and nights.is_open(at(7, 7, 59)) and nights.is_open(at(8, 3))
    assert not nights.is_open(at(8, 8)) and not nights.is_open(at(5, 23)) and not nights.is_open(at(6, 7))
    assert nights.next_opening(at(8, 9)) == at(13, 22)
    always = parse_staff_hours("00:00-24:00")
    assert always.is_open(at(2, 23, 59)) and always.when_back(datetime(2026, 3, 2, 23, 59, 59, tzinfo=LONDON)) is None


@pytest.mark.parametrize("text", ["9-5", "09:00-09:00 mon-fri", "09:00-17:00 mon-fry", "25:00-26:00", "24:00-09:00"])
def test_nonsense_is_refused_with_what_it_should_look_like(text):
    with pytest.raises(StaffHoursError):
        parse_staff_hours(text)
