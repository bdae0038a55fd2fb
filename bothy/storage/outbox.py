"""The persisted outbox: every message, reaction and redaction Bothy owes, until the homeserver has it.

Rows carry a transaction ID fixed at insert time, so a resend after a crash is deduplicated by
the homeserver instead of posted twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bothy.storage.database import Database


@dataclass(frozen=True)
class AlertRecord:
    kind: str
    subject_user: str | None = None
    room_id: str | None = None
    event_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """Something to send. Exactly one of room_id / to_user says where (to_user: the member's DM)."""

    account: str
    action: str  # message | reaction | redaction
    content: dict[str, Any]
    room_id: str | None = None
    to_user: str | None = None
    target_event_id: str | None = None
    reactions: tuple[str, ...] = ()  # the bot's own reactions under this message, e.g. answer buttons
    alert: AlertRecord | None = None
    tag: str | None = None  # e.g. "checkin:42": once sent, the event ID is recorded against it


@dataclass(frozen=True)
class OutboxRow:
    id: int
    txn_id: str
    account: str
    room_id: str | None
    to_user: str | None
    action: str
    content: dict[str, Any]
    target_event_id: str | None
    parent_id: int | None
    alert_id: int | None
    attempts: int
    tag: str | None


class OutboxRepository:
    def __init__(self, database: Database):
        self.database = database

    @staticmethod
    async def enqueue(db: aiosqlite.Connection, items: list[Outgoing], now_ms: int) -> None:
        """Inside the caller's transaction, so what is owed commits with the state that owes it."""
        for item in items:
            alert_id = None
            if item.alert is not None:
                cursor = await db.execute(
                    "INSERT INTO alerts (kind, account, subject_user, room_id, event_id, topic, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (item.alert.kind, item.account, item.alert.subject_user, item.alert.room_id,
                     item.alert.event_id, item.alert.topic, now_ms),
                )
                alert_id = cursor.lastrowid
            parent_id = await _insert(db, item.account, item.action, item.content, item.room_id, item.to_user,
                                      item.target_event_id, None, alert_id, now_ms, item.tag)
            for key in item.reactions:
                content = {"m.relates_to": {"rel_type": "m.annotation", "key": key}}
                await _insert(db, item.account, "reaction", content, item.room_id, item.to_user, None,
                              parent_id, None, now_ms)

    async def due(self, now_ms: int, limit: int = 100) -> list[OutboxRow]:
        async with self.database.read() as db, db.execute(
            "SELECT id, txn_id, account, room_id, to_user, action, content, target_event_id, parent_id, "
            "alert_id, attempts, tag FROM outbox WHERE dead = 0 AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now_ms, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), *r[7:]) for r in rows]

    async def next_due_at(self) -> int | None:
        async with self.database.read() as db, db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE dead = 0"
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def delivered(self, row: OutboxRow, event_id: str, now_ms: int) -> None:
        async with self.database.transaction() as db:
            await db.execute("UPDATE outbox SET target_event_id = ? WHERE parent_id = ?", (event_id, row.id))
            if row.alert_id is not None:
                await db.execute("UPDATE alerts SET staff_event_id = ? WHERE id = ?", (event_id, row.alert_id))
            if row.tag is not None:
                await db.execute("INSERT OR REPLACE INTO sent_events (event_id, tag, sent_at) VALUES (?, ?, ?)",
                                 (event_id, row.tag, now_ms))
            await db.execute("DELETE FROM outbox WHERE id = ?", (row.id,))

    async def postpone(self, row: OutboxRow, until_ms: int, error: str, dead: bool = False) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, dead = ? "
                "WHERE id = ?",
                (until_ms, error[:200], int(dead), row.id),
            )
            if dead:  # reactions meant for a message that will never exist
                await db.execute("UPDATE outbox SET dead = 1 WHERE parent_id = ?", (row.id,))

    async def tag_of(self, event_id: str) -> str | None:
        """What a sent message was for (e.g. "checkin:42"), given the event ID the homeserver gave it."""
        async with self.database.read() as db, db.execute(
            "SELECT tag FROM sent_events WHERE event_id = ?", (event_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def pending_count(self) -> int:
        async with self.database.read() as db, db.execute("SELECT COUNT(*) FROM outbox WHERE dead = 0") as cursor:
            row = await cursor.fetchone()
        return row[0]


async def _insert(db: aiosqlite.Connection, account: str, action: str, content: dict[str, Any],
                  room_id: str | None, to_user: str | None, target_event_id: str | None,
                  parent_id: int | None, alert_id: int | None, now_ms: int, tag: str | None = None) -> int:
    cursor = await db.execute(
        "INSERT INTO outbox (txn_id, account, room_id, to_user, action, content, target_event_id, parent_id, "
        "alert_id, created_at, next_attempt_at, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (f"bothy-{uuid.uuid4().hex}", account, room_id, to_user, action, json.dumps(content), target_event_id,
         parent_id, alert_id, now_ms, now_ms, tag),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid
