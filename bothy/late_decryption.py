"""Encrypted messages that arrive before their room key (typical for the first message in a new DM).

The event is parked by ID only (never its ciphertext), fetched again when a key for its session
arrives, and handled like any other message (under its own ID: the undecryptable copy was marked under
a key of its own). If the key never comes, the member is asked to resend.

A room key is handled as soon as it arrives, while the event it unlocks may still be waiting its turn
in its room's queue; so an event is tried once more right after it is parked, and once more before the
member is asked to resend. Whichever try reads it first handles it: its handled mark lets only one commit.

An outage or a restart delays an event but never loses it: one is given up on only once a sync has got through
after its wait ended (so any key sent in time has come) and the homeserver answered the last try.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import aiosqlite

from bothy.logs import describe_error
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

    async def park(self, account: MatrixAccount, event: Undecryptable, handle_now: HandleNow) -> None:
        """Park the event, then try it once: its key may have come while it waited in its room's queue.

        Parked in a commit of its own, before that try, so a key arriving at any moment finds it: before the
        try, the try reads it; after the commit, `key_arrived` does. A replay parks nothing twice, and parks
        nothing once the readable event was handled."""
        pending = PendingDecryption(account.user_id, event.event_id, event.room_id, event.sender, event.session_id,
                                    self.clock.ms())

        async def write(db: aiosqlite.Connection) -> None:
            await SyncStateRepository.park(db, pending)

        effects = Effects(account.user_id)
        effects.record(write)
        await self.work.commit(effects)
        await self._try(account, pending, handle_now)

    async def key_arrived(self, account: MatrixAccount, session_id: str, handle_now: HandleNow) -> None:
        """Handle each event the key unlocks; it is unparked in the same transaction as its handling."""
        for parked in await self.sync_state.parked_for_session(account.user_id, session_id):
            await self._try(account, parked, handle_now)

    async def give_up_sweep(self, accounts: Mapping[str, MatrixAccount], readers: Mapping[str, HandleNow]) -> None:
        """Sweep: a member whose DM message never became readable is asked, once, to resend it; each event is
        tried once more first, so no one is asked to resend what Bothy can read.

        Unreadable group messages are let go quietly: they were not addressed to the bot.
        """
        for account in accounts.values():
            if account.synced_at_ms is None:  # just started: keys sent while Bothy was down come with the first sync
                continue
            deadline = min(self.clock.ms(), account.synced_at_ms) - self.wait_s * 1000
            for parked in await self.sync_state.parked_before(account.user_id, deadline):
                if await self._try(account, parked, readers[account.user_id]) is not False:
                    continue  # read, or the homeserver did not answer: not given up on
                effects = Effects(account.user_id)
                if account.is_direct_room(parked.room_id):
                    effects.message(self.templates.render("undecryptable"), room_id=parked.room_id)
                await self.work.commit(effects, guard=self._unpark(account.user_id, parked.event_id))

    async def _try(self, account: MatrixAccount, parked: PendingDecryption, handle_now: HandleNow) -> bool | None:
        """Fetch the event and, if it can be read now, handle it (which unparks it); True if it was handled. Read
        and nothing in it for a bot (a photo without a caption, a sticker), it is only unparked: no one is asked to
        resend it (a reviewer's). False, and still parked, when it cannot be read yet (or the homeserver refuses it for
        good); None, still parked, when the homeserver did not answer (an outage is no sign the key will never come)."""
        try:
            readable, event = await account.fetch_and_decrypt(parked.room_id, parked.event_id)
        except MatrixError as error:
            log.warning("could not fetch parked event %s: %s", parked.event_id, error)
            return False if error.permanent else None  # refused for good (purged, the room left) is an answer
        except Exception as error:  # one message nothing can read must not hold up the rest of the sweep, every run
            log.error("parked event %s could not be read (%s)", parked.event_id, describe_error(error))
            return False
        if not readable:
            return False
        if event is None:
            await self.work.commit(Effects(account.user_id), guard=self._unpark(account.user_id, parked.event_id))
        else:
            await handle_now(event)
        return True

    @staticmethod
    def _unpark(account: str, event_id: str) -> Guard:
        """Only if it is still parked: once the readable event was handled, no resend request is owed."""
        async def unpark(db: aiosqlite.Connection) -> bool:
            return await SyncStateRepository.unpark(db, account, event_id)

        return unpark
