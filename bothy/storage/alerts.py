"""Staff alerts: who raised what, whether a peer worker has claimed it, whether the room was reminded."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bothy.storage.database import Database, scalar


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    account: str
    subject_user: str | None
    room_id: str | None
    event_id: str | None
    topic: str | None
    created_at: int
    staff_event_id: str | None
    claimed_by: str | None


_COLUMNS = "id, kind, account, subject_user, room_id, event_id, topic, created_at, staff_event_id, claimed_by"


class AlertRepository:
    def __init__(self, database: Database):
        self.database = database

    async def by_staff_event(self, staff_event_id: str) -> Alert | None:
        async with self.database.read() as db, db.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE staff_event_id = ?", (staff_event_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Alert(*row) if row else None

    async def unclaimed_count(self) -> int:
        async with self.database.read() as db:
            return await scalar(db, "SELECT COUNT(*) FROM alerts WHERE claimed_at IS NULL")

    async def unclaimed_unreminded(self, created_before_ms: int) -> list[Alert]:
        async with self.database.read() as db, db.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE claimed_at IS NULL AND reminded_at IS NULL "
            "AND staff_event_id IS NOT NULL AND created_at < ? ORDER BY id",
            (created_before_ms,),
        ) as cursor:
            return [Alert(*row) for row in await cursor.fetchall()]


async def mark_reminded(db: aiosqlite.Connection, alert_id: int, now_ms: int) -> bool:
    """Inside the caller's transaction, so the reminder row and this mark commit together."""
    cursor = await db.execute(
        "UPDATE alerts SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL", (now_ms, alert_id)
    )
    return cursor.rowcount == 1


async def claim(db: aiosqlite.Connection, alert_id: int, peer_worker: str, now_ms: int) -> bool:
    """Inside the caller's transaction, so the claim and the notices it owes commit together.
    First claim wins; False if someone claimed it already. `claimed_at` is what marks a claim:
    `claimed_by` is cleared when that peer worker asks to be forgotten, and the alert stays claimed."""
    cursor = await db.execute(
        "UPDATE alerts SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_at IS NULL",
        (peer_worker, now_ms, alert_id),
    )
    return cursor.rowcount == 1
