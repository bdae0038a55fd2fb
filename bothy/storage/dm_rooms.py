"""Which rooms are DMs between a bot account and a member, and which one the bot writes to (`current`).

A member may have more than one DM with a bot (a second opened from another client, or one the bot moved on from
because it is not encrypted): every one is read as private, and the bot writes to the newest. A row whose room is
OPENING records that the bot began creating that DM: a crash between creating the room and recording it must not
leave the member with two DMs (see rooms/dm.py).
"""

from __future__ import annotations

from bothy.storage.database import Database

OPENING = ""


class DirectRoomRepository:
    def __init__(self, database: Database):
        self.database = database

    async def get(self, account: str, user_id: str) -> str | None:
        async with self.database.read() as db, db.execute(
            "SELECT room_id FROM dm_rooms WHERE account = ? AND user_id = ? AND current = 1", (account, user_id)
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
        """`room_id` is now the one the bot writes to; the member's other DMs stay DMs (a DM being opened is done
        with)."""
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM dm_rooms WHERE account = ? AND user_id = ? AND room_id = ?",
                             (account, user_id, OPENING))
            await db.execute("UPDATE dm_rooms SET current = 0 WHERE account = ? AND user_id = ?", (account, user_id))
            await db.execute(
                "INSERT INTO dm_rooms (account, user_id, room_id, current) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (account, user_id, room_id) DO UPDATE SET current = 1",
                (account, user_id, room_id),
            )

    async def stop_writing_to(self, account: str, room_id: str) -> None:
        """Still the member's DM, read as private, but no longer where the bot writes (it is not encrypted)."""
        async with self.database.transaction() as db:
            await db.execute("UPDATE dm_rooms SET current = 0 WHERE account = ? AND room_id = ?", (account, room_id))

    async def forget_room(self, account: str, room_id: str) -> None:
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM dm_rooms WHERE account = ? AND room_id = ?", (account, room_id))
