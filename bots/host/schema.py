"""The host bot's table: a member's request to be forgotten, waiting for their confirmation. It names the
member and lives for minutes: confirmed, expired or superseded, the row goes."""

from __future__ import annotations

import aiosqlite

from bothy.storage.migrations import Migration, run_statements
from bothy.storage.personal_data import PersonalColumns


async def _erasure_requests(db: aiosqlite.Connection) -> None:
    await run_statements(
        db,
        """
        CREATE TABLE erasure_requests (
            user_id TEXT PRIMARY KEY,
            requested_at INTEGER NOT NULL
        )
        """,
    )


MIGRATIONS = (Migration(7, "host: erasure requests waiting for confirmation", _erasure_requests),)
PERSONAL_COLUMNS = {"erasure_requests": PersonalColumns(subject=("user_id",))}
