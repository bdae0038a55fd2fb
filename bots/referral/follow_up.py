"""Follow-up, as the best crisis services do: one gentle check-back after crisis lines, and "this helped" /
"not for me" on suggestions, counted per topic without names for `!referrals report`.

Both are reactions in the member's DM, and a reaction travels unencrypted: the answer is recorded, then the
member's reaction is redacted. A check-back is owed in the same transaction as the crisis lines and sent by a
sweep that marks it sent in the transaction that queues it, so it goes out once, restarts included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiosqlite

from bothy.matrix.events import Reaction
from bothy.outbox import Effects, StateWrite
from bothy.plugin import BotContext
from bothy.scheduling import on_time
from bothy.storage.alerts import Alert
from bots.referral.kb import Topic
from bots.referral.settings import ReferralSettings
from bots.referral.storage import Checkback, ReferralRepository
from commands.framework import CommandContext

OK, CHAT = "👍", "💬"
HELPED, NOT_FOR_ME = "👍", "👎"
CHECKBACK_KEYS = (OK, CHAT)
FEEDBACK_KEYS = (HELPED, NOT_FOR_ME)
REPORT_DAYS = 30
DAY_MS = 86_400_000
KEEP_CHECKBACKS_MS = 30 * DAY_MS  # like sent-message tags: a reaction to an older check-back is no answer


@dataclass(frozen=True)
class ReportRow:
    title: str
    sent: int  # at least k: a topic with fewer is not shown
    helped: int | None  # None: fewer than k
    not_for_me: int | None


class FollowUp:
    def __init__(self, context: BotContext, repository: ReferralRepository,
                 topic_titles: Callable[[], Mapping[str, str]]):
        self.context = context
        self.settings: ReferralSettings = context.settings
        self.repository = repository
        self.topic_titles = topic_titles
        context.alerts.on_claim("checkback_chat", self._chat_claimed)

    # --- check-backs ---------------------------------------------------------------------------

    def owe_checkback(self, effects: Effects, user_id: str) -> None:
        due_at = self.context.clock.ms() + self.settings.checkback_after_s * 1000

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.owe_checkback(db, user_id, due_at)

        effects.record(write)

    @on_time(15 * 60)
    async def send_checkbacks(self) -> int:
        """Sweep: each due check-back, once. Returns how many were queued by this run."""
        now = self.context.clock.ms()
        sent = 0
        for checkback in await self.repository.due_checkbacks(now):
            effects = Effects(self.context.account)
            effects.record(self._checkback(checkback, now, effects))
            await self.context.work.commit(effects)
            sent += bool(effects.items)
        return sent

    def _checkback(self, checkback: Checkback, now_ms: int, effects: Effects) -> StateWrite:
        async def write(db: aiosqlite.Connection) -> None:
            if await ReferralRepository.mark_checkback_sent(db, checkback.id, now_ms):
                effects.message(self.context.render("checkback"), to_user=checkback.user_id,
                                reactions=CHECKBACK_KEYS, tag=f"checkback:{checkback.id}")

        return write

    async def prune(self) -> None:
        before = self.context.clock.ms() - KEEP_CHECKBACKS_MS

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.prune_checkbacks(db, before)

        effects = Effects(self.context.account)
        effects.record(write)
        await self.context.work.commit(effects)

    # --- suggestions carry their feedback reactions ----------------------------------------------

    async def suggest(self, db: aiosqlite.Connection, effects: Effects, user_id: str, topics: list[Topic]) -> None:
        """The suggestion DM, tagged with an anonymous row of its topics so a reaction can be counted; inside the
        transaction that claimed the topics' cooldowns, so it is owed only if they were claimed."""
        suggestion_id = await ReferralRepository.record_suggestion(db, [t.id for t in topics], self.context.clock.ms())
        effects.message(self.context.render("referral_suggestion", topics=topics), to_user=user_id,
                        reactions=FEEDBACK_KEYS, tag=f"suggestion:{suggestion_id}")

    # --- answers -------------------------------------------------------------------------------

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        if reaction.sender in self.context.bot_accounts:
            return False  # the bot's own option reactions
        if not self.context.rooms_seen_by(effects.account).is_direct_room(reaction.room_id):
            return False
        tag = await self.context.sent_tags.tag_of(reaction.target_event_id)
        kind, _, number = (tag or "").partition(":")
        key = reaction.key  # 👍 and 👍️ arrive as one: the adapter drops the variation selector
        if kind == "suggestion" and key in FEEDBACK_KEYS:
            await self._feedback(reaction, key, int(number), effects)
        elif kind == "checkback" and key in CHECKBACK_KEYS:
            await self._checkback_answer(reaction, key, int(number), effects)
        else:
            return False
        return True

    async def _feedback(self, reaction: Reaction, key: str, suggestion_id: int, effects: Effects) -> None:
        """Counted once per suggestion, under no name; the reaction is removed either way."""
        answer = "helped" if key == HELPED else "not_for_me"
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            if await ReferralRepository.record_feedback(db, suggestion_id, answer, now):
                effects.message(self.context.render("suggestion_feedback_thanks"), room_id=reaction.room_id)

        effects.record(write)
        effects.redact(reaction.room_id, reaction.event_id)

    async def _checkback_answer(self, reaction: Reaction, key: str, checkback_id: int, effects: Effects) -> None:
        checkback = await self.repository.checkback(checkback_id)
        if checkback is None or checkback.user_id != reaction.sender:
            return
        answer = "chat" if key == CHAT else "ok"
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.answer_checkback(db, checkback.id, answer, now)

        effects.record(write)
        effects.redact(reaction.room_id, reaction.event_id)
        back = self.context.staff_back()
        if answer == "chat":  # one chat alert per check-back, however often 💬 is tapped again
            self.context.alerts.raise_unless_waiting(effects, "checkback_chat", "alert_checkback_chat",
                                                     subject_user=checkback.user_id, topic=f"checkback:{checkback.id}",
                                                     outside_hours=back is not None)
        reply = "checkback_chat_requested" if answer == "chat" else "checkback_ok"
        effects.message(self.context.render(reply, back=back), room_id=reaction.room_id)

    async def _chat_claimed(self, alert: Alert, peer_worker: str, effects: Effects) -> None:
        self.context.alerts.tell_member_who_has_it(alert, peer_worker, effects, "checkback_chat_claimed")

    # --- the report ----------------------------------------------------------------------------

    async def report(self, ctx: CommandContext) -> None:
        """Per topic over 30 days, each count shown only when at least k (`referral.min_count`), and a topic only
        when k suggestions or more were sent: a topic named at all says someone was suggested it. Distinct people
        are not counted: that would need a row naming each member for the 30 days; the cooldown makes each
        suggestion a different member or day (docs/DECISIONS.md)."""
        k = self.settings.min_count
        counts = await self.repository.counts_since(self.context.clock.ms() - REPORT_DAYS * DAY_MS)
        titles = self.topic_titles()

        def shown(count: int) -> int | None:
            return count if count >= k else None

        rows = [ReportRow(titles.get(topic, topic), c.sent, shown(c.helped), shown(c.not_for_me))
                for topic, c in counts.items() if c.sent >= k]
        ctx.reply("referrals_report", rows=sorted(rows, key=lambda row: row.title), k=k, days=REPORT_DAYS)
