"""The host bot's tables and which columns can name a member.

A request to be forgotten lives for minutes. Interests and the invitations preference are the member's own;
nobody else ever sees them.
"""

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


async def _interests(db: aiosqlite.Connection) -> None:
    """Tags by member; the (tag, user) index is what matching a new group's tags reads."""
    await run_statements(
        db,
        """
        CREATE TABLE interests (
            user_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            added_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX interests_tag ON interests (tag, user_id);
        CREATE TABLE interest_invites (
            user_id TEXT PRIMARY KEY,
            invites INTEGER NOT NULL
        )
        """,
    )


MIGRATIONS = (
    Migration(7, "host: erasure requests waiting for confirmation", _erasure_requests),
    Migration(8, "host: interest tags and whether a member wants invitations to new groups", _interests),
)
PERSONAL_COLUMNS = {
    "erasure_requests": PersonalColumns(subject=("user_id",)),
    "interests": PersonalColumns(subject=("user_id",)),
    "interest_invites": PersonalColumns(subject=("user_id",)),
}
