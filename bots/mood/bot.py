"""The mood bot: anonymous mood and energy, the daily weather, hang-out spaces by energy, and trends
for peer workers. Answers are stored without the member's ID (see storage.py); only what a member
chose to link (energy for a day, a shared record) names them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import aiosqlite

from bothy.matrix.adapter import MatrixError
from bothy.matrix.events import Membership, Message, Reaction
from bothy.outbox import Effects
from bothy.plugin import Bot, BotContext, SweepRun
from bothy.scheduling import on_time
from bothy.settings import SettingsReader
from bothy.storage.alerts import Alert
from bothy.storage.personal_data import KeyedRows
from bots.facts import ENERGY, GROUP_ARCHIVED
from bots.mood import schema
from bots.mood.chart import ChartError, draw_chart
from bots.mood.policy import ENERGIES, episode_over, exposed_rooms, local_day, publishable, shared_mood_alert, trend
from bots.mood.settings import MoodSettings, read_settings
from bots.mood.storage import MoodRepository, TodaysAnswers
from commands.framework import Choice, Command, CommandContext, Param, Role, Subcommand, Text, UsageError, small_number
from rooms.staff import matrix_to

log = logging.getLogger("bothy.mood")

MOOD_KEYS = ("😞", "🙁", "😐", "🙂", "😄")  # 1 to 5
ENERGY_KEYS = {"🪫": "low", "🔋": "medium", "⚡": "high"}
PROMPT_REACTIONS = (*MOOD_KEYS, *ENERGY_KEYS)
PROMPT_TAG = "mood_prompt"
ALERT_KIND = "mood_shared"
SWEEP_BATCH = 1000
REPORT_DAYS = 8 * 7
ROOMS_LISTED = 30  # by `!mood report` alone, latest figures first: the reply must stay well within an event's 64 KiB
SHARED_LOOKBACK_DAYS = 7
LIVELY_WINDOW_S = 3600.0
ON_TIME_S = 3 * 3600  # a daily prompt or the day's weather runs late only this soon after its time (on_time)


@dataclass(frozen=True)
class MoodAnswer(Param):
    """`!mood 3` records a mood; `!mood on` / `!mood off` is the daily prompt."""

    @property
    def label(self) -> str:
        return "1-5|on|off"

    @property
    def problem(self) -> str:
        return "Please give a number from 1 (a hard day) to 5 (a good day), or say on or off for the daily prompt."

    def convert(self, text: str) -> int | str:
        word = text.casefold()
        if word in {"on", "off"}:
            return word
        number = small_number(word)
        if number is None or not 1 <= number <= len(MOOD_KEYS):
            raise UsageError(self.problem)
        return number


class MoodBot(Bot):
    name = "mood"
    migrations = schema.MIGRATIONS
    personal_columns = schema.PERSONAL_COLUMNS
    anonymous_tables = schema.ANONYMOUS_TABLES
    keyed_rows: ClassVar[Mapping[str, KeyedRows]] = {"mood_answers": TodaysAnswers()}
    schedules: ClassVar[Mapping[str, str]] = {
        "mood_prompt": "0 10 * * *", "mood_weather": "0 20 * * *", "mood_rotation": "1 0 * * *",
        "hangout_prompts": "0 15 * * *",
    }
    templates_dir = Path(__file__).parent / "templates"

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> MoodSettings:
        return read_settings(reader, base_dir)

    def __init__(self, context: BotContext):
        super().__init__(context)
        self.settings: MoodSettings = context.settings
        self.repository = MoodRepository(context.store)
        self._hangouts: dict[str, str] = {}  # room ID -> energy level, once resolved
        self._recent: dict[str, deque[float]] = {}  # hang-out room -> recent message times (memory only)
        context.facts.provide(ENERGY, self._energy_of)
        context.alerts.on_claim(ALERT_KIND, self._alert_claimed)

    def commands(self) -> list[Command]:
        return [
            Command("mood", self.name, "today's mood from 1 to 5, kept anonymously; or the daily prompt on or off",
                    self.mood, params=(MoodAnswer("answer"),), private=True),
            Command("energy", self.name, "today's energy, so what I and the other bots send you fits it",
                    self.energy, params=(Choice("level", ENERGIES),), private=True),
            Command("mood share", self.name, "let peer workers see your mood, so a low spell can reach them",
                    private=True, subcommands=(Subcommand("on", self.share_on), Subcommand("off", self.share_off))),
            Command("mood report", self.name, "a room's anonymous mood and energy over 8 weeks, as a chart (typed in a "
                    "group, that group's, by DM)", self.report, params=(Text("room", 255, optional=True),),
                    role=Role.PEER_WORKER, private=True, about_the_room=True),
            Command("hangout", self.name, "which hang-out space fits your energy today, and how to join",
                    self.hangout, private=True),
            Command("hangout invite", self.name, "an invitation to the hang-out space that fits your energy today",
                    self.hangout_invite, private=True),
        ]

    def sweeps(self) -> dict[str, SweepRun]:
        return {"mood_prompt": self.prompt_sweep, "mood_weather": self.weather, "mood_rotation": self.rotate,
                "hangout_prompts": self.hangout_prompts}

    async def start(self) -> None:
        await self._hangout_rooms()

    def _today(self) -> int:
        return local_day(self.context.clock.ms(), self.context.timezone)

    async def _energy_of(self, user_id: str) -> str | None:
        return await self.repository.energy(user_id, self.context.clock.ms())

    # --- answers: typed or reacted -----------------------------------------------------------

    async def _record(self, effects: Effects, user_id: str, *, mood: int | None = None,
                      energy: str | None = None) -> None:
        """Today's answer, anonymously for each group room the member is in; energy linked for a day; the
        mood also in the shared record if they turned it on, which may raise one alert per low spell."""
        now, day = self.context.clock.ms(), self._today()
        joined = await self.context.rooms.member_rooms(user_id) - {self.context.alerts.staff_room.room_id}
        rooms = {room for room in joined  # an archived group has had its last word
                 if await self.context.facts.get(GROUP_ARCHIVED, room) is None}
        prefs = await self.repository.prefs(user_id)
        share = mood is not None and prefs.share
        alert = over = False
        if share and mood is not None:
            history = await self.repository.shared_history(user_id, day - SHARED_LOOKBACK_DAYS)
            alert = not prefs.share_alerted and shared_mood_alert({**history, day: mood}, day)
            # A day above low ends the spell, but not a low answer of today's changed (1, then 3, then 1 again).
            over = episode_over(mood) and episode_over(history.get(day, mood))

        async def write(db: aiosqlite.Connection) -> None:
            await MoodRepository.answer(db, user_id, day, rooms, mood, energy)
            if energy is not None:
                await MoodRepository.set_energy(db, user_id, energy, now)
            if share and mood is not None:
                await MoodRepository.share_mood(db, user_id, day, mood)
                # Claimed in the commit: two answers handled side by side (a reaction and a typed one) alert once.
                if alert and await MoodRepository.claim_share_alert(db, user_id):
                    self.context.alerts.raise_alert(effects, ALERT_KIND, "alert_mood", subject_user=user_id,
                                                    shared=True)
                elif over:
                    await MoodRepository.end_share_spell(db, user_id)

        effects.record(write)

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        if not self.context.rooms.is_direct_room(reaction.room_id):
            return False
        tag = await self.context.sent_tags.tag_of(reaction.target_event_id)
        if tag is None or not tag.startswith(PROMPT_TAG + ":"):
            return False
        mood = MOOD_KEYS.index(reaction.key) + 1 if reaction.key in MOOD_KEYS else None
        energy = ENERGY_KEYS.get(reaction.key)
        if mood is None and energy is None:
            return True
        await self._record(effects, reaction.sender, mood=mood, energy=energy)
        # Reactions are never encrypted: keep the answer, remove the reaction from the homeserver.
        effects.redact(reaction.room_id, reaction.event_id)
        effects.message(self.context.render("mood_noted", mood=mood, energy=energy, typed=False),
                        room_id=reaction.room_id)
        return True

    async def mood(self, ctx: CommandContext) -> None:
        answer = ctx.params["answer"]
        if isinstance(answer, int):
            await self._record(ctx.effects, ctx.sender, mood=answer)
            ctx.reply("mood_noted", mood=answer, energy=None, typed=True)
            return
        on = answer == "on"
        first = on and not (await self.repository.prefs(ctx.sender)).explained

        async def write(db: aiosqlite.Connection) -> None:
            await MoodRepository.set_prompt(db, ctx.sender, on)

        ctx.effects.record(write)
        ctx.reply("mood_on" if on else "mood_off", first=first, k=self.settings.min_contributors)

    async def energy(self, ctx: CommandContext) -> None:
        level = ctx.params["level"]
        await self._record(ctx.effects, ctx.sender, energy=level)
        ctx.reply("mood_noted", mood=None, energy=level, typed=True)

    async def share_on(self, ctx: CommandContext) -> None:
        self._set_share(ctx, True)

    async def share_off(self, ctx: CommandContext) -> None:
        """Consent taken back: an open alert built on what was shared is closed and no longer names them."""
        self._set_share(ctx, False)
        self.context.alerts.withdraw(ALERT_KIND, ctx.sender, ctx.effects, "mood_share_withdrawn")

    def _set_share(self, ctx: CommandContext, on: bool) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await MoodRepository.set_share(db, ctx.sender, on)

        ctx.effects.record(write)
        ctx.reply("mood_share_on" if on else "mood_share_off")

    async def _alert_claimed(self, alert: Alert, peer_worker: str, effects: Effects) -> None:
        self.context.alerts.tell_member_who_has_it(alert, peer_worker, effects, "mood_alert_claimed")

    # --- sweeps ------------------------------------------------------------------------------

    @on_time(ON_TIME_S)
    async def prompt_sweep(self) -> int:
        """Today's prompt to each member who asked for it, once, a batch at a time."""
        day, sent, after = self._today(), 0, 0
        while True:
            taken, after = await self._prompt_batch(day, after)
            if not taken:
                break
            sent += len(taken)
        if sent:
            log.info("mood prompt sent to %d member(s)", sent)
        return sent

    async def _prompt_batch(self, day: int, after: int) -> tuple[list[str], int]:
        """One batch of due members, taken and marked in the same commit as their prompts. A member whose
        energy is low today gets the gentler prompt, which asks for nothing."""
        effects = Effects(self.context.account)
        taken: list[str] = []
        position = after
        now = self.context.clock.ms()

        async def take(db: aiosqlite.Connection) -> None:
            nonlocal position
            taken[:], position = await MoodRepository.take_due_prompts(db, day, after, SWEEP_BATCH)
            low = await MoodRepository.low_energy(db, now)
            for gentle in (False, True):
                members = [member for member in taken if (member in low) == gentle]
                if members:
                    effects.messages(self._prompt(gentle), to_users=members, reactions=PROMPT_REACTIONS,
                                     tag=f"{PROMPT_TAG}:{day}")

        effects.record(take)
        await self.context.work.commit(effects)
        return taken, position

    @functools.cache  # noqa: B019 - two messages, one bot for the life of the process
    def _prompt(self, gentle: bool) -> dict:
        return self.context.render("mood_prompt_gentle" if gentle else "mood_prompt")

    @on_time(ON_TIME_S)
    async def weather(self) -> int:
        """Once a day, each group room whose figures may be shown gets one anonymous notice; the day is then
        frozen, so neither a rerun nor a late answer ever posts a second, different figure. A run with nothing to show
        leaves the day open: on an interval schedule (`every 30m`) the weather comes once enough have answered."""
        day = self._today()
        if await self.repository.frozen(day):
            return 0
        k = self.settings.min_contributors
        async with self.repository.snapshot() as db:  # tallies and overlaps from the same answers
            tallies = await self.repository.tallies(day, db)
            contributors = {room: t.contributors for room, t in tallies.items()}
            exposed = exposed_rooms(contributors, await self.repository.answered_elsewhere(day, db), k)
            shared = await self.repository.shared_contributors(day, exposed, db) if exposed else []
        rooms = publishable(contributors, shared, k)
        # Leaving one out only shows less: a group archived since its members answered today is read-only.
        published = {room: tallies[room] for room in rooms
                     if await self.context.facts.get(GROUP_ARCHIVED, room) is None}
        if not published:
            log.info("mood weather: none of %d room(s) had enough answers to show yet", len(tallies))
            return 0
        effects = Effects(self.context.account)

        async def write(db: aiosqlite.Connection) -> None:
            if await MoodRepository.freeze(db, day, published):
                for room, tally in sorted(published.items()):
                    effects.message(self.context.render("mood_weather", tally=tally, faces=MOOD_KEYS,
                                                        energy_faces=tuple(ENERGY_KEYS)), room_id=room)

        effects.record(write)
        await self.context.work.commit(effects)
        log.info("mood weather: %d of %d room(s) had enough answers to show", len(published), len(tallies))
        return len(published)

    async def rotate(self) -> None:
        """Just after midnight: destroy yesterday's key and answers, and what is past its keeping time;
        then checkpoint the WAL so the key's bytes do not linger in it."""
        now, day = self.context.clock.ms(), self._today()
        effects = Effects(self.context.account)
        effects.record(functools.partial(MoodRepository.prune, today=day, keep_days_from=day - self.settings.keep_days,
                                         now_ms=now))
        await self.context.work.commit(effects)
        if not await self.context.store.truncate_log():  # a later checkpoint overwrites it in time
            log.warning("the write-ahead log was not emptied after the day's key was destroyed: a long read held it")

    # --- trends for peer workers -------------------------------------------------------------

    async def report(self, ctx: CommandContext) -> None:
        from_day = self._today() - REPORT_DAYS
        reference = ctx.params["room"]
        in_a_group = not (ctx.in_dm or ctx.in_staff_room)
        if reference is None and not in_a_group:
            rooms = await self.repository.reported_rooms(from_day)
            ctx.reply("mood_report_rooms", hidden=max(0, len(rooms) - ROOMS_LISTED),
                      rooms=[(room, self.context.rooms.room_name(room)) for room in rooms[:ROOMS_LISTED]])
            return
        room_id = ctx.room_id if reference is None else await self._report_room(reference, from_day)
        days = await self.repository.published(room_id, from_day)
        if not days:
            ctx.reply("mood_report_empty", k=self.settings.min_contributors)
            return
        name = self.context.rooms.room_name(room_id)
        today = self._today()
        send_chart, chart_failed = ctx.files_allowed, False  # in a room not encrypted: the words alone, and why
        if send_chart:
            try:
                png = await draw_chart(days, today - REPORT_DAYS + 1, today, name)
            except ChartError as error:  # the words still help: send them, and say the chart will come another time
                log.warning("mood report for %s: %s", room_id, error)
                send_chart, chart_failed = False, True
            else:
                ctx.reply_file("mood-trend.png", "image/png", png)
        ctx.reply("mood_report", room=name, trend=trend(days, today), k=self.settings.min_contributors,
                  chart=send_chart, chart_failed=chart_failed)

    async def _report_room(self, reference: str, from_day: int) -> str:
        """A room ID or alias, or the name of a room with figures (as the listing shows it), as a room ID."""
        if reference.startswith(("!", "#")):
            try:
                return await self.context.rooms.resolve(reference)
            except MatrixError:
                return reference
        wanted = reference.casefold()
        named = [room for room in await self.repository.reported_rooms(from_day)
                 if " ".join(self.context.rooms.room_name(room).split()).casefold() == wanted]
        return named[0] if len(named) == 1 else reference

    # --- hang-out spaces ---------------------------------------------------------------------

    async def _hangout_rooms(self) -> dict[str, str]:
        """Room ID -> energy level for the configured hang-out rooms, resolving aliases once each."""
        for level, reference in self.settings.hangout_rooms.items():
            if level in self._hangouts.values():
                continue
            try:
                self._hangouts[await self.context.rooms.resolve(reference)] = level
            except MatrixError as error:
                log.warning("could not find the %s-energy hang-out room (%s); will try again", level, error)
        return self._hangouts

    async def hangout(self, ctx: CommandContext) -> None:
        energy = await self._energy_of(ctx.sender)
        rooms = self.settings.hangout_rooms
        spaces = [(level, matrix_to(room)) for level, room in rooms.items()]
        ctx.reply("hangout_spaces", energy=energy, fit=matrix_to(rooms[energy]) if energy in rooms else None,
                  spaces=spaces)

    async def hangout_invite(self, ctx: CommandContext) -> None:
        """Invite the member to today's fitting space. A Matrix call from a handler: repeated after a crash,
        it only invites again someone already invited. Refused (the mood account lacks the power to
        invite there, say), the member gets the link instead."""
        energy = await self._energy_of(ctx.sender)
        room_id = next((room for room, level in (await self._hangout_rooms()).items() if level == energy), None)
        link = matrix_to(self.settings.hangout_rooms[energy]) if energy in self.settings.hangout_rooms else None
        if energy is None or room_id is None:
            result = "no_energy" if energy is None else "no_space"
        elif room_id in await self.context.rooms.member_rooms(ctx.sender):
            result = "already"
        else:
            try:
                await self.context.room_maker.invite(room_id, ctx.sender)
                result = "invited"
            except MatrixError as error:
                log.info("hang-out invitation refused (%s)", error.code)
                result = "failed"
        ctx.reply("hangout_invite", result=result, energy=energy, link=link)

    async def on_message(self, message: Message, effects: Effects) -> None:
        if message.room_id in self._hangouts and message.sender not in self.context.bot_accounts:
            recent = self._recent.setdefault(message.room_id, deque(maxlen=self.settings.hangout_lively))
            recent.append(time.monotonic())

    def _lively(self, room_id: str) -> bool:
        recent = self._recent.get(room_id)
        return recent is not None and len(recent) >= self.settings.hangout_lively \
            and time.monotonic() - recent[0] < LIVELY_WINDOW_S

    async def on_membership(self, membership: Membership, effects: Effects) -> None:
        """A member's first join of a hang-out room gets its welcome, once; a join after a join is a new name or
        picture, not an arrival (a reviewer's: welcomed again months in)."""
        if membership.membership != "join" or membership.previous == "join" \
                or membership.user_id in self.context.bot_accounts:
            return
        if membership.room_id not in await self._hangout_rooms():
            return
        content = self.context.render("hangout_welcome", room=self.context.rooms.room_name(membership.room_id))

        async def write(db: aiosqlite.Connection) -> None:
            if await MoodRepository.first_welcome(db, membership.user_id, membership.room_id):
                effects.message(content, to_user=membership.user_id)

        effects.record(write)

    @on_time(ON_TIME_S)
    async def hangout_prompts(self) -> int:
        """One prompt per hang-out room, in turn from its energy's list, unless the room is already lively or
        was prompted within `hangout.min_gap`."""
        now = self.context.clock.ms()
        posted = 0
        for room_id, level in (await self._hangout_rooms()).items():
            last = await self.repository.hangout_prompted(room_id)
            if self._lively(room_id) or (last and now - last[0] < self.settings.hangout_min_gap_s * 1000):
                continue
            prompts = self.settings.hangout_prompts[level]
            turn = (last[1] + 1) % len(prompts) if last else 0
            effects = Effects(self.context.account)
            effects.message(self.context.render("hangout_prompt", prompt=prompts[turn], level=level), room_id=room_id)
            effects.record(functools.partial(MoodRepository.mark_hangout_prompted, room_id=room_id, at_ms=now,
                                             turn=turn))
            await self.context.work.commit(effects)
            posted += 1
        return posted
