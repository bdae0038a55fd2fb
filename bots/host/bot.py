"""The host bot: help and status, the member's data rights (export and erase), interests, groups and meetups."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import aiosqlite

from bothy.matrix.events import Membership, Message, Reaction, Redaction
from bothy.outbox import Effects
from bothy.plugin import Bot, BotContext, SweepRun
from bothy.settings import SettingsReader
from bothy.storage.personal_data import PersonalColumns, export_file
from bots.facts import GROUP_ARCHIVED
from bots.host import meetup_schema, safety_schema, schema
from bots.host.alert_commands import AlertCommands
from bots.host.audit import AuditCommands
from bots.host.building import GroupRooms
from bots.host.event_reports import HomeserverReports
from bots.host.groups import GroupCommands
from bots.host.interests import InterestCommands
from bots.host.meetup_storage import MeetupRepository
from bots.host.meetups import MeetupCommands
from bots.host.reports import Reports
from bots.host.settings import GroupSettings, read_settings
from bots.host.storage import GroupRepository, InterestRepository, welcome_once
from bots.host.talk import TalkCommands
from commands.framework import Choice, Command, CommandContext, Role, Text

CONFIRM_WITHIN_MS = 10 * 60_000  # `!forget me confirm` counts only this soon after `!forget me`
MAX_COMMAND_NAME = 40  # `!help COMMAND`: longer than any command's name, with room to spare
ACTIVE_COARSENESS_MS = 3_600_000  # a group's "last active" moves at most hourly: one write per group per hour


class HostBot(Bot):
    name = "host"
    migrations = (*schema.MIGRATIONS, *safety_schema.MIGRATIONS, *meetup_schema.MIGRATIONS)
    personal_columns: ClassVar[Mapping[str, PersonalColumns]] = {**schema.PERSONAL_COLUMNS,
                                                                 **safety_schema.PERSONAL_COLUMNS,
                                                                 **meetup_schema.PERSONAL_COLUMNS}
    anonymous_tables = safety_schema.ANONYMOUS_TABLES | meetup_schema.ANONYMOUS_TABLES
    schedules: ClassVar[Mapping[str, str]] = {"erasure_requests": "every 5m", "group_rooms": "every 10s",
                                              "group_dormancy": "0 10 * * *", "mute_expiry": "every 1m",
                                              "event_reports": "every 1m", "report_retention": "15 4 * * *",
                                              "meetups": "every 1m",
                                              "group_retention": "20 4 * * *"}
    templates_dir = Path(__file__).parent / "templates"

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> GroupSettings:
        return read_settings(reader, base_dir)

    def __init__(self, context: BotContext):
        super().__init__(context)
        self.settings: GroupSettings = context.settings
        self.interests = InterestCommands(self.name, self.settings.tags, InterestRepository(context.store),
                                          context.clock)
        groups = GroupRepository(context.store)
        self.groups = GroupCommands(self.name, context, self.settings, groups)
        self.meetups = MeetupCommands(self.name, context, groups, MeetupRepository(context.store))
        self.group_rooms = GroupRooms(context, self.settings, groups, self.meetups)
        self.reports = Reports(self.name, context)
        self.homeserver_reports = HomeserverReports(context, self.reports)
        self.safety = (TalkCommands(self.name, context), AlertCommands(self.name, context), self.reports,
                       AuditCommands(self.name, context))
        context.facts.provide(GROUP_ARCHIVED, self._archived)

    def sweeps(self) -> dict[str, SweepRun]:
        return {"erasure_requests": self.expire_erasure_requests, "group_rooms": self.group_rooms.sweep,
                "group_dormancy": self.group_rooms.ask_about_dormant, "mute_expiry": self.reports.unmute_due,
                "event_reports": self.homeserver_reports.poll, "report_retention": self.reports.forget_old,
                "meetups": self.meetups.sweep,
                "group_retention": self.group_rooms.forget_old}

    async def start(self) -> None:
        await self.homeserver_reports.start()

    def commands(self) -> list[Command]:
        return [
            Command("help", self.name, "what I can do for you, or how to use one command", self.help,
                    params=(Text("command", MAX_COMMAND_NAME, optional=True, read=True),), aliases=("commands",)),
            Command("mydata", self.name, "a file of everything Bothy stores about you, sent privately",
                    self.my_data, private=True),
            Command("forget", self.name, "erase everything Bothy stores about you (asks you to confirm)",
                    self.forget, private=True, params=(
                        Choice("me", ("me",), hint="Please send “forget me” to start: I'll ask you to confirm "
                                                   "before erasing anything."),
                        Choice("confirm", ("confirm",), optional=True),
                    )),
            Command("status", self.name, "how Bothy is doing: messages waiting or stuck, alerts not yet picked up",
                    self.status, role=Role.PEER_WORKER),
            *self.interests.commands(),
            *self.groups.commands(),
            *self.meetups.commands(),
            *(command for part in self.safety for command in part.commands()),
        ]

    async def _archived(self, room_id: str) -> str | None:
        group = await self.group_rooms.repository.by_room(room_id)
        return "archived" if group is not None and group.state in ("archiving", "archived") else None

    async def on_membership(self, membership: Membership, effects: Effects) -> None:
        """The first time a member joins a community room (not a DM, not a profile change), one welcome DM."""
        user_id = membership.user_id
        if not self.settings.welcome or membership.membership != "join" or membership.previous == "join" \
                or user_id in self.context.bot_accounts or self.context.rooms.is_direct_room(membership.room_id):
            return
        welcome = self.context.render("welcome", volunteers_only=self.settings.volunteers_only)
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            if await welcome_once(db, user_id, now):
                effects.message(welcome, to_user=user_id)

        effects.record(write)

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        return await self.meetups.on_reaction(reaction, effects)

    async def on_redaction(self, redaction: Redaction, effects: Effects) -> None:
        await self.meetups.on_redaction(redaction, effects)

    async def on_message(self, message: Message, effects: Effects) -> None:
        """A message in a group keeps it off the dormant list (when, coarsely; never what)."""
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await GroupRepository.touch(db, message.room_id, now, ACTIVE_COARSENESS_MS)

        effects.record(write)

    async def help(self, ctx: CommandContext) -> None:
        """Everything the sender may use, or one command's usage; a command they may not use is just unknown."""
        wanted = ctx.params["command"]
        if wanted is not None:
            command = self.context.commands.named(wanted.removeprefix(ctx.prefix))
            if command is not None and command.role <= ctx.role:
                ctx.reply("help_command", command=command)
                return
        visible = self.context.commands.visible_to(ctx.role)
        ctx.reply(
            "help",
            unknown=wanted,
            commands=[c for c in visible if c.role < Role.PEER_WORKER],
            staff_commands=[c for c in visible if c.role >= Role.PEER_WORKER],
        )

    async def status(self, ctx: CommandContext) -> None:
        status = self.context.status
        stuck = await status.stuck_messages()
        oldest_minutes = None
        if stuck.oldest_created_at is not None:
            oldest_minutes = max(0, self.context.clock.ms() - stuck.oldest_created_at) // 60_000
        ctx.reply("status", waiting=await status.pending_messages(), stuck=stuck.count, oldest_minutes=oldest_minutes,
                  unclaimed=await status.unclaimed_alerts())

    async def my_data(self, ctx: CommandContext) -> None:
        """The file goes only into an encrypted DM: typed in one that is not, it goes to the member, and the outbox,
        finding their DM unencrypted, opens a new (encrypted) one for it."""
        exported = await self.context.personal_data.export(ctx.sender)
        text = export_file(ctx.sender, exported)
        if ctx.in_dm and not ctx.encrypted:
            ctx.reply("mydata_new_chat")
            ctx.effects.file("bothy-my-data.json", "application/json", text, to_user=ctx.sender)
            ctx.effects.message(self.context.render("mydata_sent", tables=sorted(exported)),
                                to_user=ctx.sender)
            return
        ctx.reply_file("bothy-my-data.json", "application/json", text)
        ctx.reply("mydata_sent", tables=sorted(exported))

    async def forget(self, ctx: CommandContext) -> None:
        """`forget me` asks; `forget me confirm` erases, only within CONFIRM_WITHIN of asking, so an old or
        stray "confirm" never erases anything by surprise."""
        now = self.context.clock.ms()
        if ctx.params["confirm"] is None:
            exported = await self.context.personal_data.export(ctx.sender)

            async def ask(db: aiosqlite.Connection) -> None:
                await db.execute("INSERT OR REPLACE INTO erasure_requests (user_id, requested_at) VALUES (?, ?)",
                                 (ctx.sender, now))

            ctx.effects.record(ask)
            ctx.reply("forget_confirm", rows=sum(len(rows) for rows in exported.values()),
                      minutes=CONFIRM_WITHIN_MS // 60_000)
            return
        async with self.context.store.read() as db, db.execute(
            "SELECT requested_at FROM erasure_requests WHERE user_id = ?", (ctx.sender,)
        ) as cursor:
            request = await cursor.fetchone()
        if request is None or now - request[0] > CONFIRM_WITHIN_MS:
            # A second confirm (the first reply was slow) must not say "nothing has been erased" of an erase done.
            stored = bool(await self.context.personal_data.export(ctx.sender))
            ctx.reply("forget_not_asked" if stored else "forget_nothing_stored", minutes=CONFIRM_WITHIN_MS // 60_000)
            return

        await self.reports.lift_mutes(ctx.sender)  # what erasing would lose is settled first
        self.context.personal_data.erase_with(ctx.effects, ctx.sender, ctx.sent_at_ms)  # the request row included
        # A DM is left once this reply has gone (MatrixAccount.forget_member). Typed in a group, the reply goes into
        # a DM a bot account already has with the member (the answering account's first), or else into the group
        # where it was typed: sent to the member, it would open a new DM, recorded after the erase.
        if ctx.in_dm:
            ctx.reply("forget_done", in_dm=True)
            return
        accounts = [ctx.effects.account, *(account for account in self.context.account_rooms
                                           if account != ctx.effects.account)]
        dm = next(((account, room_id) for account in accounts
                   if (room_id := self.context.rooms_seen_by(account).direct_room_with(ctx.sender)) is not None), None)
        if dm is None:
            ctx.effects.message(self.context.render("forget_done", in_dm=False), room_id=ctx.room_id)
        else:
            ctx.effects.message(self.context.render("forget_done", in_dm=True), room_id=dm[1], account=dm[0])

    async def expire_erasure_requests(self) -> None:
        """An unconfirmed request names the member: keep it no longer than it can be confirmed."""
        before = self.context.clock.ms() - CONFIRM_WITHIN_MS

        async def expire(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM erasure_requests WHERE requested_at < ?", (before,))

        effects = Effects(self.context.account)
        effects.record(expire)
        await self.context.work.commit(effects)
