"""Which room is the DM between a bot account and a member: opened by the bot, or by the member inviting
the bot, and forgotten when the member leaves. This is the only place that writes it."""

from __future__ import annotations

import time
from collections.abc import Callable

from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.storage.dm_rooms import OPENING, DirectRoomRepository

# How long a DM being opened may take to show before another is opened: a homeserver that did not answer the request
# in its 60 s may still be making the room, and only a sync brings it (the one under way then may not have it).
SYNCS_TO_SHOW_A_ROOM = 2
SECONDS_TO_SHOW_A_ROOM = 120.0


class DirectRooms:
    def __init__(self, repository: DirectRoomRepository, monotonic: Callable[[], float] = time.monotonic):
        self.repository = repository
        self.monotonic = monotonic
        # (account, member) -> the account's syncs done, and the time, when a DM being opened was first looked for
        # and not found
        self._not_found_at: dict[tuple[str, str], tuple[int, float]] = {}

    async def dms_of(self, account: str) -> dict[str, str]:
        return await self.repository.dms_of(account)

    async def opened(self, account: str, user_id: str, room_id: str) -> None:
        await self.repository.save(account, user_id, room_id)

    async def closed(self, account: str, room_id: str) -> None:
        await self.repository.forget_room(account, room_id)

    async def room_for(self, account: MatrixAccount, user_id: str) -> str:
        """The known DM if the bot is still in it, else a new encrypted DM (invite sent to the member).

        Before creating one the bot records that it is opening it; if it finds that record later (it crashed
        in between, or the request timed out while the homeserver went on), it adopts the two-person room it already
        made with the member instead of a second. Such a room shows only once a sync has brought it, so until then
        the send waits (a temporary error, retried) rather than open another."""
        room_id = await self.repository.get(account.user_id, user_id)
        if room_id == OPENING:
            room_id = account.dm_made_with(user_id)
            looked_for = (account.user_id, user_id)
            if room_id is not None:
                self._not_found_at.pop(looked_for, None)
                await account.adopt_dm(user_id, room_id)
                await self.opened(account.user_id, user_id, room_id)
                return room_id
            syncs, since = self._not_found_at.setdefault(looked_for, (account.syncs_done, self.monotonic()))
            if (account.syncs_done < syncs + SYNCS_TO_SHOW_A_ROOM
                    or self.monotonic() - since < SECONDS_TO_SHOW_A_ROOM):
                raise MatrixError("waiting for a sync to show the DM being opened", retry_after_ms=5000)
            del self._not_found_at[looked_for]
        elif room_id is not None:
            if account.knows_room(room_id):
                return room_id
            try:
                await account.join(room_id)
                return room_id
            except MatrixError as error:
                if not error.permanent:
                    raise
                await self.closed(account.user_id, room_id)
        await self.opened(account.user_id, user_id, OPENING)
        room_id = await account.create_dm(user_id)
        await self.opened(account.user_id, user_id, room_id)
        return room_id
