"""Encrypted messages that arrive before their room key (typical for the first message in a new DM).

The event is parked by ID only (never its ciphertext), fetched again when a key for its session
arrives, and handled like any other message (under its own ID: the undecryptable copy was marked under
a key of its own). If the key never comes, the member is asked to resend.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import aiosqlite

from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.matrix.events import InboundEvent, Undecryptable
from bothy.outbox import Effects, Guard, UnitOfWork
from bothy.storage.sync_state import PendingDecryption, SyncStateRepository
from bothy.templates import Templates

log = logging.getLogger("bothy.decryption")

HandleNow = Callable[[InboundEvent], Awaitable[None]]


class LateDecryption:
    def __init__(self, sync_state: SyncStateRepository, templates: Templates, wait_s: int, work: UnitOfWork):
        self.sync_state = sync_state
        self.templates = templates
        self.wait_s = wait_s
        self.work = work
        self.clock = work.clock

    def park(self, effects: Effects, event: Undecryptable) -> None:
        """Park the event in the same transaction as its handled mark, so a replay neither parks it twice
        nor loses it; parking an event whose readable copy was already handled does nothing."""
        pending = PendingDecryption(effects.account, event.event_id, event.room_id, event.sender, event.session_id,
                                    self.clock.ms())

        async def write(db: aiosqlite.Connection) -> None:
            await SyncStateRepository.park(db, pending)

        effects.record(write)

    async def key_arrived(self, account: MatrixAccount, session_id: str, handle_now: HandleNow) -> None:
        """Handle each event the key unlocks; it is unparked in the same transaction as its handling."""
        for parked in await self.sync_state.parked_for_session(account.user_id, session_id):
            try:
                event = await account.fetch_and_decrypt(parked.room_id, parked.event_id)
            except MatrixError as error:
                log.warning("could not fetch parked event %s: %s", parked.event_id, error)
                continue
            if event is not None:
                await handle_now(event)

    async def give_up_sweep(self, accounts: Mapping[str, MatrixAccount]) -> None:
        """Sweep: a member whose DM message never became readable is asked, once, to resend it.

        Unreadable group messages are let go quietly: they were not addressed to the bot.
        """
        deadline = self.clock.ms() - self.wait_s * 1000
        for account in accounts.values():
            for parked in await self.sync_state.parked_before(account.user_id, deadline):
                effects = Effects(account.user_id)
                if account.is_direct_room(parked.room_id):
                    effects.message(self.templates.render("undecryptable"), room_id=parked.room_id)
                await self.work.commit(effects, guard=self._unpark(account.user_id, parked.event_id))

    @staticmethod
    def _unpark(account: str, event_id: str) -> Guard:
        """Only if it is still parked: once the readable event was handled, no resend request is owed."""
        async def unpark(db: aiosqlite.Connection) -> bool:
            return await SyncStateRepository.unpark(db, account, event_id)

        return unpark
