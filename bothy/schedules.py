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
    if len(expression.split()) != 5:
        raise ScheduleError(f"{expression!r} is neither 'every N(s|m|h|d)' nor a 5-field cron line")
    try:
        trigger = CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as error:
        raise ScheduleError(f"{expression!r}: {error}") from error
    # A day that never comes ("0 3 30 2 *", 30 February) would leave its sweep paused for good, without a word.
    if trigger.get_next_fire_time(None, datetime.now(timezone)) is None:
        raise ScheduleError(f"{expression!r} never runs: no such day comes")
    return trigger
