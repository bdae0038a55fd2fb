"""The persisted outbox: every message, reaction and redaction Bothy owes, until the homeserver has it.

Rows carry a transaction ID fixed at insert time, so a resend after a crash is deduplicated by
the homeserver instead of posted twice. `attempted_at` is written before each send, so a row that may
already have gone out is known after a crash (see `bothy/outbox.py`).

A row is *stuck* once it has failed `STUCK_AFTER_ATTEMPTS` times or waited `STUCK_AFTER_MS`, or was set
aside (it can never be sent: see `bothy/outbox.py`): `!status` counts these and the log names each once.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bothy.clock import hour_of
from bothy.storage.database import Database, scalar

STUCK_AFTER_ATTEMPTS = 3
STUCK_AFTER_MS = 10 * 60_000
_STUCK = "(dead = 1 OR attempts >= ? OR created_at <= ?)"

CLOCK_STEP_MS = 60_000  # a time this far ahead of now was written while the clock ran fast


@dataclass(frozen=True)
class AlertRecord:
    kind: str
    subject_user: str | None = None
    room_id: str | None = None
    event_id: str | None = None
    topic: str | None = None
    urgent: bool = False  # escalates by DM when unclaimed (see bothy/alerts.py), instead of one reminder
    shared: bool = False  # shares what the member chose to share: erased with them, even while open and urgent


@dataclass(frozen=True)
class Outgoing:
    """Something to send: to `room_id`, or else to `to_user`'s DM. A row for a member's DM names them in
    `to_user` either way (filled in from `dm_rooms` when only the room is given), so `!mydata` shows it and
    `!forget me` erases it, whatever it holds (an export, a link token, words the member typed). A message to
    staff about one member names them in `about_user`, for the same reason."""

    account: str
    action: str  # message | reaction | redaction | file ({filename, mimetype, text})
    content: dict[str, Any]
    room_id: str | None = None
    to_user: str | None = None
    target_event_id: str | None = None
    reactions: tuple[str, ...] = ()  # the bot's own reactions under this message, e.g. answer buttons
    alert: AlertRecord | None = None
    tag: str | None = None  # e.g. "poll:42": once sent, the event ID is recorded against it
    expires_at: int | None = None  # ms: past it, the message is moot (a reminder for what has begun) and dropped
    about_user: str | None = None  # the member a message to staff is about (an alert's subject by default)
    # Goes before everything else due (migration 25): what an emergency owes. An urgent alert is urgent by itself.
    urgent: bool = False
    # Members a message to staff lists besides `about_user` (`!quiet`'s reply): theirs too, while it is stored.
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutboxRow:
    id: int
    txn_id: str
    account: str
    room_id: str | None
    to_user: str | None
    action: str
    content: dict[str, Any]
    target_event_id: str | None
    reactions: tuple[str, ...]
    tag: str | None
    alert_id: int | None
    attempts: int
    created_at: int
    attempted_at: int | None  # set before each send: not None means it may have reached the homeserver
    expires_at: int | None = None


@dataclass(frozen=True)
class StuckRow:
    """What the log may say about a stuck row: never its content or where it goes."""

    id: int
    action: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class StuckSummary:
    count: int
    oldest_created_at: int | None


async def _due_rows(db: aiosqlite.Connection, now_ms: int, limit: int, urgent_only: bool) -> list[OutboxRow]:
    """The rows due now (see OutboxRepository.due), in order; the urgent ones through their own small index (the
    planner, left to itself, may read every due row to find them)."""
    urgent = "INDEXED BY outbox_urgent_due" if urgent_only else ""
    async with db.execute(
        "SELECT o.id, txn_id, account, room_id, to_user, action, COALESCE(c.content, o.content), target_event_id, "
        "reactions, tag, alert_id, attempts, created_at, attempted_at, expires_at "
        f"FROM outbox AS o {urgent} LEFT JOIN outbox_contents AS c ON c.id = o.content_id "
        f"WHERE o.dead = 0 AND o.next_attempt_at <= ? {'AND o.urgent = 1' if urgent_only else ''} "
        "AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.account = o.account AND e.room_id IS o.room_id "
        "AND e.to_user IS o.to_user AND e.id < o.id AND e.dead = 0 AND e.next_attempt_at > ? "
        "AND e.action != 'redaction') "
        "ORDER BY o.id LIMIT ?",
        (now_ms, now_ms, limit),
    ) as cursor:
        rows = await cursor.fetchall()
    return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7],
                      tuple(json.loads(r[8])) if r[8] else (), r[9], r[10], r[11], r[12], r[13], r[14])
            for r in rows]


class OutboxRepository:
    """A row read for sending is written back by its transaction ID, never by its number: numbers are reused once a
    row is gone (withdrawn, erased, sent), and a pass holding a row read before that must not touch its successor
    (a second reviewer's: a withdrawn alert was sent in the words of the reply that took its number)."""

    def __init__(self, database: Database):
        self.database = database

    @staticmethod
    async def enqueue(db: aiosqlite.Connection, items: list[Outgoing], now_ms: int) -> None:
        """Inside the caller's transaction, so what is owed commits with the state that owes it.

        One row per item (a message's reactions become rows of their own once it is sent), with IDs
        assigned here, so a whole sweep's messages go in with one statement. A content object that several
        items share (a sweep's prompt) is stored once, in `outbox_contents`, and referred to.
        """
        if not items:
            return
        members = await _dm_members(db, items)
        next_id = await scalar(db, "SELECT COALESCE(MAX(id), 0) FROM outbox") + 1
        # Transaction IDs: random per call, unique per row; fixed from here on, so a resend dedupes.
        txn_prefix = f"bothy-{uuid.uuid4().hex}"
        uses = Counter(id(item.content) for item in items)
        stored: dict[int, tuple[str, int | None]] = {}  # content object -> (its JSON, or "" and a shared ID)
        serialised: dict[int, str] = {}  # one JSON text per distinct reactions tuple
        rows = []
        for row_id, item in enumerate(items, start=next_id):
            alert_id = None
            if item.alert is not None:
                cursor = await db.execute(
                    "INSERT INTO alerts (kind, account, subject_user, room_id, event_id, topic, created_at, urgent, "
                    "shared) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.alert.kind, item.account, item.alert.subject_user, item.alert.room_id,
                     item.alert.event_id, item.alert.topic, now_ms, int(item.alert.urgent), int(item.alert.shared)),
                )
                alert_id = cursor.lastrowid
            content = stored.get(id(item.content))
            if content is None:
                content = stored[id(item.content)] = await _store(db, item.content, uses[id(item.content)])
            reactions = serialised.get(id(item.reactions)) if item.reactions else None
            if item.reactions and reactions is None:
                reactions = serialised[id(item.reactions)] = json.dumps(item.reactions)
            to_user = item.to_user if item.to_user is not None else members.get((item.account, item.room_id))
            about = item.about_user or (item.alert.subject_user if item.alert is not None else None)
            urgent = item.urgent or (item.alert is not None and item.alert.urgent)
            rows.append((row_id, f"{txn_prefix}-{row_id}", item.account, item.room_id, to_user, item.action,
                         *content, item.target_event_id, reactions, item.tag, alert_id, now_ms, now_ms,
                         item.expires_at, about, int(urgent)))
        await db.executemany(
            "INSERT INTO outbox (id, txn_id, account, room_id, to_user, action, content, content_id, target_event_id, "
            "reactions, tag, alert_id, created_at, next_attempt_at, expires_at, about_user, urgent) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        names = [(row_id, user) for row_id, item in enumerate(items, start=next_id) for user in set(item.names)]
        if names:
            await db.executemany("INSERT INTO outbox_names (row_id, user_id) VALUES (?, ?)", names)

    async def due(self, now_ms: int, limit: int = 100) -> list[OutboxRow]:
        """Rows due now, urgent ones first, each kind in order, leaving out any queued behind a row to the same place
        that is waiting (backing off): per-place order holds across passes, not just within one. A waiting
        redaction holds back nothing: no message depends on it, and one refused for want of power (a member's
        reaction in a DM they made without giving the bot moderator rights) would otherwise stop every later reply
        there. An urgent row overtakes rows to its own place that are due too, but not one that waits: what holds
        that one back (the room refuses the bot, the homeserver is down) would hold it back as well."""
        async with self.database.read() as db:
            urgent = await _due_rows(db, now_ms, limit, urgent_only=True)
            later = await _due_rows(db, now_ms, limit, urgent_only=False) if len(urgent) < limit else []
        first = {row.id for row in urgent}
        return [*urgent, *(row for row in later if row.id not in first)][:limit]

    async def owes_room(self, account: str, room_id: str) -> bool:
        """Whether anything of this account's is still to go into this room."""
        async with self.database.read() as db, db.execute(
            "SELECT 1 FROM outbox WHERE account = ? AND room_id = ? AND dead = 0 LIMIT 1", (account, room_id)
        ) as cursor:
            return await cursor.fetchone() is not None

    async def next_due_at(self, after_ms: int | None = None) -> int | None:
        """When the next row falls due; with `after_ms`, the next after it. Once a pass has sent all it could, a row
        still due then waits behind another to the same place, and only that one's retry can move it: waking for it
        would spin (a reviewer's: a thousand passes a second through an outage)."""
        async with self.database.read() as db, db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE dead = 0 AND next_attempt_at > ?",
            (-1 if after_ms is None else after_ms,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def delivered(self, row: OutboxRow, room_id: str, event_id: str, now_ms: int) -> None:
        """Done: forget the row; link an alert or tag to the event; queue the message's own reactions, unless the row
        was withdrawn while it went (consent taken back, the member erased): no buttons under what is withdrawn."""
        async with self.database.transaction() as db:
            if row.alert_id is not None:
                await db.execute("UPDATE alerts SET staff_event_id = ? WHERE id = ?", (event_id, row.alert_id))
            if row.tag is not None:  # the hour is enough to prune by; a message moot only at a time to come (an
                # announcement weeks ahead) counts from then, so a reaction to it still means something until then
                kept_from = max(now_ms, row.expires_at or 0)
                await db.execute("INSERT OR REPLACE INTO sent_events (event_id, tag, sent_at) VALUES (?, ?, ?)",
                                 (event_id, row.tag, hour_of(kept_from)))
            cursor = await db.execute("DELETE FROM outbox WHERE txn_id = ?", (row.txn_id,))
            if cursor.rowcount != 1:
                return
            await OutboxRepository.enqueue(db, [
                Outgoing(row.account, "reaction", _reaction_content(event_id, key), room_id=room_id,
                         target_event_id=event_id)
                for key in row.reactions
            ], now_ms)

    async def drop(self, row: OutboxRow) -> None:
        """Done without a send: its moment has passed, or the homeserver already has it (a reaction sent
        before). Shared words go with their last row (the trigger)."""
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE txn_id = ?", (row.txn_id,))

    async def attempting(self, row: OutboxRow, now_ms: int) -> bool:
        """Committed before the send: after a crash the row is known to have maybe gone out. False when the row is
        gone since the pass read it (withdrawn: consent taken back, an alert claimed, the member erased): not sent."""
        async with self.database.transaction() as db:
            cursor = await db.execute("UPDATE outbox SET attempted_at = ? WHERE txn_id = ? AND dead = 0",
                                      (now_ms, row.txn_id))
            return cursor.rowcount == 1

    async def refused_due_now(self, account: str, room_id: str, now_ms: int, codes: Sequence[str]) -> int:
        """What this account was refused sending into a room (with one of `codes`: it was not in it) is due
        now; how many rows. Called when the account joins the room: put out of the staff room and invited back, its
        alerts would otherwise wait out their backoff, up to an hour. Rows waiting on a rate limit or an
        outage keep their wait."""
        async with self.database.transaction() as db:
            cursor = await db.execute(
                "UPDATE outbox SET next_attempt_at = ? WHERE dead = 0 AND account = ? AND room_id = ? "
                f"AND next_attempt_at > ? AND last_error IN ({', '.join('?' * len(codes))})",
                (now_ms, account, room_id, now_ms, *codes))
            return cursor.rowcount

    async def bring_forward(self, now_ms: int) -> None:
        """Rows queued or last tried in the future were queued or postponed while the clock ran fast: once it is
        stepped back they would wait, and hold their place (an urgent alert behind them), for as long as it was ahead
        (a reviewer's). They are due now. Looked for first, so a pass writes nothing when there are none."""
        # The latest postponement counts (every failed try ends in one, a DM that could not be opened too), else the
        # latest try, else the queueing: once tried again after the step, a row's own wait holds. A minute's margin:
        # a row queued while this pass began is not from the future.
        ahead = "dead = 0 AND next_attempt_at > ? AND COALESCE(postponed_at, attempted_at, created_at) > ?"
        parameters = (now_ms, now_ms + CLOCK_STEP_MS)
        async with self.database.read() as db, db.execute(
            f"SELECT 1 FROM outbox WHERE {ahead} LIMIT 1", parameters
        ) as cursor:
            if await cursor.fetchone() is None:
                return
        async with self.database.transaction() as db:
            await db.execute(f"UPDATE outbox SET next_attempt_at = ? WHERE {ahead}", (now_ms, *parameters))

    async def postpone(self, row: OutboxRow, now_ms: int, until_ms: int, error: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, postponed_at = ? "
                "WHERE txn_id = ?", (until_ms, error[:200], now_ms, row.txn_id),
            )

    async def set_aside(self, row: OutboxRow, now_ms: int, error: str, instead: Sequence[Outgoing] = ()) -> None:
        """Never sent (kept `dead_outbox_days` from now, to investigate), so it holds back nothing after it;
        what is owed `instead` (a notice that it could not go) is queued in the same transaction."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, dead = 1 "
                "WHERE txn_id = ?",
                (now_ms, error[:200], row.txn_id),
            )
            await OutboxRepository.enqueue(db, list(instead), now_ms)

    async def tag_of(self, event_id: str) -> str | None:
        """What a sent message was for (e.g. "poll:42"), given the event ID the homeserver gave it."""
        async with self.database.read() as db, db.execute(
            "SELECT tag FROM sent_events WHERE event_id = ?", (event_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def report_newly_stuck(self, now_ms: int, limit: int = 50) -> list[StuckRow]:
        """Rows that have become stuck since the last call, marked so each is reported once (a backlog is
        reported `limit` at a time, so a huge sweep cannot flood the log in one go)."""
        async with self.database.transaction() as db:
            async with db.execute(
                f"SELECT id, action, attempts, last_error FROM outbox WHERE stuck_reported = 0 AND {_STUCK} "
                "ORDER BY id LIMIT ?",
                (STUCK_AFTER_ATTEMPTS, now_ms - STUCK_AFTER_MS, limit),
            ) as cursor:
                rows = [StuckRow(*r) for r in await cursor.fetchall()]
            await db.executemany("UPDATE outbox SET stuck_reported = 1 WHERE id = ?", [(r.id,) for r in rows])
        return rows

    async def stuck_summary(self, now_ms: int) -> StuckSummary:
        parameters = (STUCK_AFTER_ATTEMPTS, now_ms - STUCK_AFTER_MS)
        async with self.database.read() as db:
            count = await scalar(db, f"SELECT COUNT(*) FROM outbox WHERE {_STUCK}", parameters)
            oldest = await scalar(db, f"SELECT MIN(created_at) FROM outbox WHERE {_STUCK}", parameters)
        return StuckSummary(count, oldest)

    async def pending_count(self) -> int:
        async with self.database.read() as db:
            return await scalar(db, "SELECT COUNT(*) FROM outbox WHERE dead = 0")


async def _dm_members(db: aiosqlite.Connection, items: list[Outgoing]) -> dict[tuple[str, str | None], str]:
    """(account, room) -> the member, for the items given only a room that is one of that account's DMs."""
    members: dict[tuple[str, str | None], str] = {}
    for account, room_id in {(item.account, item.room_id) for item in items if item.to_user is None}:
        async with db.execute("SELECT user_id FROM dm_rooms WHERE account = ? AND room_id = ?",
                              (account, room_id)) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            members[account, room_id] = row[0]
    return members


async def _store(db: aiosqlite.Connection, content: dict[str, Any], uses: int) -> tuple[str, int | None]:
    """(JSON, None) for a content one item uses; ("", ID) for one stored once in `outbox_contents`."""
    text = json.dumps(content)
    if uses == 1:
        return text, None
    cursor = await db.execute("INSERT INTO outbox_contents (content) VALUES (?)", (text,))
    return "", cursor.lastrowid


def _reaction_content(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
