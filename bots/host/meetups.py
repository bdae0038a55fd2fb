"""Meetups in group and community rooms: `!meetup add WHEN WHERE` posts one (with an `.ics` file where the room
is encrypted), members say they're going with a ✅ on the post (visible to the room, as people expect) or
`!meetup going ID`, the `meetups` sweep posts a reminder the day before and an hour before, and
`!meetup cancel ID` tells the room and, by DM, everyone going.

Who may add one: volunteers and peer workers in any community room, and a group's creator in their group.
Who may cancel: whoever added it, its group's creator, or a peer worker; anyone else hears it was not found. A
creator has that say only while still in the group's room and free to post there (`acts_as_creator`).
A ✅ taken back (Element redacts it) steps back once none of the member's ✅s is left; `!meetup not going ID` does
it in words.

Each reminder is owed in the same transaction that marks it owed (the sweep's guard), so it goes out once
even if Bothy is killed between sweeps; a reminder whose moment has passed is marked and never sent late.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from bothy.matrix.events import Reaction, Redaction
from bothy.outbox import Effects
from bothy.plugin import BotContext
from bothy.storage.audit import record_audit
from bots.host.groups import acts_as_creator
from bots.host.meetup_storage import DAY_MS, HOUR_MS, Meetup, MeetupRepository
from bots.host.meetup_times import ONLINE, calendar_file, describe, parse_plan
from bots.host.storage import GroupRepository
from commands.framework import Choice, Command, CommandContext, Integer, Role, Text, UsageError, small_number

TAG = "meetup"  # a post or reminder's tag, "meetup:ID": a ✅ on either says "going"
GOING_KEYS = frozenset({"✅", "☑", "✔"})  # as the adapter gives them: without a variation selector
KEEP_MS = 30 * DAY_MS  # a meetup and who went are forgotten this long after it
MAX_DETAILS = 200
MAX_ID = 10**9
# A message about a meetup that could not go out in time (an outage, the bot out of the room) is dropped
# rather than sent late: the post and a cancellation at its start, the day-before reminder when the hour's is
# due, and the hour's reminder ("in 55 minutes") once a quarter of an hour late.
LATE_REMINDER_MS = 15 * 60_000


@dataclass(frozen=True)
class WhenAndWhere(Text):
    """`next Tuesday 7pm | Community hall`: when, then where."""

    @property
    def label(self) -> str:
        return "WHEN | WHERE"


def where(place: str) -> str:
    return ONLINE if place == ONLINE else f"at {place}"


class MeetupCommands:
    def __init__(self, bot: str, context: BotContext, groups: GroupRepository, repository: MeetupRepository):
        self.bot = bot
        self.context = context
        self.groups = groups
        self.repository = repository

    def commands(self) -> list[Command]:
        meetup_id = Integer("id", 1, MAX_ID)
        return [
            Command("meetups", self.bot, "meetups coming up (here, or in your rooms), and how many are going",
                    self.upcoming),
            Command("meetup add", self.bot, "post a meetup in this room: when, then | and where, or online "
                    "(volunteers, peer workers, the group's creator)", self.add,
                    params=(WhenAndWhere("details", MAX_DETAILS),)),
            Command("meetup going", self.bot, "say you're going to a meetup (or react ✅ to its post)", self.going,
                    params=(meetup_id,), private=True),
            Command("meetup not", self.bot, "say you're no longer going to a meetup", self.not_going, private=True,
                    params=(Choice("going", ("going",), hint="To step back from a meetup, send: meetup not going "
                                                             "ID"), meetup_id)),
            Command("meetup cancel", self.bot, "cancel a meetup and tell everyone going (whoever added it, the "
                    "group's creator or a peer worker)", self.cancel, params=(meetup_id,)),
        ]

    def _when(self, meetup: Meetup) -> str:
        now = self.context.clock.now()
        return describe(datetime.fromtimestamp(meetup.starts_at / 1000, UTC).astimezone(self.context.timezone), now)

    async def _acts_as_creator(self, room_id: str, user_id: str) -> bool:
        return await acts_as_creator(self.context.rooms, await self.groups.by_room(room_id), user_id)

    # --- adding -------------------------------------------------------------------------------------

    async def add(self, ctx: CommandContext) -> None:
        if ctx.in_dm or ctx.room_id == self.context.alerts.staff_room.room_id:
            raise UsageError("Please add a meetup in the room it's for, so everyone there sees it.")
        if ctx.effects.account != self.context.account:  # its reminders and cancellation come from this account
            raise UsageError(f"Meetups need {self.context.account} in the room: please invite it, then try again.")
        if ctx.role < Role.VOLUNTEER and not await self._acts_as_creator(ctx.room_id, ctx.sender):
            ctx.reply("meetup_not_allowed")
            return
        now = self.context.clock.now()
        plan = parse_plan(ctx.params["details"], now, self.context.timezone, ctx.prefix)
        now_ms = self.context.clock.ms()
        starts_ms = int(plan.starts.timestamp() * 1000)
        when = describe(plan.starts, now)
        title = f"Meetup: {self.context.rooms_seen_by(ctx.effects.account).room_name(ctx.room_id)}"
        effects, room_id, calendar = ctx.effects, ctx.room_id, ctx.encrypted  # files only in encrypted rooms

        async def write(db: aiosqlite.Connection) -> None:
            meetup_id = await MeetupRepository.add(db, room_id, starts_ms, plan.place, ctx.sender, now_ms)
            effects.message(self.context.render("meetup_posted", id=meetup_id, when=when, where=where(plan.place),
                                                calendar=calendar, day_before=starts_ms - now_ms > DAY_MS),
                            room_id=room_id, tag=f"{TAG}:{meetup_id}", expires_at=starts_ms)
            if calendar:
                effects.file(f"meetup-{meetup_id}.ics", "text/calendar",
                             calendar_file(f"meetup-{meetup_id}-{now_ms}@bothy", title, plan.starts, plan.place, now),
                             room_id=room_id)

        ctx.effects.record(write)

    # --- going, or not ------------------------------------------------------------------------------

    async def _upcoming(self, ctx: CommandContext) -> Meetup | None:
        """The meetup named, if it is still to come and in a room the sender shares with the bot."""
        meetup = await self.repository.by_id(ctx.params["id"])
        if meetup is None or meetup.state != "planned" or meetup.starts_at <= self.context.clock.ms():
            return None
        if meetup.room_id != ctx.room_id and meetup.room_id not in \
                await self.context.rooms_seen_by(ctx.effects.account).member_rooms(ctx.sender):
            return None
        return meetup

    async def going(self, ctx: CommandContext) -> None:
        meetup = await self._upcoming(ctx)
        if meetup is None:
            ctx.reply("meetup_not_found")
            return
        ctx.effects.record(functools.partial(MeetupRepository.rsvp, meetup_id=meetup.id, room_id=meetup.room_id,
                                             user_id=ctx.sender, now_ms=self.context.clock.ms()))
        ctx.reply("meetup_going", id=meetup.id, when=self._when(meetup), where=where(meetup.place))

    async def not_going(self, ctx: CommandContext) -> None:
        meetup = await self._upcoming(ctx)
        if meetup is None:
            ctx.reply("meetup_not_found")
            return
        ctx.effects.record(functools.partial(MeetupRepository.not_going, meetup_id=meetup.id, user_id=ctx.sender))
        ctx.reply("meetup_not_going", id=meetup.id, when=self._when(meetup))

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        """✅ on a meetup's post or reminder: going. The reaction stays, so the room sees who is going."""
        if reaction.key not in GOING_KEYS or \
                self.context.rooms_seen_by(effects.account).is_direct_room(reaction.room_id):
            return False
        tag = await self.context.sent_tags.tag_of(reaction.target_event_id)
        kind, _, number = (tag or "").partition(":")
        meetup_id = small_number(number)
        if kind != TAG or meetup_id is None:
            return False
        effects.record(functools.partial(MeetupRepository.rsvp, meetup_id=meetup_id, room_id=reaction.room_id,
                                         user_id=reaction.sender, now_ms=self.context.clock.ms(),
                                         # kept space-separated: an odd ID with a space in it is kept as words
                                         reaction=reaction.event_id if " " not in reaction.event_id else None))
        return True

    async def on_redaction(self, redaction: Redaction, effects: Effects) -> None:
        """A ✅ taken back (clicked again in Element): not going. The reactions are the list the room sees."""
        if not self.context.rooms_seen_by(effects.account).is_direct_room(redaction.room_id):
            effects.record(functools.partial(MeetupRepository.reaction_taken_back, room_id=redaction.room_id,
                                             reaction=redaction.redacts, user_id=redaction.sender))

    # --- listing and cancelling ------------------------------------------------------------------------

    async def upcoming(self, ctx: CommandContext) -> None:
        """In a room, that room's meetups; in a DM, those in every room the member shares with the bot."""
        rooms_info = self.context.rooms_seen_by(ctx.effects.account)
        rooms = await rooms_info.member_rooms(ctx.sender) if ctx.in_dm else {ctx.room_id}
        meetups = await self.repository.upcoming(rooms, self.context.clock.ms())
        ctx.reply("meetups_list", here=not ctx.in_dm, meetups=[
            {"id": m.id, "when": self._when(m), "where": where(m.place), "going": m.going,
             "room": rooms_info.room_name(m.room_id) if ctx.in_dm else None} for m in meetups])

    async def cancel(self, ctx: CommandContext) -> None:
        meetup = await self.repository.by_id(ctx.params["id"])
        allowed = meetup is not None and (ctx.role >= Role.PEER_WORKER or ctx.sender == meetup.creator
                                          or await self._acts_as_creator(meetup.room_id, ctx.sender))
        if meetup is None or not allowed or meetup.state != "planned" or meetup.starts_at <= self.context.clock.ms():
            ctx.reply("meetup_not_found")
            return
        # A peer worker cancelling a meetup someone else added acts as staff: audited, as `!group archive` is.
        audited = ctx.role >= Role.PEER_WORKER and ctx.sender != meetup.creator
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            if await self._cancel(db, ctx.effects, meetup) and audited:
                await record_audit(db, ctx.sender, "meetup cancel", None, str(meetup.id), now)

        ctx.effects.record(write)
        if ctx.room_id != meetup.room_id:
            ctx.reply("meetup_cancel_done", id=meetup.id, when=self._when(meetup))

    async def cancel_all_in(self, db: aiosqlite.Connection, effects: Effects, room_id: str) -> None:
        """A room closing (its group archived): each meetup still to come there is cancelled as `!meetup cancel`
        does, so no reminder goes into a room nobody can answer in and everyone going hears."""
        for meetup in await MeetupRepository.planned_in(db, room_id, self.context.clock.ms()):
            await self._cancel(db, effects, meetup)

    async def _cancel(self, db: aiosqlite.Connection, effects: Effects, meetup: Meetup) -> bool:
        """Cancel once, telling the room and, by DM, everyone going (read in this transaction, so two cancels tell
        them once); False when it was cancelled already: they were told then."""
        going = await MeetupRepository.cancel(db, meetup.id)
        if going is None:
            return False
        when = self._when(meetup)
        room = self.context.rooms_seen_by(effects.account).room_name(meetup.room_id)
        effects.message(self.context.render("meetup_cancelled_notice", id=meetup.id, when=when, going=len(going)),
                        room_id=meetup.room_id, expires_at=meetup.starts_at)
        for user_id in going:
            effects.message(self.context.render("meetup_cancelled", id=meetup.id, when=when, room=room),
                            to_user=user_id, expires_at=meetup.starts_at)
        return True

    # --- the sweep ---------------------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Reminders whose time has come, each owed once; then forget meetups long past."""
        now_ms = self.context.clock.ms()
        for meetup in await self.repository.reminders_due(now_ms):
            hour = meetup.starts_at <= now_ms + HOUR_MS
            reminder = Effects(self.context.account)
            if meetup.starts_at > now_ms:
                minutes = round((meetup.starts_at - now_ms) / 60_000) if hour else None
                reminder.message(self.context.render("meetup_reminder", id=meetup.id, when=self._when(meetup),
                                                     where=where(meetup.place), going=meetup.going, minutes=minutes),
                                 room_id=meetup.room_id, tag=f"{TAG}:{meetup.id}",
                                 expires_at=min(meetup.starts_at, now_ms + LATE_REMINDER_MS) if hour
                                 else meetup.starts_at - HOUR_MS)
            await self.context.work.commit(reminder, guard=functools.partial(
                MeetupRepository.reminded, meetup_id=meetup.id, hour=hour, now_ms=now_ms))
        forget = Effects(self.context.account)
        forget.record(functools.partial(MeetupRepository.forget_before, before_ms=now_ms - KEEP_MS))
        await self.context.work.commit(forget)
