"""The mood bot's tables, and which of them can name a member.

Anonymous by design: today's answers (`mood_answers`, keyed by a daily keyed hash, never a user ID), the
day's key (`mood_keys`, destroyed at rotation), the published daily tallies (`mood_days`) and when each
hang-out room was last prompted. Linked, and so covered by `!mydata` and `!forget me`: prompt and sharing
preferences, today's energy (24 hours), the record a member chose to share with peer workers, and which
hang-out rooms have welcomed a member.
"""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _mood(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE mood_keys (
            day INTEGER PRIMARY KEY,
            key BLOB NOT NULL,
            frozen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE mood_answers (
            day INTEGER NOT NULL,
            voter BLOB NOT NULL,
            room_id TEXT NOT NULL,
            mood INTEGER,
            energy TEXT,
            PRIMARY KEY (day, voter, room_id)
        ) WITHOUT ROWID;
        CREATE TABLE mood_days (
            room_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            contributors INTEGER NOT NULL,
            mood1 INTEGER NOT NULL, mood2 INTEGER NOT NULL, mood3 INTEGER NOT NULL,
            mood4 INTEGER NOT NULL, mood5 INTEGER NOT NULL,
            low INTEGER NOT NULL, medium INTEGER NOT NULL, high INTEGER NOT NULL,
            PRIMARY KEY (room_id, day)
        ) WITHOUT ROWID;
        CREATE TABLE mood_prefs (
            user_id TEXT PRIMARY KEY,
            prompt INTEGER NOT NULL DEFAULT 0,
            explained INTEGER NOT NULL DEFAULT 0,
            share INTEGER NOT NULL DEFAULT 0,
            share_alerted INTEGER NOT NULL DEFAULT 0,
            prompted_day INTEGER
        );
        CREATE INDEX mood_prefs_prompt ON mood_prefs (prompted_day) WHERE prompt = 1;
        CREATE TABLE mood_energy (
            user_id TEXT PRIMARY KEY,
            level TEXT NOT NULL,
            set_at INTEGER NOT NULL
        );
        CREATE TABLE mood_shared (
            user_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            mood INTEGER NOT NULL,
            PRIMARY KEY (user_id, day)
        ) WITHOUT ROWID;
        CREATE TABLE hangout_prompts (
            room_id TEXT PRIMARY KEY,
            prompted_at INTEGER NOT NULL,
            turn INTEGER NOT NULL
        );
        CREATE TABLE hangout_welcomed (
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            PRIMARY KEY (user_id, room_id)
        ) WITHOUT ROWID
        """,
    )


async def _answers_by_room(db: aiosqlite.Connection) -> None:
    """The weather reads a day's answers room by room: an index in that order (covering, so no sort of a
    million rows), and `spread`, how many group rooms an answer counts in, so the rooms that complementary
    suppression must look at closely are found from the index alone (see `policy.exposed_rooms`). Rows
    from before this step get their spread counted once here."""
    await run_statements(
        db,
        """
        ALTER TABLE mood_answers ADD COLUMN spread INTEGER NOT NULL DEFAULT 0;
        UPDATE mood_answers SET spread = (
            SELECT COUNT(*) FROM mood_answers AS other
            WHERE other.day = mood_answers.day AND other.voter = mood_answers.voter AND other.room_id != ''
        );
        CREATE INDEX mood_answers_room ON mood_answers (day, room_id, mood, energy, spread)
        """,
    )


MIGRATIONS = (
    Migration(9, "mood: anonymous answers and daily keys, published tallies, preferences, energy, "
                 "shared records, hang-out prompts", _mood),
    Migration(17, "mood: answers indexed by room, with how many rooms each counts in", _answers_by_room),
)
PERSONAL_COLUMNS = {
    "mood_prefs": PersonalColumns(subject=("user_id",)),
    "mood_energy": PersonalColumns(subject=("user_id",)),
    "mood_shared": PersonalColumns(subject=("user_id",)),
    "hangout_welcomed": PersonalColumns(subject=("user_id",)),
}
ANONYMOUS_TABLES = frozenset({"mood_keys", "mood_answers", "mood_days", "hangout_prompts"})
