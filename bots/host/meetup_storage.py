"""Meetups' reads over the read-only store, and their writes as static functions run inside a unit of work."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from bothy.storage.database import ReadStore

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Meetup:
    id: int
    room_id: str
    starts_at: int
    place: str
    creator: str | None
    created_at: int
    state: str  # planned or cancelled
    going: int  # how many said they are going


COLUMNS = ("m.id, m.room_id, m.starts_at, m.place, m.creator, m.created_at, m.state, "
           "(SELECT COUNT(*) FROM meetup_rsvps r WHERE r.meetup_id = m.id)")


async def _select(db: aiosqlite.Connection, where: str, parameters: tuple, limit: int) -> list[Meetup]:
    async with db.execute(
        f"SELECT {COLUMNS} FROM meetups m WHERE {where} ORDER BY m.starts_at, m.id LIMIT ?", (*parameters, limit)
    ) as cursor:
        return [Meetup(*row) for row in await cursor.fetchall()]


class MeetupRepository:
    def __init__(self, store: ReadStore):
        self.store = store

    async def _meetups(self, where: str, parameters: tuple = (), limit: int = 100) -> list[Meetup]:
        async with self.store.read() as db:
            return await _select(db, where, parameters, limit)

    async def by_id(self, meetup_id: int) -> Meetup | None:
        found = await self._meetups("m.id = ?", (meetup_id,))
        return found[0] if found else None

    async def upcoming(self, room_ids: Iterable[str], now_ms: int, limit: int = 20) -> list[Meetup]:
        rooms = sorted(room_ids)
        if not rooms:
            return []
        marks = ", ".join("?" for _ in rooms)
        return await self._meetups(f"m.state = 'planned' AND m.starts_at > ? AND m.room_id IN ({marks})",
                                   (now_ms, *rooms), limit)

    async def reminders_due(self, now_ms: int) -> list[Meetup]:
        """Planned meetups with a reminder whose time has come and that has not been owed (or skipped) yet."""
        return await self._meetups(
            "m.state = 'planned' AND ((m.day_reminder_at IS NULL AND m.starts_at <= ?) "
            "OR (m.hour_reminder_at IS NULL AND m.starts_at <= ?))", (now_ms + DAY_MS, now_ms + HOUR_MS))

    @staticmethod
    async def planned_in(db: aiosqlite.Connection, room_id: str, now_ms: int) -> list[Meetup]:
        """Every meetup still to come in a room, read in the transaction that cancels them (its group archived)."""
        return await _select(db, "m.state = 'planned' AND m.starts_at > ? AND m.room_id = ?", (now_ms, room_id),
                             limit=-1)  # SQLite: no limit

    @staticmethod
    async def add(db: aiosqlite.Connection, room_id: str, starts_at: int, place: str, creator: str,
                  now_ms: int) -> int:
        """A new meetup. One less than a day away gets no day-before reminder: the post itself is that notice."""
        skip_day = now_ms if starts_at - now_ms <= DAY_MS else None
        cursor = await db.execute(
            "INSERT INTO meetups (room_id, starts_at, place, creator, created_at, state, day_reminder_at) "
            "VALUES (?, ?, ?, ?, ?, 'planned', ?)", (room_id, starts_at, place, creator, now_ms, skip_day))
        return int(cursor.lastrowid or 0)

    @staticmethod
    async def rsvp(db: aiosqlite.Connection, meetup_id: int, room_id: str, user_id: str, now_ms: int,
                   reaction: str | None = None) -> None:
        """Going, if the meetup is in that room, still to come and not cancelled (a ✅ may come after a
        cancellation, or name a post in another room: Matrix does not check a reaction's target). Said with ✅s
        (`reaction`, each one's event ID: on the post and on a reminder), taking them all back is not going
        (`reaction_taken_back`); said in words, it is kept until said otherwise. The latest says: words after a ✅
        keep the member going whatever becomes of the ✅, and a ✅ after words can be taken back."""
        await db.execute(
            "INSERT INTO meetup_rsvps (meetup_id, user_id, going_at, reaction) SELECT id, ?, ?, ? FROM meetups "
            "WHERE id = ? AND room_id = ? AND state = 'planned' AND starts_at > ? "
            "ON CONFLICT (meetup_id, user_id) DO UPDATE SET reaction = CASE "
            "WHEN excluded.reaction IS NULL OR reaction IS NULL THEN excluded.reaction "
            "WHEN instr(' ' || reaction || ' ', ' ' || excluded.reaction || ' ') > 0 THEN reaction "  # handled again
            "ELSE reaction || ' ' || excluded.reaction END",
            (user_id, now_ms, reaction, meetup_id, room_id, now_ms))

    @staticmethod
    async def reaction_taken_back(db: aiosqlite.Connection, room_id: str, reaction: str, user_id: str) -> None:
        """A ✅ an RSVP came with was redacted (unclicked) by the member: not going after all, once none is left (one
        on the post and one on a reminder: both show until both are taken back). Only theirs counts: a homeserver
        takes a redaction from anyone in the room, and clients only show it from those with the power."""
        async with db.execute(
            "SELECT meetup_id, reaction FROM meetup_rsvps WHERE user_id = ? AND instr(' ' || reaction || ' ', ?) > 0 "
            "AND meetup_id IN (SELECT id FROM meetups WHERE room_id = ?)", (user_id, f" {reaction} ", room_id)
        ) as cursor:
            rsvps = await cursor.fetchall()
        for meetup_id, reactions in rsvps:
            left = " ".join(event for event in reactions.split() if event != reaction)
            if left:
                await db.execute("UPDATE meetup_rsvps SET reaction = ? WHERE meetup_id = ? AND user_id = ?",
                                 (left, meetup_id, user_id))
            else:
                await db.execute("DELETE FROM meetup_rsvps WHERE meetup_id = ? AND user_id = ?", (meetup_id, user_id))

    @staticmethod
    async def not_going(db: aiosqlite.Connection, meetup_id: int, user_id: str) -> None:
        await db.execute("DELETE FROM meetup_rsvps WHERE meetup_id = ? AND user_id = ?", (meetup_id, user_id))

    @staticmethod
    async def cancel(db: aiosqlite.Connection, meetup_id: int) -> list[str] | None:
        """Cancel once: who was going, or None when it was already cancelled (someone got there first)."""
        cursor = await db.execute("UPDATE meetups SET state = 'cancelled' WHERE id = ? AND state = 'planned'",
                                  (meetup_id,))
        if cursor.rowcount != 1:
            return None
        async with db.execute("SELECT user_id FROM meetup_rsvps WHERE meetup_id = ? ORDER BY user_id",
                              (meetup_id,)) as rows:
            return [row[0] for row in await rows.fetchall()]

    @staticmethod
    async def reminded(db: aiosqlite.Connection, meetup_id: int, hour: bool, now_ms: int) -> bool:
        """Mark the reminder owed (the hour's also settles the day's, which would be late by then); True only
        the first time, and only while the meetup is still planned."""
        column = "hour_reminder_at" if hour else "day_reminder_at"
        cursor = await db.execute(
            f"UPDATE meetups SET {column} = ?, day_reminder_at = COALESCE(day_reminder_at, ?) "
            f"WHERE id = ? AND state = 'planned' AND {column} IS NULL", (now_ms, now_ms, meetup_id))
        return cursor.rowcount == 1

    @staticmethod
    async def forget_before(db: aiosqlite.Connection, before_ms: int) -> None:
        """Meetups that happened (or were to) before then, and with them who was going."""
        await db.execute("DELETE FROM meetups WHERE starts_at < ?", (before_ms,))
