"""Staff alerts: raised through the outbox (never lost, never doubled), claimed with a ✅ reaction
by a peer worker, and re-announced once if nobody has claimed them in time.

Features raise alerts of their own kinds and may register what happens when one is claimed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite

from bothy.matrix.events import Reaction, in_thread
from bothy.outbox import Effects, StateWrite, UnitOfWork
from bothy.storage.alerts import Alert, AlertRepository, claim, mark_reminded
from bothy.storage.outbox import AlertRecord
from bothy.templates import Templates
from rooms.staff import StaffRoom, matrix_to

log = logging.getLogger("bothy.alerts")

CLAIM_KEYS = {"✅", "✔️", "✔", "☑️"}

ClaimHook = Callable[[Alert, str, Effects], Awaitable[None]]


class StaffAlerts:
    def __init__(self, repository: AlertRepository, staff_room: StaffRoom, templates: Templates,
                 peer_workers: frozenset[str], remind_after_s: int, work: UnitOfWork):
        self.repository = repository
        self.staff_room = staff_room
        self.templates = templates
        self.peer_workers = peer_workers
        self.remind_after_s = remind_after_s
        self.work = work
        self.clock = work.clock
        self._claim_hooks: dict[str, ClaimHook] = {}

    def on_claim(self, kind: str, hook: ClaimHook) -> None:
        self._claim_hooks[kind] = hook

    def raise_alert(self, effects: Effects, kind: str, template: str, *, subject_user: str | None = None,
                    room_id: str | None = None, event_id: str | None = None, topic: str | None = None,
                    **context: Any) -> None:
        """Queue an alert to the staff room with the event that raised it (exactly-once via the outbox)."""
        link = matrix_to(room_id, event_id) if room_id else None
        content = self.templates.render(template, link=link, subject_user=subject_user, topic=topic, **context)
        effects.message(content, room_id=self.staff_room.room_id,
                        alert=AlertRecord(kind, subject_user, room_id, event_id, topic))

    async def handle_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        """A ✅ from a peer worker on an alert claims it; True if the reaction was about an alert."""
        if reaction.room_id != self.staff_room.room_id or reaction.key not in CLAIM_KEYS:
            return False
        alert = await self.repository.by_staff_event(reaction.target_event_id)
        if alert is None or alert.account != effects.account:
            return alert is not None
        if reaction.sender not in self.peer_workers or alert.claimed_by is not None:
            return True
        owed = Effects(effects.account)
        owed.message(in_thread(self.templates.render("alert_claimed", worker=reaction.sender),
                               reaction.target_event_id), room_id=self.staff_room.room_id)
        hook = self._claim_hooks.get(alert.kind)
        if hook is not None:
            await hook(alert, reaction.sender, owed)
        effects.record(self._claim(alert, reaction.sender, owed, effects))
        return True

    def _claim(self, alert: Alert, peer_worker: str, owed: Effects, effects: Effects) -> StateWrite:
        """Claim in the reaction's own transaction: a crash cannot leave a claim whose notices were never
        queued. What the claim owes (prepared beforehand: hooks may read, and no read fits inside a
        transaction) is added only if this UPDATE is the one that claimed it."""
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            if await claim(db, alert.id, peer_worker, now):
                for owed_write in owed.writes:
                    await owed_write(db)
                effects.items.extend(owed.items)

        return write

    async def remind_unclaimed(self) -> None:
        """Sweep: one reminder per alert left unclaimed past the configured time. Idempotent."""
        now = self.clock.ms()
        for alert in await self.repository.unclaimed_unreminded(now - self.remind_after_s * 1000):
            content = in_thread(self.templates.render(
                "alert_reminder", minutes=max(1, (now - alert.created_at) // 60000),
                link=matrix_to(self.staff_room.room_id or "", alert.staff_event_id),
            ), alert.staff_event_id or "")
            effects = Effects(alert.account)
            effects.message(content, room_id=self.staff_room.room_id)
            await self.work.commit(effects, guard=functools.partial(mark_reminded, alert_id=alert.id, now_ms=now))
