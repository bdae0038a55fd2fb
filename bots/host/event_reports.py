"""Element's own Report button: when the host bot's account is a Synapse server admin, the homeserver's
event reports are polled and each new one is forwarded to the staff room like a `!report` (room, link,
author and the reporter's stated reason; never the reporter's ID), exactly once across restarts: the last
forwarded report's number advances in the same transaction as the alert it owes."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

import aiosqlite

from bothy.matrix.adapter import MatrixError
from bothy.outbox import Effects
from bothy.plugin import BotContext
from bots.host.reports import Reports

log = logging.getLogger("bothy.host.event_reports")

MAX_REASON = 500  # characters of the reporter's reason shown to staff
RECHECK_ACCESS_EVERY = timedelta(hours=1)  # an admin may grant (or take away) the rights while Bothy runs


async def _advance(db: aiosqlite.Connection, seen: int, report_id: int) -> bool:
    cursor = await db.execute("UPDATE event_report_cursor SET last_report_id = ? WHERE last_report_id = ?",
                              (report_id, seen))
    return cursor.rowcount == 1


class HomeserverReports:
    def __init__(self, context: BotContext, reports: Reports):
        self.context = context
        self.reports = reports
        self.enabled: bool | None = None  # None until the first check
        self.checked_at: datetime | None = None

    async def start(self) -> None:
        await self._check_access()

    async def _check_access(self) -> None:
        """Find out whether the account may read reports, and say so when that changes, not at every check."""
        self.checked_at = self.context.clock.now()
        try:
            await self.context.rooms.event_reports(0, limit=1)
        except MatrixError as error:
            if not error.permanent:
                self.enabled = True  # a passing outage: the sweep will try
                return
            self._lost_access()
            return
        if not self.enabled:
            log.info("forwarding the homeserver's event reports to the staff room")
        self.enabled = True

    def _lost_access(self) -> None:
        if self.enabled is not False:
            log.warning("the host bot's account %s is not a server admin, so reports made with Element's Report "
                        "button are not forwarded to the staff room (only !report is); see the README",
                        self.context.account)
        self.enabled = False

    async def poll(self) -> None:
        """Sweep: forward reports newer than the last forwarded one, oldest first, one transaction each."""
        if not self.enabled:
            if self.checked_at and self.context.clock.now() - self.checked_at < RECHECK_ACCESS_EVERY:
                return
            await self._check_access()
            if not self.enabled:
                return
        async with self.context.store.read() as db, db.execute(
            "SELECT last_report_id FROM event_report_cursor"
        ) as cursor:
            row = await cursor.fetchone()
        seen = row[0] if row else 0
        try:
            reports = await self.context.rooms.event_reports(seen)
        except MatrixError as error:
            if error.permanent:
                self._lost_access()
                return
            raise
        for report in reports:
            report_id, room_id, event_id, author = (report.get(k) for k in ("id", "room_id", "event_id", "sender"))
            if not isinstance(report_id, int) or report_id <= seen:
                continue
            effects = Effects(self.context.account)
            if all(isinstance(v, str) and v for v in (room_id, event_id, author)):
                reason = report.get("reason")
                await self.reports.file(effects, str(room_id), str(event_id), str(author),
                                        reason=reason[:MAX_REASON] if isinstance(reason, str) and reason else None,
                                        source="homeserver")
            if not await self.context.work.commit(effects, guard=functools.partial(_advance, seen=seen,
                                                                                  report_id=report_id)):
                return  # another pass got there first
            seen = report_id
