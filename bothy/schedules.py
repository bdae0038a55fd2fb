"""Schedule expressions from the config: a 5-field cron line or an interval such as "every 30s"."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

EVERY = re.compile(r"^\s*every\s+(\d{1,9})\s*(s|m|h|d)\s*$", re.IGNORECASE)  # more digits: no schedule
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_INTERVAL_S = 366 * 86400  # longer overflows APScheduler's timedelta, or the date of the next run


class ScheduleError(ValueError):
    pass


def parse_schedule(expression: str, timezone: ZoneInfo) -> BaseTrigger:
    """Turn a config schedule into an APScheduler trigger in the organisation's time zone."""
    every = EVERY.match(expression)
    if every:
        seconds = int(every.group(1)) * UNIT_SECONDS[every.group(2).lower()]
        if not 1 <= seconds <= MAX_INTERVAL_S:
            raise ScheduleError("an interval must be from 1 second to 366 days")
        return IntervalTrigger(seconds=seconds, timezone=timezone)
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"{expression!r} is neither 'every N(s|m|h|d)' nor a 5-field cron line")
    if not fields[2].startswith("*") and not fields[4].startswith("*"):  # cron: either (not "*/2"); APScheduler: both
        raise ScheduleError(f"{expression!r}: give the day of the month or the day of the week, with * for the other")
    try:
        trigger = CronTrigger.from_crontab(" ".join([*fields[:4], _cron_days(fields[4])]), timezone=timezone)
    except ValueError as error:
        raise ScheduleError(f"{expression!r}: {error}") from error
    # A day that never comes ("0 3 30 2 *", 30 February) would leave its sweep paused for good, without a word.
    if trigger.get_next_fire_time(None, datetime.now(timezone)) is None:
        raise ScheduleError(f"{expression!r} never runs: no such day comes")
    return trigger


CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's numbers: 0 (and 7) is Sunday


def _cron_days(field: str) -> str:
    """A cron line's day-of-week field in day names: APScheduler numbers days from 0 = Monday, so cron's "1-5"
    (weekdays) ran Tuesday to Saturday and "0" (Sunday) on Mondays (a spec auditor's, thirty-second session)."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        spec, slash, step_text = part.partition("/")
        if slash and not (step_text.isdigit() and 0 < int(step_text) <= 7):
            raise ScheduleError(f"{part!r} in the day-of-week field: a step is /1 to /7")
        step = int(step_text) if slash else 1
        if spec == "*":
            first, last = 0, 6
        else:
            start, dash, end = spec.partition("-")
            first = _cron_day(start)
            last = _cron_day(end) if dash else (7 if slash else first)  # "1/2": from Monday to Sunday (7)
        if first > last:
            raise ScheduleError(f"{part!r} in the day-of-week field runs backwards (Sunday is 0 or 7)")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(CRON_DAYS[day] for day in sorted(days))


def _cron_day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text in CRON_DAYS:
        return CRON_DAYS.index(text)
    raise ScheduleError(f"{text!r} is no day of the week: 0 to 7 (0 and 7 are Sunday) or sun to sat")
