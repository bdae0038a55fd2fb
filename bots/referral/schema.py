"""The referral bot's tables: an anonymous log, per-member cooldowns and opt-outs, and the audit log of staff
referrals; and which of their columns can name a member (for export and erasure)."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _referrals(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE referral_log (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            room_id TEXT,
            at INTEGER NOT NULL
        );
        CREATE TABLE referral_cooldowns (
            user_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, topic)
        );
        CREATE INDEX referral_cooldowns_age ON referral_cooldowns (sent_at);
        CREATE TABLE referral_opt_outs (
            user_id TEXT PRIMARY KEY,
            since INTEGER NOT NULL
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            detail TEXT
        );
        CREATE INDEX audit_log_subject ON audit_log (subject)
        """,
    )


MIGRATIONS = (Migration(2, "referrals: anonymous log, per-member cooldowns and opt-outs; audit log", _referrals),)
PERSONAL_COLUMNS = {
    "referral_cooldowns": PersonalColumns(subject=("user_id",)),
    "referral_opt_outs": PersonalColumns(subject=("user_id",)),
}
ANONYMOUS_TABLES = frozenset({"referral_log"})
