"""The scheduler only triggers sweeps; sweeps read their work from SQLite and are idempotent,
so a run repeated after a crash, or two runs coalesced into one, do no harm.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.util import undefined

from bothy.clock import Clock
from bothy.logs import describe_error
from bothy.schedules import parse_schedule
from bothy.storage.sweep_runs import SweepRunRepository

log = logging.getLogger("bothy.scheduling")

MISFIRE_GRACE_S = 6 * 3600
CATCH_UP_WITHIN = "catch_up_within_s"  # set by `on_time`
SweepFunction = TypeVar("SweepFunction", bound=Callable[..., Awaitable[Any]])


def on_time(within_s: int) -> Callable[[SweepFunction], SweepFunction]:
    """Marks a sweep that speaks to people at a time of day (a morning prompt, the day's figures, daytime follow-ups):
    run late, because Bothy was down or busy, only within `within_s` of its time and on the same day; later, it waits
    for its next time. Caught up at 03:00 a morning prompt would wake people, and a day's summary run after midnight
    would close the new day empty (a reviewer's)."""
    def mark(function: SweepFunction) -> SweepFunction:
        setattr(function, CATCH_UP_WITHIN, within_s)
        return function
    return mark


@dataclass(frozen=True)
class Sweep:
    name: str
    schedule: str  # "every 30s" or a 5-field cron line
    run: Callable[[], Awaitable[None]]


class SweepScheduler:
    def __init__(self, runs: SweepRunRepository, timezone: ZoneInfo, clock: Clock):
        self.runs = runs
        self.timezone = timezone
        self.clock = clock
        self._scheduler = AsyncIOScheduler(timezone=timezone)
        self._sweeps: list[Sweep] = []
        self._triggers: dict[str, BaseTrigger] = {}

    def add(self, sweep: Sweep) -> None:
        self._sweeps.append(sweep)

    async def start(self) -> None:
        """One job per sweep. A run missed while Bothy was down is that same job's first run, now, rather than a
        job of its own: `max_instances=1` then keeps it from overlapping the next scheduled run."""
        for sweep in self._sweeps:
            trigger = self._triggers[sweep.name] = parse_schedule(sweep.schedule, self.timezone)
            within_s: int | None = getattr(sweep.run, CATCH_UP_WITHIN, None)
            missed = await self._missed(sweep.name, trigger, within_s)
            if missed:
                log.info("sweep %s was missed while Bothy was down; running it now", sweep.name)
            self._scheduler.add_job(self._run, trigger, args=[sweep], id=sweep.name, coalesce=True,
                                    max_instances=1, misfire_grace_time=within_s or MISFIRE_GRACE_S,
                                    next_run_time=datetime.now(self.timezone) if missed else undefined)
        self._scheduler.start()

    async def _missed(self, name: str, trigger: BaseTrigger, within_s: int | None = None) -> bool:
        """Whether the sweep was due at some time after its last run and before now; for an `on_time` sweep, at a
        time within `within_s` of now and on today's date."""
        last = await self.runs.last_run_ms(name)
        if last is None:
            return False
        # The first fire time strictly after the last run (the trigger counts "now" itself).
        due = trigger.get_next_fire_time(None, datetime.fromtimestamp(last / 1000, UTC) + timedelta(seconds=1))
        if due is None or due > self.clock.now():
            return False
        return within_s is None or self._on_time(trigger, within_s)

    def _on_time(self, trigger: BaseTrigger, within_s: int) -> bool:
        """Whether the trigger fired within `within_s` before now, on today's date (an `on_time` sweep may run)."""
        now = self.clock.now()
        due = trigger.get_next_fire_time(None, now - timedelta(seconds=within_s))
        return due is not None and due <= now and \
            due.astimezone(self.timezone).date() == now.astimezone(self.timezone).date()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _run(self, sweep: Sweep) -> None:
        within_s: int | None = getattr(sweep.run, CATCH_UP_WITHIN, None)
        if within_s is not None and not self._on_time(self._triggers[sweep.name], within_s):
            # Run late by APScheduler's misfire grace (the loop or the machine stalled) past its date: it waits.
            log.info("sweep %s is too late for its time today; it waits for the next", sweep.name)
            return
        try:
            await sweep.run()
            await self.runs.record(sweep.name, self.clock.ms())
        except asyncio.CancelledError:
            log.info("sweep %s interrupted by shutdown; it is idempotent and will run again", sweep.name)
        except Exception as error:  # by type and place: an error's message could quote what a member wrote
            log.error("sweep %s failed (%s); it will run again at its next time", sweep.name, describe_error(error))
