"""The host bot's tables and which columns can name a member.

A request to be forgotten lives for minutes. Interests and the invitations preference are the member's own;
nobody else ever sees them. Groups belong to the community; invitations are the invited member's.
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


async def _groups(db: aiosqlite.Connection) -> None:
    """Groups members start, and the invitations each owes. A group belongs to the community, not to its
    creator: forgetting the creator clears their ID and keeps the group."""
    await run_statements(
        db,
        """
        CREATE TABLE group_rooms (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            slug TEXT NOT NULL,
            tags TEXT NOT NULL,
            creator TEXT,
            created_at INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'building', 'ready', 'declined', 'archiving',
                                                 'archived')),
            sensitive INTEGER NOT NULL,
            listed INTEGER NOT NULL,
            token TEXT NOT NULL UNIQUE,
            room_id TEXT UNIQUE,
            last_active_at INTEGER,
            dormant_asked_at INTEGER
        );
        CREATE INDEX group_rooms_creator ON group_rooms (creator, created_at);
        CREATE TABLE group_invites (
            group_id INTEGER NOT NULL REFERENCES group_rooms (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('interest', 'asked')),
            owed_at INTEGER NOT NULL,
            sent_at INTEGER,
            PRIMARY KEY (group_id, user_id)
        );
        CREATE INDEX group_invites_user ON group_invites (user_id, owed_at);
        CREATE INDEX group_invites_unsent ON group_invites (owed_at) WHERE sent_at IS NULL
        """,
    )


async def _welcomed(db: aiosqlite.Connection) -> None:
    """Who has had the welcome DM, so nobody gets it twice, across restarts."""
    await run_statements(db, "CREATE TABLE welcomed (user_id TEXT PRIMARY KEY, welcomed_at INTEGER NOT NULL)")


async def _private_offers(db: aiosqlite.Connection) -> None:
    """An invitation may be an offer: a sensitive group's, made by DM, since a room invitation is state everyone in
    the room sees, and would tell them the member's private interest."""
    await run_statements(
        db,
        """
        CREATE TABLE group_invites_with_offers (
            group_id INTEGER NOT NULL REFERENCES group_rooms (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('interest', 'asked', 'offer')),
            owed_at INTEGER NOT NULL,
            sent_at INTEGER,
            PRIMARY KEY (group_id, user_id)
        );
        INSERT INTO group_invites_with_offers (group_id, user_id, reason, owed_at, sent_at)
            SELECT group_id, user_id, reason, owed_at, sent_at FROM group_invites;
        DROP TABLE group_invites;
        ALTER TABLE group_invites_with_offers RENAME TO group_invites;
        CREATE INDEX group_invites_user ON group_invites (user_id, owed_at);
        CREATE INDEX group_invites_unsent ON group_invites (owed_at) WHERE sent_at IS NULL
        """,
    )


async def _offered_at(db: aiosqlite.Connection) -> None:
    """When the bot first approached a member unasked (an interest invitation or a private offer): the weekly limit
    counts these, and a member taking an offer up turns its row into a request without freeing its place."""
    await run_statements(
        db,
        """
        ALTER TABLE group_invites ADD COLUMN offered_at INTEGER;
        UPDATE group_invites SET offered_at = owed_at WHERE reason IN ('interest', 'offer');
        CREATE INDEX group_invites_offered ON group_invites (user_id, offered_at) WHERE offered_at IS NOT NULL
        """,
    )


MIGRATIONS = (
    Migration(7, "host: erasure requests waiting for confirmation", _erasure_requests),
    Migration(10, "host: interest tags and whether a member wants invitations to new groups", _interests),
    Migration(11, "host: groups members start, and the invitations they owe", _groups),
    Migration(12, "host: who has been welcomed", _welcomed),
    Migration(31, "host: a sensitive group's invitations are private offers", _private_offers),
    Migration(32, "host: when an invitation or offer was made unasked, for the weekly limit", _offered_at),
)
PERSONAL_COLUMNS = {
    "erasure_requests": PersonalColumns(subject=("user_id",)),
    "interests": PersonalColumns(subject=("user_id",)),
    "interest_invites": PersonalColumns(subject=("user_id",)),
    # The creator acted for the community: their export shows the groups they started; erasing them clears
    # their ID, and the group goes on for its members. A request still waiting for a peer worker, or declined, is
    # theirs alone and goes (its name may say much: "Sober October #alcohol"), or it could still be approved into a
    # room with no creator (a reviewer's).
    "group_rooms": PersonalColumns(staff=("creator",), staff_view=("creator", "name", "created_at", "state"),
                                   theirs_alone="state IN ('pending', 'declined')"),
    "group_invites": PersonalColumns(subject=("user_id",)),
    "welcomed": PersonalColumns(subject=("user_id",)),
}
