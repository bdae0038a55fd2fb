"""The referral bot's tables: an anonymous log, per-member cooldowns and opt-outs, the audit log of staff
referrals, check-backs after crisis lines and anonymous feedback on suggestions; and which of their columns
can name a member (for export and erasure)."""

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


async def _follow_up(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE referral_checkbacks (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            due_at INTEGER NOT NULL,
            sent_at INTEGER,
            answer TEXT,
            answered_at INTEGER
        );
        CREATE INDEX referral_checkbacks_due ON referral_checkbacks (sent_at, due_at);
        CREATE INDEX referral_checkbacks_user ON referral_checkbacks (user_id);
        CREATE TABLE referral_suggestions (
            id INTEGER PRIMARY KEY,
            topics TEXT NOT NULL,
            at INTEGER NOT NULL,
            answered INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX referral_suggestions_at ON referral_suggestions (at);
        CREATE TABLE referral_feedback (
            topic TEXT NOT NULL,
            answer TEXT NOT NULL,
            at INTEGER NOT NULL
        );
        CREATE INDEX referral_feedback_at ON referral_feedback (at)
        """,
    )


MIGRATIONS = (
    Migration(2, "referrals: anonymous log, per-member cooldowns and opt-outs; audit log", _referrals),
    Migration(8, "referrals: check-backs after crisis lines; anonymous feedback on suggestions", _follow_up),
)
PERSONAL_COLUMNS = {
    "referral_cooldowns": PersonalColumns(subject=("user_id",)),
    "referral_opt_outs": PersonalColumns(subject=("user_id",)),
    "referral_checkbacks": PersonalColumns(subject=("user_id",)),
}
# A suggestion row holds its topics and hour, never whom it went to; feedback is a topic, an answer and an hour.
ANONYMOUS_TABLES = frozenset({"referral_log", "referral_suggestions", "referral_feedback"})
