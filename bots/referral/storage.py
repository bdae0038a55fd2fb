"""Referral state: an anonymous log (topic, group room, time) and per-member cooldowns and opt-outs.
No message text, ever.
"""

from __future__ import annotations

import aiosqlite

from bothy.storage.database import ReadStore

HOUR_MS = 3_600_000


class ReferralRepository:
    """Reads here; writes are static, run inside the caller's unit of work."""

    def __init__(self, database: ReadStore):
        self.database = database

    async def last_sent(self, user_id: str, topic: str) -> int | None:
        async with self.database.read() as db, db.execute(
            "SELECT sent_at FROM referral_cooldowns WHERE user_id = ? AND topic = ?", (user_id, topic)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def opted_out(self, user_id: str) -> bool:
        async with self.database.read() as db, db.execute(
            "SELECT 1 FROM referral_opt_outs WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is not None

    @staticmethod
    async def record_sent(db: aiosqlite.Connection, user_id: str, topic: str, room_id: str | None,
                          now_ms: int) -> None:
        """The cooldown names the member; the log line does not (and has no room for a DM), and its time is
        the hour, not the moment: an exact time beside the room could be matched to the message."""
        await db.execute(
            "INSERT INTO referral_cooldowns (user_id, topic, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, topic) DO UPDATE SET sent_at = excluded.sent_at",
            (user_id, topic, now_ms),
        )
        await db.execute("INSERT INTO referral_log (topic, room_id, at) VALUES (?, ?, ?)",
                         (topic, room_id, now_ms - now_ms % HOUR_MS))

    @staticmethod
    async def set_opt_out(db: aiosqlite.Connection, user_id: str, opted_out: bool, now_ms: int) -> None:
        if opted_out:
            await db.execute("INSERT OR IGNORE INTO referral_opt_outs (user_id, since) VALUES (?, ?)",
                             (user_id, now_ms))
        else:
            await db.execute("DELETE FROM referral_opt_outs WHERE user_id = ?", (user_id,))

    @staticmethod
    async def prune_cooldowns(db: aiosqlite.Connection, older_than_ms: int) -> None:
        await db.execute("DELETE FROM referral_cooldowns WHERE sent_at < ?", (older_than_ms,))

    @staticmethod
    async def prune_log(db: aiosqlite.Connection, older_than_ms: int) -> None:
        await db.execute("DELETE FROM referral_log WHERE at < ?", (older_than_ms,))
