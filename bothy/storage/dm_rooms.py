"""Which room is the DM between a bot account and a member.

A row whose room is OPENING records that the bot began creating that DM: a crash between creating the
room and recording it must not leave the member with two DMs (see rooms/dm.py).
"""

from __future__ import annotations

from bothy.storage.database import Database

OPENING = ""


class DirectRoomRepository:
    def __init__(self, database: Database):
        self.database = database

    async def get(self, account: str, user_id: str) -> str | None:
        async with self.database.read() as db, db.execute(
            "SELECT room_id FROM dm_rooms WHERE account = ? AND user_id = ?", (account, user_id)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def dms_of(self, account: str) -> dict[str, str]:
        """Room ID -> the member, for each of the account's DMs."""
        async with self.database.read() as db, db.execute(
            "SELECT room_id, user_id FROM dm_rooms WHERE account = ? AND room_id != ''", (account,)
        ) as cursor:
            return {room_id: user_id for room_id, user_id in await cursor.fetchall()}

    async def save(self, account: str, user_id: str, room_id: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO dm_rooms (account, user_id, room_id) VALUES (?, ?, ?) "
                "ON CONFLICT (account, user_id) DO UPDATE SET room_id = excluded.room_id",
                (account, user_id, room_id),
            )

    async def forget_room(self, account: str, room_id: str) -> None:
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM dm_rooms WHERE account = ? AND room_id = ?", (account, room_id))
