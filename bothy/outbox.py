"""Delivery: what handlers owe goes into the outbox in the same transaction as the state that owes it,
and one dispatcher sends it, retrying until the homeserver has it.

Exactly once out: each row's transaction ID is fixed when it is stored, so a resend after a crash
between "sent" and "marked sent" is deduplicated by the homeserver. But Synapse remembers transaction
IDs for only about 30 minutes, so the time of each attempt is committed before the send, and a row that
may already have gone out (attempted before) and is older than `TXN_MEMORY_MS` is first looked for in
the room's timeline (the homeserver shows the sending device its `unsigned.transaction_id`): found, it
is marked delivered with that event; not found, it is sent.

Nothing owed is dropped, alerts and members' DMs least of all. A 429 keeps the row and waits
`retry_after_ms`; an outage backs off up to 20 seconds; a refusal (the bot was removed from the room)
backs off up to an hour and keeps trying; a refused send to a member's DM forgets that DM so the next
try opens a fresh one; a reaction refused as one the bot already made (M_DUPLICATE_ANNOTATION) is there, so
it is done; a lost access token logs in again when a password is configured. Only a row that can never be
sent is set aside, since it would hold back every later row to the same place (alerts included):
one whose account is no longer configured, one the homeserver refuses as such, and a file for a room that
is not encrypted (the room is told instead). Rows that keep failing or wait too long are *stuck*:
`!status` counts them and the log names each once (ID, action, attempts, error code; never content).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

import aiosqlite

from bothy.clock import Clock
from bothy.logs import describe_error
from bothy.matrix.adapter import BACKOFF_CAP_S, FORBIDDEN_CODES, MatrixAccount, MatrixError, backoff_delay
from bothy.storage.database import Database, database_unavailable
from bothy.storage.outbox import AlertRecord, OutboxRepository, OutboxRow, Outgoing
from bothy.templates import Templates
from rooms.dm import DirectRooms

log = logging.getLogger("bothy.outbox")

IDLE_WAIT_S = 30.0
FAILED_PASS_WAIT_S = 1.0
REFUSED_BACKOFF_CAP_S = 3600.0  # a refused row is retried at least hourly: the bot may be invited back
# A redaction refused in a member's DM (one they made without giving the bot the power) is kept a day, then dropped: it
# names them with the moment they reacted, which would otherwise link an answer counted under no name to them for good.
REFUSED_DM_REDACTION_KEPT_MS = 86_400_000
NOT_ENCRYPTED = "BOTHY_NOT_ENCRYPTED"
TXN_MEMORY_MS = 25 * 60_000  # Synapse forgets transaction IDs after ~30 minutes; look before resending after 25
CLOCK_SKEW_MS = 5 * 60_000  # the timeline is searched back this far before a row's creation
STUCK_CHECK_EVERY_MS = 15_000
# One row's send, however many requests it takes (an encrypted room's keys first): longer and it is given up for now
# and tried again later, as after a network error (the transaction ID keeps it from going twice). Rows go one at a
# time, so one that never returned held back everything owed, in every room (an operations reviewer's: nio waited for
# ever on a key share whose claim had failed).
SEND_TIMEOUT_S = 180.0


StateWrite = Callable[[aiosqlite.Connection], Awaitable[None]]
Guard = Callable[[aiosqlite.Connection], Awaitable[bool]]


@dataclass
class _Share:
    """Where one listener's share lies in an event's merged lists (end exclusive), and how its commit went."""

    owner: str
    writes_from: int
    writes_to: int
    items_from: int
    items_to: int
    afterwards_from: int
    afterwards_to: int
    owed_from: int = 0  # where the items its writes owe at commit time begin...
    updates_from: int = 0  # ...and the in-memory updates they register
    failed: bool = False


class Effects:
    """What handling one event owes the outside world, and the state it changes, committed together
    with its handled mark: a crash leaves all of it undone (and the event is replayed) or all of it done."""

    def __init__(self, account: str):
        self.account = account
        self.items: list[Outgoing] = []
        self.writes: list[StateWrite] = []
        self.afterwards: list[Callable[[], None]] = []
        self._shares: list[_Share] = []  # the listeners' shares absorbed, each committed or dropped as a whole
        # Set when an event is being set aside after failing again and again: then each share commits on its own,
        # and one whose write fails is dropped. Until then any failure fails the whole event, which is tried again.
        self.isolate_shares = False

    def discard(self) -> None:
        """Drop everything collected so far (the handler failed part-way)."""
        self.items.clear()
        self.writes.clear()
        self.afterwards.clear()
        self._shares.clear()

    def record(self, write: StateWrite) -> None:
        """A state change to commit in the same transaction as the messages."""
        self.writes.append(write)

    def after_commit(self, update: Callable[[], None]) -> None:
        """An in-memory update that must follow the state changes once they are committed, and only then (a
        rollback keeps memory as the database still is). It must not fail: the event is handled by then."""
        self.afterwards.append(update)

    def absorb(self, part: Effects, owner: str = "") -> None:
        """Take on what `part` (one listener's share of this event, `owner`'s) owes. The two then share their lists,
        so whatever a write of `part` owes at commit time is still owed. Committed with `isolate_shares`, the share
        stands or falls on its own: one bot's write that fails (a bug) drops that bot's share, not another's urgent
        alert."""
        self._shares.append(_Share(owner, len(self.writes), len(self.writes) + len(part.writes), len(self.items),
                                   len(self.items) + len(part.items), len(self.afterwards),
                                   len(self.afterwards) + len(part.afterwards)))
        self.items.extend(part.items)
        self.writes.extend(part.writes)
        self.afterwards.extend(part.afterwards)
        part.items, part.writes, part.afterwards = self.items, self.writes, self.afterwards

    async def commit(self, db: aiosqlite.Connection, now_ms: int) -> None:
        """Inside the caller's transaction: the state changes, then what is owed. A write may owe more
        messages itself (say, one that needs an ID the write just made); they are queued with the rest."""
        shares = [share for share in self._shares if share.writes_from < share.writes_to]
        if not self.isolate_shares or not shares:  # the usual case
            for write in self.writes:
                await write(db)
            await OutboxRepository.enqueue(db, self.items, now_ms)
            return
        dropped_items: set[int] = set()
        dropped_afterwards: set[int] = set()
        owner_of = {index: share for share in shares for index in range(share.writes_from, share.writes_to)}
        index = 0
        while index < len(self.writes):  # a write may record another as it runs: it runs too, as in the usual case
            write, share = self.writes[index], owner_of.get(index)
            index += 1
            if share is None:
                await write(db)
                continue
            if share.failed:
                continue
            if index - 1 == share.writes_from:
                await db.execute("SAVEPOINT bot_share")
                share.owed_from, share.updates_from = len(self.items), len(self.afterwards)
            try:
                await write(db)
            except Exception as error:
                if database_unavailable(error):
                    raise  # not the share's fault: the whole event is tried again later
                await db.execute("ROLLBACK TO bot_share")
                await db.execute("RELEASE bot_share")
                share.failed = True
                dropped_items.update(range(share.items_from, share.items_to))
                dropped_items.update(range(share.owed_from, len(self.items)))  # what its writes owed so far
                dropped_afterwards.update(range(share.afterwards_from, share.afterwards_to))
                dropped_afterwards.update(range(share.updates_from, len(self.afterwards)))
                log.error("the %s bot's changes for an event could not be saved (%s); the other bots' were",
                          share.owner or "a", describe_error(error))
                continue
            if index == share.writes_to:
                await db.execute("RELEASE bot_share")
        if dropped_items or dropped_afterwards:
            self.items[:] = [item for index, item in enumerate(self.items) if index not in dropped_items]
            self.afterwards[:] = [update for index, update in enumerate(self.afterwards)
                                  if index not in dropped_afterwards]
        await OutboxRepository.enqueue(db, self.items, now_ms)

    def message(self, content: dict, *, room_id: str | None = None, to_user: str | None = None,
                reactions: tuple[str, ...] = (), alert: AlertRecord | None = None, tag: str | None = None,
                expires_at: int | None = None, about: str | None = None, urgent: bool = False,
                account: str | None = None, naming: Iterable[str] = ()) -> None:
        """`expires_at` (ms) only for a message that is moot once that time has come, like a reminder of
        something that has begun: never for an alert or anything a member is owed. `about`: the member a
        message to staff names, so it is theirs to export and erase (an alert names its subject itself).
        `urgent`: what an emergency owes, sent before anything else due (an urgent alert is urgent by itself).
        `account`: another bot account to send it as, one already in `room_id`. `naming`: the members a list to
        staff names besides `about`, so it is theirs to export and erase too while it is stored."""
        self.items.append(Outgoing(account or self.account, "message", content, room_id=room_id, to_user=to_user,
                                   reactions=reactions, alert=alert, tag=tag, expires_at=expires_at,
                                   about_user=about, urgent=urgent, names=tuple(naming)))

    def messages(self, content: dict, *, to_users: list[str], reactions: tuple[str, ...] = (),
                 tag: str | None = None) -> None:
        """The same message to each member's DM (a sweep's prompt): its words are stored once."""
        self.items.extend([Outgoing(self.account, "message", content, to_user=user, reactions=reactions, tag=tag)
                           for user in to_users])

    def file(self, filename: str, mimetype: str, data: str | bytes, *, room_id: str | None = None,
             to_user: str | None = None) -> None:
        """Text is stored as it is; bytes (an image, say) as base64, since an outbox row is JSON."""
        body = {"text": data} if isinstance(data, str) else {"base64": base64.b64encode(data).decode()}
        self.items.append(Outgoing(self.account, "file", {"filename": filename, "mimetype": mimetype, **body},
                                   room_id=room_id, to_user=to_user))

    def redact(self, room_id: str, event_id: str, account: str | None = None) -> None:
        """`account`: another bot account to redact as, the one in the room."""
        self.items.append(Outgoing(account or self.account, "redaction", {}, room_id=room_id,
                                   target_event_id=event_id))


class UnitOfWork:
    """The one way state changes and owed messages reach the database: together, in one transaction."""

    def __init__(self, database: Database, clock: Clock, wake_outbox: Callable[[], None]):
        self.database = database
        self.clock = clock
        self.wake_outbox = wake_outbox

    async def commit(self, effects: Effects, guard: Guard | None = None) -> bool:
        """Commit `effects`, then run their in-memory updates; a `guard` runs first in the same transaction and may
        decline it all (returns False)."""
        if guard is not None or effects.items or effects.writes:
            async with self.database.transaction() as db:
                if guard is not None and not await guard(db):
                    return False
                await effects.commit(db, self.clock.ms())
        if effects.items:
            self.wake_outbox()
        for update in effects.afterwards:
            update()
        return True


class OutboxDispatcher:
    def __init__(self, repository: OutboxRepository, accounts: Mapping[str, MatrixAccount],
                 direct_rooms: DirectRooms, clock: Clock, templates: Templates):
        self.repository = repository
        self.accounts = accounts
        self.direct_rooms = direct_rooms
        self.clock = clock
        self.templates = templates
        self._wake = asyncio.Event()
        self._next_stuck_check_ms = 0

    def wake(self) -> None:
        self._wake.set()

    async def joined(self, account: str, room_id: str) -> None:
        """An account has joined (or rejoined) a room: what was refused there goes now."""
        if await self.repository.refused_due_now(account, room_id, self.clock.ms(), FORBIDDEN_CODES):
            self.wake()

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver, then sleep until the next row falls due or something new is queued (`wake`). A pass that fails
        (the database busy, say) is tried again a moment later: it must never end the loop, nor spin."""
        while not stopping.is_set():
            self._wake.clear()
            try:
                await self.deliver_due()
                await self.leave_rooms_done_with()
                next_due = await self.repository.next_due_at(after_ms=self.clock.ms())
            except Exception as error:
                log.error("outbox pass failed (%s); will try again", describe_error(error))
                next_due = self.clock.ms() + int(FAILED_PASS_WAIT_S * 1000)
            await self._sleep_until(next_due, stopping)

    async def leave_rooms_done_with(self) -> None:
        """Rooms an account no longer uses (an erased member's old DM) are left once nothing more is owed there: the
        reply saying the erase is done goes into that room first."""
        for account in self.accounts.values():
            for room_id in account.rooms_to_leave():
                if not await self.repository.owes_room(account.user_id, room_id):
                    await account.leave_unused(room_id)

    async def _sleep_until(self, next_due: int | None, stopping: asyncio.Event) -> None:
        wait = IDLE_WAIT_S if next_due is None else max(0.0, (next_due - self.clock.ms()) / 1000)
        if wait <= 0 or stopping.is_set():
            return
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stopping.wait())]
        await asyncio.wait(waiters, timeout=min(wait, IDLE_WAIT_S), return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def deliver_due(self) -> None:
        """Send every due row in order; a row that waits holds back later rows to the same place. Passes
        go on until one moves nothing: what a pass sends or sets aside may queue more that is due at once
        (a message's reactions, a notice in place of a file), and more may be due than one pass reads."""
        await self.repository.bring_forward(self.clock.ms())
        while await self._pass():
            pass
        await self._report_stuck()

    async def _pass(self) -> bool:
        """One pass; True when it got any row out of the way. A redaction that waits holds back nothing:
        no message depends on one, and the bot may lack the power for it (see `OutboxRepository.due`)."""
        blocked: set[tuple[str, str | None, str | None]] = set()
        moved = False
        for row in await self.repository.due(self.clock.ms()):
            place = (row.account, row.room_id, row.to_user)
            if place in blocked:
                continue
            if await self._deliver(row):
                moved = True
            elif row.action != "redaction":
                blocked.add(place)
        return moved

    async def _report_stuck(self) -> None:
        """One WARNING per row when it first becomes stuck (checked every few seconds, not every pass)."""
        now = self.clock.ms()
        if now < self._next_stuck_check_ms:
            return
        self._next_stuck_check_ms = now + STUCK_CHECK_EVERY_MS
        for row in await self.repository.report_newly_stuck(now):
            log.warning("outbox row %s (%s) is stuck: %d failed attempts, last error %s", row.id, row.action,
                        row.attempts, row.last_error or "none (waiting behind an earlier one)")

    async def _deliver(self, row: OutboxRow) -> bool:
        """True when the row is out of the way (sent or already there, dropped as moot, or set aside); False when it
        waits."""
        if row.expires_at is not None and self.clock.ms() >= row.expires_at:
            await self.repository.drop(row)
            log.info("outbox row %s (%s) was not delivered before it became moot; dropped", row.id, row.action)
            return True
        account = self.accounts.get(row.account)
        if account is None:
            await self.repository.set_aside(row, self.clock.ms(), "no such account configured")
            log.error("outbox row %s belongs to an account no longer configured; set aside", row.id)
            return True
        room_id = row.room_id
        try:
            room_id = room_id or await self.direct_rooms.room_for(account, row.to_user or "")
            event_id = await self._already_sent(account, room_id, row)
            if event_id is None:
                if not await self.repository.attempting(row, self.clock.ms()):
                    log.info("outbox row %s (%s) was withdrawn before it went; not sent", row.id, row.action)
                    return True
                event_id = await asyncio.wait_for(self._send(account, room_id, row), SEND_TIMEOUT_S)
        except TimeoutError:
            log.warning("outbox row %s (%s) took over %.0fs to send; will try again", row.id, row.action,
                        SEND_TIMEOUT_S)
            return await self._failed(account, row, room_id, MatrixError("send: timed out", code="TimeoutError"))
        except MatrixError as error:
            if not error.already_there:
                return await self._failed(account, row, room_id, error)
            await self.repository.drop(row)
            log.info("outbox row %s (%s) was already on the homeserver; done", row.id, row.action)
            return True
        except Exception as error:  # the row's content must not reach the log through an error message
            log.error("unexpected error sending outbox row %s: %s", row.id, describe_error(error))
            return await self._failed(account, row, room_id,
                                      MatrixError(type(error).__name__, code=type(error).__name__))
        await self.repository.delivered(row, room_id, event_id, self.clock.ms())
        return True

    async def _already_sent(self, account: MatrixAccount, room_id: str, row: OutboxRow) -> str | None:
        """The event an earlier attempt made, for a row old enough that the homeserver may have forgotten its
        transaction ID; None when the row was never attempted, is young, or is not in the timeline."""
        may_have_gone = row.attempted_at is not None or row.attempts > 0
        if not may_have_gone or self.clock.ms() - row.created_at < TXN_MEMORY_MS:
            return None
        event_id = await account.find_sent(room_id, row.txn_id, row.created_at - CLOCK_SKEW_MS)
        if event_id is not None:
            log.info("outbox row %s (%s) was already delivered as %s; not sending it again",
                     row.id, row.action, event_id)
        return event_id

    @staticmethod
    async def _send(account: MatrixAccount, room_id: str, row: OutboxRow) -> str:
        if row.action == "redaction":
            return await account.redact(room_id, row.target_event_id or "", row.txn_id)
        if row.action == "file":
            if account.knows_room(room_id) and not account.is_encrypted(room_id):
                # Files hold personal data: never in the clear. A DM that is not encrypted is set aside like a
                # refused one, so the retry opens a fresh (encrypted) DM. A room not synced yet (a DM just
                # opened) is not known to be unencrypted: `send_file` waits for it.
                raise MatrixError("file: the room is not encrypted", permanent=True, code=NOT_ENCRYPTED)
            file = row.content
            data = file["text"].encode() if "text" in file else base64.b64decode(file["base64"])
            return await account.send_file(room_id, file["filename"], file["mimetype"], data, row.txn_id)
        event_type = "m.reaction" if row.action == "reaction" else "m.room.message"
        return await account.send(room_id, event_type, row.content, row.txn_id)

    def _file_not_sent(self, row: OutboxRow) -> Outgoing:
        """What the room gets instead of the file: the file's name (always one a bot chose, never a member's
        words) and why it did not come."""
        content = self.templates.render("file_not_sent", filename=row.content["filename"])
        return Outgoing(row.account, "message", content, room_id=row.room_id)

    async def _failed(self, account: MatrixAccount, row: OutboxRow, room_id: str | None, error: MatrixError) -> bool:
        """Back off and try again later (False). Give up (True) only on a row that can never go where it is
        addressed: the homeserver can never take it (too large, not valid JSON), or it is a file for a room
        that is not encrypted. Waiting, it would hold back every later message to the same place, alerts
        included."""
        if (row.action == "redaction" and row.to_user is not None and error.forbidden
                and self.clock.ms() - row.created_at >= REFUSED_DM_REDACTION_KEPT_MS):
            await self.repository.drop(row)
            log.warning("outbox row %s (redaction) refused in a member's DM for a day; dropped", row.id)
            return True
        if error.unsendable:
            await self.repository.set_aside(row, self.clock.ms(), error.code)
            log.error("outbox row %s (%s) can never be sent (%s); set aside so the messages after it can go",
                      row.id, row.action, error.code)
            return True
        if error.code == NOT_ENCRYPTED and row.room_id is not None:
            # Only a row for the member's DM (no room of its own) can move to a fresh, encrypted one.
            await self.repository.set_aside(row, self.clock.ms(), error.code, [self._file_not_sent(row)])
            log.error("outbox row %s (file) cannot go into its room, which is not encrypted; set aside so the "
                      "messages after it can go, and the room told", row.id)
            return True
        if error.token_lost:
            try:
                if await account.recover_session():
                    await self.repository.postpone(row, self.clock.ms(), self.clock.ms(), error.code)
                    return False
            except MatrixError as login_error:
                error = login_error  # e.g. logins rate-limited: wait as long as that asks
        elif (error.forbidden or error.code == NOT_ENCRYPTED) and row.room_id is None and room_id is not None:
            # Only a row addressed to the member (not to a room, even their DM) moves on to a fresh DM. One the bot
            # is not in is forgotten; one that is not encrypted stays their DM, still read as private.
            if error.forbidden:
                await self.direct_rooms.closed(account.user_id, room_id)
            else:
                await self.direct_rooms.superseded(account.user_id, room_id)
        attempts = row.attempts + 1
        cap = REFUSED_BACKOFF_CAP_S if error.permanent else BACKOFF_CAP_S
        delay = backoff_delay(attempts, error.retry_after_ms, cap)
        code = error.code or str(error)
        now = self.clock.ms()
        await self.repository.postpone(row, now, now + int(delay * 1000), code)
        log.info("outbox row %s (%s) not delivered (%s), attempt %d; retrying in %.1fs",
                 row.id, row.action, error, attempts, delay)  # "what: code" or an exception name, never content
        return False
