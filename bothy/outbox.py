"""Delivery: what handlers owe goes into the outbox in the same transaction as the state that owes it,
and one dispatcher sends it, retrying until the homeserver has it.

Exactly once out: each row's transaction ID is fixed when it is stored, so a resend after a crash
between "sent" and "marked sent" is deduplicated by the homeserver. A 429 keeps the row and waits
`retry_after_ms`; an outage backs off; nothing owed is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiosqlite

from bothy.clock import Clock
from bothy.matrix.adapter import MatrixAccount, MatrixError, backoff_delay
from bothy.storage.database import Database
from bothy.storage.outbox import AlertRecord, OutboxRepository, OutboxRow, Outgoing
from rooms.dm import DirectRooms

log = logging.getLogger("bothy.outbox")

MAX_PERMANENT_FAILURES = 5
IDLE_WAIT_S = 30.0


StateWrite = Callable[[aiosqlite.Connection], Awaitable[None]]
Guard = Callable[[aiosqlite.Connection], Awaitable[bool]]


class Effects:
    """What handling one event owes the outside world, and the state it changes, committed together
    with its handled mark: a crash leaves all of it undone (and the event is replayed) or all of it done."""

    def __init__(self, account: str):
        self.account = account
        self.items: list[Outgoing] = []
        self.writes: list[StateWrite] = []

    def discard(self) -> None:
        """Drop everything collected so far (the handler failed part-way)."""
        self.items.clear()
        self.writes.clear()

    def record(self, write: StateWrite) -> None:
        """A state change to commit in the same transaction as the messages."""
        self.writes.append(write)

    async def commit(self, db: aiosqlite.Connection, now_ms: int) -> None:
        """Inside the caller's transaction: the state changes, then what is owed. A write may owe more
        messages itself (say, one that needs an ID the write just made); they are queued with the rest."""
        for write in self.writes:
            await write(db)
        await OutboxRepository.enqueue(db, self.items, now_ms)

    def message(self, content: dict, *, room_id: str | None = None, to_user: str | None = None,
                reactions: tuple[str, ...] = (), alert: AlertRecord | None = None, tag: str | None = None) -> None:
        self.items.append(Outgoing(self.account, "message", content, room_id=room_id,
                                   to_user=to_user, reactions=reactions, alert=alert, tag=tag))

    def file(self, filename: str, mimetype: str, text: str, *, room_id: str | None = None,
             to_user: str | None = None) -> None:
        self.items.append(Outgoing(self.account, "file", {"filename": filename, "mimetype": mimetype, "text": text},
                                   room_id=room_id, to_user=to_user))

    def redact(self, room_id: str, event_id: str) -> None:
        self.items.append(Outgoing(self.account, "redaction", {}, room_id=room_id, target_event_id=event_id))


class UnitOfWork:
    """The one way state changes and owed messages reach the database: together, in one transaction."""

    def __init__(self, database: Database, clock: Clock, wake_outbox: Callable[[], None]):
        self.database = database
        self.clock = clock
        self.wake_outbox = wake_outbox

    async def commit(self, effects: Effects, guard: Guard | None = None) -> bool:
        """Commit `effects`; a `guard` runs first in the same transaction and may decline it (returns False)."""
        if guard is None and not effects.items and not effects.writes:
            return True
        async with self.database.transaction() as db:
            if guard is not None and not await guard(db):
                return False
            await effects.commit(db, self.clock.ms())
        if effects.items:
            self.wake_outbox()
        return True


class OutboxDispatcher:
    def __init__(self, repository: OutboxRepository, accounts: Mapping[str, MatrixAccount],
                 direct_rooms: DirectRooms, clock: Clock):
        self.repository = repository
        self.accounts = accounts
        self.direct_rooms = direct_rooms
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed; will try again")
            await self._sleep_until_due(stopping)

    async def _sleep_until_due(self, stopping: asyncio.Event) -> None:
        next_due = await self.repository.next_due_at()
        wait = IDLE_WAIT_S if next_due is None else max(0.0, (next_due - self.clock.ms()) / 1000)
        if wait <= 0 or stopping.is_set():
            return
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        await asyncio.wait(waiters, timeout=min(wait, IDLE_WAIT_S), return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def deliver_due(self) -> None:
        """Send every due row in order; a failed row holds back later rows to the same place.
        Messages sent with reactions queue those reactions, which go out in the next pass."""
        while await self._pass():
            pass

    async def _pass(self) -> bool:
        """One pass; True when it queued reactions that are due at once."""
        blocked: set[tuple[str, str | None, str | None]] = set()
        queued_reactions = False
        for row in await self.repository.due(self.clock.ms()):
            place = (row.account, row.room_id, row.to_user)
            if place in blocked:
                continue
            if await self._deliver(row):
                queued_reactions = queued_reactions or bool(row.reactions)
            else:
                blocked.add(place)
        return queued_reactions

    async def _deliver(self, row: OutboxRow) -> bool:
        account = self.accounts.get(row.account)
        if account is None:
            await self.repository.postpone(row, self.clock.ms(), "no such account configured", dead=True)
            log.error("outbox row %s belongs to an account no longer configured", row.id)
            return False
        try:
            room_id = row.room_id or await self.direct_rooms.room_for(account, row.to_user or "")
            if row.action == "redaction":
                event_id = await account.redact(room_id, row.target_event_id or "", row.txn_id)
            elif row.action == "file":
                file = row.content
                event_id = await account.send_file(room_id, file["filename"], file["mimetype"],
                                                   file["text"].encode(), row.txn_id)
            elif row.action == "reaction":
                event_id = await account.send(room_id, "m.reaction", row.content, row.txn_id)
            else:
                event_id = await account.send(room_id, "m.room.message", row.content, row.txn_id)
        except MatrixError as error:
            await self._failed(row, error)
            return False
        except Exception as error:
            log.exception("unexpected error sending outbox row %s", row.id)
            await self._failed(row, MatrixError(type(error).__name__))
            return False
        await self.repository.delivered(row, room_id, event_id, self.clock.ms())
        return True

    async def _failed(self, row: OutboxRow, error: MatrixError) -> None:
        attempts = row.attempts + 1
        dead = error.permanent and attempts >= MAX_PERMANENT_FAILURES
        delay = backoff_delay(attempts, error.retry_after_ms)
        await self.repository.postpone(row, self.clock.ms() + int(delay * 1000), str(error), dead=dead)
        level = logging.ERROR if dead else logging.WARNING
        log.log(level, "outbox row %s (%s) not delivered: %s; %s", row.id, row.action, error,
                "giving up" if dead else f"retrying in {delay:.1f}s")
