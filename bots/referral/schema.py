"""The referral bot's tables: anonymous counts, per-member cooldowns and opt-outs, the audit log of staff
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


async def _counts_not_rows(db: aiosqlite.Connection) -> None:
    """The anonymous log and feedback become counts per topic, place and hour. One row per suggestion sent was
    joinable to the member's cooldown (inserted in the same transaction) by row order, which gave away the room
    they wrote in and what they answered; a count has no order to join by."""
    await run_statements(
        db,
        """
        CREATE TABLE referral_sent_counts (
            topic TEXT NOT NULL,
            room_id TEXT NOT NULL,
            at INTEGER NOT NULL,
            sent INTEGER NOT NULL,
            PRIMARY KEY (topic, room_id, at)
        ) WITHOUT ROWID;
        INSERT INTO referral_sent_counts (topic, room_id, at, sent)
            SELECT topic, COALESCE(room_id, ''), at, COUNT(*) FROM referral_log GROUP BY 1, 2, 3;
        DROP TABLE referral_log;
        CREATE TABLE referral_feedback_counts (
            topic TEXT NOT NULL,
            answer TEXT NOT NULL,
            at INTEGER NOT NULL,
            answers INTEGER NOT NULL,
            PRIMARY KEY (topic, answer, at)
        ) WITHOUT ROWID;
        INSERT INTO referral_feedback_counts (topic, answer, at, answers)
            SELECT topic, answer, at, COUNT(*) FROM referral_feedback GROUP BY 1, 2, 3;
        DROP TABLE referral_feedback
        """,
    )


async def _counts_without_rooms(db: aiosqlite.Connection) -> None:
    """Suggestions sent are counted per topic and hour, no longer per room: no report reads the room, and in an hour
    when one member alone got a topic, their cooldown and the count together said where they had written."""
    await run_statements(
        db,
        """
        CREATE TABLE referral_sent_counts_by_topic (
            topic TEXT NOT NULL,
            at INTEGER NOT NULL,
            sent INTEGER NOT NULL,
            PRIMARY KEY (topic, at)
        ) WITHOUT ROWID;
        INSERT INTO referral_sent_counts_by_topic (topic, at, sent)
            SELECT topic, at, SUM(sent) FROM referral_sent_counts GROUP BY 1, 2;
        DROP TABLE referral_sent_counts;
        ALTER TABLE referral_sent_counts_by_topic RENAME TO referral_sent_counts
        """,
    )


MIGRATIONS = (
    Migration(2, "referrals: anonymous log, per-member cooldowns and opt-outs; audit log", _referrals),
    Migration(8, "referrals: check-backs after crisis lines; anonymous feedback on suggestions", _follow_up),
    Migration(23, "referrals: the anonymous log and feedback are counts, with no row order to join", _counts_not_rows),
    Migration(30, "referrals: suggestions sent are counted without the room", _counts_without_rooms),
)
PERSONAL_COLUMNS = {
    "referral_cooldowns": PersonalColumns(subject=("user_id",)),
    "referral_opt_outs": PersonalColumns(subject=("user_id",)),
    "referral_checkbacks": PersonalColumns(subject=("user_id",)),
}
# Counts of suggestions sent and of answers, per topic and hour. A suggestion row holds its topics and
# hour, never whom it went to, under a random number (a sequential one would line up with the cooldowns).
ANONYMOUS_TABLES = frozenset({"referral_sent_counts", "referral_suggestions", "referral_feedback_counts"})
