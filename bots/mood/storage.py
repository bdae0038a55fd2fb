"""Mood state. Today's answers carry a keyed hash of the member (the day's key lives in `mood_keys`),
never their ID; at rotation the key is overwritten and deleted and the day's answers go, leaving only
the tallies that were published. What is linked to a member (preferences, energy for 24 hours, a shared
record they turned on) is kept apart, in tables the personal-data registry covers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bothy.storage.database import ReadStore
from bots.mood.policy import ENERGIES, Tally

KEY_BYTES = 32
VOTER_BYTES = 16
NO_ROOM = ""  # the answer itself, kept whatever rooms the member is in, so a later answer can merge with it
ENERGY_TTL_MS = 24 * 3_600_000


@dataclass(frozen=True)
class MoodPrefs:
    prompt: bool = False
    explained: bool = False
    share: bool = False
    share_alerted: bool = False


def voter_of(key: bytes, user_id: str) -> bytes:
    """One member's mark for one day: without that day's key, nobody can tell whose it is."""
    return hmac.new(key, user_id.encode(), hashlib.sha256).digest()[:VOTER_BYTES]


class TodaysAnswers:
    """`mood_answers` hold no user ID, yet while the day's key lasts a member's answer can be found as the bot
    finds it on every answer: `!mydata` shows it, and `!forget me` takes it back at once, not at midnight."""

    @staticmethod
    async def _marks(db: aiosqlite.Connection, user_id: str) -> list[tuple[int, bytes]]:
        async with db.execute("SELECT day, key FROM mood_keys") as cursor:
            return [(day, voter_of(bytes(key), user_id)) for day, key in await cursor.fetchall()]

    async def export(self, db: aiosqlite.Connection, user_id: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for day, voter in await self._marks(db, user_id):
            async with db.execute("SELECT room_id, mood, energy FROM mood_answers WHERE day = ? AND voter = ? "
                                  "ORDER BY room_id", (day, voter)) as cursor:
                rows += [{"day": day, "room_id": room_id or None, "mood": mood, "energy": energy}
                         for room_id, mood, energy in await cursor.fetchall()]
        return rows

    async def erase(self, db: aiosqlite.Connection, user_id: str) -> int:
        erased = 0
        for day, voter in await self._marks(db, user_id):
            cursor = await db.execute("DELETE FROM mood_answers WHERE day = ? AND voter = ?", (day, voter))
            erased += cursor.rowcount
        return erased


class MoodRepository:
    """Reads here; writes are static, run inside the caller's unit of work."""

    def __init__(self, database: ReadStore):
        self.database = database

    # --- anonymous answers -------------------------------------------------------------------

    @staticmethod
    async def rotate(db: aiosqlite.Connection, today: int) -> None:
        """Destroy every earlier day's key (overwritten, then deleted) and that day's answers."""
        await db.execute("UPDATE mood_keys SET key = zeroblob(length(key)) WHERE day < ?", (today,))
        await db.execute("DELETE FROM mood_keys WHERE day < ?", (today,))
        await db.execute("DELETE FROM mood_answers WHERE day < ?", (today,))

    @staticmethod
    async def _key(db: aiosqlite.Connection, day: int) -> bytes:
        await MoodRepository.rotate(db, day)
        await db.execute("INSERT OR IGNORE INTO mood_keys (day, key) VALUES (?, ?)",
                         (day, secrets.token_bytes(KEY_BYTES)))
        async with db.execute("SELECT key FROM mood_keys WHERE day = ?", (day,)) as cursor:
            row = await cursor.fetchone()
        assert row is not None  # inserted just above if it was missing
        return bytes(row[0])

    @staticmethod
    async def answer(db: aiosqlite.Connection, user_id: str, day: int, rooms: Iterable[str],
                     mood: int | None = None, energy: str | None = None) -> None:
        """Today's answer for each of `rooms`, replacing the member's earlier one; a mood without an energy
        (or the reverse) keeps the other half of the earlier answer."""
        voter = voter_of(await MoodRepository._key(db, day), user_id)
        async with db.execute("SELECT mood, energy FROM mood_answers WHERE day = ? AND voter = ? AND room_id = ?",
                              (day, voter, NO_ROOM)) as cursor:
            earlier = await cursor.fetchone()
        if earlier is not None:
            mood = earlier[0] if mood is None else mood
            energy = earlier[1] if energy is None else energy
        await db.execute("DELETE FROM mood_answers WHERE day = ? AND voter = ?", (day, voter))
        counted = set(rooms) - {NO_ROOM}
        await db.executemany(
            "INSERT INTO mood_answers (day, voter, room_id, mood, energy, spread) VALUES (?, ?, ?, ?, ?, ?)",
            [(day, voter, room, mood, energy, len(counted)) for room in {NO_ROOM, *counted}],
        )

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """One read transaction for several reads, so they all see the same answers: tallies and the overlaps
        between rooms must agree, or a room can look contained in another when it is not. (WAL: answers go on
        being written meanwhile.)"""
        async with self.database.scan() as db:
            await db.execute("BEGIN")
            try:
                yield db
            finally:
                await db.execute("ROLLBACK")

    @asynccontextmanager
    async def _scan(self, db: aiosqlite.Connection | None) -> AsyncIterator[aiosqlite.Connection]:
        if db is not None:
            yield db
        else:
            async with self.database.scan() as scanner:
                yield scanner

    async def tallies(self, day: int, db: aiosqlite.Connection | None = None) -> dict[str, Tally]:
        """Each room's tally for a day, from the answers that give a mood (with their energies, where given); `db`: a
        `snapshot()` to read in. An energy alone is left out of the weather: counted as a contributor, four energies
        and one mood showed that one person's mood as the room's (a spec auditor's, thirty-second session), so every
        figure shown, and the k and overlap checks over them (`answered_elsewhere`, `shared_contributors`), is of the
        same people: those who gave a mood."""
        counts: dict[str, list[int]] = {}
        async with self._scan(db) as db, db.execute(
            "SELECT room_id, mood, energy, COUNT(*) FROM mood_answers WHERE day = ? AND room_id != ? "
            "AND mood IS NOT NULL GROUP BY room_id, mood, energy", (day, NO_ROOM),
        ) as cursor:
            fetched = await cursor.fetchall()  # one hop to the database thread, not one per row
        for room, mood, energy, count in fetched:
            row = counts.setdefault(room, [0] * 9)
            row[0] += count
            if mood is not None:
                row[mood] += count
            if energy in ENERGIES:
                row[6 + ENERGIES.index(energy)] += count
        return {room: _tally(row) for room, row in counts.items()}

    async def answered_elsewhere(self, day: int, db: aiosqlite.Connection | None = None) -> dict[str, int]:
        """For each room, how many of its contributors that day also count in another room."""
        async with self._scan(db) as db, db.execute(
            "SELECT room_id, COUNT(*) FROM mood_answers WHERE day = ? AND room_id != ? AND spread > 1 "
            "AND mood IS NOT NULL GROUP BY room_id", (day, NO_ROOM),
        ) as cursor:
            return {row[0]: row[1] for row in await cursor.fetchall()}

    async def shared_contributors(self, day: int, rooms: Iterable[str],
                                  db: aiosqlite.Connection | None = None) -> list[list[str]]:
        """For each contributor in two or more rooms that day, one of them in `rooms`: all the rooms they
        count in (no mark of who: just the rooms)."""
        async with self._scan(db) as db, db.execute(
            "SELECT group_concat(room_id, ' ') FROM mood_answers WHERE day = ? AND room_id != ? AND spread > 1 "
            "AND mood IS NOT NULL GROUP BY voter HAVING MAX(room_id IN (SELECT value FROM json_each(?)))",
            (day, NO_ROOM, json.dumps(sorted(rooms))),
        ) as cursor:
            return [row[0].split(" ") for row in await cursor.fetchall()]

    async def frozen(self, day: int) -> bool:
        async with self.database.read() as db, db.execute(
            "SELECT frozen FROM mood_keys WHERE day = ?", (day,)
        ) as cursor:
            row = await cursor.fetchone()
        return bool(row and row[0])

    @staticmethod
    async def freeze(db: aiosqlite.Connection, day: int, published: dict[str, Tally]) -> bool:
        """Close the day's figures: the published tallies are kept, and the day is never posted again.
        False (and nothing written) when the day was closed already, say by a rerun."""
        await MoodRepository._key(db, day)
        cursor = await db.execute("UPDATE mood_keys SET frozen = 1 WHERE day = ? AND frozen = 0", (day,))
        if not cursor.rowcount:
            return False
        await db.executemany(
            "INSERT INTO mood_days VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(room, day, t.contributors, *t.moods, *t.energies) for room, t in sorted(published.items())],
        )
        return True

    async def published(self, room_id: str, from_day: int) -> dict[int, Tally]:
        async with self.database.read() as db, db.execute(
            "SELECT day, contributors, mood1, mood2, mood3, mood4, mood5, low, medium, high FROM mood_days "
            "WHERE room_id = ? AND day >= ? ORDER BY day", (room_id, from_day),
        ) as cursor:
            return {row[0]: _tally(list(row[1:])) for row in await cursor.fetchall()}

    async def reported_rooms(self, from_day: int) -> list[str]:
        """Rooms with figures since `from_day`, the latest first."""
        async with self.database.read() as db, db.execute(
            "SELECT room_id FROM mood_days WHERE day >= ? GROUP BY room_id ORDER BY MAX(day) DESC, room_id",
            (from_day,)
        ) as cursor:
            return [row[0] for row in await cursor.fetchall()]

    @staticmethod
    async def prune(db: aiosqlite.Connection, today: int, keep_days_from: int, now_ms: int) -> None:
        """The daily rotation, old tallies and shared records, and energies past their 24 hours."""
        await MoodRepository.rotate(db, today)
        await db.execute("DELETE FROM mood_days WHERE day < ?", (keep_days_from,))
        await db.execute("DELETE FROM mood_shared WHERE day < ?", (keep_days_from,))
        await db.execute("DELETE FROM mood_energy WHERE set_at <= ?", (now_ms - ENERGY_TTL_MS,))

    # --- linked to a member ------------------------------------------------------------------

    async def prefs(self, user_id: str) -> MoodPrefs:
        async with self.database.read() as db, db.execute(
            "SELECT prompt, explained, share, share_alerted FROM mood_prefs WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return MoodPrefs(*(bool(value) for value in row)) if row else MoodPrefs()

    @staticmethod
    async def set_prompt(db: aiosqlite.Connection, user_id: str, on: bool) -> None:
        """Turning the prompt on also records that the member has been told what is kept."""
        await db.execute(
            "INSERT INTO mood_prefs (user_id, prompt, explained) VALUES (?, ?, ?) ON CONFLICT (user_id) "
            "DO UPDATE SET prompt = excluded.prompt, explained = MAX(explained, excluded.explained)",
            (user_id, int(on), int(on)),
        )

    @staticmethod
    async def set_share(db: aiosqlite.Connection, user_id: str, on: bool) -> None:
        """Turning sharing off deletes the shared record: peer workers see nothing more."""
        await db.execute(
            "INSERT INTO mood_prefs (user_id, share) VALUES (?, ?) ON CONFLICT (user_id) "
            "DO UPDATE SET share = excluded.share, share_alerted = 0", (user_id, int(on)),
        )
        if not on:
            await db.execute("DELETE FROM mood_shared WHERE user_id = ?", (user_id,))

    @staticmethod
    async def take_due_prompts(db: aiosqlite.Connection, day: int, after: int, limit: int) -> tuple[list[str], int]:
        """Up to `limit` members who asked for the daily prompt and have not had today's, in order from
        position `after`, marked as prompted; and the position to go on from. Run it in the commit that
        owes their prompts: then each is prompted once. A member new to `mood_prefs` who turns the prompt on
        meanwhile gets a later row, so a later batch; one whose row the sweep has passed waits for tomorrow,
        as if they had asked a moment after the sweep."""
        async with db.execute(
            "SELECT rowid, user_id FROM mood_prefs WHERE rowid > ? AND prompt = 1 "
            "AND (prompted_day IS NULL OR prompted_day < ?) ORDER BY rowid LIMIT ?", (after, day, limit),
        ) as cursor:
            rows = list(await cursor.fetchall())
        if not rows:
            return [], after
        await db.execute(  # inside the transaction, every due row in the range is one just read
            "UPDATE mood_prefs SET prompted_day = ? WHERE rowid BETWEEN ? AND ? AND prompt = 1 "
            "AND (prompted_day IS NULL OR prompted_day < ?)", (day, rows[0][0], rows[-1][0], day),
        )
        return [row[1] for row in rows], rows[-1][0]

    @staticmethod
    async def low_energy(db: aiosqlite.Connection, now_ms: int) -> frozenset[str]:
        """Members whose energy, said in the last 24 hours, is low (a day's answers at most: older rows go)."""
        async with db.execute("SELECT user_id FROM mood_energy WHERE level = 'low' AND set_at > ?",
                              (now_ms - ENERGY_TTL_MS,)) as cursor:
            return frozenset(row[0] for row in await cursor.fetchall())

    @staticmethod
    async def set_energy(db: aiosqlite.Connection, user_id: str, level: str, now_ms: int) -> None:
        await db.execute("INSERT OR REPLACE INTO mood_energy (user_id, level, set_at) VALUES (?, ?, ?)",
                         (user_id, level, now_ms))

    async def energy(self, user_id: str, now_ms: int) -> str | None:
        """Today's energy, for 24 hours after it was set; after that it is as if never said."""
        async with self.database.read() as db, db.execute(
            "SELECT level FROM mood_energy WHERE user_id = ? AND set_at > ?", (user_id, now_ms - ENERGY_TTL_MS)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    @staticmethod
    async def share_mood(db: aiosqlite.Connection, user_id: str, day: int, mood: int) -> None:
        await db.execute("INSERT OR REPLACE INTO mood_shared (user_id, day, mood) VALUES (?, ?, ?)",
                         (user_id, day, mood))

    async def shared_history(self, user_id: str, from_day: int) -> dict[int, int]:
        async with self.database.read() as db, db.execute(
            "SELECT day, mood FROM mood_shared WHERE user_id = ? AND day >= ?", (user_id, from_day)
        ) as cursor:
            return {row[0]: row[1] for row in await cursor.fetchall()}

    @staticmethod
    async def claim_share_alert(db: aiosqlite.Connection, user_id: str) -> bool:
        """Mark the member's low spell as alerted; False if it already was (another answer got there first)."""
        cursor = await db.execute("UPDATE mood_prefs SET share_alerted = 1 WHERE user_id = ? AND share_alerted = 0",
                                  (user_id,))
        return cursor.rowcount == 1

    @staticmethod
    async def end_share_spell(db: aiosqlite.Connection, user_id: str) -> None:
        """A day above low: the next low spell may alert again."""
        await db.execute("UPDATE mood_prefs SET share_alerted = 0 WHERE user_id = ?", (user_id,))

    # --- hang-out rooms ----------------------------------------------------------------------

    async def hangout_prompted(self, room_id: str) -> tuple[int, int] | None:
        """(when, which turn) the room was last prompted."""
        async with self.database.read() as db, db.execute(
            "SELECT prompted_at, turn FROM hangout_prompts WHERE room_id = ?", (room_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return (row[0], row[1]) if row else None

    @staticmethod
    async def mark_hangout_prompted(db: aiosqlite.Connection, room_id: str, at_ms: int, turn: int) -> None:
        await db.execute("INSERT OR REPLACE INTO hangout_prompts (room_id, prompted_at, turn) VALUES (?, ?, ?)",
                         (room_id, at_ms, turn))

    @staticmethod
    async def first_welcome(db: aiosqlite.Connection, user_id: str, room_id: str) -> bool:
        """True the first time only: a profile change is a 'join' too, and must not welcome again."""
        cursor = await db.execute("INSERT OR IGNORE INTO hangout_welcomed (user_id, room_id) VALUES (?, ?)",
                                  (user_id, room_id))
        return bool(cursor.rowcount)


def _tally(row: list[int]) -> Tally:
    return Tally(row[0], (row[1], row[2], row[3], row[4], row[5]), (row[6], row[7], row[8]))
