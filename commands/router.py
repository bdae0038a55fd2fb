"""Route a message that starts with the prefix to its command, once, with the right permissions.

Several bots may sit in one room and all of them see every command. Exactly one answers: the bot
that owns the command if its account is in the room, otherwise the first bot account present in
registration order (`bots/installed.py`). Every account reaches the same answer independently.
An unknown command gets its usage help the same way, and then goes on as an ordinary message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import aiosqlite

from bothy.clock import Clock
from bothy.config import Config
from bothy.logs import describe_error
from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.matrix.events import COMMAND_MSGTYPES, Message
from bothy.outbox import Effects, StateWrite
from bothy.storage.audit import record_audit
from bothy.storage.database import database_unavailable
from bothy.templates import Templates
from commands.framework import (
    Command,
    CommandContext,
    CommandRegistry,
    Invocation,
    Role,
    UsageError,
    UserId,
    parse_invocation,
)
from commands.pace import CommandPace, Pace

log = logging.getLogger("bothy.commands")


def role_of(user_id: str, config: Config) -> Role:
    """By Matrix ID from the config; display names never grant anything."""
    if user_id in config.admins:
        return Role.ADMIN
    if user_id in config.peer_workers:
        return Role.PEER_WORKER
    if user_id in config.volunteers:
        return Role.VOLUNTEER
    return Role.MEMBER


class KnownCommand(NamedTuple):
    """A message that invoked a known command, and whether its words are also read like any message
    (Command.read_as_words): "!talk I can't keep myself safe" is a request and a cry for help."""

    command: Command
    read_as_words: bool


class CommandRouter:
    def __init__(self, config: Config, registry: CommandRegistry, account: MatrixAccount, templates: Templates,
                 clock: Clock, staff_room_id: Callable[[], str | None], pace: CommandPace | None = None):
        self.config = config
        self.pace = pace or CommandPace()
        self.staff_room_id = staff_room_id
        self.registry = registry
        self.account = account
        self.templates = templates
        self.clock = clock

    async def handle(self, message: Message, effects: Effects) -> KnownCommand | None:
        """The known command the message invoked (whether or not this account answered it), else None. Anything
        else, an unknown command included, is an ordinary message: crisis words count whatever a message starts
        with."""
        invocation = self._invocation(message)
        if invocation is None:
            return None
        found = self.registry.find(invocation)
        if found is None:
            if message.replaces is None:
                await self._unknown(invocation, message, effects)
            elif self._a_try_at_a_command(invocation, message.room_id) and \
                    await self._answers_here(self.config.bot_names[0], message.room_id):
                await self._take_down_edit(message, effects)
            return None
        known = KnownCommand(found[0], found[0].read_as_words(found[1]))
        if not await self._answers_here(found[0].bot, message.room_id):
            return known
        if message.replaces is not None:  # an edit runs nothing again, but what may not stay there must not
            if found[0].private or found[0].staff_places_only:
                await self._take_down_edit(message, effects)
            if self.account.is_direct_room(message.room_id) and \
                    self._within_pace(message, role_of(message.sender, self.config), effects):
                # Said, or a member who corrected "!mood 6" to "!mood 4" believes it was noted (a spec auditor's).
                effects.message(self.templates.render("edit_not_run"), room_id=message.room_id)
            return known
        prefix = self.config.command_prefix
        role = role_of(message.sender, self.config)
        command, args = found
        in_staff_room = message.room_id == self.staff_room_id()
        context = CommandContext(
            command=command, sender=message.sender, room_id=message.room_id, event_id=message.event_id, role=role,
            in_dm=self.account.is_direct_room(message.room_id), encrypted=self.account.is_encrypted(message.room_id),
            effects=effects, templates=self.templates,
            prefix=prefix, reply_to=message.reply_to, in_staff_room=in_staff_room,
            can_take_down=self.account.can_redact_others(message.room_id), sent_at_ms=message.timestamp_ms,
        )
        in_staff_place = context.in_dm or in_staff_room
        if command.always_answered or self._within_pace(message, role, effects):
            await self._answer(context, args, message.timestamp_ms, in_staff_place)
        # A private command typed in a group, or a staff command outside the staff places, should not stay there.
        hide = (command.private and not context.answered_in_place) or (command.staff_places_only and not in_staff_place)
        if hide and self.account.can_redact_others(message.room_id):
            effects.redact(message.room_id, message.event_id)
        return known

    def _invocation(self, message: Message) -> Invocation | None:
        """The body says whether this is a command and which one; when the sender picked members from the
        autocomplete, the arguments come from the text with those pills as Matrix IDs (the body has only
        their display names, which must never name anyone). Only typed text is a command: never a caption
        (a photo captioned '!forget me confirm' is not the member asking), nor a notice, which the spec says
        must never be answered automatically (a foreign bot's notice starting with the prefix would start a loop)."""
        if message.msgtype not in COMMAND_MSGTYPES:
            return None
        prefix = self.config.command_prefix
        typed = parse_invocation(message.body, prefix)
        if typed is None or message.command_text is None:
            return typed
        picked = parse_invocation(message.command_text, prefix)
        if picked is None:
            return typed
        command, from_pills = self.registry.find(typed), self.registry.find(picked)
        same = command is not None and from_pills is not None and from_pills[0] is command[0]
        return picked if same else typed  # "!group join" in the body is never the HTML's "!group archive"

    def _in_staff_place(self, room_id: str) -> bool:
        """A DM or the staff room: where a staff command runs and nothing typed needs taking down."""
        return self.account.is_direct_room(room_id) or room_id == self.staff_room_id()

    def _a_try_at_a_command(self, invocation: Invocation, room_id: str) -> bool:
        """Whether a word after the prefix that is no command was meant as one: never one that repeats the prefix
        ("!!! ..." is emphasis); in a group only one that looks like a command ("!Congratulations on the new job" is
        someone's news, neither answered nor taken down, nor its edit: a spec auditor's and a second reviewer's)."""
        word = invocation.raw_args[0]
        if word.startswith(self.config.command_prefix):
            return False
        return self._in_staff_place(room_id) or self.registry.may_mean(word, invocation.raw_args[1:])

    async def _take_down_edit(self, message: Message, effects: Effects) -> None:
        """A message edited into a command that may not stay in a group ("ugh" edited into "!mood 1", a private or
        staff command corrected in place): the edit and the message it replaced are redacted there, where the bot
        has the power, as the command typed afresh would be (a reviewer's). Only the sender's own message: clients
        ignore an edit from anyone else, and it must never get another's message, or a bot's, taken down."""
        room_id = message.room_id
        if self._in_staff_place(room_id) or not message.replaces or not self.account.can_redact_others(room_id):
            return
        effects.redact(room_id, message.event_id)
        if await self.account.event_sender(room_id, message.replaces) == message.sender:
            effects.redact(room_id, message.replaces)

    async def _unknown(self, invocation: Invocation, message: Message, effects: Effects) -> None:
        """Kind usage help, never in front of a group: a mistyped private command (`!mood2`) may say something
        personal, so in a group it is answered in the member's DM and redacted where the bot has the power; only a
        try at a command (_a_try_at_a_command)."""
        prefix = self.config.command_prefix
        word = invocation.raw_args[0]
        if not self._a_try_at_a_command(invocation, message.room_id):
            return
        # An outage while telling which bot answers is raised, as for a known command: the event is tried again
        # (swallowed, a mistyped `!mood2 I feel awful` typed in a group was neither answered nor taken down).
        if not await self._answers_here(self.config.bot_names[0], message.room_id):
            return
        role = role_of(message.sender, self.config)
        in_staff_place = self._in_staff_place(message.room_id)
        if self._within_pace(message, role, effects):
            content = self.templates.render(
                "unknown_command", prefix=prefix, word=word[:40],
                usages=[c.usage_line(prefix) for c in self.registry.family(invocation.words[0]) if c.role <= role],
            )
            if in_staff_place:
                effects.message(content, room_id=message.room_id)
            else:
                effects.message(content, to_user=message.sender)
        if not in_staff_place and self.account.can_redact_others(message.room_id):  # paced or not
            effects.redact(message.room_id, message.event_id)

    async def _answer(self, context: CommandContext, args: list[str], sent_ms: int, in_staff_place: bool) -> None:
        """Run the command, or say kindly why not: seen too late, not the sender's to run, or not here."""
        command, prefix = context.command, context.prefix
        # A staff command typed in a group is taken down there: any word about it goes to the sender's DM, never in
        # front of the group (a reviewer's: "Sorry, !checkin is for peer workers" stayed where the command had been).
        elsewhere = command.staff_places_only and not in_staff_place

        def refuse(template: str, **words: Any) -> None:
            if elsewhere:
                context.effects.message(self.templates.render(template, prefix=prefix, **words), to_user=context.sender)
            else:
                context.reply(template, **words)

        if self.clock.ms() - sent_ms > self.config.command_max_age_s * 1000:
            refuse("away", usage=command.usage_line(prefix))
        elif context.role < command.role:
            refuse("not_allowed", usage=command.usage_line(prefix), admins_only=command.role >= Role.ADMIN)
        elif elsewhere:
            refuse("staff_place_only", usage=command.usage_line(prefix))
        else:
            await self._run(command, context, args)

    def _within_pace(self, message: Message, role: Role, effects: Effects) -> bool:
        """Whether a member's command (known or not) is within the pace (commands/pace.py); the first over it is
        told so in their DM, logged without who: the flood is the admin's to see."""
        pace = Pace.GO if role >= Role.PEER_WORKER else self.pace.admit(message.sender, message.event_id,
                                                                          self.clock.ms())
        if pace is Pace.SLOW_DOWN:
            log.warning("a member is over the command pace; their commands wait a minute")
            effects.message(self.templates.render("slow_down"), to_user=message.sender)
        return pace is Pace.GO

    async def _run(self, command: Command, context: CommandContext, args: list[str]) -> None:
        """Parse and run the command; a usage mistake gets its usage, a bug gets a kind apology and changes nothing.

        Arguments are parsed only once the command may run here: a refusal is about the place or the role.
        """
        try:
            run, context.params = command.parse(args)
            await run(context)
            if command.role >= Role.PEER_WORKER and not command.audits_itself:
                context.effects.record(self._audited(context))
        except UsageError as error:
            context.reply("usage", problem=error.problem, usage=command.usage_line(context.prefix),
                          summary=command.summary)
        except Exception as error:
            if (isinstance(error, MatrixError) and not error.permanent) or database_unavailable(error):
                raise  # the homeserver or database away for now is no bug: the whole event is tried again
            # Not log.exception: an error's message can quote the member's arguments.
            log.error("command %s failed (event %s): %s", command.name, context.event_id, describe_error(error))
            context.effects.discard()
            context.reply("went_wrong")

    def _audited(self, context: CommandContext) -> StateWrite:
        """Every staff command is audited with its name and the member it names, never its other words
        (a reason or topic is typed text)."""
        command = context.command
        declared = {param.name: param for param in command.every_param}
        members = [value for name, value in context.params.items() if isinstance(declared.get(name), UserId) and value]
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await record_audit(db, context.sender, f"{context.prefix}{context.command.name}",
                               members[0] if members else None, None, now)

        return write

    async def _answers_here(self, owner_bot: str, room_id: str) -> bool:
        """Whether this account answers here. A membership lookup that fails for now raises (MatrixError):
        treating it as "not me" could leave the command unanswered by every bot when the owner is not in the
        room, so the event is tried again, through an outage however long (`bothy/inbound.py`). One the
        homeserver refuses (this account has left the room, say) means "not me": it is not the owner, so it
        stays silent rather than apologise for a command it may never have been meant to answer."""
        me = self.account.user_id
        owner_account = self.config.bots[owner_bot].user_id
        if owner_account == me:
            return True
        try:
            members = await self.account.joined_members(room_id)
        except MatrixError as error:
            if not error.permanent:
                raise
            log.warning("%s could not tell who is in %s (%s); leaving the command to the other bots", me, room_id,
                        error.code)
            return False
        if owner_account in members:
            return False
        for bot in self.config.bot_names:
            candidate = self.config.bots[bot].user_id
            if candidate == me or candidate in members:
                return candidate == me
        return False
