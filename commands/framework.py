"""A command is declared once: name, aliases, owning bot, who may run it, usage and help text.

Parsing, permission checks, usage replies and `!help` are all generated from these declarations.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bothy.outbox import Effects
from bothy.templates import Templates


class Role(enum.IntEnum):
    """Roles come from the config by Matrix ID (never display names); each includes those below it."""

    MEMBER = 0
    VOLUNTEER = 1
    PEER_WORKER = 2
    ADMIN = 3


class UsageError(Exception):
    """The command was used wrongly; `problem` is a short, kind explanation for the member."""

    def __init__(self, problem: str = ""):
        super().__init__(problem)
        self.problem = problem


@dataclass
class CommandContext:
    command: Command
    sender: str
    room_id: str
    event_id: str
    args: list[str]
    rest: str  # the text after the command words, spaces collapsed
    role: Role
    in_dm: bool
    effects: Effects
    templates: Templates
    prefix: str

    def _where(self) -> tuple[str | None, str | None]:
        """(room_id, to_user): in place, or in the member's DM when a private command was typed in a group."""
        return (None, self.sender) if self.command.private and not self.in_dm else (self.room_id, None)

    def reply(self, template: str, *, reactions: tuple[str, ...] = (), **context: Any) -> None:
        content = self.templates.render(template, prefix=self.prefix, **context)
        room_id, to_user = self._where()
        self.effects.message(content, reactions=reactions, room_id=room_id, to_user=to_user)

    def reply_file(self, filename: str, mimetype: str, text: str) -> None:
        room_id, to_user = self._where()
        self.effects.file(filename, mimetype, text, room_id=room_id, to_user=to_user)


CommandRun = Callable[[CommandContext], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    name: str  # one or two words, e.g. "help" or "mood report"
    bot: str
    summary: str
    run: CommandRun = field(compare=False)
    usage: str = ""  # the arguments, e.g. "on|off|pause 2w"
    role: Role = Role.MEMBER
    private: bool = False  # answered in DM; the command message is redacted in group rooms
    aliases: tuple[str, ...] = ()

    def usage_line(self, prefix: str) -> str:
        return f"{prefix}{self.name} {self.usage}".strip()

    @property
    def staff_places_only(self) -> bool:
        """Staff commands deal with members' data, so they run only in the staff room or a DM."""
        return self.role >= Role.PEER_WORKER


@dataclass(frozen=True)
class Invocation:
    words: tuple[str, ...]  # case-folded, spaces collapsed
    raw_args: list[str]


def parse_invocation(body: str, prefix: str) -> Invocation | None:
    """'  !Mood   3 ' -> ('mood', '3'); None when the message is not a command at all."""
    text = body.strip()
    if not text.startswith(prefix) or len(text) == len(prefix):
        return None
    parts = text[len(prefix):].split()
    if not parts or text[len(prefix)].isspace():
        return None
    return Invocation(tuple(part.casefold() for part in parts), parts)


class CommandRegistry:
    def __init__(self, commands: Iterable[Command] = ()):
        self._by_words: dict[tuple[str, ...], Command] = {}
        self.commands: list[Command] = []
        for command in commands:
            self.add(command)

    def add(self, command: Command) -> None:
        for name in (command.name, *command.aliases):
            words = tuple(name.split())
            if words in self._by_words:
                raise ValueError(f"command {name!r} is declared twice")
            self._by_words[words] = command
        self.commands.append(command)

    def find(self, invocation: Invocation) -> tuple[Command, list[str]] | None:
        """The longest declared name that starts the invocation, and the arguments after it."""
        for length in (2, 1):
            command = self._by_words.get(invocation.words[:length])
            if command is not None and len(invocation.words) >= length:
                return command, invocation.raw_args[length:]
        return None

    def family(self, first_word: str) -> list[Command]:
        """Commands sharing a first word, for usage help when a subcommand is mistyped."""
        return [c for c in self.commands if c.name.split()[0] == first_word]

    def visible_to(self, role: Role) -> list[Command]:
        return [command for command in self.commands if command.role <= role]
