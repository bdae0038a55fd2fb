"""The host bot: help and status; interests, groups, meetups, reports and data rights land here too."""

from __future__ import annotations

from bothy.bots.base import Bot
from bothy.commands.framework import Command, CommandContext, CommandRegistry, Role, UsageError
from bothy.storage.alerts import AlertRepository
from bothy.storage.outbox import OutboxRepository


class HostBot(Bot):
    name = "host"

    def __init__(self, registry: CommandRegistry, outbox: OutboxRepository, alerts: AlertRepository):
        self.registry = registry
        self.outbox = outbox
        self.alerts = alerts

    def commands(self) -> list[Command]:
        return [
            Command("help", self.name, "what I can do for you", self.help, aliases=("commands",)),
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
