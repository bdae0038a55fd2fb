"""What Bothy has received and handled: sync checkpoints, handled event IDs, events awaiting a room key.

nio saves its sync token before callbacks run; Bothy keeps its own checkpoint, moved only once
every event of a batch has been handled, and a record of handled event IDs so replays do nothing.
The same table keeps marks under derived keys ("undecryptable:$id", "failed:2:$id", "set-aside:$id"):
they are idempotency and bookkeeping records of the same kind, pruned by the same retention sweep.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bothy.clock import hour_of
from bothy.storage.database import Database, scalar


@dataclass(frozen=True)
class PendingDecryption:
    account: str
    event_id: str
    room_id: str
    sender: str
    session_id: str
    received_at: int


class SyncStateRepository:
    def __init__(self, database: Database):
        self.database = database

    async def checkpoint(self, account: str) -> str | None:
        async with self.database.read() as db, db.execute(
            "SELECT since FROM sync_checkpoints WHERE account = ?", (account,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def save_checkpoint(self, account: str, since: str, now_ms: int) -> None:
        """With the hour it was saved: the retention sweep keeps the handled marks of events a restart could replay
        from it, however long Bothy was down (storage/retention.py)."""
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO sync_checkpoints (account, since, saved_at) VALUES (?, ?, ?) "
                "ON CONFLICT (account) DO UPDATE SET since = excluded.since, saved_at = excluded.saved_at",
                (account, since, hour_of(now_ms)),
            )

    async def is_handled(self, account: str, event_id: str) -> bool:
        async with self.database.read() as db, db.execute(
            "SELECT 1 FROM handled_events WHERE account = ? AND event_id = ?", (account, event_id)
        ) as cursor:
            return await cursor.fetchone() is not None

    @staticmethod
    async def mark_handled(db: aiosqlite.Connection, account: str, event_id: str, now_ms: int) -> bool:
        """Inside the caller's transaction; False if another task handled it first. Marks keep the hour, not the
        moment: the exact time would line up with whatever the event made then (a `!report`'s alert, which must not
        name the reporter)."""
        cursor = await db.execute(
            "INSERT OR IGNORE INTO handled_events (account, event_id, handled_at) VALUES (?, ?, ?)",
            (account, event_id, hour_of(now_ms)),
        )
        return cursor.rowcount == 1

    @staticmethod
    async def park(db: aiosqlite.Connection, pending: PendingDecryption) -> None:
        """Inside the caller's transaction; idempotent, and a no-op once the readable event was handled
        (its key came first), so a replayed undecryptable copy never waits for a key already used."""
        await db.execute(
            "INSERT OR IGNORE INTO pending_decryption "
            "(account, event_id, room_id, sender, session_id, received_at) "
            "SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM handled_events WHERE account = ? AND event_id = ?)",
            (pending.account, pending.event_id, pending.room_id, pending.sender, pending.session_id,
             pending.received_at, pending.account, pending.event_id),
        )

    async def parked_for_session(self, account: str, session_id: str) -> list[PendingDecryption]:
        return await self._parked("account = ? AND session_id = ?", (account, session_id))

    async def parked_before(self, account: str, received_before_ms: int) -> list[PendingDecryption]:
        return await self._parked("account = ? AND received_at < ?", (account, received_before_ms))

    async def _parked(self, where: str, params: tuple) -> list[PendingDecryption]:
        async with self.database.read() as db, db.execute(
            "SELECT account, event_id, room_id, sender, session_id, received_at "
            f"FROM pending_decryption WHERE {where} ORDER BY received_at",
            params,
        ) as cursor:
            return [PendingDecryption(*row) for row in await cursor.fetchall()]

    @staticmethod
    async def unpark(db: aiosqlite.Connection, account: str, event_id: str) -> bool:
        """Inside the caller's transaction; False if it was not parked (any more)."""
        cursor = await db.execute(
            "DELETE FROM pending_decryption WHERE account = ? AND event_id = ?", (account, event_id)
        )
        return cursor.rowcount == 1

    async def record_failure(self, account: str, key: str, now_ms: int, keep: int) -> int:
        """Count a failed attempt at handling an event, durably (so a restart does not reset it); returns
        how many are recorded, at most `keep`. Each is a mark in handled_events, pruned with the rest."""
        marks = [_failure_mark(key, n) for n in range(1, keep + 1)]
        async with self.database.transaction() as db:
            recorded = await scalar(
                db, f"SELECT COUNT(*) FROM handled_events WHERE account = ? AND event_id IN ({', '.join('?' * keep)})",
                (account, *marks))
            if recorded < keep:
                recorded += 1
                await db.execute(
                    "INSERT OR IGNORE INTO handled_events (account, event_id, handled_at) VALUES (?, ?, ?)",
                    (account, _failure_mark(key, recorded), hour_of(now_ms)),
                )
        return recorded

    @staticmethod
    async def mark_set_aside(db: aiosqlite.Connection, account: str, key: str, now_ms: int) -> None:
        """Inside the caller's transaction, with the event's handled mark: this one was given up on."""
        await db.execute(
            "INSERT OR IGNORE INTO handled_events (account, event_id, handled_at) VALUES (?, ?, ?)",
            (account, f"set-aside:{key}", hour_of(now_ms)),
        )


def _failure_mark(key: str, attempt: int) -> str:
    return f"failed:{attempt}:{key}"
