"""`!alerts` and `!done ID`: what is still open in the staff room, and closing an alert by its number (for
a peer worker who cannot easily react, or is catching up from a list)."""

from __future__ import annotations

from bothy.plugin import BotContext
from commands.framework import Command, CommandContext, Integer, Role

MAX_ALERT_ID = 10**12


class AlertCommands:
    def __init__(self, bot: str, context: BotContext):
        self.bot = bot
        self.context = context

    def commands(self) -> list[Command]:
        return [
            Command("alerts", self.bot, "alerts not yet done: open ones first, then who has which", self.alerts,
                    role=Role.PEER_WORKER),
            Command("done", self.bot, "mark an alert done by its number", self.done,
                    params=(Integer("id", 1, MAX_ALERT_ID),), role=Role.PEER_WORKER),
        ]

    async def alerts(self, ctx: CommandContext) -> None:
        now = self.context.clock.ms()
        alerts = await self.context.alerts.not_done()
        more = max(0, await self.context.alerts.repository.not_done_count() - len(alerts))  # (read apart)
        ctx.reply("alerts_list", more=more, naming=[a.claimed_by for a in alerts if a.claimed_by], alerts=[
            {"id": a.id, "kind": a.kind.replace("_", " "), "state": a.state, "urgent": a.urgent,
             "minutes": max(0, now - a.created_at) // 60_000, "claimed_by": a.claimed_by,
             "link": self.context.alerts.staff_link(a)}
            for a in alerts
        ])

    async def done(self, ctx: CommandContext) -> None:
        """The staff room hears it in the alert's thread; a DM gets a reply of its own."""
        alert = await self.context.alerts.repository.by_id(ctx.params["id"])
        if alert is None:
            ctx.reply("alert_unknown", alert_id=ctx.params["id"])
        elif not await self.context.alerts.close(alert, ctx.sender, ctx.effects):
            ctx.reply("alert_already_done", alert_id=alert.id)
        elif ctx.in_dm:
            ctx.reply("alert_closed", alert_id=alert.id)
