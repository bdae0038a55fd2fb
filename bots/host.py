"""The host bot: help and status; interests, groups, meetups, reports and data rights land here too."""

from __future__ import annotations

import json

import aiosqlite

from bothy.bots.base import Bot
from bothy.commands.framework import Command, CommandContext, CommandRegistry, Role, UsageError
from bothy.storage.alerts import AlertRepository
from bothy.storage.outbox import OutboxRepository
from bothy.storage.personal_data import PersonalData


class HostBot(Bot):
    name = "host"

    def __init__(self, registry: CommandRegistry, outbox: OutboxRepository, alerts: AlertRepository,
                 personal_data: PersonalData):
        self.registry = registry
        self.outbox = outbox
        self.alerts = alerts
        self.personal_data = personal_data

    def commands(self) -> list[Command]:
        return [
            Command("help", self.name, "what I can do for you", self.help, aliases=("commands",)),
            Command("mydata", self.name, "a file of everything Bothy stores about you, sent privately",
                    self.my_data, private=True),
            Command("forget", self.name, "erase everything Bothy stores about you (asks you to confirm)",
                    self.forget, usage="me", private=True),
            Command("status", self.name, "how Bothy is doing: messages waiting to send, alerts not yet picked up",
                    self.status, role=Role.PEER_WORKER),
        ]

    async def help(self, ctx: CommandContext) -> None:
        visible = self.registry.visible_to(ctx.role)
        ctx.reply(
            "help",
            commands=[c for c in visible if c.role < Role.PEER_WORKER],
            staff_commands=[c for c in visible if c.role >= Role.PEER_WORKER],
        )

    async def status(self, ctx: CommandContext) -> None:
        if ctx.args:
            raise UsageError("This one doesn't take anything after it.")
        ctx.reply("status", waiting=await self.outbox.pending_count(),
                  unclaimed=await self.alerts.unclaimed_count())

    async def my_data(self, ctx: CommandContext) -> None:
        if ctx.args:
            raise UsageError("This one doesn't take anything after it.")
        exported = await self.personal_data.export(ctx.sender)
        text = json.dumps({"user_id": ctx.sender, "data": exported}, indent=2)
        ctx.reply_file("bothy-my-data.json", "application/json", text)
        ctx.reply("mydata_sent", tables=sorted(exported))

    async def forget(self, ctx: CommandContext) -> None:
        words = [a.lower() for a in ctx.args]
        if words == ["me"]:
            exported = await self.personal_data.export(ctx.sender)
            ctx.reply("forget_confirm", rows=sum(len(rows) for rows in exported.values()))
        elif words == ["me", "confirm"]:
            async def write(db: aiosqlite.Connection) -> None:
                await PersonalData.erase_in(db, ctx.sender)

            ctx.effects.record(write)
            ctx.reply("forget_done")
        else:
            raise UsageError("Send !forget me to start; I'll ask you to confirm before erasing anything.")
