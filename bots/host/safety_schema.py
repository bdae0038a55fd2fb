"""The host bot's safety tables. `reports`: one row per reported message (room, event, author, how many
reports), never who reported it. `mutes`: an author muted in a room until a time, with the power level to
give back, so a sweep can undo it after a restart. `event_report_cursor`: the last homeserver report
forwarded, so each is forwarded once across restarts."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _reports(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE reports (
            event_id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            author TEXT NOT NULL,
            reports INTEGER NOT NULL,
            first_at INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            source TEXT NOT NULL DEFAULT 'command'
        );
        CREATE INDEX reports_author ON reports (author);
        CREATE TABLE mutes (
            room_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            until INTEGER NOT NULL,
            previous_level INTEGER,
            PRIMARY KEY (room_id, user_id)
        );
        CREATE INDEX mutes_due ON mutes (until);
        CREATE TABLE event_report_cursor (
            only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
            last_report_id INTEGER NOT NULL
        );
        INSERT INTO event_report_cursor (only_row, last_report_id) VALUES (1, 0)
        """,
    )


async def _mutes_by_account(db: aiosqlite.Connection) -> None:
    """The bot account that made each mute: only an account in the room can lift it (NULL: the host bot's)."""
    await run_statements(db, "ALTER TABLE mutes ADD COLUMN account TEXT")


MIGRATIONS = (Migration(14, "host: reported messages (never the reporter) and timed mutes", _reports),
              Migration(28, "host: the bot account that made each mute, which lifts it", _mutes_by_account))
ANONYMOUS_TABLES = frozenset({"event_report_cursor"})
PERSONAL_COLUMNS = {
    "reports": PersonalColumns(subject=("author",)),
    # The only record of the level to give back: `!forget me confirm` lifts the member's mutes before erasing.
    "mutes": PersonalColumns(subject=("user_id",),
                             owed="mute(s) to lift; each ends at its time, or at once on `!forget me confirm`"),
}
