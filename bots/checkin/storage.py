"""Check-in state: activity counters and last-seen times (never text), preferences, check-ins sent and
their answers, and members' stress links with a rolling summary of readings (never the readings).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import NamedTuple

import aiosqlite

from bothy.storage.database import ReadStore, scalar

DAY_MS = 86_400_000


class ActivityRow(NamedTuple):
    """A tuple, not a dataclass: a sweep builds one per member, 100,000 at a time."""

    user_id: str
    first_seen_at: int
    last_active_at: int | None
    last_read_at: int | None
    recent: int
    baseline: int


@dataclass(frozen=True)
class Checkin:
    id: int
    user_id: str
    sent_at: int
    answer: str | None


@dataclass(frozen=True)
class StressLink:
    user_id: str
    webhook_id: str
    token_hash: str
    threshold: int


@dataclass(frozen=True)
class StressSummary:
    readings: int
    last_at: int
    last_level: int
    average: float
    above_since: int | None
    alerted: bool


class CheckinRepository:
    """Reads here; writes are static, run inside the caller's unit of work."""

    def __init__(self, database: ReadStore):
        self.database = database

    # --- activity ----------------------------------------------------------------------------

    @staticmethod
    async def count_activity(db: aiosqlite.Connection, user_id: str, room_id: str, kind: str, now_ms: int) -> None:
        """One message or reaction: a counter in today's bucket and the last-active time."""
        column = {"message": "messages", "reaction": "reactions"}[kind]
        await db.execute(
            f"INSERT INTO activity (user_id, room_id, day, {column}) VALUES (?, ?, ?, 1) "
            f"ON CONFLICT (user_id, room_id, day) DO UPDATE SET {column} = {column} + 1",
            (user_id, room_id, now_ms // DAY_MS),
        )
        await db.execute(
            "INSERT INTO presence (user_id, room_id, first_seen_at, last_active_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, room_id) DO UPDATE SET last_active_at = MAX(COALESCE(last_active_at, 0), "
            "excluded.last_active_at)",
            (user_id, room_id, now_ms, now_ms),
        )

    @staticmethod
    async def saw_reading(db: aiosqlite.Connection, user_id: str, room_id: str, at_ms: int) -> None:
        await db.execute(
            "INSERT INTO presence (user_id, room_id, first_seen_at, last_read_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, room_id) DO UPDATE SET last_read_at = MAX(COALESCE(last_read_at, 0), "
            "excluded.last_read_at)",
            (user_id, room_id, at_ms, at_ms),
        )

    async def activity_summary(self, recent_from_day: int, baseline_from_day: int) -> list[ActivityRow]:
        """Per member, across rooms: recent and baseline counts, first seen, last active and last read.

        Two streaming GROUP BYs (each table scanned in key order), run side by side on scan
        connections and merged here: faster than a join, and event handling goes on meanwhile.
        """
        async def counts() -> dict[str, tuple[int, int]]:
            async with self.database.scan() as db, db.execute(
                "SELECT user_id, SUM(CASE WHEN day >= ? THEN messages + reactions ELSE 0 END), "
                "SUM(CASE WHEN day < ? THEN messages + reactions ELSE 0 END) "
                "FROM activity WHERE day >= ? GROUP BY user_id",
                (recent_from_day, recent_from_day, baseline_from_day),
            ) as cursor:
                return {row[0]: (row[1], row[2]) for row in await cursor.fetchall()}

        async def seen() -> list[aiosqlite.Row]:
            async with self.database.scan() as db, db.execute(
                "SELECT user_id, MIN(first_seen_at), MAX(last_active_at), MAX(last_read_at) "
                "FROM presence GROUP BY user_id"
            ) as cursor:
                return list(await cursor.fetchall())

        activity, presence = await asyncio.gather(counts(), seen())
        return [ActivityRow(user, first, active, read, *activity.get(user, (0, 0)))
                for user, first, active, read in presence]

    @staticmethod
    async def left_room(db: aiosqlite.Connection, user_id: str, room_id: str) -> None:
        """A member who left a room is no longer in it: its presence and counters go, so someone in no
        community room has no presence left and is never checked in."""
        await db.execute("DELETE FROM presence WHERE user_id = ? AND room_id = ?", (user_id, room_id))
        await db.execute("DELETE FROM activity WHERE user_id = ? AND room_id = ?", (user_id, room_id))

    @staticmethod
    async def prune(db: aiosqlite.Connection, activity_before_day: int, checkins_before_ms: int,
                    presence_before_ms: int) -> None:
        """Retention: counters older than any baseline needs, old check-ins, and presence in rooms where a
        member has not been seen (joining, writing or reading) for a long time."""
        await db.execute("DELETE FROM activity WHERE day < ?", (activity_before_day,))
        await db.execute("DELETE FROM checkins WHERE sent_at < ?", (checkins_before_ms,))
        await db.execute(
            "DELETE FROM presence WHERE MAX(first_seen_at, COALESCE(last_active_at, 0), COALESCE(last_read_at, 0)) < ?",
            (presence_before_ms,),
        )

    # --- preferences and check-ins -----------------------------------------------------------

    async def preferences(self) -> dict[str, tuple[bool, int | None]]:
        async with self.database.read() as db, db.execute(
            "SELECT user_id, enabled, paused_until FROM checkin_prefs"
        ) as cursor:
            return {row[0]: (bool(row[1]), row[2]) for row in await cursor.fetchall()}

    async def preference(self, user_id: str) -> tuple[bool, int | None]:
        async with self.database.read() as db:
            return await CheckinRepository.preference_in(db, user_id)

    @staticmethod
    async def preference_in(db: aiosqlite.Connection, user_id: str) -> tuple[bool, int | None]:
        """Whether check-ins are on and until when paused, read in the caller's transaction."""
        async with db.execute("SELECT enabled, paused_until FROM checkin_prefs WHERE user_id = ?",
                              (user_id,)) as cursor:
            row = await cursor.fetchone()
        return (bool(row[0]), row[1]) if row else (True, None)

    @staticmethod
    async def pause(db: aiosqlite.Connection, user_id: str, until_ms: int) -> None:
        """No check-ins until then, or until a longer pause already set ends (🔕 on an old check-in must not cut short
        `!checkins pause 26w`); whether they are on at all is left as it was."""
        await db.execute(
            "INSERT INTO checkin_prefs (user_id, enabled, paused_until) VALUES (?, 1, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET paused_until = MAX(COALESCE(paused_until, 0), excluded.paused_until)",
            (user_id, until_ms))

    @staticmethod
    async def set_preference(db: aiosqlite.Connection, user_id: str, enabled: bool, paused_until: int | None) -> None:
        await db.execute(
            "INSERT INTO checkin_prefs (user_id, enabled, paused_until) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, paused_until = excluded.paused_until",
            (user_id, int(enabled), paused_until),
        )

    async def unanswered_for(self, user_id: str) -> tuple[int, str | None] | None:
        """When the member's last check-in not yet answered went, and which peer worker asked for it (None: the
        sweep)."""
        async with self.database.read() as db, db.execute(
            "SELECT sent_at, requested_by FROM checkins WHERE user_id = ? AND answer IS NULL "
            "ORDER BY sent_at DESC LIMIT 1", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    async def last_checkins(self) -> dict[str, int]:
        async with self.database.read() as db, db.execute(
            "SELECT user_id, MAX(sent_at) FROM checkins GROUP BY user_id"
        ) as cursor:
            return {row[0]: row[1] for row in await cursor.fetchall()}

    @staticmethod
    async def unanswered_since(db: aiosqlite.Connection, user_id: str, since_ms: int) -> bool:
        """Whether the member has had a check-in since then not yet answered, read in the transaction that would add
        one."""
        async with db.execute("SELECT 1 FROM checkins WHERE user_id = ? AND sent_at > ? AND answer IS NULL LIMIT 1",
                              (user_id, since_ms)) as cursor:
            return await cursor.fetchone() is not None

    @staticmethod
    async def still_due(db: aiosqlite.Connection, user_ids: list[str], since_ms: int, now_ms: int) -> list[str]:
        """Those of `user_ids` still due a check-in, read in the transaction that adds theirs: none since
        `since_ms` (two sweeps that overlap, or a sweep and `!checkin`, cannot both check a member in), check-ins
        neither turned off nor paused, and still here (a member erased mid-sweep, or gone from every room, has no
        presence left). Not by their activity: counters go after nine weeks, and a member still silent when a pause
        ended was never checked in again (a spec auditor's, thirty-second session)."""
        async with db.execute(
            "SELECT value FROM json_each(?) AS member "
            "WHERE NOT EXISTS (SELECT 1 FROM checkins WHERE user_id = member.value AND sent_at > ?) "
            "AND NOT EXISTS (SELECT 1 FROM checkin_prefs WHERE user_id = member.value "
            "                AND (enabled = 0 OR paused_until > ?)) "
            "AND EXISTS (SELECT 1 FROM presence WHERE user_id = member.value)",
            (json.dumps(user_ids), since_ms, now_ms),
        ) as cursor:
            due = {row[0] for row in await cursor.fetchall()}
        return [user_id for user_id in user_ids if user_id in due]

    @staticmethod
    async def add_checkins(db: aiosqlite.Connection, user_ids: list[str], now_ms: int,
                           requested_by: str | None = None) -> list[int]:
        """Record check-ins (one statement however many) and return their IDs, in order."""
        first = await scalar(db, "SELECT COALESCE(MAX(id), 0) FROM checkins") + 1
        ids = list(range(first, first + len(user_ids)))
        await db.executemany("INSERT INTO checkins (id, user_id, sent_at, requested_by) VALUES (?, ?, ?, ?)",
                             [(i, user, now_ms, requested_by) for i, user in zip(ids, user_ids, strict=True)])
        return ids

    async def checkin(self, checkin_id: int) -> Checkin | None:
        async with self.database.read() as db, db.execute(
            "SELECT id, user_id, sent_at, answer FROM checkins WHERE id = ?", (checkin_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Checkin(*row) if row else None

    @staticmethod
    async def answer(db: aiosqlite.Connection, checkin_id: int, answer: str, now_ms: int) -> None:
        await db.execute("UPDATE checkins SET answer = ?, answered_at = ? WHERE id = ?", (answer, now_ms, checkin_id))

    # --- stress ------------------------------------------------------------------------------

    @staticmethod
    async def link_stress(db: aiosqlite.Connection, link: StressLink, now_ms: int) -> None:
        await db.execute("DELETE FROM stress_links WHERE user_id = ?", (link.user_id,))
        await db.execute(
            "INSERT INTO stress_links (user_id, webhook_id, token_hash, threshold, created_at) VALUES (?, ?, ?, ?, ?)",
            (link.user_id, link.webhook_id, link.token_hash, link.threshold, now_ms),
        )

    @staticmethod
    async def unlink_stress(db: aiosqlite.Connection, user_id: str) -> None:
        await db.execute("DELETE FROM stress_links WHERE user_id = ?", (user_id,))

    @staticmethod
    async def set_threshold(db: aiosqlite.Connection, user_id: str, threshold: int) -> None:
        await db.execute("UPDATE stress_links SET threshold = ? WHERE user_id = ?", (threshold, user_id))

    async def stress_link(self, *, user_id: str | None = None, webhook_id: str | None = None) -> StressLink | None:
        column, value = ("user_id", user_id) if user_id else ("webhook_id", webhook_id)
        async with self.database.read() as db, db.execute(
            f"SELECT user_id, webhook_id, token_hash, threshold FROM stress_links WHERE {column} = ?", (value,)
        ) as cursor:
            row = await cursor.fetchone()
        return StressLink(*row) if row else None

    @staticmethod
    async def stress_token_is(db: aiosqlite.Connection, user_id: str, webhook_id: str, token_hash: str) -> bool:
        """Inside the caller's transaction: the member's link is still this one (not unlinked, nor linked anew)."""
        async with db.execute("SELECT 1 FROM stress_links WHERE user_id = ? AND webhook_id = ? AND token_hash = ?",
                              (user_id, webhook_id, token_hash)) as cursor:
            return await cursor.fetchone() is not None

    async def stress_summary(self, user_id: str) -> StressSummary | None:
        async with self.database.read() as db, db.execute(
            "SELECT readings, last_at, last_level, average, above_since, alerted FROM stress_summary "
            "WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return StressSummary(row[0], row[1], row[2], row[3], row[4], bool(row[5])) if row else None

    @staticmethod
    async def save_stress_summary(db: aiosqlite.Connection, user_id: str, summary: StressSummary) -> None:
        await db.execute(
            "INSERT OR REPLACE INTO stress_summary (user_id, readings, last_at, last_level, average, above_since, "
            "alerted) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user_id, summary.readings, summary.last_at, summary.last_level, summary.average, summary.above_since,
             int(summary.alerted)),
        )
