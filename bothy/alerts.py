"""Staff alerts: raised through the outbox (never lost, never doubled), then open -> claimed (✅) -> done
(✔️ or `!done ID`), with who and when, each step audited.

An alert nobody claims is never silently missed. An ordinary one is re-announced once in the staff room;
an urgent one (the raising bot says which) is sent by DM to each peer worker after the escalation delay,
then to each admin after twice that. Each step is recorded in the same transaction as the DMs it owes,
and only while the alert is unclaimed, so a rerun or a restart never sends a step twice and a claim
stops the ladder.

Features raise alerts of their own kinds and may register what happens when one is claimed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bothy.matrix.events import Reaction, Redaction, in_thread, reaction_key
from bothy.outbox import Effects, StateWrite, UnitOfWork
from bothy.staff_hours import StaffHours
from bothy.storage.alerts import (
    Alert,
    AlertRepository,
    claim,
    escalation_tag,
    mark_done,
    mark_escalated,
    mark_reminded,
    note_claim_reaction,
    open_about,
    open_alert,
    unclaim,
    withdraw,
)
from bothy.storage.audit import record_audit
from bothy.storage.outbox import AlertRecord
from bothy.templates import Templates
from rooms.staff import StaffRoom, matrix_to

log = logging.getLogger("bothy.alerts")

CLAIM_KEYS = {"✅", "☑"}  # as the adapter gives reaction keys: without a variation selector (`reaction_key`)
DONE_KEYS = {"✔"}

ClaimHook = Callable[[Alert, str, Effects], Awaitable[None]]  # (alert, peer worker, effects)
ActionHook = ClaimHook  # a peer worker's reaction that acts on an alert of the bot's own kind


@dataclass(frozen=True)
class Escalation:
    """Who hears of an urgent alert nobody has claimed, and when: peer workers after `after_s`, admins after
    twice that."""

    after_s: int
    peer_workers: frozenset[str]
    admins: frozenset[str] = frozenset()

    def ladder(self) -> tuple[tuple[int, int, frozenset[str]], ...]:
        """(step, delay in seconds, whom it DMs), in order."""
        return (1, self.after_s, self.peer_workers), (2, 2 * self.after_s, self.admins)


class StaffAlerts:
    def __init__(self, repository: AlertRepository, staff_room: StaffRoom, templates: Templates,
                 peer_workers: frozenset[str], remind_after_s: int, work: UnitOfWork,
                 escalation: Escalation | None = None, hours: StaffHours | None = None, prefix: str = "!"):
        self.repository = repository
        self.staff_room = staff_room
        self.templates = templates
        self.peer_workers = peer_workers  # who may claim and close alerts (admins included)
        self.remind_after_s = remind_after_s
        self.work = work
        self.clock = work.clock
        self.escalation = escalation or Escalation(600, peer_workers)
        self.hours = hours  # None: no staffed hours are declared
        self.prefix = prefix  # of commands, which an escalation DM may name
        self._claim_hooks: dict[str, ClaimHook] = {}
        self._actions: dict[tuple[str, str], ActionHook] = {}

    def when_back(self, now: dt.datetime) -> str | None:
        """For a member asking for someone: None while peer workers are around (or no hours are declared),
        otherwise when they next are, in words. `now` in the organisation's time zone."""
        return self.hours.when_back(now) if self.hours is not None else None

    def on_claim(self, kind: str, hook: ClaimHook) -> None:
        self._claim_hooks[kind] = hook

    def on_action(self, kind: str, key: str, hook: ActionHook) -> None:
        """A peer worker reacting `key` on an alert of `kind` runs `hook` (e.g. moderation on a report)."""
        self._actions[(kind, reaction_key(key))] = hook

    def raise_alert(self, effects: Effects, kind: str, template: str, *, subject_user: str | None = None,
                    room_id: str | None = None, event_id: str | None = None, topic: str | None = None,
                    urgent: bool = False, shared: bool = False, **context: Any) -> None:
        """Queue an alert to the staff room with the event that raised it (exactly-once via the outbox).
        `urgent` alerts escalate by DM when nobody claims them; `shared` ones share what the member chose to share,
        and go with their erase."""
        link = matrix_to(room_id, event_id) if room_id else None
        content = self.templates.render(template, link=link, subject_user=subject_user, topic=topic, **context)
        effects.message(content, room_id=self.staff_room.room_id,
                        alert=AlertRecord(kind, subject_user, room_id, event_id, topic, urgent, shared))

    def in_thread(self, alert: Alert, effects: Effects, template: str, *, worker: str | None = None,
                  **context: Any) -> None:
        """A notice under the alert in the staff room (or at the room's foot if the alert never got there). One that
        names the peer worker who acted is theirs to export and erase too while it waits."""
        content = self.templates.render(template, alert_id=alert.id, worker=worker, **context)
        if alert.staff_event_id:
            content = in_thread(content, alert.staff_event_id)
        effects.message(content, room_id=self.staff_room.room_id, about=alert.subject_user,
                        naming=(worker,) if worker else ())

    def tell_member_who_has_it(self, alert: Alert, peer_worker: str, effects: Effects, template: str) -> None:
        """The member an alert is about, told which peer worker will be in touch: a claim's usual word to them. It
        names the peer worker too (theirs to export and erase while it waits)."""
        if alert.subject_user:
            effects.message(self.templates.render(template, worker=peer_worker, prefix=self.prefix),
                            to_user=alert.subject_user, naming=(peer_worker,))

    async def handle_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        """✅ from a peer worker claims an alert, ✔️ closes it, a key a bot registered for the alert's kind runs
        that action; True if the reaction was about an alert."""
        key = reaction.key
        actions = {action_key for _, action_key in self._actions}
        if reaction.room_id != self.staff_room.room_id or key not in CLAIM_KEYS | DONE_KEYS | actions:
            return False
        alert = await self.repository.by_staff_event(reaction.target_event_id)
        if alert is None or alert.account != effects.account:
            return alert is not None
        if reaction.sender not in self.peer_workers:
            return True
        action = self._actions.get((alert.kind, key))
        if action is not None:
            await action(alert, reaction.sender, effects)
        elif key in DONE_KEYS:
            await self.close(alert, reaction.sender, effects)
        elif key in CLAIM_KEYS:
            await self.claim(alert, reaction.sender, effects, reaction.event_id)
        return True

    async def handle_redaction(self, redaction: Redaction, effects: Effects) -> None:
        """A ✅ taken back by the peer worker who claimed with it (clicked again in Element) opens the alert again, so
        it is reminded and escalated as an unclaimed one is; said under it (an end-to-end auditor's, thirty-third
        session: the alert stayed claimed, and an urgent alert ticked by mistake never escalated)."""
        if redaction.room_id != self.staff_room.room_id or redaction.sender not in self.peer_workers:
            return

        async def write(db: aiosqlite.Connection) -> None:
            alert = await unclaim(db, redaction.redacts, redaction.sender, effects.account)
            if alert is not None:
                self.in_thread(alert, effects, "alert_unclaimed", worker=redaction.sender)

        effects.record(write)

    def withdraw(self, kind: str, subject_user: str, effects: Effects, note: str) -> None:
        """The member took back what their open alerts of `kind` were built on (consent to share, say): each is
        closed and no longer names them, and what it still owes the staff room is never sent; `note` goes under each
        the staff room may have seen. Found in the event's transaction: one raised meanwhile (a reading that came in
        as they unlinked) goes too."""
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            for alert in await open_about(db, kind, subject_user):
                if await withdraw(db, alert.id, now):
                    self.in_thread(dataclasses.replace(alert, subject_user=None), effects, note)

        effects.record(write)

    async def claim(self, alert: Alert, peer_worker: str, effects: Effects, reaction_id: str | None = None) -> None:
        """Claim an open alert (a peer worker acting on it has taken it); nothing if someone has already. `reaction_id`:
        the ✅ that claimed it, which taken back opens it again (handle_redaction)."""
        if alert.claimed_at is None:
            claimed = await self._claim_owed(alert, peer_worker, effects.account)
            if reaction_id is not None:
                claimed.record(functools.partial(note_claim_reaction, alert_id=alert.id, event_id=reaction_id))
            effects.record(self._transition(alert, peer_worker, effects, claimed=claimed))

    async def close(self, alert: Alert, peer_worker: str, effects: Effects) -> bool:
        """Mark an alert done (claiming it first if nobody had, so whoever asked is still told); False if it
        was already done."""
        if alert.done_at is not None:
            return False
        claimed = None
        if alert.claimed_at is None:
            claimed = await self._claim_owed(alert, peer_worker, effects.account)
        done = Effects(effects.account)
        self.in_thread(alert, done, "alert_done", worker=peer_worker)
        effects.record(self._transition(alert, peer_worker, effects, claimed=claimed, done=done))
        return True

    async def _claim_owed(self, alert: Alert, peer_worker: str, account: str) -> Effects:
        """What a claim owes, prepared beforehand: hooks may read, and no read fits inside a transaction."""
        owed = Effects(account)
        self.in_thread(alert, owed, "alert_claimed", worker=peer_worker)
        hook = self._claim_hooks.get(alert.kind)
        if hook is not None:
            await hook(alert, peer_worker, owed)
        return owed

    def _transition(self, alert: Alert, peer_worker: str, effects: Effects, *, claimed: Effects | None = None,
                    done: Effects | None = None) -> StateWrite:
        """Claim and/or close in the event's own transaction: a crash cannot leave a claim whose notices were
        never queued. What each step owes is added only if its UPDATE is the one that made it."""
        now = self.clock.ms()
        detail = f"alert {alert.id} ({alert.kind})"

        async def write(db: aiosqlite.Connection) -> None:
            steps = ((claimed, claim, "alert claimed"), (done, mark_done, "alert done"))
            for owed, update, action in steps:
                if owed is not None and await update(db, alert.id, peer_worker, now):
                    for owed_write in owed.writes:
                        await owed_write(db)
                    effects.items.extend(owed.items)
                    await record_audit(db, peer_worker, action, alert.subject_user, detail, now)

        return write

    def raise_unless_waiting(self, effects: Effects, kind: str, template: str, *, subject_user: str,
                             topic: str | None = None, event_id: str | None = None, room_id: str | None = None,
                             claimed_since_ms: int | None = None,
                             otherwise: Callable[[aiosqlite.Connection, Alert, Effects], Awaitable[None]] | None = None,
                             **context: Any) -> None:
        """`raise_alert`, unless an alert of `kind` about this member, event and topic is raised and not yet done (see
        `open_alert`), when `otherwise` says so under it: a member tapping the same reaction again and again must not
        raise one each time. Decided in the event's transaction: two handlers side by side (`!talk` typed in a DM and
        in a group at once, a message reported with `!report` while the homeserver's report of it is read) raise one
        between them."""
        raised = Effects(effects.account)
        self.raise_alert(raised, kind, template, subject_user=subject_user, topic=topic, event_id=event_id,
                         room_id=room_id, **context)

        async def unless_open(db: aiosqlite.Connection) -> None:
            waiting = await open_alert(db, kind, subject_user, event_id, topic, claimed_since_ms)
            if waiting is None:
                effects.items.extend(raised.items)
            elif otherwise is not None:
                await otherwise(db, waiting, effects)

        effects.record(unless_open)

    async def not_done(self) -> list[Alert]:
        return await self.repository.not_done()

    async def remind_unclaimed(self) -> None:
        """Sweep: one reminder per ordinary alert left unclaimed past the configured time, and the next
        escalation step for each urgent one. Idempotent."""
        now = self.clock.ms()
        await self.repository.bring_back_from_the_future(now, self.escalation.after_s * 1000,
                                                         self.remind_after_s * 1000)
        for alert in await self.repository.unclaimed_unreminded(now - self.remind_after_s * 1000):
            effects = Effects(alert.account)
            self.in_thread(alert, effects, "alert_reminder", minutes=self._minutes(alert, now),
                           link=self.staff_link(alert))
            await self.work.commit(effects, guard=functools.partial(mark_reminded, alert_id=alert.id, now_ms=now))
        await self.escalate(now)

    async def escalate(self, now: int) -> None:
        for step, delay_s, people in self.escalation.ladder():
            for alert in await self.repository.due_escalation(step, now - delay_s * 1000):
                effects = Effects(alert.account)
                minutes = self._minutes(alert, now)
                # One that never reached the staff room (it refuses the bot) has nothing there to ✅: its number is
                # what a peer worker can act on, with !alerts and !done in the DM.
                content = self.templates.render("alert_escalated", minutes=minutes, link=self.staff_link(alert),
                                                id=alert.id, in_room=alert.staff_event_id is not None,
                                                prefix=self.prefix)
                for person in sorted(people):
                    effects.message(content, to_user=person, urgent=True, tag=escalation_tag(alert.id))
                self.in_thread(alert, effects, "alert_escalation_note", step=step, people=len(people),
                               minutes=minutes)
                if await self.work.commit(effects, guard=functools.partial(mark_escalated, alert_id=alert.id,
                                                                          step=step)):
                    log.info("alert %s unclaimed after %d min: escalation step %d (%d DMs)", alert.id,
                             minutes, step, len(people))

    def staff_link(self, alert: Alert) -> str:
        """A link to the alert's message in the staff room."""
        return matrix_to(self.staff_room.room_id or "", alert.staff_event_id)

    @staticmethod
    def _minutes(alert: Alert, now: int) -> int:
        return max(1, (now - alert.created_at) // 60000)
