"""Groups members start: `!group new`, the directory (`!groups`, `!group join`), a peer worker's say on
sensitive ones (`!group approve`, `!group decline`) and archiving (`!group archive`).

Handlers only record what is wanted. Making the room, putting it in the Space and inviting people are
Matrix calls, done by the `group_rooms` sweep (`bots/host/building.py`), which records each step, so a
crash or a homeserver outage delays a group but never makes two rooms.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

import aiosqlite

from bothy.matrix.adapter import MatrixError
from bothy.plugin import BotContext, RoomInfo
from bothy.storage.audit import record_audit
from bots.host.levels import may_speak
from bots.host.sensitive import about_sensitive_subject
from bots.host.settings import GroupSettings
from bots.host.storage import WEEK_MS, Group, GroupRepository
from bots.host.tags import near_duplicate, slug
from commands.framework import Command, CommandContext, Integer, Role, Text, UsageError

MAX_DETAILS = 400  # a name and its tags, as typed
MAX_TAGS = 5
MAX_REASON = 300
LISTED_AT_MOST = 30  # one directory reply stays far below Matrix's 64 KiB event limit, encrypted
SIZE_WAIT_S = 5.0  # for the homeserver to say who is in a listed group's room
NAME_CHARACTERS = re.compile(r"^[\w '’‘&,.!?()\-–]+$")  # ’ and – as phones and editors type ' and -
DAY_MS = 86_400_000
REQUEST_KIND = "group_request"  # the staff alert a sensitive group waits on


def _request_topic(group_id: int) -> str:
    """What a group request's alert is about, so the decision on that group (and no other) closes it."""
    return f"group {group_id}"


@dataclass(frozen=True)
class NameAndTags(Text):
    """`Allotment club #gardening #walking`: a name, then one or more #tags."""

    @property
    def label(self) -> str:
        return "NAME #TAG…"


def name_problem(name: str, max_length: int) -> str | None:
    """A kind one-line reason a group name won't do, or None."""
    if not name:
        return "Please give the group a name before its tags, like: Allotment club #gardening"
    if len(name) > max_length:
        return f"Please keep the name to {max_length} characters or fewer."
    letters = sum(c.isalpha() for c in name)
    if letters < 2 or not NAME_CHARACTERS.match(name) or "www." in name.casefold() or "http" in name.casefold():
        return "Please use a name made of words (letters and numbers, and a few marks such as & or -)."
    return None


def last_active(at_ms: int | None, now_ms: int) -> str:
    """Coarse on purpose: 'this week' says enough, and never when one person last wrote."""
    if at_ms is None:
        return "not yet"
    days = (now_ms - at_ms) // DAY_MS
    return "today" if days < 1 else "this week" if days < 7 else "this month" if days < 31 else "a while ago"


async def acts_as_creator(rooms: RoomInfo, group: Group | None, user_id: str) -> bool:
    """Whether `user_id` has a creator's say over the group (archiving it, cancelling its meetups): its creator, still
    in its room and free to post there. Removed, banned, gone or muted, they would otherwise still be able to close
    the room on everyone left in it; a room the bot can no longer see into says no."""
    if group is None or group.creator != user_id or group.room_id is None:
        return False
    try:
        if user_id not in await rooms.joined_members(group.room_id):
            return False
        levels = await rooms.power_levels(group.room_id)
    except MatrixError as error:
        if not error.permanent:
            raise  # the homeserver away for now: the command is tried again
        return False
    return may_speak(levels, user_id)


class GroupCommands:
    def __init__(self, bot: str, context: BotContext, settings: GroupSettings, repository: GroupRepository):
        self.bot = bot
        self.context = context
        self.settings = settings
        self.repository = repository

    def commands(self) -> list[Command]:
        name = (Text("name", MAX_DETAILS),)
        return [
            Command("groups", self.bot, "groups you can join, or those with one interest", self.directory,
                    params=(Text("interest", MAX_DETAILS, optional=True),)),
            Command("group new", self.bot, "start a group: its name, then its interests as #tags", self.new,
                    params=(NameAndTags("details", MAX_DETAILS),), private=True,
                    listed_from=Role.VOLUNTEER if self.settings.volunteers_only else None),
            Command("group join", self.bot, "get an invitation to a group", self.join, params=name, private=True),
            Command("group archive", self.bot, "archive a group that has gone quiet, named or typed in its room "
                    "(its creator or a peer worker)", self.archive,
                    params=(Text("room", MAX_DETAILS, optional=True),), private=True, staff_business=True),
            Command("group approve", self.bot, "approve a group that waits for a peer worker", self.approve,
                    params=(Integer("id", 1, 10**9),), role=Role.PEER_WORKER, audits_itself=True),
            Command("group decline", self.bot, "decline a waiting group, kindly, with a reason", self.decline,
                    params=(Integer("id", 1, 10**9), Text("reason", MAX_REASON)), role=Role.PEER_WORKER,
                    audits_itself=True),
        ]

    # --- starting one ------------------------------------------------------------------------------

    def _parse(self, details: str) -> tuple[str, list[str]]:
        words = details.split()
        name = " ".join(word for word in words if not word.startswith("#"))
        problem = name_problem(name, self.settings.max_name_length)
        if problem:
            raise UsageError(problem)
        tags: list[str] = []
        for word in words:
            if word.startswith("#"):
                tag = self.settings.tags.normalise(word)
                if tag is None:
                    raise UsageError("Each #tag needs letters, like #gardening.")
                if tag not in tags:
                    tags.append(tag)
        if not tags:
            raise UsageError("Please add at least one #tag after the name, like #gardening, so people who share "
                             "it can find the group.")
        if len(tags) > MAX_TAGS:
            raise UsageError(f"Please keep to {MAX_TAGS} #tags at most.")
        return name, tags

    async def new(self, ctx: CommandContext) -> None:
        if self.settings.volunteers_only and ctx.role < Role.VOLUNTEER:
            ctx.reply("group_volunteers_only")
            return
        name, tags = self._parse(ctx.params["details"])
        existing = near_duplicate(name, [group.name for group in await self.repository.named()])
        if existing is not None:
            group = next(g for g in await self.repository.named() if g.name == existing)
            ctx.reply("group_exists", group=group, join=slug(group.name))
            return
        now = self.context.clock.ms()
        started = await self.repository.started_since(ctx.sender, now - WEEK_MS)
        if started >= self.settings.max_new_per_week and ctx.role < Role.PEER_WORKER:
            ctx.reply("group_limit", most=self.settings.max_new_per_week)
            return
        sensitive = about_sensitive_subject(name, tags, self.settings.sensitive_tags, self.settings.tags)
        token = secrets.token_hex(8)

        async def write(db: aiosqlite.Connection) -> None:
            group_id = await GroupRepository.propose(db, name, tags, ctx.sender, now, sensitive, token)
            if sensitive:
                self.context.alerts.raise_alert(ctx.effects, REQUEST_KIND, "alert_group_request",
                                                subject_user=ctx.sender, topic=_request_topic(group_id),
                                                group_id=group_id, title=name, tags=tags, prefix=ctx.prefix)

        ctx.effects.record(write)
        ctx.reply("group_waiting" if sensitive else "group_started", title=name, tags=tags)

    # --- finding and joining -----------------------------------------------------------------------

    async def directory(self, ctx: CommandContext) -> None:
        wanted = ctx.params["interest"]
        tag = self.settings.tags.normalise(wanted) if wanted else None
        if wanted and tag is None:
            raise UsageError("Please give one interest, like gardening.")
        groups = [g for g in await self.repository.listed() if tag is None or tag in g.tags]
        now = self.context.clock.ms()
        listed = groups[:LISTED_AT_MOST]
        sizes = await asyncio.gather(*(self._people_in(g) for g in listed))
        ctx.reply("groups_list", tag=tag, hidden=max(0, len(groups) - LISTED_AT_MOST), groups=[
            {"name": g.name, "tags": g.tags, "join": slug(g.name), "last_active": last_active(g.last_active_at, now),
             "size": size} for g, size in zip(listed, sizes, strict=True)])

    async def _people_in(self, group: Group) -> int | None:
        """The people in a group's room (the bots are not company), asked of the homeserver side by side for
        the whole list; None, and the size left out, when it does not answer soon: the member is waiting."""
        if group.room_id is None:
            return 0
        try:
            members = await asyncio.wait_for(self.context.rooms.joined_members(group.room_id), SIZE_WAIT_S)
        except (MatrixError, TimeoutError):
            return None
        return len(members - self.context.bot_accounts)

    async def _find(self, name: str, groups: list[Group]) -> Group | None:
        """By the name as typed in `!group join allotment-club`, or near enough to it."""
        exact = [g for g in groups if g.slug == slug(name)]
        if exact:
            return exact[0]
        near = near_duplicate(name, [g.name for g in groups])
        return next((g for g in groups if g.name == near), None)

    async def _members_if_known(self, room_id: str) -> frozenset[str]:
        """Who is in the room, or nobody when the homeserver does not say: then the invitation is owed anyway."""
        try:
            return await self.context.rooms.joined_members(room_id)
        except MatrixError:
            return frozenset()

    async def join(self, ctx: CommandContext) -> None:
        """An unlisted group this member was privately offered, or a listed one: the offer first, as a sensitive group
        takes no name and a listed one may have the same (the offer's own words must reach it)."""
        group = await self._find(ctx.params["name"], [*await self.repository.offered_to(ctx.sender),
                                                      *await self.repository.listed()])
        if group is None:
            ctx.reply("group_not_found")
            return
        if group.room_id is not None and ctx.sender in await self._members_if_known(group.room_id):
            ctx.reply("group_join_already", title=group.name)  # no invitation the homeserver would refuse
            return
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await GroupRepository.owe_invites(db, group.id, [ctx.sender], "asked", now)

        ctx.effects.record(write)
        ctx.reply("group_join_invited", title=group.name)

    # --- a peer worker's say -------------------------------------------------------------------------

    async def _pending(self, ctx: CommandContext) -> Group | None:
        group = await self.repository.by_id(ctx.params["id"])
        if group is None or group.state != "pending":
            ctx.reply("group_not_pending", id=ctx.params["id"])
            return None
        return group

    async def approve(self, ctx: CommandContext) -> None:
        await self._decide(ctx, "building", "group approve", "group_approved", "group_approved_member")

    async def decline(self, ctx: CommandContext) -> None:
        await self._decide(ctx, "declined", "group decline", "group_declined", "group_declined_member",
                           reason=ctx.params["reason"])

    async def _decide(self, ctx: CommandContext, state: str, action: str, reply: str, to_creator: str,
                      **context: str) -> None:
        """A peer worker's decision on a pending sensitive group: moved once (audited), the creator told, and
        the staff room's alert about it done (it leaves `!alerts`). Two peer workers may decide at once (the
        staff room and a DM are handled side by side): whoever moves it first is the decision, and only that
        one is told to the creator."""
        group = await self._pending(ctx)
        if group is None:
            return
        now = self.context.clock.ms()
        request = await self.context.alerts.repository.latest_of(REQUEST_KIND, subject_user=group.creator,
                                                                 topic=_request_topic(group.id))

        async def write(db: aiosqlite.Connection) -> None:
            if not await GroupRepository.move(db, group.id, "pending", state):
                ctx.reply("group_not_pending", id=group.id)
                return
            await record_audit(db, ctx.sender, action, group.creator, str(group.id), now)
            ctx.reply(reply, group=group)
            if group.creator:
                ctx.effects.message(self.context.render(to_creator, title=group.name, **context),
                                    to_user=group.creator)

        ctx.effects.record(write)
        if request is not None:
            await self.context.alerts.close(request, ctx.sender, ctx.effects)

    # --- archiving ---------------------------------------------------------------------------------------

    async def _room_group(self, reference: str | None, ctx: CommandContext) -> Group | None:
        """The group a room ID or alias names, or (with nothing named) the group room the command was typed in:
        typed bare anywhere else (a DM, the staff room), it names nothing, and gets its usage."""
        if reference is None:
            group = None if ctx.in_dm else await self.repository.by_room(ctx.room_id)
            if group is None:
                raise UsageError("Please name the group, or send this in its room.")
            return group
        if reference.startswith("#"):
            try:
                reference = await self.context.rooms.resolve(reference)
            except MatrixError:
                return None
        return await self.repository.by_room(reference) if reference.startswith("!") else None

    async def archive(self, ctx: CommandContext) -> None:
        """Its creator (while still in its room and free to post there) or a peer worker. Anyone else is told so of a
        group they can see (listed, their own, or typed in its own room), and otherwise hears it was not found; a name
        is looked for among every group only by a peer worker, so that no answer says whether an unlisted one has it."""
        reference = ctx.params["room"]
        group = await self._room_group(reference, ctx)
        if group is None and reference is not None:
            staff = ctx.role >= Role.PEER_WORKER
            group = await self._find(reference, await self.repository.in_state("ready") if staff else [
                *await self.repository.created_by(ctx.sender), *await self.repository.listed()])
        if group is None or group.state != "ready":
            ctx.reply("group_not_found")
            return
        if not (ctx.role >= Role.PEER_WORKER or await acts_as_creator(self.context.rooms, group, ctx.sender)):
            creator = group.creator == ctx.sender  # no longer in its room, or muted there
            seen = creator or group.listed or (not ctx.in_dm and group.room_id == ctx.room_id)
            ctx.reply("group_archive_not_yours" if seen else "group_not_found", title=group.name, creator=creator)
            return

        async def write(db: aiosqlite.Connection) -> None:
            if await GroupRepository.move(db, group.id, "ready", "archiving"):
                await GroupRepository.unlist(db, group.id)
                await record_audit(db, ctx.sender, "group archive", None, str(group.id), self.context.clock.ms())

        ctx.effects.record(write)
        ctx.reply("group_archived", title=group.name)

