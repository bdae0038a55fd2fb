"""The host bot's reads over the read-only store, and its writes as static functions run inside a unit of work."""

from __future__ import annotations

import aiosqlite

from bothy.storage.database import ReadStore

MAX_INTERESTS = 30  # per member: more is no longer a profile but a list of everything


class InterestRepository:
    def __init__(self, store: ReadStore):
        self.store = store

    async def of(self, user_id: str) -> tuple[list[str], bool]:
        """The member's tags, alphabetically, and whether they want invitations."""
        async with self.store.read() as db:
            async with db.execute("SELECT tag FROM interests WHERE user_id = ? ORDER BY tag",
                                  (user_id,)) as cursor:
                tags = [row[0] for row in await cursor.fetchall()]
            async with db.execute("SELECT invites FROM interest_invites WHERE user_id = ?", (user_id,)) as cursor:
                row = await cursor.fetchone()
        return tags, bool(row and row[0])

    @staticmethod
    async def add(db: aiosqlite.Connection, user_id: str, tags: list[str], now_ms: int) -> None:
        await db.executemany("INSERT OR IGNORE INTO interests (user_id, tag, added_at) VALUES (?, ?, ?)",
                             [(user_id, tag, now_ms) for tag in tags])

    @staticmethod
    async def remove(db: aiosqlite.Connection, user_id: str, tags: list[str]) -> None:
        await db.executemany("DELETE FROM interests WHERE user_id = ? AND tag = ?", [(user_id, tag) for tag in tags])

    @staticmethod
    async def set_invites(db: aiosqlite.Connection, user_id: str, invites: bool) -> None:
        await db.execute("INSERT INTO interest_invites (user_id, invites) VALUES (?, ?) "
                         "ON CONFLICT (user_id) DO UPDATE SET invites = excluded.invites", (user_id, int(invites)))
