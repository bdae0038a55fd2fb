"""Referral state: an anonymous log (topic, group room, time), per-member cooldowns and opt-outs,
and the audit log of staff referrals. No message text, ever.
"""

from __future__ import annotations

import aiosqlite

from bothy.storage.database import Database


class ReferralRepository:
    def __init__(self, database: Database):
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
        """The cooldown names the member; the log line does not (and has no room for a DM)."""
        await db.execute(
            "INSERT INTO referral_cooldowns (user_id, topic, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, topic) DO UPDATE SET sent_at = excluded.sent_at",
            (user_id, topic, now_ms),
        )
        await db.execute("INSERT INTO referral_log (topic, room_id, at) VALUES (?, ?, ?)", (topic, room_id, now_ms))

    @staticmethod
    async def set_opt_out(db: aiosqlite.Connection, user_id: str, opted_out: bool, now_ms: int) -> None:
        if opted_out:
            await db.execute("INSERT OR IGNORE INTO referral_opt_outs (user_id, since) VALUES (?, ?)",
                             (user_id, now_ms))
        else:
            await db.execute("DELETE FROM referral_opt_outs WHERE user_id = ?", (user_id,))

    @staticmethod
    async def audit(db: aiosqlite.Connection, actor: str, action: str, subject: str | None, detail: str | None,
                    now_ms: int) -> None:
        await db.execute("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                         (now_ms, actor, action, subject, detail))

    async def prune_cooldowns(self, older_than_ms: int) -> None:
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM referral_cooldowns WHERE sent_at < ?", (older_than_ms,))
