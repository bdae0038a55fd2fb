"""The referral bot: notices words that point to a need and privately suggests the right help.

A match DMs the author a short suggestion with the topic's resources (never a public call-out), at
most once per member per topic per cooldown, unless they turned suggestions off. Crisis matches always
DM crisis lines and alert the staff room with a link to the message, never its text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import aiosqlite

from bothy.alerts import StaffAlerts
from bothy.bots.base import Bot, RoomInfo
from bothy.bots.referral.kb import KnowledgeBase, Topic, load_kb
from bothy.bots.referral.matcher import Matcher
from bothy.clock import Clock
from bothy.commands.framework import Command, CommandContext, Role, UsageError
from bothy.config import MATRIX_USER_ID
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.scheduling import Sweep
from bothy.storage.referrals import ReferralRepository
from bothy.templates import Templates

log = logging.getLogger("bothy.referral")

RELOAD_CHECK_S = 5.0


class ReloadingKnowledgeBase:
    """The KB and its matcher, reloaded when a topic file changes; a broken edit keeps the last good KB."""

    def __init__(self, directories: tuple[Path, ...], monotonic: Callable[[], float] = time.monotonic):
        self.directories = directories
        self.monotonic = monotonic
        self.kb = load_kb(directories)
        for problem in self.kb.problems:
            log.warning("knowledge base: %s", problem)
        self.matcher = Matcher(self.kb)
        self._checked_at = monotonic()

    def current(self) -> Matcher:
        now = self.monotonic()
        if now - self._checked_at >= RELOAD_CHECK_S:
            self._checked_at = now
            if self._changed():
                self._reload()
        return self.matcher

    def _changed(self) -> bool:
        files = {path: path.stat().st_mtime for d in self.directories if d.is_dir() for path in d.glob("*.yaml")}
        return files != self.kb.files

    def _reload(self) -> None:
        kb = load_kb(self.directories)
        if kb.problems:
            for problem in kb.problems:
                log.warning("knowledge base not reloaded: %s", problem)
            self.kb.files = kb.files  # don't retry until the files change again
            return
        self.kb, self.matcher = kb, Matcher(kb)
        log.info("knowledge base reloaded: %d topics, %d phrases", len(kb.topics), self.matcher.phrase_count)


class ReferralBot(Bot):
    name = "referral"

    def __init__(self, knowledge: ReloadingKnowledgeBase, repository: ReferralRepository, alerts: StaffAlerts,
                 rooms: RoomInfo, templates: Templates, clock: Clock, cooldown_s: int, crisis_cooldown_s: int,
                 prefix: str):
        self.knowledge = knowledge
        self.repository = repository
        self.alerts = alerts
        self.rooms = rooms
        self.templates = templates
        self.clock = clock
        self.cooldown_s = cooldown_s
        self.crisis_cooldown_s = crisis_cooldown_s
        self.prefix = prefix

    @property
    def kb(self) -> KnowledgeBase:
        return self.knowledge.kb

    def commands(self) -> list[Command]:
        return [
            Command("resources", self.name, "places that can help, by topic (sent to you privately)",
                    self.resources, usage="[topic]", private=True),
            Command("referrals", self.name, "whether I may DM you suggestions when you mention something I know "
                    "about (crisis lines are always offered)", self.referrals, usage="on|off", private=True),
            Command("refer", self.name, "DM a member the resources for a topic", self.refer,
                    usage="@user:server TOPIC", role=Role.PEER_WORKER),
        ]

    def sweeps(self) -> list[Sweep]:
        longest = max(self.cooldown_s, self.crisis_cooldown_s)
        return [Sweep("referral_cooldowns", "every 1h",
                      lambda: self.repository.prune_cooldowns(self.clock.ms() - longest * 1000))]

    # --- keyword matching ---------------------------------------------------------------------

    async def on_message(self, message: Message, effects: Effects) -> None:
        result = self.knowledge.current().match(message.body)
        if not result.hits:
            return
        in_dm = self.rooms.is_direct_room(message.room_id)
        log_room = None if in_dm else message.room_id  # a DM's room ID would name the member
        if result.tier == "crisis":
            crisis = next(self.kb.topics[t] for t in result.topics if self.kb.topics[t].tier == "crisis")
            await self._crisis(message, effects, crisis, in_dm, log_room)
            return
        if await self.repository.opted_out(message.sender):
            return
        topics = [self.kb.topics[t] for t in result.topics if await self._due(message.sender, t, self.cooldown_s)]
        if not topics:
            return
        self._dm(effects, message.sender, "referral_suggestion", topics=topics)
        self._record(effects, message.sender, [t.id for t in topics], log_room)

    async def _crisis(self, message: Message, effects: Effects, crisis: Topic, in_dm: bool,
                      log_room: str | None) -> None:
        """Crisis lines to the author at once, and the staff room told where (never what)."""
        if not await self._due(message.sender, crisis.id, self.crisis_cooldown_s):
            return
        self._dm(effects, message.sender, "crisis_support", topic=crisis)
        self.alerts.raise_alert(
            effects, "crisis", "alert_crisis", room_id=message.room_id, event_id=message.event_id, topic=crisis.id,
            room_name=None if in_dm else self.rooms.room_name(message.room_id),
            member=message.sender if in_dm else None,
        )
        self._record(effects, message.sender, [crisis.id], log_room)

    async def _due(self, user_id: str, topic: str, cooldown_s: int) -> bool:
        last = await self.repository.last_sent(user_id, topic)
        return last is None or self.clock.ms() - last >= cooldown_s * 1000

    def _dm(self, effects: Effects, user_id: str, template: str, **context) -> None:
        effects.message(self.templates.render(template, prefix=self.prefix, **context), to_user=user_id)

    def _record(self, effects: Effects, user_id: str, topics: list[str], room_id: str | None) -> None:
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            for topic in topics:
                await ReferralRepository.record_sent(db, user_id, topic, room_id, now)

        effects.record(write)

    # --- commands ---------------------------------------------------------------------------

    def _topic_or_usage(self, name: str) -> Topic:
        topic = self.kb.topic(name)
        if topic is None:
            known = ", ".join(sorted(self.kb.topics))
            raise UsageError(f"I don't have a topic called \"{name[:40]}\". The topics I know are: {known}.")
        return topic

    async def resources(self, ctx: CommandContext) -> None:
        if not ctx.args:
            ctx.reply("resources_topics", topics=sorted(self.kb.topics.values(), key=lambda t: t.title))
            return
        ctx.reply("resources_list", topic=self._topic_or_usage(ctx.rest))

    async def referrals(self, ctx: CommandContext) -> None:
        if len(ctx.args) != 1 or ctx.args[0].lower() not in {"on", "off"}:
            raise UsageError("Please say on or off.")
        opted_out = ctx.args[0].lower() == "off"
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.set_opt_out(db, ctx.sender, opted_out, now)

        ctx.effects.record(write)
        ctx.reply("referrals_off" if opted_out else "referrals_on")

    async def refer(self, ctx: CommandContext) -> None:
        if len(ctx.args) < 2:
            raise UsageError("Please give the member's Matrix ID and a topic.")
        member, topic_name = ctx.args[0], " ".join(ctx.args[1:])
        if not MATRIX_USER_ID.match(member):
            raise UsageError(f"\"{member[:60]}\" doesn't look like a Matrix ID such as @alice:example.org.")
        topic = self._topic_or_usage(topic_name)
        self._dm(ctx.effects, member, "refer_received", topic=topic)
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.audit(db, ctx.sender, "refer", member, topic.id, now)

        ctx.effects.record(write)
        ctx.reply("refer_sent", member=member, topic=topic)
