"""`!audit [days]` (admins, staff room or DM): who did what as staff, and when: staff commands, claims and
moderation actions. The audit log holds no message text, so neither does this."""

from __future__ import annotations

import datetime as dt

from bothy.plugin import BotContext
from bothy.settings import is_user_id
from commands.framework import Command, CommandContext, Integer, Role

DAY_MS = 86_400_000
MAX_DAYS = 366
SHOWN = 50  # one answer stays well below Matrix's 64 KiB event limit once encrypted, even with long IDs


class AuditCommands:
    def __init__(self, bot: str, context: BotContext):
        self.bot = bot
        self.context = context

    def commands(self) -> list[Command]:
        return [Command("audit", self.bot, "staff commands, claims and moderation actions: who, what, when",
                        self.audit, params=(Integer("days", 1, MAX_DAYS, optional=True, default=7),),
                        role=Role.ADMIN)]

    async def audit(self, ctx: CommandContext) -> None:
        since = self.context.clock.ms() - ctx.params["days"] * DAY_MS
        async with self.context.store.read() as db, db.execute(
            "SELECT at, actor, action, subject, detail FROM audit_log WHERE at >= ? ORDER BY at DESC, id DESC "
            "LIMIT ?", (since, SHOWN + 1)
        ) as cursor:
            rows = list(await cursor.fetchall())
        zone = self.context.timezone
        entries = [{"when": dt.datetime.fromtimestamp(at / 1000, zone).strftime("%a %d %b %H:%M"),
                    "actor": actor or "someone since forgotten", "action": action, "subject": subject,
                    "detail": detail} for at, actor, action, subject, detail in rows[:SHOWN]]
        named = {person for _, actor, _, subject, _ in rows[:SHOWN] for person in (actor, subject)
                 if isinstance(person, str) and is_user_id(person)}
        ctx.reply("audit_list", entries=entries, days=ctx.params["days"], more=len(rows) > SHOWN, shown=SHOWN,
                  naming=sorted(named))
