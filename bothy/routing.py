"""Which listener sees which inbound event, for one Matrix account.

Known commands go to the command router; other messages, reactions, redactions and read receipts go to the bots that
account hosts (a command whose words are also read, such as "!talk I can't keep myself safe", only to the bots that read
every room for a cry for help); a ✅ on a staff alert is a claim before it is anything else; undecryptable
events and room keys go to late decryption.
The staff room is for commands and alerts only: peer workers discussing a member are not community activity,
and their words must never be matched as if they were in distress themselves.

A bot that reads every room must hear a member wherever they write, DMs
with other bots included, but only once: its own account reads where it is, and where it is not, the
first bot account present in the fixed order reads for it, as the command router decides who answers.
Such a bot answers through the account that read for it, so in that account's DMs it hears reactions too.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence

from bothy.alerts import StaffAlerts
from bothy.late_decryption import LateDecryption
from bothy.logs import describe_error
from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.matrix.events import (
    InboundEvent,
    Membership,
    Message,
    Reaction,
    Receipt,
    Redaction,
    RoomKeyArrived,
    Undecryptable,
)
from bothy.outbox import Effects
from bothy.plugin import Bot
from bothy.storage.database import database_unavailable
from bothy.storage.erasures import Erasures
from commands.router import CommandRouter
from rooms.staff import StaffRoom

log = logging.getLogger("bothy.routing")

HandleNow = Callable[[InboundEvent], Awaitable[None]]


class EventRouter:
    def __init__(self, account: MatrixAccount, bots: Sequence[Bot], router: CommandRouter, alerts: StaffAlerts,
                 late: LateDecryption, staff_room: StaffRoom, guests: Sequence[Bot] = (),
                 account_order: Sequence[str] = (), erasures: Erasures | None = None):
        self.account = account
        self.erasures = erasures
        self.bots = tuple(bots)
        self.guests = tuple(guests)  # bots hosted elsewhere that read every room
        self.account_order = tuple(account_order)  # every bot account, in bot registration order
        self.router = router
        self.alerts = alerts
        self.late = late
        self.staff_room = staff_room
        self.handle_now: HandleNow | None = None  # set once the account's dispatcher exists

    async def __call__(self, event: InboundEvent, effects: Effects) -> None:
        in_staff_room = getattr(event, "room_id", None) == self.staff_room.room_id
        listeners = () if in_staff_room else self.bots
        if self._from_before_its_senders_erasure(event):
            # No command runs, nothing is counted, parked or answered; only the bots that read every room for a cry
            # for help see the words, marked so (`sender_forgotten`), since a cry for help must never be lost.
            if isinstance(event, Message) and not in_staff_room and event.sender not in self.account_order:
                readers = (*self.bots, *await self._guests_reading(event.room_id))
                forgotten = dataclasses.replace(event, sender_forgotten=True)
                await self._each(tuple(bot for bot in readers if bot.reads_every_room), effects,
                                 lambda bot, own: bot.on_message(forgotten, own))
            return
        match event:
            case Message() if event.sender in self.account_order and (event.msgtype == "m.notice" or not event.body):
                return  # Bothy's bots speak in notices and files; none reads another's (a member's or a bridge's are)
            case Message():
                known = await self.router.handle(event, effects)
                if in_staff_room or (known is not None and not known.read_as_words):
                    return
                readers = (*self.bots, *await self._guests_reading(event.room_id))
                if known is not None:  # read for a cry for help only: a command is no activity, and "!forget me
                    readers = tuple(bot for bot in readers if bot.reads_every_room)  # confirm" must leave none
                await self._each(readers, effects, lambda bot, own: bot.on_message(event, own))
            case Reaction():
                if not await self.alerts.handle_reaction(event, effects):
                    # In this account's DMs a guest may have spoken through it: a reaction there may answer it.
                    guests = self.guests if listeners and self.account.is_direct_room(event.room_id) else ()
                    await self._each((*listeners, *guests), effects, lambda bot, own: bot.on_reaction(event, own))
            case Redaction():
                if in_staff_room:  # a ✅ taken back
                    await self.alerts.handle_redaction(event, effects)
                await self._each(listeners, effects, lambda bot, own: bot.on_redaction(event, own))
            case Receipt():
                await self._each(listeners, effects, lambda bot, own: bot.on_receipt(event, own))
            case Membership():
                await self._each(listeners, effects, lambda bot, own: bot.on_membership(event, own))
            case Undecryptable():
                if self.handle_now is not None:
                    await self.late.park(self.account, event, self.handle_now)
            case RoomKeyArrived(session_id=session_id):
                if self.handle_now is not None:
                    await self.late.key_arrived(self.account, session_id, self.handle_now)

    async def _each(self, bots: Sequence[Bot], effects: Effects,
                    call: Callable[[Bot, Effects], Awaitable[bool | None]]) -> None:
        """Give the event to each bot in turn, with a share of the effects of its own, until one says it was
        its own (True). A bot's bug drops only its own share (logged by type and place, never content): one
        feature's failure must not cost another its turn, least of all a cry for help. A homeserver or database
        that is unavailable for now is not a bug: that propagates, and the whole event is tried again."""
        for bot in bots:
            own = Effects(effects.account)
            try:
                consumed = await call(bot, own)
            except MatrixError as error:
                if not error.permanent:
                    raise
                log.error("the %s bot failed on an event (%s); the other bots went on", bot.name, error.code)
                continue
            except Exception as error:
                if database_unavailable(error):
                    raise  # not the bot's bug: the whole event is tried again once the database is back
                log.error("the %s bot failed on an event (%s); the other bots went on", bot.name,
                          describe_error(error))
                continue
            effects.absorb(own, bot.name)
            if consumed:
                return

    def _from_before_its_senders_erasure(self, event: InboundEvent) -> bool:
        """A leave or a ban is always handled: it only ever deletes what is stored about someone."""
        if self.erasures is None:
            return False
        if isinstance(event, Membership):
            return (event.membership not in {"leave", "ban"} and event.timestamp_ms is not None
                    and self.erasures.from_before_erasure(event.user_id, event.timestamp_ms))
        if not isinstance(event, Message | Reaction | Receipt | Undecryptable):
            return False
        sender = event.user_id if isinstance(event, Receipt) else event.sender
        return self.erasures.from_before_erasure(sender, event.timestamp_ms)

    async def _guests_reading(self, room_id: str) -> list[Bot]:
        """The guests this account reads `room_id` for: those whose own account is not in the room, when this
        account is the first bot account there. If the members can't be fetched it reads anyway: a message
        read twice costs a duplicate DM, one never read can be a cry for help nobody hears."""
        if not self.guests:
            return []
        me = self.account.user_id
        try:
            members = await self.account.joined_members(room_id)
        except MatrixError as error:
            log.warning("could not tell which account reads %s for other bots: %s", room_id, error)
            return list(self.guests)
        first_present = next((a for a in self.account_order if a == me or a in members), None)
        if first_present != me:
            return []
        return [bot for bot in self.guests if bot.context.account not in members]
