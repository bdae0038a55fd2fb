"""When peer workers are around (`staff.hours`, in the organisation's time zone): "09:00-17:00 mon-fri",
several windows separated by commas ("09:00-17:00 mon-fri, 10:00-13:00 sat"). A window may run past midnight into
the next day ("22:00-08:00 fri-sat": Friday and Saturday nights) and "24:00" ends one at midnight ("00:00-24:00"
is all day). A member who asks for someone outside them is told honestly when someone will be back."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+([a-z]{3})(?:\s*-\s*([a-z]{3}))?)?$")


class StaffHoursError(ValueError):
    pass


@dataclass(frozen=True)
class Window:
    start: dt.time
    end: dt.time | None  # None: midnight, at the end of the day
    days: frozenset[int]  # 0 = Monday

    def holds(self, now: dt.datetime) -> bool:
        return now.weekday() in self.days and self.start <= now.time() and (self.end is None or now.time() < self.end)


@dataclass(frozen=True)
class StaffHours:
    windows: tuple[Window, ...]

    def is_open(self, now: dt.datetime) -> bool:
        """`now` in the organisation's time zone."""
        return any(window.holds(now) for window in self.windows)

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        """The next time a window starts after `now` (same time zone as `now`)."""
        openings = []
        for offset in range(8):
            day = (now + dt.timedelta(days=offset)).date()
            for window in self.windows:
                if day.weekday() in window.days:
                    start = dt.datetime.combine(day, window.start, tzinfo=now.tzinfo)
                    if start > now:
                        openings.append(start)
        return min(openings)

    def when_back(self, now: dt.datetime) -> str | None:
        """None while someone is around; otherwise when they next are, in words ('tomorrow at 09:00')."""
        return None if self.is_open(now) else describe_return(now, self.next_opening(now))


def describe_return(now: dt.datetime, back: dt.datetime) -> str:
    """'at 09:00 today', 'tomorrow at 09:00', 'on Monday at 09:00' (both in the organisation's zone)."""
    days = (back.date() - now.date()).days
    time = back.strftime("%H:%M")
    if days == 0:
        return f"at {time} today"
    if days == 1:
        return f"tomorrow at {time}"
    return f"on {back.strftime('%A')} at {time}"


def parse_staff_hours(text: str) -> StaffHours:
    windows = []
    for part in text.casefold().split(","):
        match = WINDOW.match(part.strip())
        if match is None:
            raise StaffHoursError(f"{part.strip()!r} is not like 09:00-17:00 mon-fri")
        h1, m1, h2, m2, first, last = (match[i] for i in range(1, 7))
        try:
            start = dt.time(int(h1), int(m1))
            end = None if (int(h2), int(m2)) == (24, 0) else dt.time(int(h2), int(m2))
        except ValueError as error:
            raise StaffHoursError(f"{part.strip()!r}: {error}") from None
        if end == start:
            raise StaffHoursError(f"{part.strip()!r}: the start and the end are the same time")
        for day in (first, last):
            if day is not None and day not in DAYS:
                raise StaffHoursError(f"{day!r} is not a day (use {', '.join(DAYS)})")
        days = frozenset(range(7))
        if first is not None:
            a = DAYS.index(first)
            b = DAYS.index(last) if last is not None else a
            days = frozenset(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])  # "sat-mon" wraps
        if end is not None and end < start:  # past midnight: the rest of each night is the next day's morning
            windows.append(Window(start, None, days))
            windows.append(Window(dt.time(0), end, frozenset((day + 1) % 7 for day in days)))
        else:
            windows.append(Window(start, end, days))
    return StaffHours(tuple(windows))
