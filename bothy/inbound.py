"""At-least-once in: every event is handled, recorded as handled with what it owes, and the saved
sync checkpoint moves only past batches that are completely settled.

After a crash the homeserver replays from the checkpoint; events already marked handled are skipped,
so nothing is lost and nothing is done twice. One slow or failing handler never stalls sync: a bounded
pool of workers handles each room's events in order, other rooms meanwhile. An event whose handling or
commit fails is tried again a little later (later events go on meanwhile), and after a few failures it
is set aside: marked handled, its sender told kindly, so one bad event cannot hold the checkpoint forever.
A homeserver that is down or rate limiting is waited out however long it takes: those failures are not the
event's fault, so they do not count. Nor does a database that cannot take a write for now (locked by another
process, a full disk, an I/O error): setting the event aside would commit its small mark once the database came
back and lose what the event owed, an urgent staff alert among it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

from bothy.logs import describe_error
from bothy.matrix.adapter import MatrixError, backoff_delay
from bothy.matrix.events import InboundEvent, Message, Reaction, Redaction, Undecryptable
from bothy.outbox import Effects, Guard, UnitOfWork
from bothy.storage.database import database_unavailable
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates
from commands.framework import parse_invocation

log = logging.getLogger("bothy.inbound")

Handler = Callable[[InboundEvent, Effects], Awaitable[None]]
RetryDelay = Callable[[int, int | None], float]

MAX_CONCURRENT = 64  # handlers in flight per account; a flood queues as data, not as tasks
MAX_ATTEMPTS = 3  # a failing event is set aside after this many counted failures...
MAX_TRANSIENT_ATTEMPTS = 16  # ...or this many when the homeserver answered syncs but failed the event's requests


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
    """The ID that makes handling idempotent; events without one (receipts, key arrivals) are idempotent.

    An undecryptable event is marked under a key of its own: once its room key arrives, the readable
    event (same event ID) must still be handled."""
    if isinstance(event, Undecryptable):
        return f"undecryptable:{event.event_id}"
    return event.event_id if isinstance(event, Message | Reaction | Redaction) else None


def room_of(event: InboundEvent) -> str:
    return getattr(event, "room_id", "")


@dataclass(frozen=True)
class SetAsideNotice:
    """Who is told when their event is set aside: a member whose command, or message in a DM, got no answer."""

    templates: Templates
    prefix: str
    is_direct_room: Callable[[str], bool]

    def owe(self, event: InboundEvent, effects: Effects) -> None:
        in_dm = self.is_direct_room(room_of(event))
        if isinstance(event, Undecryptable) and in_dm:
            effects.message(self.templates.render("undecryptable"), room_id=event.room_id)
        if not isinstance(event, Message) or event.msgtype == "m.notice" or event.replaces is not None:
            return  # bots' notices are never answered; an edit re-runs nothing
        if in_dm:
            effects.message(self.templates.render("went_wrong"), room_id=event.room_id)
        elif parse_invocation(event.body, self.prefix) is not None:
            effects.message(self.templates.render("went_wrong"), to_user=event.sender)


@dataclass
class _Pending:
    event: InboundEvent
    batch: list


@dataclass
class _Failures:
    """One event's failures so far: all of them pace its retries; only the counted ones can set it aside."""

    tries: int = 0
    counted: int = 0
    syncs_seen: int = -1  # how many syncs had got through when it last failed


class InboundDispatcher:
    def __init__(self, account: str, sync_state: SyncStateRepository, handler: Handler, work: UnitOfWork,
                 notice: SetAsideNotice, *, concurrency: int = MAX_CONCURRENT,
                 retry_delay: RetryDelay = backoff_delay):
        self.account = account
        self.sync_state = sync_state
        self.handler = handler
        self.work = work
        self.notice = notice
        self.concurrency = concurrency
        self.retry_delay = retry_delay
        self.tracker = CheckpointTracker()
        self._queues: dict[str, deque[_Pending]] = {}  # a room is here while it has events queued or in hand
        self._ready: deque[str] = deque()  # rooms with queued events and no worker on them
        self._workers: set[asyncio.Task[None]] = set()
        self._failures: dict[InboundEvent, _Failures] = {}  # events awaiting a retry: bounded by those in hand
        self._syncs = 0  # syncs that got through: the homeserver is answering
        self._unsettled = 0
        self._settled = asyncio.Event()
        self._settled.set()

    async def on_batch(self, token: str, events: list[InboundEvent]) -> None:
        """Queue the batch and return at once: sync never waits for handlers."""
        self._syncs += 1
        batch = self.tracker.add_batch(token, len(events))
        self._unsettled += len(events)
        for event in events:
            self._enqueue(_Pending(event, batch))
        await self._save_checkpoint()

    async def handle_now(self, event: InboundEvent) -> None:
        """Handle an event found outside the sync stream (decrypted late), with the same retries and
        setting aside; returns once it is settled, so the key arrival that found it is not done before."""
        delay = await self._attempt(event)
        while delay is not None:
            await asyncio.sleep(delay)  # a retry, not a wait for a condition
            delay = await self._attempt(event)

    async def drain(self) -> None:
        """Wait until every queued event is settled (retries included)."""
        await self._settled.wait()

    def _enqueue(self, item: _Pending) -> None:
        self._settled.clear()
        room = room_of(item.event)
        if room in self._queues:  # ready already, or in a worker's hands: it comes round again
            self._queues[room].append(item)
            return
        self._queues[room] = deque([item])
        self._ready.append(room)
        if len(self._workers) < self.concurrency:
            self._workers.add(asyncio.create_task(self._work()))

    async def _work(self) -> None:
        """Take one event from the next ready room at a time: one room's events in order, rooms in turn.
        A worker leaves the pool as soon as it stops looking, so a room made ready later always finds one."""
        try:
            while self._ready:
                room = self._ready.popleft()
                queue = self._queues[room]
                await self._settle(queue.popleft())
                if queue:
                    self._ready.append(room)
                else:
                    del self._queues[room]
        finally:
            self._workers.discard(asyncio.current_task())

    async def _settle(self, item: _Pending) -> None:
        delay = await self._attempt(item.event)
        if delay is not None:  # later events of the room go on; this one rejoins the queue after the delay
            asyncio.get_running_loop().call_later(delay, self._enqueue, item)
            return
        self.tracker.finish_one(item.batch)
        self._unsettled -= 1
        if not self._unsettled:
            self._settled.set()
        await self._save_checkpoint()

    async def _attempt(self, event: InboundEvent) -> float | None:
        """Try the event once. None when it is settled (handled, or set aside), else the wait before the next try."""
        try:
            await self._handle(event)
        except Exception as error:
            failures = self._failures.setdefault(event, _Failures())
            failures.tries += 1
            retry_after_ms = getattr(error, "retry_after_ms", None)
            counts = self._counts(error, failures)
            log.warning("handling %s %s in %s failed (%s), attempt %d%s", type(event).__name__, event_key(event),
                        room_of(event), describe_error(error), failures.tries,
                        "" if counts else ", not counted: the homeserver or the database is unavailable for now")
            if not counts:
                return self.retry_delay(failures.tries, retry_after_ms)
            attempts = await self._count_failure(event, failures)
            transient = isinstance(error, MatrixError) and not error.permanent
            if attempts < (MAX_TRANSIENT_ATTEMPTS if transient else MAX_ATTEMPTS):
                return self.retry_delay(failures.tries, retry_after_ms)
            try:
                await self._set_aside(event, attempts)
            except Exception as second:
                log.warning("could not set aside %s %s (%s); will try again", type(event).__name__,
                            event_key(event), describe_error(second))
                return self.retry_delay(failures.tries, None)
        self._failures.pop(event, None)
        return None

    def _counts(self, error: Exception, failures: _Failures) -> bool:
        """Whether a failure counts towards setting the event aside. A homeserver that is down or rate limiting
        is no fault of the event and may last any time: a rate limit never counts, and a transient failure
        counts only if a sync got through since the event last failed (while the homeserver is down, sync
        fails too). So an outage is waited out, and a request the homeserver fails every time still ends."""
        synced = self._syncs > failures.syncs_seen
        failures.syncs_seen = self._syncs
        if database_unavailable(error):
            return False
        if not isinstance(error, MatrixError) or error.permanent:
            return True
        return synced and not error.rate_limited

    async def _handle(self, event: InboundEvent) -> None:
        key = event_key(event)
        if key is not None and await self.sync_state.is_handled(self.account, key):
            return
        effects = Effects(self.account)
        await self.handler(event, effects)
        await self.work.commit(effects, None if key is None else self._marks_handled(event, key))

    def _marks_handled(self, event: InboundEvent, key: str) -> Guard:
        """Record the event as handled in the same transaction; if it already was, commit nothing.
        A readable event no longer awaits its key: it is unparked in the same transaction."""
        async def mark(db: aiosqlite.Connection) -> bool:
            if not await self.sync_state.mark_handled(db, self.account, key, self.work.clock.ms()):
                return False
            if not isinstance(event, Undecryptable):
                await SyncStateRepository.unpark(db, self.account, key)
            return True

        return mark

    async def _count_failure(self, event: InboundEvent, failures: _Failures) -> int:
        """Count a failure in memory and, for events with an ID, in the database (a restart keeps the count)."""
        failures.counted += 1
        attempts = failures.counted
        key = event_key(event)
        if key is not None:
            try:
                recorded = await self.sync_state.record_failure(self.account, key, self.work.clock.ms(),
                                                                keep=MAX_TRANSIENT_ATTEMPTS)
                attempts = max(attempts, recorded)
            except Exception as db_error:
                log.warning("could not record the failure of %s (%s)", key, type(db_error).__name__)
        return attempts

    async def _set_aside(self, event: InboundEvent, attempts: int) -> None:
        """Give up on the event: marked handled (and set aside) with a kind word to its sender, together, and with
        what can still be saved: handled once more, each bot's share is committed on its own, so one bot's write
        that keeps failing does not cost another bot's share (an urgent alert among them)."""
        key = event_key(event)
        guard = None if key is None else self._marks_set_aside(event, key)
        effects = Effects(self.account)
        try:
            await self.handler(event, effects)
        except Exception as error:
            if database_unavailable(error):
                raise
            effects.discard()
        effects.isolate_shares = True
        self.notice.owe(event, effects)
        try:
            await self.work.commit(effects, guard)
        except Exception as error:
            if database_unavailable(error):
                raise
            log.warning("nothing %s %s owed could be saved (%s); only its sender is told", type(event).__name__, key,
                        describe_error(error))
            effects = Effects(self.account)
            self.notice.owe(event, effects)
            await self.work.commit(effects, guard)
        log.error("set aside %s %s in %s after %d failed attempts", type(event).__name__, key, room_of(event),
                  attempts)

    def _marks_set_aside(self, event: InboundEvent, key: str) -> Guard:
        handled = self._marks_handled(event, key)

        async def mark(db: aiosqlite.Connection) -> bool:
            if not await handled(db):
                return False
            await SyncStateRepository.mark_set_aside(db, self.account, key, self.work.clock.ms())
            return True

        return mark

    async def _save_checkpoint(self) -> None:
        token = self.tracker.safe_token()
        if token is not None:
            try:
                await self.sync_state.save_checkpoint(self.account, token, self.work.clock.ms())
            except Exception as error:
                log.error("could not save the sync checkpoint (%s)", describe_error(error))
