"""The `group_rooms` sweep: the Matrix side of groups, one recorded step at a time.

A group being built gets its room (made once: the room's alias is fixed by the group's token, so an
attempt after a crash finds the room the first one made), its moderators and its place in the Space;
then, in one transaction, it is marked ready with its welcome, the creator's note and the invitations
it owes. Invitations go out afterwards, each marked when sent. Archiving takes a group out of the Space
and makes it read-only, then, in one transaction, marks it archived and cancels its meetups still to come.
A group that still cannot be built a day on is given up, its creator and the staff room told. Every step may
be repeated after a crash without harm.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from bothy.logs import describe_error
from bothy.matrix.adapter import MatrixError, RoomSpec
from bothy.outbox import Effects
from bothy.plugin import BotContext
from bothy.scheduling import on_time
from bots.host.levels import level_of
from bots.host.meetups import MeetupCommands
from bots.host.settings import GroupSettings
from bots.host.storage import WEEK_MS, Group, GroupRepository
from bots.host.tags import slug
from rooms.staff import matrix_to

log = logging.getLogger("bothy.host")

MODERATOR = 50
READ_ONLY = 100  # an archived room's `events_default`: only the bot (admin) may still post
INVITES_PER_SWEEP = 200
DAY_MS = 86_400_000
KEEP_MS = 30 * DAY_MS  # longer than the weekly limit looks back; an invitation not sent by then is moot
GIVE_UP_AFTER_MS = DAY_MS  # a group that cannot be built for this long is given up (_give_up_if_stuck)


class GroupRooms:
    def __init__(self, context: BotContext, settings: GroupSettings, repository: GroupRepository,
                 meetups: MeetupCommands):
        self.context = context
        self.settings = settings
        self.repository = repository
        self.meetups = meetups  # an archived group's meetups still to come are cancelled with it
        self.maker = context.room_maker
        self._told: set[tuple[int, str]] = set()  # (group, step) failures already logged
        self._staffed: set[int] = set()  # ready groups whose peer workers this run has seen to (_staff)

    async def sweep(self) -> None:
        """Each group's step on its own: one group's trouble never holds up the others or the invitations."""
        for group in await self.repository.in_state("building"):
            failed = await self._step(group, self._build, "room not ready yet")
            if failed is not None:
                await self._give_up_if_stuck(group, failed)
        for group in await self.repository.in_state("archiving"):
            await self._step(group, self._archive, "not archived yet")
        for group in await self.repository.in_state("ready"):
            if group.id in self._staffed:
                continue
            failed = await self._step(group, self._staff, "peer workers not in")
            if failed == "M_LIMIT_EXCEEDED":
                break  # as invitations pause: the next sweep goes on, and members' invitations are not starved
            if failed is None:
                self._staffed.add(group.id)
        await self._send_invites()

    async def _staff(self, group: Group) -> None:
        """Peer workers named in the config since the group was made are invited to it and made its moderators, so
        the links in their alerts open (a spec auditor's, thirty-third session): once per run, since the config
        changes only at a restart. One who has left the room is not invited again. One no longer named keeps what
        they had: taking a moderator's power back is an admin's call, made in Element, since Bothy cannot tell a
        former peer worker from someone the room's own moderators raised."""
        if group.room_id is None:
            return
        try:
            levels = await self.context.rooms.power_levels(group.room_id)
            raise_to = {user: MODERATOR for user in sorted(self.context.peer_workers)
                        if (level_of(levels, user) or 0) < MODERATOR}
            if raise_to:
                await self.maker.set_power(group.room_id, raise_to)
            for user in sorted(self.context.peer_workers):
                if not await self.maker.ever_in(group.room_id, user):
                    await self.maker.invite(group.room_id, user)
        except MatrixError as error:
            if not error.permanent:
                raise  # tried again by the next sweep
            log.info("group %s: could not see to its peer workers (%s); not tried again this run", group.id,
                     error.code)

    async def _step(self, group: Group, step: Callable[[Group], Awaitable[None]], what: str) -> str | None:
        """Run one step; a failure is retried by the next sweep and said once per group, not every 10 seconds.
        Returns why it failed (an error code, safe to log), or None once done."""
        try:
            await step(group)
        except Exception as error:  # by type and place: any failure is retried, none stops the sweep
            reason = error.code if isinstance(error, MatrixError) else describe_error(error)
            if (group.id, what) not in self._told:
                self._told.add((group.id, what))
                log.warning("group %s: %s (%s); each sweep tries again", group.id, what, reason)
            return reason
        return None

    async def _give_up_if_stuck(self, group: Group, reason: str) -> None:
        """A group still failing to be built GIVE_UP_AFTER_MS after building began is given up: its creator, who was
        promised an invitation "in a minute or two", and the staff room are told, once (the row's going is the
        guard), and the row goes, so its name is free and it no longer counts against the creator's weekly limit.
        A day, because what fails that long is a refusal someone has to put right (the host account's power in
        the Space, a Space that no longer resolves), not an outage, and a day leaves them time to; any longer and
        the creator waits on a promise with nobody told."""
        if self.context.clock.ms() - await self.repository.building_since(group) < GIVE_UP_AFTER_MS:
            return
        given_up = Effects(self.context.account)
        given_up.message(self.context.render("group_not_made_staff", title=group.name, tags=group.tags,
                                             listed=group.listed, started_by=group.creator, reason=reason,
                                             link=matrix_to(group.room_id) if group.room_id else None),
                         room_id=self.context.alerts.staff_room.room_id, about=group.creator)
        if group.creator:
            given_up.message(self.context.render("group_not_made", title=group.name), to_user=group.creator)
        if await self.context.work.commit(given_up, guard=functools.partial(GroupRepository.give_up,
                                                                            group_id=group.id)):
            log.warning("group %s: given up after a day of trying (%s); its creator and the staff room told",
                        group.id, reason)

    def _spec(self, group: Group, space_id: str | None) -> RoomSpec:
        others = sorted(self.context.bot_accounts - {self.context.account})
        invite = [*([group.creator] if group.creator else []), *sorted(self.context.peer_workers), *others]
        return RoomSpec(
            name=group.name,
            topic=self.context.render("group_topic", tags=group.tags, sensitive=group.sensitive)["body"],
            alias_localpart=f"bothy-{group.token}",
            invite=tuple(dict.fromkeys(invite)),
            encrypted=self.settings.encrypted,
            join_rule="restricted" if space_id and group.listed else "invite",
            parent=space_id if group.listed else None,
        )

    async def _build(self, group: Group) -> None:
        space = self.settings.space if group.listed else None
        space_id = await self.maker.resolve(space) if space else None
        room_id = group.room_id
        if room_id is None:
            room_id = await self.maker.make(self._spec(group, space_id))
            made = Effects(self.context.account)
            made.record(functools.partial(GroupRepository.set_room, group_id=group.id, room_id=room_id))
            await self.context.work.commit(made)
        # The other bot accounts too: each redacts the private commands it answers ("!mood 1" typed in the group).
        moderators = {user: MODERATOR for user in (*self.context.peer_workers, *self.context.bot_accounts)
                      if user != self.context.account}
        if group.creator:
            moderators[group.creator] = MODERATOR
        await self.maker.set_power(room_id, moderators)
        if space:
            await self.maker.add_to_space(space, room_id)
        now = self.context.clock.ms()
        invitees = await self.repository.matching_members(
            group.tags, self.context.bot_accounts | self.context.peer_workers | {group.creator or ""},
            now - WEEK_MS, self.settings.max_invites_per_week, self.settings.max_invites_per_group)
        ready = Effects(self.context.account)
        ready.message(self.context.render("group_welcome", title=group.name, tags=group.tags,
                                          sensitive=group.sensitive),
                      room_id=room_id)
        if group.creator:
            ready.message(self.context.render("group_ready", title=group.name, join=slug(group.name),
                                              listed=group.listed), to_user=group.creator)

        async def guard(db: aiosqlite.Connection) -> bool:
            return await GroupRepository.move(db, group.id, "building", "ready")

        # A sensitive group's are offers, made privately: an invitation is room state everyone there sees, and the
        # group being unlisted, it could only have come from the member's private interest (an auditor's).
        ready.record(functools.partial(GroupRepository.owe_invites, group_id=group.id, user_ids=invitees,
                                       reason="offer" if group.sensitive else "interest", now_ms=now))
        await self.context.work.commit(ready, guard=guard)

    async def _archive(self, group: Group) -> None:
        if group.room_id is not None:
            if self.settings.space:
                await self.maker.remove_from_space(self.settings.space, group.room_id)
            await self.maker.set_power(group.room_id, {}, events_default=READ_ONLY)
        archived = Effects(self.context.account)
        if group.room_id is not None:
            archived.message(self.context.render("group_archived_notice", title=group.name), room_id=group.room_id)
            archived.record(functools.partial(self.meetups.cancel_all_in, effects=archived, room_id=group.room_id))

        async def guard(db: aiosqlite.Connection) -> bool:
            return await GroupRepository.move(db, group.id, "archiving", "archived")

        await self.context.work.commit(archived, guard=guard)

    @on_time(3 * 3600)
    async def ask_about_dormant(self) -> None:
        """Groups quiet for `groups.dormant_after`: ask the creator and the staff room, once per quiet spell
        (a new message clears the mark), whether to archive. Nothing is archived without someone asking."""
        now = self.context.clock.ms()
        days = self.settings.dormant_after_s // 86_400
        for group in await self.repository.dormant(now - self.settings.dormant_after_s * 1000):
            asked = Effects(self.context.account)
            join = slug(group.name)
            asked.message(self.context.render("group_dormant_staff", title=group.name, join=join, days=days),
                          room_id=self.context.alerts.staff_room.room_id)
            if group.creator:
                asked.message(self.context.render("group_dormant_creator", title=group.name, join=join, days=days),
                              to_user=group.creator)
            await self.context.work.commit(asked, guard=functools.partial(
                GroupRepository.asked_about_dormancy, group_id=group.id, now_ms=now))

    async def _send_invites(self) -> None:
        """Each owed invitation once; a refusal (say, they are already in the room) is not retried, and a member who
        asked (`!group join`, promised "I've invited you") and is not in the room is told it did not go through. An
        offer goes by DM. What a sending owes is owed in the transaction that marks it sent, and only if it is still
        owed as read (invite_sent): an offered member is invited only if they take it up (`!group join`)."""
        for owed in await self.repository.owed_invites(INVITES_PER_SWEEP):
            sent = Effects(self.context.account)
            if owed.reason == "offer":
                sent.message(self.context.render("group_offer", title=owed.name, join=slug(owed.name),
                                                 days=KEEP_MS // DAY_MS), to_user=owed.user_id)
            else:
                try:
                    await self.maker.invite(owed.room_id, owed.user_id)
                except MatrixError as error:
                    if not error.permanent:
                        log.warning("group invitations paused (%s); the next sweep goes on", error.code)
                        return
                    log.info("group %s: an invitation was refused (%s); not retried", owed.group_id, error.code)
                    if owed.reason == "asked" and not await self._joined(owed.room_id, owed.user_id):
                        sent.message(self.context.render("group_join_refused", title=owed.name),
                                     to_user=owed.user_id)
            await self.context.work.commit(sent, guard=functools.partial(
                GroupRepository.invite_sent, group_id=owed.group_id, user_id=owed.user_id, reason=owed.reason,
                now_ms=self.context.clock.ms()))

    async def _joined(self, room_id: str, user_id: str) -> bool:
        """Whether the member is in the room (an invitation to them is refused then too); a room the bot is no longer
        in says no. The homeserver away for now is raised: the sweep tries the invitation again later."""
        try:
            return user_id in await self.context.rooms.joined_members(room_id)
        except MatrixError as error:
            if not error.permanent:
                raise
            return False

    async def forget_old(self) -> None:
        """Sweep: which groups a member was invited to says what they are interested in, and a declined group
        names its creator, so rows go once neither the weekly limit nor a late sending needs them."""
        before = self.context.clock.ms() - KEEP_MS
        forget = Effects(self.context.account)
        forget.record(functools.partial(GroupRepository.forget_old, before_ms=before))
        await self.context.work.commit(forget)
