"""Which listener sees which inbound event, for one Matrix account.

Commands go to the command router; other messages, reactions and read receipts go to the bots that
account hosts; a ✅ on a staff alert is a claim before it is anything else; undecryptable events and
room keys go to late decryption. The staff room is for commands and alerts only: peer workers
discussing a member are not community activity, and their words must never be matched as if they
were in distress themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bothy.alerts import StaffAlerts
from bothy.late_decryption import LateDecryption
from bothy.matrix.adapter import MatrixAccount
from bothy.matrix.events import InboundEvent, Membership, Message, Reaction, Receipt, RoomKeyArrived, Undecryptable
from bothy.outbox import Effects
from bothy.plugin import Bot
from commands.router import CommandRouter
from rooms.staff import StaffRoom

HandleNow = Callable[[InboundEvent], Awaitable[None]]


class EventRouter:
    def __init__(self, account: MatrixAccount, bots: Sequence[Bot], router: CommandRouter, alerts: StaffAlerts,
                 late: LateDecryption, staff_room: StaffRoom):
        self.account = account
        self.bots = tuple(bots)
        self.router = router
        self.alerts = alerts
        self.late = late
        self.staff_room = staff_room
        self.handle_now: HandleNow | None = None  # set once the account's dispatcher exists

    async def __call__(self, event: InboundEvent, effects: Effects) -> None:
        listeners = () if getattr(event, "room_id", None) == self.staff_room.room_id else self.bots
        match event:
            case Message(msgtype="m.notice"):
                return  # bots speak in notices; no bot answers another
            case Message():
                if not await self.router.handle(event, effects):
                    for bot in listeners:
                        await bot.on_message(event, effects)
            case Reaction():
                if not await self.alerts.handle_reaction(event, effects):
                    for bot in listeners:
                        if await bot.on_reaction(event, effects):
                            return
            case Receipt():
                for bot in listeners:
                    await bot.on_receipt(event, effects)
            case Membership():
                for bot in listeners:
                    await bot.on_membership(event, effects)
            case Undecryptable():
                self.late.park(effects, event)
            case RoomKeyArrived(session_id=session_id):
                if self.handle_now is not None:
                    await self.late.key_arrived(self.account, session_id, self.handle_now)
