"""The room-climate tables: integers per room, category and hour, and when each room's last jump was.
Nothing in them names a member."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements


async def _climate(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE climate_hours (
            room_id TEXT NOT NULL,
            category TEXT NOT NULL,
            hour INTEGER NOT NULL,
            people INTEGER NOT NULL,
            PRIMARY KEY (room_id, category, hour)
        );
        CREATE INDEX climate_hours_age ON climate_hours (hour);
        CREATE TABLE climate_episodes (
            room_id TEXT NOT NULL,
            category TEXT NOT NULL,
            last_jump_hour INTEGER NOT NULL,
            PRIMARY KEY (room_id, category)
        )
        """,
    )


MIGRATIONS = (Migration(15, "referrals: room climate counts per hour (no member in them)", _climate),)
ANONYMOUS_TABLES = frozenset({"climate_hours", "climate_episodes"})
