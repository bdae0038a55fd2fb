"""What `!meetup add` understands: WHEN and WHERE in one line, WHEN in plain words in the organisation's time
zone ("next Tuesday 7pm", "25 Dec 14:00"), and the same time back in words and as an `.ics` calendar file.

WHERE follows a `|`, or the last ` at ` (of the last three) that leaves a time before it, or is the last word
`online`: `next Tuesday 7pm | Community hall`, `25 Dec 14:00 at St Mary's hall`, `tomorrow 10:30 online`;
failing those, it is whatever follows the time (`Saturday 2pm Community centre`).
Nothing half-understood is guessed: no time of day, a time gone by or one over a year away gets a kind reply.

dateparser and icalendar are imported when first used: they are large, and most Bothy processes never need them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from commands.framework import UsageError

MAX_AHEAD = timedelta(days=366)
MAX_PLACE = 120
MAX_AT_SPLITS = 3  # each split tried is a dateparser call (~10 ms on a long line): only the last few ` at `s
MAX_WHEN_WORDS = 9  # "next Tuesday 25 December at half 7 in the evening": longer prefixes are not tried
LENGTH = timedelta(hours=2)  # how long the calendar file says a meetup lasts
ONLINE = "online"
HOW = ("Please say when, then where, like: {prefix}meetup add next Tuesday 7pm | Community hall, "
       "or {prefix}meetup add 25 Dec 14:00 online.")


@dataclass(frozen=True)
class Plan:
    starts: datetime  # aware, in the organisation's time zone, to the minute
    place: str  # as typed, or "online"


def _candidates(text: str) -> list[tuple[str, str]]:
    """Ways to split the line into (WHEN, WHERE), most likely first."""
    if "|" in text:
        when, _, where = text.partition("|")
        return [(when.strip(), where.strip())]
    words = text.split(" ")
    found = []
    if len(words) > 1 and words[-1].casefold() == ONLINE:
        found.append((" ".join(words[:-1]), ONLINE))
    found += [(" ".join(words[:i]), " ".join(words[i + 1:]))
              for i in range(len(words) - 2, 0, -1) if words[i].casefold() == "at"][:MAX_AT_SPLITS]
    return found


def _splits(text: str, now: datetime, timezone: ZoneInfo) -> Iterator[tuple[str, str]]:
    """The marked splits first; the time-then-place reading only when they all fail (it parses more)."""
    yield from _candidates(text)
    if "|" not in text:
        yield _leading_time(text, now, timezone)


def _leading_time(text: str, now: datetime, timezone: ZoneInfo) -> tuple[str, str]:
    """(WHEN, WHERE) with nothing between them, as PRODUCT.md writes it (`Saturday 2pm Community centre`):
    the fewest words that make a time of day, and one more while it changes that time ("7:30" then "pm");
    a word that changes nothing ("the", "St"), or a bare number once there is a time of day ("Saturday 2pm 12 High
    Street": a house number), starts the place. ("", "") when no such split leaves a place."""
    words = text.split(" ")
    if len(words) < 2 or _parse_time(text, now, timezone)[0] is not None:
        return "", ""  # all of it is a time: there is no place
    end, starts = 1, None
    while end < min(len(words), MAX_WHEN_WORDS) and starts is None:
        starts = _parse_time(" ".join(words[:end]), now, timezone)[0]
        end += 1
    while starts is not None and end < min(len(words), MAX_WHEN_WORDS) and not words[end - 1].isdigit():
        longer = _parse_time(" ".join(words[:end]), now, timezone)[0]
        if longer is None or longer == starts:
            break
        starts, end = longer, end + 1
    return (" ".join(words[:end - 1]), " ".join(words[end - 1:])) if starts is not None else ("", "")


def _parse_time(text: str, now: datetime, timezone: ZoneInfo) -> tuple[datetime | None, bool]:
    """(the time, or None; whether a date without a time of day was found)."""
    from dateparser.date import DateDataParser  # heavy: only when someone adds a meetup

    parser = DateDataParser(languages=["en"], settings={
        "TIMEZONE": timezone.key, "RETURN_AS_TIMEZONE_AWARE": True, "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": now.astimezone(timezone).replace(tzinfo=None), "DATE_ORDER": "DMY",
        "RETURN_TIME_AS_PERIOD": True,
    })
    # A time at the very edge of what datetime holds (0001-01-01 00:00, 9999-12-31 23:59) has no local time, or none
    # in the zone typed: dateparser itself, or the conversion, overflows. It is no time one could meet at.
    try:
        data = parser.get_date_data(text)
        if data.date_obj is None:
            return None, False
        if data.period != "time":
            return None, True
        return data.date_obj.astimezone(timezone).replace(second=0, microsecond=0), False
    except OverflowError:
        return None, False


def parse_plan(details: str, now: datetime, timezone: ZoneInfo, prefix: str = "!") -> Plan:
    """WHEN and WHERE from what was typed after `!meetup add`; UsageError with a kind reason otherwise."""
    text = " ".join(details.split())
    date_only = False
    for when, where in _splits(text, now, timezone):
        if not when or not where:
            continue
        starts, undated = _parse_time(when, now, timezone)
        date_only = date_only or undated
        if starts is None:
            continue
        if len(where) > MAX_PLACE:
            raise UsageError(f"Please keep where to {MAX_PLACE} characters or fewer.")
        if starts <= now:
            raise UsageError(f"{describe(starts, now)} has already passed: please choose a time still to come.")
        if starts - now > MAX_AHEAD:
            raise UsageError("Please choose a time within the next year.")
        return Plan(starts, ONLINE if where.casefold() == ONLINE else where)
    if date_only:
        raise UsageError("Please add a time of day too, like 7pm or 14:00.")
    raise UsageError(HOW.format(prefix=prefix))


def _clock_time(at: datetime) -> str:
    """19:00 -> 7pm, 10:30 -> 10:30am, 12:00 -> 12 noon."""
    if (at.hour, at.minute) == (12, 0):
        return "12 noon"
    hour = at.hour % 12 or 12
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{hour}{minutes}{'am' if at.hour < 12 else 'pm'}"


def describe(at: datetime, now: datetime) -> str:
    """'Tuesday 10 March at 7pm' in `at`'s own time zone; the year only when it is not this year's."""
    year = f" {at.year}" if at.year != now.astimezone(at.tzinfo).year else ""
    return f"{at:%A} {at.day} {at:%B}{year} at {_clock_time(at)}"


def calendar_file(uid: str, title: str, starts: datetime, place: str, now: datetime) -> str:
    """One event as an iCalendar file members can add to their own calendars."""
    from icalendar import Calendar, Event  # only when a meetup is posted

    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", starts.astimezone(UTC))
    event.add("duration", LENGTH)
    event.add("summary", title)
    event.add("location", place)
    calendar = Calendar()
    calendar.add("prodid", "-//Bothy//meetups//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical().decode()
