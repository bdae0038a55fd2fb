"""Login sessions, so each bot account logs in once and keeps its device (and its E2EE identity)."""

from __future__ import annotations

from dataclasses import dataclass

from bothy.storage.database import Database


@dataclass(frozen=True)
class Session:
    user_id: str
    device_id: str
    access_token: str


class SessionRepository:
    def __init__(self, database: Database):
        self.database = database

    async def get(self, user_id: str) -> Session | None:
        async with self.database.read() as db, db.execute(
            "SELECT device_id, access_token FROM account_sessions WHERE user_id = ?", (user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Session(user_id, row[0], row[1]) if row else None

    async def save(self, session: Session) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO account_sessions (user_id, device_id, access_token) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET device_id = excluded.device_id, "
                "access_token = excluded.access_token",
                (session.user_id, session.device_id, session.access_token),
            )

    async def forget(self, user_id: str) -> None:
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM account_sessions WHERE user_id = ?", (user_id,))
