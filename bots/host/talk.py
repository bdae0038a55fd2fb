"""`!talk` (alias `!peer`): any member, any time, asks for a peer worker. The staff room gets a claimable
alert naming them (they asked); a ✅ tells them who will message them. Outside `staff.hours` they are told
honestly when someone will be back, always with the urgent-help lines."""

from __future__ import annotations

from bothy.outbox import Effects
from bothy.plugin import BotContext
from bothy.storage.alerts import Alert
from commands.framework import Command, CommandContext, Note

KIND = "talk"
NOTED_AGAIN_EVERY_MS = 10 * 60_000  # a member asking again and again is told to peer workers once in this long
# A request claimed this long ago is not still in hand: peer workers need not mark one done, so asking again after it
# is a new request, not a note under a claim a month old.
IN_HAND_MS = 24 * 3600 * 1000


class TalkCommands:
    def __init__(self, bot: str, context: BotContext):
        self.bot = bot
        self.context = context
        # alert id -> when its thread last said the member asked again, and for which event
        self._noted_again: dict[int, tuple[int, str]] = {}
        context.alerts.on_claim(KIND, self._claimed)

    def commands(self) -> list[Command]:
        return [Command("talk", self.bot, "ask for a peer worker to message you, any time", self.talk,
                        params=(Note("note"),), private=True, aliases=("peer",), always_answered=True)]

    async def talk(self, ctx: CommandContext) -> None:
        """One alert per request: asking again while one is waiting (or was claimed within IN_HAND_MS) says where it
        stands instead, and says so under the alert, so a peer worker who claimed it and has not reached the member
        yet sees them ask again: once in
        NOTED_AGAIN_EVERY_MS, so asking many times does not fill the staff room. The same ask handled again (its
        first handling failed before its messages were queued) is noted again. (Held in memory: after a restart the
        next ask is noted again.)"""
        alerts = self.context.alerts
        now = self.context.clock.ms()
        waiting = await alerts.repository.latest_of(KIND, subject_user=ctx.sender)
        if waiting is not None and waiting.claimed_at is not None and now - waiting.claimed_at >= IN_HAND_MS:
            waiting = None  # taken long ago and never marked done: this is a new request (a reviewer's)
        if waiting is not None:
            noted_at, noted_for = self._noted_again.get(waiting.id, (now - NOTED_AGAIN_EVERY_MS, ""))
            if now - noted_at >= NOTED_AGAIN_EVERY_MS or noted_for == ctx.event_id:
                self._noted_again = {alert_id: noted for alert_id, noted in self._noted_again.items()
                                     if now - noted[0] < NOTED_AGAIN_EVERY_MS}
                self._noted_again[waiting.id] = (now, ctx.event_id)
                alerts.in_thread(waiting, ctx.effects, "alert_talk_again", subject_user=ctx.sender,
                                 worker=waiting.claimed_by)
            ctx.reply("talk_already", worker=waiting.claimed_by,
                      naming=(waiting.claimed_by,) if waiting.claimed_by else ())
            return
        back = self.context.staff_back()
        alerts.raise_unless_waiting(ctx.effects, KIND, "alert_talk", subject_user=ctx.sender,
                                    claimed_since_ms=now - IN_HAND_MS, outside_hours=back is not None,
                                    prefix=ctx.prefix)
        ctx.reply("talk_requested", back=back)

    async def _claimed(self, alert: Alert, peer_worker: str, effects: Effects) -> None:
        self._noted_again.pop(alert.id, None)  # the peer worker who claimed it sees the member's next ask
        self.context.alerts.tell_member_who_has_it(alert, peer_worker, effects, "talk_claimed")
