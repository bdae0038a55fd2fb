"""At-least-once in: every event is handled in its own task, recorded as handled with what it owes,
and the saved sync checkpoint moves only past batches that are completely handled.

After a crash the homeserver replays from the checkpoint; events already marked handled are skipped,
so nothing is lost and nothing is done twice. One slow or failing handler never stalls sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

import aiosqlite

from bothy.matrix.events import InboundEvent, Message, Reaction, Undecryptable
from bothy.outbox import Effects, Guard, UnitOfWork
from bothy.storage.sync_state import SyncStateRepository

log = logging.getLogger("bothy.inbound")

Handler = Callable[[InboundEvent, Effects], Awaitable[None]]


class CheckpointTracker:
    """Which sync token is safe to save: the newest one whose batch, and every batch before it, is done."""

    def __init__(self) -> None:
        self._batches: deque[list] = deque()  # [token, events still pending]

    def add_batch(self, token: str, pending: int) -> list:
        batch = [token, pending]
        self._batches.append(batch)
        return batch

    def finish_one(self, batch: list) -> None:
        batch[1] -= 1

    def safe_token(self) -> str | None:
        token = None
        while self._batches and self._batches[0][1] <= 0:
            token = self._batches.popleft()[0]
        return token


def event_key(event: InboundEvent) -> str | None:
    """The ID that makes handling idempotent; events without one (receipts, key arrivals) are idempotent."""
    return event.event_id if isinstance(event, Message | Reaction | Undecryptable) else None


def room_of(event: InboundEvent) -> str:
    return getattr(event, "room_id", "")


class InboundDispatcher:
    def __init__(self, account: str, sync_state: SyncStateRepository, handler: Handler, work: UnitOfWork):
        self.account = account
        self.sync_state = sync_state
        self.handler = handler
        self.work = work
        self.tracker = CheckpointTracker()
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def on_batch(self, token: str, events: list[InboundEvent]) -> None:
        batch = self.tracker.add_batch(token, len(events))
        for event in events:
            task = asyncio.create_task(self._handle_in_order(event, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await self._save_checkpoint()

    async def handle_now(self, event: InboundEvent) -> None:
        """Handle an event found outside the sync stream (e.g. decrypted late); no checkpoint involved."""
        await self._handle(event)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _handle_in_order(self, event: InboundEvent, batch: list) -> None:
        lock = self._room_locks.setdefault(room_of(event), asyncio.Lock())
        try:
            async with lock:  # one room's events in order; other rooms go on meanwhile
                await self._handle(event)
        except Exception:
            # Not recorded, so the checkpoint must not pass it: a restart replays it.
            log.exception("could not record %s %s; it will be replayed after a restart",
                          type(event).__name__, event_key(event))
            return
        self.tracker.finish_one(batch)
        await self._save_checkpoint()

    async def _handle(self, event: InboundEvent) -> None:
        key = event_key(event)
        if key is not None and await self.sync_state.is_handled(self.account, key):
            return
        effects = Effects(self.account)
        try:
            await self.handler(event, effects)
        except Exception:
            # Never the message text: only the kind of event and its IDs.
            log.exception("handler failed on %s %s in %s", type(event).__name__, key, room_of(event))
            effects = Effects(self.account)
        await self.work.commit(effects, None if key is None else self._marks_handled(key))

    def _marks_handled(self, key: str) -> Guard:
        """Record the event as handled in the same transaction; if it already was, commit nothing."""
        async def mark(db: aiosqlite.Connection) -> bool:
            return await self.sync_state.mark_handled(db, self.account, key, self.work.clock.ms())

        return mark

    async def _save_checkpoint(self) -> None:
        token = self.tracker.safe_token()
        if token is not None:
            try:
                await self.sync_state.save_checkpoint(self.account, token)
            except Exception:
                log.exception("could not save the sync checkpoint")
