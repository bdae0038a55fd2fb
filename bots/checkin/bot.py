"""The check-in bot: notices members who have gone quiet and reaches out gently, and routes
"I'd like a chat" to a peer worker. Reading counts as presence; no answer is fine.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import aiosqlite

from bothy.matrix.events import Membership, Message, Reaction, Receipt
from bothy.outbox import Effects, StateWrite
from bothy.plugin import Bot, BotContext, SweepRun
from bothy.settings import SettingsReader
from bothy.storage.alerts import Alert
from bots.checkin import schema
from bots.checkin.policy import (
    DAY_MS,
    QuietSignal,
    checkins_allowed,
    in_quiet_hours,
    quiet_signal,
    should_check_in,
)
from bots.checkin.settings import CheckinSettings, Settings, read_settings
from bots.checkin.storage import CheckinRepository
from bots.checkin.stress import StressCommands, StressWebhook
from bots.facts import ENERGY
from commands.framework import Command, CommandContext, Duration, Integer, Role, Subcommand, UserId

log = logging.getLogger("bothy.checkin")

OK, CHAT, PAUSE = "👍", "💬", "🔕"
ANSWER_KEYS = (OK, CHAT, PAUSE)
CHECKIN_TEMPLATES = ("checkin_1", "checkin_2", "checkin_3")
GENTLEST = "checkin_gentle"  # for a member whose energy is low today: asks for nothing back
ASKED = "checkin_asked"  # one a peer worker asked for (`!checkin`)
RECENT_CHECKIN_MS = 24 * 3600 * 1000  # `!checkin` sends no second within this
SWEEP_BATCH = 500
ACTIVITY_KEEP_DAYS = 7 * 9
DAY_S = 86_400
MAX_PAUSE_S = 365 * DAY_S  # a year; longer is what "off" is for
MAX_QUIET_DAYS = 365


class CheckinBot(Bot):
    name = "checkin"
    migrations = schema.MIGRATIONS
    personal_columns = schema.PERSONAL_COLUMNS
    schedules: ClassVar[Mapping[str, str]] = {"checkin_sweep": "every 10m", "activity_retention": "0 4 * * *"}
    templates_dir = Path(__file__).parent / "templates"

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> Settings:
        return read_settings(reader)

    def __init__(self, context: BotContext):
        super().__init__(context)
        self.settings: CheckinSettings = context.settings.checkin
        self.repository = CheckinRepository(context.store)
        self.stress = StressCommands(context, self.repository)
        self.webhook = StressWebhook(context, self.repository)
        context.alerts.on_claim("checkin_chat", self._chat_claimed)

    def commands(self) -> list[Command]:
        return [
            Command("checkins", self.name, "whether I check in when you've been quiet for a while", private=True,
                    subcommands=(
                        Subcommand("on", self.checkins_on),
                        Subcommand("off", self.checkins_off),
                        Subcommand("pause", self.checkins_pause, (Duration("duration", DAY_S, MAX_PAUSE_S),)),
                    )),
            Command("checkin", self.name, "send a member a gentle check-in now", self.checkin_now,
                    params=(UserId("user"),), role=Role.PEER_WORKER),
            Command("quiet", self.name, "members who have gone quiet, with what flagged each", self.quiet,
                    params=(Integer("days", 0, MAX_QUIET_DAYS, optional=True),), role=Role.PEER_WORKER),
            *self.stress.commands(),
        ]

    def sweeps(self) -> dict[str, SweepRun]:
        return {"checkin_sweep": self.sweep, "activity_retention": self.prune}

    async def start(self) -> None:
        await self.webhook.start()

    async def stop(self) -> None:
        await self.webhook.stop()

    # --- activity: counters and last-seen times, never text ----------------------------------

    def _tracked(self, room_id: str, user_id: str) -> bool:
        return user_id not in self.context.bot_accounts and not self.context.rooms.is_direct_room(room_id)

    async def on_message(self, message: Message, effects: Effects) -> None:
        if message.replaces is None and self._tracked(message.room_id, message.sender):
            self._count(effects, message.sender, message.room_id, "message", self._until_now(message))

    async def on_receipt(self, receipt: Receipt, effects: Effects) -> None:
        if self._tracked(receipt.room_id, receipt.user_id):
            async def write(db: aiosqlite.Connection) -> None:
                await CheckinRepository.saw_reading(db, receipt.user_id, receipt.room_id, self._until_now(receipt))

            effects.record(write)

    async def on_membership(self, membership: Membership, effects: Effects) -> None:
        if membership.membership in {"leave", "ban"}:
            async def write(db: aiosqlite.Connection) -> None:
                await CheckinRepository.left_room(db, membership.user_id, membership.room_id)

            effects.record(write)

    def _until_now(self, event: Message | Receipt | Reaction) -> int:
        """When it happened, never later than now: another server sets its own events' times, and one in the
        far future would make a member look active, and never checked in, for ever (a second reviewer's)."""
        return min(event.timestamp_ms, self.context.clock.ms())

    def _count(self, effects: Effects, user_id: str, room_id: str, kind: str, at_ms: int) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.count_activity(db, user_id, room_id, kind, at_ms)

        effects.record(write)

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        if self.context.rooms.is_direct_room(reaction.room_id):
            return await self._answer(reaction, effects)
        if self._tracked(reaction.room_id, reaction.sender):
            self._count(effects, reaction.sender, reaction.room_id, "reaction", self._until_now(reaction))
        return False

    # --- the sweep ---------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Check in, once per gap, with each quiet member who hasn't opted out, outside quiet hours.

        Idempotent: what is sent is recorded in the same transaction, so a rerun (or a crash and
        restart) sends nothing twice. Returns how many check-ins were queued.
        """
        now = self.context.clock.now()
        if in_quiet_hours(now, self.context.timezone, self.settings.quiet_hours):
            return 0
        now_ms = self.context.clock.ms()
        preferences = await self.repository.preferences()
        last_sent = await self.repository.last_checkins()
        eligible = [
            signal for signal in await self._signals(now_ms)
            if should_check_in(signal)
            and checkins_allowed(preferences.get(signal.user_id, (True, None)), now_ms)
            and now_ms - last_sent.get(signal.user_id, 0) >= self.settings.min_gap_s * 1000
        ]
        # Longest silence first; a backlog (a new deployment, say) is spread over later sweeps so
        # peer workers are not met by hundreds of answers at once.
        eligible.sort(key=lambda signal: -(signal.days_silent or 0))
        due = [signal.user_id for signal in eligible[:self.settings.max_per_sweep]]
        gentle = await self._low_energy(due)
        queued = 0
        for start in range(0, len(due), SWEEP_BATCH):
            effects = Effects(self.context.account)
            effects.record(self._checkins_for(due[start:start + SWEEP_BATCH], now_ms, effects, gentle,
                                              gap_ms=self.settings.min_gap_s * 1000))
            await self.context.work.commit(effects)
            queued += len(effects.items)  # one message for each member still due when the write ran
        if queued:
            log.info("check-in sweep queued %d check-in(s)", queued)
        return queued

    async def _low_energy(self, members: list[str]) -> frozenset[str]:
        """Members who said their energy is low today (another bot may offer it): they get the gentlest
        check-in, which asks for nothing back. Read before the unit of work: providers read the database."""
        return frozenset([member for member in members if await self.context.facts.get(ENERGY, member) == "low"])

    def _checkins_for(self, members: list[str], now_ms: int, effects: Effects, gentle: frozenset[str],
                      requested_by: str | None = None, gap_ms: int | None = None) -> StateWrite:
        """Record the check-ins and owe their messages in one write: each message is tagged with its row's ID.
        With `gap_ms` (the sweep), who is still due is read again in this same transaction: what the sweep read
        before may be out of date by now (another check-in, `!checkins off`, `!forget me`)."""
        async def write(db: aiosqlite.Connection) -> None:
            due = members if gap_ms is None else await CheckinRepository.still_due(db, members, now_ms - gap_ms,
                                                                                   now_ms)
            ids = await CheckinRepository.add_checkins(db, due, now_ms, requested_by)
            for user_id, checkin_id in zip(due, ids, strict=True):
                self._queue_checkin(effects, user_id, checkin_id, now_ms, user_id in gentle, requested_by is not None)

        return write

    async def prune(self) -> None:
        """Retention (`checkin.keep_*`); activity is kept only as long as the longest baseline needs."""
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.prune(db, activity_before_day=now // DAY_MS - ACTIVITY_KEEP_DAYS,
                                          checkins_before_ms=now - self.settings.keep_checkins_s * 1000,
                                          presence_before_ms=now - self.settings.keep_presence_s * 1000)

        effects = Effects(self.context.account)
        effects.record(write)
        await self.context.work.commit(effects)

    async def _signals(self, now_ms: int, silent_after_s: int | None = None) -> list[QuietSignal]:
        settings = self.settings
        recent_from = (now_ms - settings.window_s * 1000) // DAY_MS + 1
        baseline_from = recent_from - settings.baseline_weeks * 7
        rows = await self.repository.activity_summary(recent_from, baseline_from)
        signals = (quiet_signal(row, now_ms, settings, silent_after_s) for row in rows)
        return [signal for signal in signals if signal is not None]

    def _queue_checkin(self, effects: Effects, user_id: str, checkin_id: int, now_ms: int, gentle: bool,
                       asked: bool = False) -> None:
        """A short, warm message, varied by member and day (the gentlest one when their energy is low), with
        the three answers as reactions. One a peer worker `asked` for says so, and says nothing of a quiet spell
        the member may not have had."""
        digest = hashlib.sha256(f"{user_id}:{now_ms // DAY_MS}".encode()).digest()
        template = GENTLEST if gentle else ASKED if asked else CHECKIN_TEMPLATES[digest[0] % len(CHECKIN_TEMPLATES)]
        content = self._checkin_message(template)
        effects.message(content, to_user=user_id, reactions=ANSWER_KEYS, tag=f"checkin:{checkin_id}")

    @functools.cache  # noqa: B019 - three templates, one bot for the life of the process
    def _checkin_message(self, template: str) -> dict:
        return self.context.render(template)

    # --- answers -----------------------------------------------------------------------------

    async def _answer(self, reaction: Reaction, effects: Effects) -> bool:
        tag = await self.context.sent_tags.tag_of(reaction.target_event_id)
        if tag is None or not tag.startswith("checkin:") or reaction.key not in ANSWER_KEYS:
            return False
        checkin = await self.repository.checkin(int(tag.split(":", 1)[1]))
        if checkin is None or checkin.user_id != reaction.sender:
            return checkin is not None
        now = self.context.clock.ms()
        answer = {OK: "ok", CHAT: "chat", PAUSE: "pause"}[reaction.key]

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.answer(db, checkin.id, answer, now)
            if answer == "pause":  # a pause, not a yes: `!checkins off` said before stays off
                await CheckinRepository.pause(db, checkin.user_id, now + self.settings.pause_s * 1000)

        effects.record(write)
        # The reaction is a personal signal, visible unencrypted: keep the answer, remove the reaction.
        effects.redact(reaction.room_id, reaction.event_id)
        back = self.context.staff_back()
        if answer == "chat":  # one chat alert per check-in, however often 💬 is tapped again
            self.context.alerts.raise_unless_waiting(effects, "checkin_chat", "alert_chat",
                                                     subject_user=checkin.user_id, topic=f"checkin:{checkin.id}",
                                                     outside_hours=back is not None)
        reply = {"ok": "checkin_ok", "chat": "checkin_chat_requested", "pause": "checkin_paused"}[answer]
        effects.message(self.context.render(reply, days=self.settings.pause_s // 86400, back=back),
                        room_id=reaction.room_id)
        return True

    async def _chat_claimed(self, alert: Alert, peer_worker: str, effects: Effects) -> None:
        self.context.alerts.tell_member_who_has_it(alert, peer_worker, effects, "checkin_chat_claimed")

    # --- commands ----------------------------------------------------------------------------

    async def checkins_on(self, ctx: CommandContext) -> None:
        self._set_checkins(ctx, True, None, "checkins_on")

    async def checkins_off(self, ctx: CommandContext) -> None:
        self._set_checkins(ctx, False, None, "checkins_off")

    async def checkins_pause(self, ctx: CommandContext) -> None:
        self._set_checkins(ctx, True, ctx.params["duration"], "checkins_paused")

    def _set_checkins(self, ctx: CommandContext, enabled: bool, pause_s: int | None, template: str) -> None:
        paused_until = self.context.clock.ms() + pause_s * 1000 if pause_s else None

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.set_preference(db, ctx.sender, enabled, paused_until)

        ctx.effects.record(write)
        ctx.reply(template, days=(pause_s or 0) // DAY_S)

    async def checkin_now(self, ctx: CommandContext) -> None:
        """A check-in a peer worker asks for now: never to one of Bothy's own accounts, never against a member's
        `!checkins off`, and not while one from the last day is unanswered (two peer workers acting on the same
        `!quiet` list); once the member has answered, a peer worker may check in again."""
        member = await self.context.member_named(ctx.params["user"])
        now = self.context.clock.ms()
        if not checkins_allowed(await self.repository.preference(member), now):
            ctx.reply("checkin_declined", member=member, about=member)
            return
        latest = await self.repository.unanswered_for(member)
        if latest is not None and now - latest[0] < RECENT_CHECKIN_MS:
            ctx.reply("checkin_recent", member=member, by=latest[1], minutes=max(1, (now - latest[0]) // 60_000),
                      about=member)
            return
        # The check-in row and its message are committed with this command, so it goes out exactly once; the member's
        # choice and the day's limit are read again there, and the reply chosen by what was done (two `!checkin`s, or
        # one and the member's 🔕, handled side by side).
        declined, recent = (dataclasses.replace(ctx, effects=Effects(ctx.effects.account)) for _ in range(2))
        declined.reply("checkin_declined", member=member, about=member)
        recent.reply("checkin_recent", member=member, by=None, minutes=1, about=member)
        queue = self._checkins_for([member], now, ctx.effects, await self._low_energy([member]),
                                   requested_by=ctx.sender)
        ctx.reply("checkin_sent", member=member, about=member)
        sent = ctx.effects.items[-1]

        async def write(db: aiosqlite.Connection) -> None:
            instead = (declined if not checkins_allowed(await CheckinRepository.preference_in(db, member), now)
                       else recent if await CheckinRepository.unanswered_since(db, member, now - RECENT_CHECKIN_MS)
                       else None)
            if instead is not None:
                ctx.effects.items.remove(sent)
                ctx.effects.items.extend(instead.effects.items)
                return
            await queue(db)

        ctx.effects.record(write)

    async def quiet(self, ctx: CommandContext) -> None:
        days = ctx.params["days"]
        silent_after_s = days * DAY_S if days is not None else None
        now = self.context.clock.ms()
        signals = sorted(await self._signals(now, silent_after_s),
                         key=lambda s: (s.still_reading, -(s.days_silent or 0)))
        # Those who asked for no check-ins are still listed (a peer worker may know them), and said to have asked.
        preferences = await self.repository.preferences()
        listed = signals[:50]
        ctx.reply("quiet_list", total=len(signals), naming=[s.user_id for s in listed], members=[
            (s.user_id, s.describe(), not checkins_allowed(preferences.get(s.user_id, (True, None)), now))
            for s in listed])
