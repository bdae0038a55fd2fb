"""Staff alerts: who raised what, and where each stands: open, claimed by a peer worker, done; whether the
room was reminded, and how far up the escalation ladder an urgent one has gone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from bothy.storage.database import Database, scalar
from bothy.storage.outbox import CLOCK_STEP_MS


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    account: str
    subject_user: str | None
    room_id: str | None
    event_id: str | None
    topic: str | None
    created_at: int
    staff_event_id: str | None
    claimed_by: str | None
    claimed_at: int | None = None  # what marks a claim: `claimed_by` is cleared if that peer worker is forgotten
    done_at: int | None = None
    urgent: bool = False
    escalation: int = 0  # escalation steps already taken

    @property
    def state(self) -> str:
        return "done" if self.done_at is not None else "claimed" if self.claimed_at is not None else "open"


_COLUMNS = ("id, kind, account, subject_user, room_id, event_id, topic, created_at, staff_event_id, claimed_by, "
            "claimed_at, done_at, urgent, escalation")


def _alert(row: Any) -> Alert:
    return Alert(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11],
                 bool(row[12]), row[13])


class AlertRepository:
    def __init__(self, database: Database):
        self.database = database

    async def _select(self, where: str, parameters: tuple = ()) -> list[Alert]:
        async with self.database.read() as db, db.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE {where}", parameters
        ) as cursor:
            return [_alert(row) for row in await cursor.fetchall()]

    async def by_staff_event(self, staff_event_id: str) -> Alert | None:
        found = await self._select("staff_event_id = ?", (staff_event_id,))
        return found[0] if found else None

    async def by_id(self, alert_id: int) -> Alert | None:
        found = await self._select("id = ?", (alert_id,))
        return found[0] if found else None

    async def latest_of(self, kind: str, *, event_id: str | None = None, subject_user: str | None = None,
                        topic: str | None = None) -> Alert | None:
        """The newest alert of `kind` about this event, member and topic that is not done (to merge a repeat
        into, or close once what it asked for is decided)."""
        found = await self._select("kind = ? AND event_id IS ? AND subject_user IS ? AND topic IS ? "
                                   "AND done_at IS NULL ORDER BY id DESC LIMIT 1",
                                   (kind, event_id, subject_user, topic))
        return found[0] if found else None

    async def not_done(self, limit: int = 50) -> list[Alert]:
        """What `!alerts` lists: alerts nobody has taken yet, then those taken and not yet done; urgent ones first,
        then oldest first, in each. The limit cuts from the end: claimed alerts left undone must never hide a new
        one."""
        return await self._select("done_at IS NULL ORDER BY claimed_at IS NOT NULL, urgent DESC, id LIMIT ?", (limit,))

    async def not_done_count(self) -> int:
        async with self.database.read() as db:
            return await scalar(db, "SELECT COUNT(*) FROM alerts WHERE done_at IS NULL")

    async def unclaimed_count(self) -> int:
        async with self.database.read() as db:
            return await scalar(db, "SELECT COUNT(*) FROM alerts WHERE claimed_at IS NULL")

    async def unclaimed_unreminded(self, created_before_ms: int) -> list[Alert]:
        """Ordinary alerts owed their one reminder (urgent ones escalate instead)."""
        return await self._select(
            "claimed_at IS NULL AND reminded_at IS NULL AND urgent = 0 AND staff_event_id IS NOT NULL "
            "AND created_at < ? ORDER BY id", (created_before_ms,))

    async def due_escalation(self, step: int, created_before_ms: int) -> list[Alert]:
        """Urgent, still unclaimed alerts older than the step's delay that have taken every step before it."""
        return await self._select(
            "claimed_at IS NULL AND urgent = 1 AND escalation = ? AND created_at < ? ORDER BY id",
            (step - 1, created_before_ms))

    async def bring_back_from_the_future(self, now_ms: int, urgent_age_ms: int, ordinary_age_ms: int) -> None:
        """Open alerts raised while the clock ran fast, and so dated in the future once it is stepped back, would wait
        for the clock to catch up before a reminder or an escalation: an urgent alert unescalated for as long (a
        reviewer's). How long each has really waited is unknown; each is taken as just old enough for its first
        reminder or step, and the ladder goes on from there. Looked for first, so a sweep writes nothing when there
        are none."""
        future = now_ms + CLOCK_STEP_MS  # a minute's margin: one raised while this sweep began is not from the future
        async with self.database.read() as db:
            if not await scalar(db, "SELECT COUNT(*) FROM alerts WHERE done_at IS NULL AND created_at > ?",
                                (future,)):
                return
        async with self.database.transaction() as db:
            await db.execute("UPDATE alerts SET created_at = ? - CASE WHEN urgent = 1 THEN ? ELSE ? END - 1 "
                             "WHERE done_at IS NULL AND created_at > ?",
                             (now_ms, urgent_age_ms, ordinary_age_ms, future))


async def mark_reminded(db: aiosqlite.Connection, alert_id: int, now_ms: int) -> bool:
    """Inside the caller's transaction, so the reminder row and this mark commit together; only while nobody has
    claimed the alert (a claim committed between the sweep's read and this write gets no nudge under it)."""
    cursor = await db.execute(
        "UPDATE alerts SET reminded_at = ? WHERE id = ? AND reminded_at IS NULL AND claimed_at IS NULL",
        (now_ms, alert_id)
    )
    return cursor.rowcount == 1


async def mark_escalated(db: aiosqlite.Connection, alert_id: int, step: int) -> bool:
    """Inside the transaction that queues the step's DMs: a step is taken once, and only while nobody has
    claimed the alert (a claim committed first wins and the DMs are never queued)."""
    cursor = await db.execute(
        "UPDATE alerts SET escalation = ? WHERE id = ? AND escalation = ? AND claimed_at IS NULL",
        (step, alert_id, step - 1),
    )
    return cursor.rowcount == 1


async def claim(db: aiosqlite.Connection, alert_id: int, peer_worker: str, now_ms: int) -> bool:
    """Inside the caller's transaction, so the claim and the notices it owes commit together.
    First claim wins; False if someone claimed it already. `claimed_at` is what marks a claim:
    `claimed_by` is cleared when that peer worker asks to be forgotten, and the alert stays claimed.
    Escalation DMs not yet sent (a DM being opened, an outage, a rate limit) are withdrawn: "nobody has picked it up"
    is no longer true. One tried already may have gone: withdrawn, it is at worst not sent again."""
    cursor = await db.execute(
        "UPDATE alerts SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_at IS NULL",
        (peer_worker, now_ms, alert_id),
    )
    if cursor.rowcount != 1:
        return False
    await db.execute("DELETE FROM outbox WHERE tag = ? AND dead = 0", (escalation_tag(alert_id),))
    return True


async def open_alert(db: aiosqlite.Connection, kind: str, subject_user: str | None, event_id: str | None,
                     topic: str | None, claimed_since_ms: int | None = None) -> Alert | None:
    """Inside the caller's transaction: the newest alert of `kind` about this member, event and topic that is not done
    (and, given `claimed_since_ms`, not claimed before it: one taken long ago and never marked done is no longer in
    hand)."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM alerts WHERE kind = ? AND subject_user IS ? AND event_id IS ? AND topic IS ? "
        "AND done_at IS NULL AND (claimed_at IS NULL OR claimed_at >= ?) ORDER BY id DESC LIMIT 1",
        (kind, subject_user, event_id, topic, claimed_since_ms if claimed_since_ms is not None else 0),
    ) as cursor:
        row = await cursor.fetchone()
    return _alert(row) if row is not None else None


async def open_about(db: aiosqlite.Connection, kind: str, subject_user: str) -> list[Alert]:
    """Inside the caller's transaction: every alert of `kind` about this member that is not done, oldest first."""
    async with db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE kind = ? AND subject_user = ? AND done_at IS NULL "
                          "ORDER BY id", (kind, subject_user)) as cursor:
        return [_alert(row) for row in await cursor.fetchall()]


def escalation_tag(alert_id: int) -> str:
    """The tag of an alert's escalation DMs, by which a claim withdraws those still queued."""
    return f"escalation:{alert_id}"


async def withdraw(db: aiosqlite.Connection, alert_id: int, now_ms: int) -> bool | None:
    """Inside the caller's transaction: taken and done, by nobody, and no longer naming its member, who took back what
    it was built on (taken too, so nothing nudges, escalates or counts it as waiting); what it still owes is never sent.
    Whether the staff room may have seen it (False: its message was never tried); None if it was already done."""
    cursor = await db.execute(
        "UPDATE alerts SET claimed_at = COALESCE(claimed_at, ?), done_at = ?, subject_user = NULL "
        "WHERE id = ? AND done_at IS NULL", (now_ms, now_ms, alert_id))
    if cursor.rowcount != 1:
        return None
    cursor = await db.execute("DELETE FROM outbox WHERE alert_id = ? AND attempted_at IS NULL AND dead = 0",
                              (alert_id,))
    never_tried = cursor.rowcount == 1
    await db.execute("DELETE FROM outbox WHERE (alert_id = ? OR tag = ?) AND dead = 0",
                     (alert_id, escalation_tag(alert_id)))
    return not never_tried


async def note_claim_reaction(db: aiosqlite.Connection, alert_id: int, event_id: str) -> None:
    await db.execute("UPDATE alerts SET claim_event_id = ? WHERE id = ?", (event_id, alert_id))


async def unclaim(db: aiosqlite.Connection, claim_event_id: str, peer_worker: str, account: str) -> Alert | None:
    """The alert of `account`'s that the peer worker's ✅ `claim_event_id` claimed, open again if it is not done (they
    took it back); None otherwise. Inside the caller's transaction."""
    async with db.execute(f"SELECT {_COLUMNS} FROM alerts WHERE claim_event_id = ? AND claimed_by = ? "
                          "AND account = ? AND done_at IS NULL", (claim_event_id, peer_worker, account)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    await db.execute("UPDATE alerts SET claimed_by = NULL, claimed_at = NULL, claim_event_id = NULL WHERE id = ?",
                     (row[0],))
    return _alert(row)


async def mark_done(db: aiosqlite.Connection, alert_id: int, peer_worker: str, now_ms: int) -> bool:
    """Inside the caller's transaction; False if it was already done."""
    cursor = await db.execute(
        "UPDATE alerts SET done_by = ?, done_at = ? WHERE id = ? AND done_at IS NULL",
        (peer_worker, now_ms, alert_id),
    )
    return cursor.rowcount == 1
