"""The check-in bot's tables: activity counters and last-seen times (never text), preferences, check-ins and
their answers, sent events, stress links and summaries; and which columns can name a member."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _checkins(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE activity (
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            messages INTEGER NOT NULL DEFAULT 0,
            reactions INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, room_id, day)
        ) WITHOUT ROWID;
        CREATE INDEX activity_day ON activity (day);
        CREATE TABLE presence (
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            first_seen_at INTEGER NOT NULL,
            last_active_at INTEGER,
            last_read_at INTEGER,
            PRIMARY KEY (user_id, room_id)
        ) WITHOUT ROWID;
        CREATE TABLE checkin_prefs (
            user_id TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL DEFAULT 1,
            paused_until INTEGER
        );
        CREATE TABLE checkins (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            requested_by TEXT,
            answer TEXT,
            answered_at INTEGER
        );
        CREATE INDEX checkins_user ON checkins (user_id, sent_at);
        CREATE TABLE sent_events (
            event_id TEXT PRIMARY KEY,
            tag TEXT NOT NULL,
            sent_at INTEGER NOT NULL
        );
        CREATE TABLE stress_links (
            user_id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL,
            threshold INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE stress_summary (
            user_id TEXT PRIMARY KEY REFERENCES stress_links (user_id) ON DELETE CASCADE,
            readings INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            last_level INTEGER NOT NULL,
            average REAL NOT NULL,
            above_since INTEGER,
            alerted INTEGER NOT NULL DEFAULT 0
        )
        """,
    )


async def _stress_alerts_shared(db: aiosqlite.Connection) -> None:
    """A stress alert shares what the member chose to share: an erase takes it, as `!stress unlink` withdraws it."""
    await db.execute("UPDATE alerts SET shared = 1 WHERE kind = 'stress'")


MIGRATIONS = (
    Migration(3, "check-ins: activity counters, presence, preferences, check-ins, sent events, stress", _checkins),
    Migration(36, "check-ins: a stress alert goes with its member's erase", _stress_alerts_shared),
)
PERSONAL_COLUMNS = {
    "activity": PersonalColumns(subject=("user_id",)),
    "presence": PersonalColumns(subject=("user_id",)),
    "checkin_prefs": PersonalColumns(subject=("user_id",)),
    # A peer worker's `!checkin @member`: they see that they asked and when, never whom or the answer.
    "checkins": PersonalColumns(subject=("user_id",), staff=("requested_by",), staff_view=("requested_by", "sent_at")),
    "stress_summary": PersonalColumns(subject=("user_id",)),
    "stress_links": PersonalColumns(subject=("user_id",)),
}
