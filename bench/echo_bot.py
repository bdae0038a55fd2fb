"""The baseline for bench/responsiveness.py: the smallest matrix-nio bot that answers a command.

Usage: python echo_bot.py HOMESERVER_URL USER_ID PASSWORD. Accepts invites, answers "!echo" with a notice.
"""

from __future__ import annotations

import asyncio
import sys

import nio


async def main(url: str, user_id: str, password: str) -> None:
    client = nio.AsyncClient(url, user_id)
    await client.login(password)
    await client.sync(timeout=0)

    async def on_invite(room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == user_id and event.membership == "invite":
            await client.join(room.room_id)

    async def on_message(room: nio.MatrixRoom, event: nio.RoomMessageText) -> None:
        if event.body.strip() == "!echo":
            await client.room_send(room.room_id, "m.room.message", {"msgtype": "m.notice", "body": "echo"})

    client.add_event_callback(on_invite, nio.InviteMemberEvent)
    client.add_event_callback(on_message, nio.RoomMessageText)
    await client.sync_forever(timeout=30_000)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
