"""Which room is the DM between a bot account and a member: opened by the bot, or by the member inviting
the bot, and forgotten when the member leaves. This is the only place that writes it."""

from __future__ import annotations

import time
from collections.abc import Callable

from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.storage.dm_rooms import OPENING, DirectRoomRepository

# A DM being opened whose making Bothy never heard back about shows only once a sync brings it. Left by a crash, one
# sync of this process's is enough: the homeserver made it, if it did, before the process started. Left by a request
# that failed in this process (60 s without an answer, say), the homeserver may still be making it: wait for a few
# syncs (the one under way then may have started before the room was made) and a while.
SYNCS_TO_SHOW_A_ROOM = 2
SECONDS_TO_SHOW_A_ROOM = 120.0


class DirectRooms:
    def __init__(self, repository: DirectRoomRepository, monotonic: Callable[[], float] = time.monotonic):
        self.repository = repository
        self.monotonic = monotonic
        # (account, member) -> the account's syncs done, and the time, when a request to open their DM failed here
        self._unanswered: dict[tuple[str, str], tuple[int, float]] = {}

    async def dms_of(self, account: str) -> dict[str, str]:
        return await self.repository.dms_of(account)

    async def opened(self, account: str, user_id: str, room_id: str) -> None:
        await self.repository.save(account, user_id, room_id)

    async def closed(self, account: str, room_id: str) -> None:
        await self.repository.forget_room(account, room_id)

    async def superseded(self, account: str, room_id: str) -> None:
        """The member's DM stays one, but the next message to them opens a fresh DM (this one is not encrypted)."""
        await self.repository.stop_writing_to(account, room_id)

    async def room_for(self, account: MatrixAccount, user_id: str) -> str:
        """The known DM if the bot is still in it, else a new encrypted DM (invite sent to the member).

        Before creating one the bot records that it is opening it; if it finds that record later (it crashed in
        between, or the request failed while the homeserver went on), it adopts the room it already made with the
        member instead of a second, once a sync has shown it; until then the send waits (a temporary error, retried)."""
        looked_for = (account.user_id, user_id)
        room_id = await self.repository.get(account.user_id, user_id)
        if room_id == OPENING:
            room_id = account.dm_made_with(user_id)
            if room_id is not None:
                self._unanswered.pop(looked_for, None)
                await account.record_dm(user_id, room_id)
                await self.opened(account.user_id, user_id, room_id)
                return room_id
            self._wait_for_a_sync_to_show_it(account, looked_for)
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
        try:
            room_id = await account.create_dm(user_id)
        except Exception as error:
            if not (isinstance(error, MatrixError) and error.permanent):  # the homeserver may make it yet
                self._unanswered[looked_for] = (account.syncs_done, self.monotonic())
            raise
        self._unanswered.pop(looked_for, None)
        await self.opened(account.user_id, user_id, room_id)
        return room_id

    def _wait_for_a_sync_to_show_it(self, account: MatrixAccount, looked_for: tuple[str, str]) -> None:
        """Raise a temporary error while the DM being opened may yet show (SYNCS_TO_SHOW_A_ROOM)."""
        if looked_for not in self._unanswered:  # left by a crash
            if account.syncs_done < 1:
                raise MatrixError("waiting for a sync to show the DM being opened", retry_after_ms=1000)
            return
        syncs, failed_at = self._unanswered[looked_for]
        if account.syncs_done < syncs + SYNCS_TO_SHOW_A_ROOM or self.monotonic() - failed_at < SECONDS_TO_SHOW_A_ROOM:
            raise MatrixError("waiting for a sync to show the DM being opened", retry_after_ms=5000)
        del self._unanswered[looked_for]
