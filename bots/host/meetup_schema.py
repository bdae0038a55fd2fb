"""The host bot's meetup tables. `meetups`: one row per meetup posted in a room, with when each reminder was
owed, so each goes out once across restarts. `meetup_rsvps`: who said they are going (a ✅ on the post, whose
event ID is kept so that taking it back steps back, or `!meetup going`). Both are forgotten 30 days after the
meetup (`bots/host/meetups.py`)."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _meetups(db: aiosqlite.Connection) -> None:
    """AUTOINCREMENT: a meetup's ID is in its post's tag, so a forgotten meetup's ID is never given to a new one."""
    await run_statements(
        db,
        """
        CREATE TABLE meetups (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            room_id TEXT NOT NULL,
            starts_at INTEGER NOT NULL,
            place TEXT NOT NULL,
            creator TEXT,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('planned', 'cancelled')),
            day_reminder_at INTEGER,
            hour_reminder_at INTEGER
        );
        CREATE INDEX meetups_room ON meetups (room_id, starts_at);
        CREATE INDEX meetups_starts ON meetups (starts_at);
        CREATE INDEX meetups_creator ON meetups (creator);
        CREATE TABLE meetup_rsvps (
            meetup_id INTEGER NOT NULL REFERENCES meetups (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            going_at INTEGER NOT NULL,
            PRIMARY KEY (meetup_id, user_id)
        ) WITHOUT ROWID;
        CREATE INDEX meetup_rsvps_user ON meetup_rsvps (user_id)
        """,
    )


async def _rsvp_reactions(db: aiosqlite.Connection) -> None:
    """The ✅ a member said they were going with: taking it back (Element redacts it) is not going."""
    await run_statements(
        db,
        """
        ALTER TABLE meetup_rsvps ADD COLUMN reaction TEXT;
        CREATE INDEX meetup_rsvps_reaction ON meetup_rsvps (reaction) WHERE reaction IS NOT NULL
        """,
    )


# SQLite's own counter behind AUTOINCREMENT: a table name and a number.
ANONYMOUS_TABLES = frozenset({"sqlite_sequence"})
MIGRATIONS = (Migration(16, "host: meetups in rooms, their reminders, and who is going", _meetups),
              Migration(27, "host: the ✅ each RSVP came with, so taking it back steps back", _rsvp_reactions))
PERSONAL_COLUMNS = {
    # Whoever added a meetup did it for the room: their export shows the meetups they added; erasing them clears
    # their ID, and the meetup goes ahead for those going.
    "meetups": PersonalColumns(staff=("creator",), staff_view=("creator", "starts_at", "place", "created_at",
                                                               "state")),
    "meetup_rsvps": PersonalColumns(subject=("user_id",)),
}
