"""The referral bot: notices words that point to a need and privately suggests the right help.

A match DMs the author a short suggestion with the topic's resources (never a public call-out), at
most once per member per topic per cooldown, unless they turned suggestions off. Crisis matches always
DM crisis lines and alert the staff room with a link to the message, never its text.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import ClassVar, NamedTuple

import aiosqlite

from bothy.matrix.events import COMMAND_MSGTYPES, Message, Reaction
from bothy.outbox import Effects
from bothy.plugin import Bot, BotContext, RoomInfo, SettingsLoader, SweepRun
from bothy.settings import SettingsReader
from bothy.storage.alerts import open_about
from bothy.storage.audit import record_audit
from bots.referral import climate_schema, schema
from bots.referral.bereavement import in_own_words
from bots.referral.cli import add_kb_commands
from bots.referral.climate import RoomClimate
from bots.referral.follow_up import FollowUp
from bots.referral.kb import KnowledgeBase, Topic, has_crisis_lines, load_kb, modified
from bots.referral.matcher import Matcher
from bots.referral.settings import ReferralSettings, read_settings
from bots.referral.storage import ReferralRepository
from bots.referral.topic_lookup import TopicFinder, TopicWords
from commands.framework import Choice, Command, CommandContext, Role, Text, UsageError, UserId, parse_invocation

log = logging.getLogger("bothy.referral")

RELOAD_CHECK_S = 5.0
MAX_TOPIC = 80  # characters; longer than any topic's name or title


class Knowledge(NamedTuple):
    """One loaded KB with its matcher and topic finder: a message is read and answered with one of these throughout,
    so a reload finishing halfway cannot leave its topics missing."""
    kb: KnowledgeBase
    matcher: Matcher
    finder: TopicFinder


class ReloadingKnowledgeBase:
    """The KB, its matcher and its topic finder, reloaded when a topic file changes; a broken edit keeps the
    last good KB."""

    def __init__(self, directories: tuple[Path, ...], monotonic: Callable[[], float] = time.monotonic):
        self.directories = directories
        self.monotonic = monotonic
        self.topic_words = TopicWords.load()
        kb = load_kb(directories)
        for problem in kb.problems:
            log.warning("knowledge base: %s", problem)
        self.loaded = Knowledge(kb, Matcher(kb), TopicFinder(kb, self.topic_words))
        self.reloading: asyncio.Task[None] | None = None  # a reload in flight
        self._checked_at = monotonic()

    @property
    def kb(self) -> KnowledgeBase:
        return self.loaded.kb

    @property
    def finder(self) -> TopicFinder:
        return self.loaded.finder

    def current(self) -> Knowledge:
        """The KB to read a message with now. A change found starts a reload in a worker thread, one at a time:
        reading the files and building a matcher take a good part of a second, and a stalled disk must not hold up
        any message, so until it is done messages are read with the last good KB. Called on the event loop."""
        now = self.monotonic()
        if self.reloading is None and now - self._checked_at >= RELOAD_CHECK_S:
            self._checked_at = now
            if self._changed():
                self.reloading = asyncio.get_running_loop().create_task(self._reload())
        return self.loaded

    async def _reload(self) -> None:
        try:
            loaded = await _in_daemon_thread(self._load)
            if isinstance(loaded, KnowledgeBase):  # broken: keep the last good KB until the files change again
                self.loaded.kb.files = loaded.files
            elif loaded is not None:
                self.loaded = loaded
                log.info("knowledge base reloaded: %d topics, %d phrases, %d patterns", len(loaded.kb.topics),
                         loaded.matcher.phrase_count, loaded.matcher.pattern_count)
        finally:
            self.reloading = None

    def _changed(self) -> bool:
        """A topic file added, edited or removed, or a file one names (a word model) edited or removed."""
        try:
            files = {path: modified(path) for d in self.directories if d.is_dir() for path in d.glob("*.yaml")}
        except OSError as error:  # a folder that cannot be read now: the last good KB goes on working
            log.warning("knowledge base folder unreadable, not reloaded: %s", error)
            return False
        files.update({path: modified(path) for path in self.kb.files if path not in files})
        return files != self.kb.files

    def _load(self) -> Knowledge | KnowledgeBase | None:
        """The changed KB with its matcher and finder; the KB alone if it has problems; None if loading it failed
        unforeseen (tried again at the next check). A broken edit must never leave messages unread for crisis words."""
        try:
            kb = load_kb(self.directories)
            problems = kb.problems or ([] if has_crisis_lines(kb) else [
                "no crisis-tier topic: Bothy never runs without crisis lines (crisis.yaml removed?)"])
            for problem in problems:
                log.warning("knowledge base not reloaded: %s", problem)
            return kb if problems else Knowledge(kb, Matcher(kb), TopicFinder(kb, self.topic_words))
        except Exception:  # a bug, not a bad file; the last good KB goes on working
            log.exception("knowledge base not reloaded")
            return None


Loaded = Knowledge | KnowledgeBase | None  # what ReloadingKnowledgeBase._load returns


async def _in_daemon_thread(work: Callable[[], Loaded]) -> Loaded:
    """`work` run in a daemon thread: unlike asyncio.to_thread's pool, whose threads are joined at shutdown, one stuck
    reading a stalled disk cannot keep Bothy from stopping. `work` catches its own errors."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Loaded] = loop.create_future()

    def settle(result: Loaded) -> None:
        if not done.done():  # not cancelled meanwhile
            done.set_result(result)

    def run() -> None:
        result: Loaded = None
        try:
            result = work()
        finally:  # whatever happens, the reload ends, so a later change is loaded
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
                loop.call_soon_threadsafe(settle, result)

    threading.Thread(target=run, name="bothy-kb-reload", daemon=True).start()
    return await done


class ReferralBot(Bot):
    name = "referral"
    migrations = (*schema.MIGRATIONS, *climate_schema.MIGRATIONS)
    personal_columns = schema.PERSONAL_COLUMNS
    anonymous_tables = schema.ANONYMOUS_TABLES | climate_schema.ANONYMOUS_TABLES
    schedules: ClassVar[Mapping[str, str]] = {"referral_cooldowns": "every 1h", "referral_retention": "30 4 * * *",
                                              "referral_checkbacks": "*/15 10-20 * * *"}
    templates_dir = Path(__file__).parent / "templates"
    reads_every_room = True  # a member in crisis may say so in a DM with any bot

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> ReferralSettings:
        return read_settings(reader, base_dir)

    @classmethod
    def add_cli(cls, subcommands: argparse._SubParsersAction, settings: SettingsLoader) -> None:
        add_kb_commands(subcommands, settings)

    def __init__(self, context: BotContext, knowledge: ReloadingKnowledgeBase | None = None):
        super().__init__(context)
        self.settings: ReferralSettings = context.settings
        self.knowledge = knowledge or ReloadingKnowledgeBase(self.settings.kb_dirs)
        self.repository = ReferralRepository(context.store)
        self.follow_up = FollowUp(context, self.repository,
                                  lambda: {topic.id: topic.title for topic in self.kb.topics.values()})
        self.climate = RoomClimate(context, self.settings.climate)

    @property
    def kb(self) -> KnowledgeBase:
        return self.knowledge.kb

    def commands(self) -> list[Command]:
        return [
            Command("resources", self.name, "places that can help, by topic (sent to you privately)",
                    self.resources, params=(Text("topic", MAX_TOPIC, optional=True),), private=True),
            Command("referrals", self.name, "whether I may DM you suggestions when you mention something I know "
                    "about (crisis lines are always offered)", self.referrals,
                    params=(Choice("setting", ("on", "off")),), private=True),
            Command("refer", self.name, "DM a member the resources for a topic", self.refer,
                    params=(UserId("user"), Text("topic", MAX_TOPIC)), role=Role.PEER_WORKER, audits_itself=True),
            Command("referrals report", self.name, "per topic over 30 days: suggestions sent, \"helped\", "
                    "\"not for me\" (small counts hidden)", self.follow_up.report, role=Role.PEER_WORKER),
        ]

    def sweeps(self) -> dict[str, SweepRun]:
        return {"referral_cooldowns": self.prune_cooldowns, "referral_retention": self.prune_log,
                "referral_checkbacks": self.follow_up.send_checkbacks}

    async def prune_cooldowns(self) -> None:
        """Cooldowns that have run out, and check-backs sent long enough ago that no answer is expected."""
        older_than_ms = self.context.clock.ms() - max(self.settings.cooldown_s, self.settings.crisis_cooldown_s) * 1000
        await self._prune(ReferralRepository.prune_cooldowns, older_than_ms)
        await self.follow_up.prune()

    async def prune_log(self) -> None:
        """Retention of the anonymous log (`referral.keep_log`)."""
        await self._prune(ReferralRepository.prune_log, self.context.clock.ms() - self.settings.keep_log_s * 1000)
        await self._prune(lambda db, _: self.climate.prune(db), 0)

    async def _prune(self, prune: Callable[[aiosqlite.Connection, int], Awaitable[None]], older_than_ms: int) -> None:
        async def write(db: aiosqlite.Connection) -> None:
            await prune(db, older_than_ms)

        effects = Effects(self.context.account)
        effects.record(write)
        await self.context.work.commit(effects)

    # --- keyword matching ---------------------------------------------------------------------

    def _invokes_a_command(self, message: Message) -> bool:
        """A known command reaches bots only when its words are read for crisis ("!talk I can't keep myself safe",
        "!resources I'm going to end it tonight"); a topic they name ("!resources I'm in debt") is the command's to
        answer, and a suggestion beside its answer would say the same twice."""
        invocation = parse_invocation(message.body, self.context.prefix) \
            if message.msgtype in COMMAND_MSGTYPES else None
        return invocation is not None and self.context.commands.find(invocation) is not None

    async def on_message(self, message: Message, effects: Effects) -> None:
        """Any member's message Bothy can read, through whichever account received it: replies go to the
        member's DM with that account, and cooldowns are per member, whichever account answers."""
        knowledge = self.knowledge.current()
        topics = knowledge.kb.topics
        result = knowledge.matcher.match(message.body)
        if not result.hits or (result.tier != "crisis" and (message.sender_forgotten or
                                                            self._invokes_a_command(message))):
            return  # a command's words, and a forgotten member's, count only as a cry for help
        rooms = self.context.rooms_seen_by(effects.account)
        if self._bereavement_room(rooms, message.room_id):
            result = in_own_words(result, message.body)
            if not result.hits:
                return
        in_dm = rooms.is_direct_room(message.room_id)
        group_room = None if in_dm else message.room_id  # a DM's room ID would name the member
        if not in_dm and not message.sender_forgotten:
            await self.climate.count(message, [topics[t] for t in result.topics], effects,
                                     rooms.room_name(message.room_id))
        if result.tier == "crisis":
            crisis = next(topics[t] for t in result.topics if topics[t].tier == "crisis")
            await self._crisis(message, effects, crisis, None if in_dm else rooms.room_name(message.room_id),
                               group_room)
            return
        if await self.repository.opted_out(message.sender):
            return
        cooldown_s = self.settings.cooldown_s
        suggested = [topics[t] for t in result.topics  # repeats, seen cheaply before any work
                     if topics[t].tier != "signal" and await self._due(message.sender, t, cooldown_s)]
        if not suggested:
            return
        now = self.context.clock.ms()

        async def claim(db: aiosqlite.Connection) -> None:
            """Each cooldown decided again in the transaction, as for crisis lines: of two messages handled side
            by side, only the first to commit owes a topic."""
            claimed = [topic for topic in suggested if await ReferralRepository.claim(
                db, message.sender, topic.id, now, cooldown_s * 1000)]
            if claimed:
                await self.follow_up.suggest(db, effects, message.sender, claimed)

        effects.record(claim)

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        return await self.follow_up.on_reaction(reaction, effects)

    def _bereavement_room(self, rooms: RoomInfo, room_id: str) -> bool:
        """Configured by room ID or alias, so a room keeps its mark when its alias is the one written down."""
        marked = self.settings.bereavement_rooms
        return bool(marked) and (room_id in marked or rooms.canonical_alias(room_id) in marked)

    async def _crisis(self, message: Message, effects: Effects, crisis: Topic, room_name: str | None,
                      group_room: str | None) -> None:
        """Crisis lines to the author at once, and the staff room told who, where and what kind of match (never
        the words): the member's Matrix ID, the room's own name and a link (none for a DM, which staff cannot
        open), so a peer worker can act on the alert alone. Within the crisis cooldown a repeat owes nothing while
        a crisis alert about the member is still open; once a peer worker has marked it done, a new crisis is new."""
        cooldown_s = self.settings.crisis_cooldown_s
        if not await self._due(message.sender, crisis.id, cooldown_s) and await self._crisis_in_hand(message.sender):
            return  # a repeat, seen cheaply before any work
        if not message.sender_forgotten and not await self.repository.opted_out(message.sender):
            self.follow_up.owe_checkback(effects, message.sender)  # one at a time per member, however often owed
        now = self.context.clock.ms()

        async def claim(db: aiosqlite.Connection) -> None:
            """The cooldown and the open alert decided again in the transaction: of two messages handled side by side
            (rooms are handled in parallel), only the first to commit owes the lines and the alert."""
            if not await ReferralRepository.claim(db, message.sender, crisis.id, now, cooldown_s * 1000):
                if await open_about(db, "crisis", message.sender):
                    return
                await ReferralRepository.record_sent(db, message.sender, crisis.id, now)
            effects.message(self.context.render("crisis_support", topic=crisis), to_user=message.sender, urgent=True)
            self.context.alerts.raise_alert(
                effects, "crisis", "alert_crisis", subject_user=message.sender, room_id=group_room,  # a DM's names them
                event_id=message.event_id if group_room else None, topic=crisis.id, urgent=True,
                room_name=room_name, member=message.sender, topic_title=crisis.title,
            )

        effects.record(claim)

    async def _crisis_in_hand(self, user_id: str) -> bool:
        """A crisis alert about the member raised and not yet marked done."""
        async with self.context.store.read() as db:
            return bool(await open_about(db, "crisis", user_id))

    async def _due(self, user_id: str, topic: str, cooldown_s: int) -> bool:
        last = await self.repository.last_sent(user_id, topic)
        return last is None or self.context.clock.ms() - last >= cooldown_s * 1000

    def _dm(self, effects: Effects, user_id: str, template: str, **context) -> None:
        effects.message(self.context.render(template, **context), to_user=user_id)

    # --- commands ---------------------------------------------------------------------------

    def _topic_or_usage(self, name: str, again: str) -> tuple[Topic, bool]:
        """The topic the typed words mean, and whether by other words than its id or title; if they could mean
        a few, a usage problem showing the command `again` with each of them."""
        found = self.knowledge.finder.find(name)
        if found.topic is not None:
            return found.topic, found.by_words
        if found.candidates:
            choices = " or ".join(f"{again} {topic.id} ({topic.title})" for topic in found.candidates)
            raise UsageError(f"\"{name[:40]}\" could mean more than one topic. Send {choices}.")
        known = ", ".join(sorted(t.id for t in self.kb.topics.values() if t.tier != "signal"))
        raise UsageError(f"I don't have a topic called \"{name[:40]}\". The topics I know are: {known}.")

    async def resources(self, ctx: CommandContext) -> None:
        if ctx.params["topic"] is None:
            ctx.reply("resources_topics", topics=sorted((t for t in self.kb.topics.values() if t.tier != "signal"),
                                                        key=lambda t: t.title))
            return
        topic, _ = self._topic_or_usage(ctx.params["topic"], f"{ctx.prefix}resources")
        ctx.reply("resources_list", topic=topic)

    async def referrals(self, ctx: CommandContext) -> None:
        opted_out = ctx.params["setting"] == "off"
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await ReferralRepository.set_opt_out(db, ctx.sender, opted_out, now)

        ctx.effects.record(write)
        ctx.reply("referrals_off" if opted_out else "referrals_on")

    async def refer(self, ctx: CommandContext) -> None:
        member = await self.context.member_named(ctx.params["user"])
        topic, by_words = self._topic_or_usage(ctx.params["topic"], f"{ctx.prefix}refer {member}")
        self._dm(ctx.effects, member, "refer_received", topic=topic)
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await record_audit(db, ctx.sender, "refer", member, topic.id, now)

        ctx.effects.record(write)
        ctx.reply("refer_sent", member=member, about=member, topic=topic,
                  asked=ctx.params["topic"] if by_words else None)
