"""A command is declared once: name, aliases, owning bot, who may run it, its arguments and help text.

Parsing, permission checks, usage lines, usage replies and `!help` are all generated from these
declarations, so a handler receives typed values and never reads the words itself.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from itertools import pairwise
from typing import Any, ClassVar

from bothy.outbox import Effects
from bothy.settings import DURATION_SECONDS, is_user_id
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


# --- argument types ------------------------------------------------------------------------------

NAME_WORDS = 3  # a topic, tag or group name is a few words; more is a sentence, read like any message
FIRST_PERSON = frozenset({"i", "i'm", "im", "i've", "ive", "i'll", "i'd", "me", "my", "myself", "mine"})
MAX_DIGITS = 15  # more digits than any range here allows; int() of a huge string is never attempted


@dataclass(frozen=True)
class Param(ABC):
    """One declared argument: how the usage line shows it and how a word becomes a typed value."""

    name: str  # its key in `CommandContext.params`
    _: KW_ONLY
    optional: bool = False
    default: Any = None  # the value when an optional argument is left out
    read: bool = False  # the words given for it are also read like any message (Command.read_as_words)
    takes_rest: ClassVar[bool] = False  # True: every remaining word, joined by single spaces

    @property
    def label(self) -> str:
        return self.name.upper()

    @property
    def usage(self) -> str:
        return f"[{self.label}]" if self.optional else self.label

    @property
    def missing(self) -> str:
        """The problem when a required argument is left out: usually what a good value looks like."""
        return self.problem

    @property
    @abstractmethod
    def problem(self) -> str:
        """A short, kind explanation of a wrong value."""

    @abstractmethod
    def convert(self, text: str) -> Any:
        """The typed value, or UsageError with `problem`. Never log `text`: it is what a member typed."""


def one_of(words: Sequence[str]) -> str:
    """('on', 'off', 'pause') -> 'on, off, or pause'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])}{',' if len(words) > 2 else ''} or {words[-1]}"


@dataclass(frozen=True)
class Choice(Param):
    """One of a few words, matched case-insensitively; a single word is a fixed keyword such as `me`."""

    words: tuple[str, ...]
    hint: str = field(default="", kw_only=True)  # instead of the generated "Please say on or off."

    def __post_init__(self) -> None:
        if not self.words or any(word != word.casefold() or not word.isalpha() for word in self.words):
            raise ValueError(f"choice {self.name!r}: declare its words in lower case, e.g. ('on', 'off')")

    @property
    def label(self) -> str:
        return "|".join(self.words)

    @property
    def problem(self) -> str:
        return self.hint or f"Please say {one_of(self.words)}."

    def convert(self, text: str) -> str:
        word = text.casefold()
        if word not in self.words:
            raise UsageError(self.problem)
        return word


def small_number(digits: str) -> int | None:
    """ASCII digits only (so no '²' or '٣'), and short enough that int() and arithmetic stay cheap."""
    if not (digits.isascii() and digits.isdecimal()) or len(digits.lstrip("0")) > MAX_DIGITS:
        return None
    return int(digits)


@dataclass(frozen=True)
class Integer(Param):
    """A whole number in a range."""

    minimum: int
    maximum: int

    @property
    def problem(self) -> str:
        return f"Please give a whole number from {self.minimum} to {self.maximum}."

    def convert(self, text: str) -> int:
        number = small_number(text)
        if number is None or not self.minimum <= number <= self.maximum:
            raise UsageError(self.problem)
        return number


def describe_seconds(seconds: int) -> str:
    """604800 -> '1 week', 864000 -> '10 days': the largest unit that divides evenly."""
    names = {"w": "week", "d": "day", "h": "hour", "m": "minute", "s": "second"}
    unit, size = max(((u, s) for u, s in DURATION_SECONDS.items() if seconds % s == 0), key=lambda item: item[1])
    count = seconds // size
    return f"{count} {names[unit]}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Duration(Param):
    """A length such as 2w or 10d, in seconds, within a range (a year at most keeps dates in bounds)."""

    minimum_s: int
    maximum_s: int

    @property
    def problem(self) -> str:
        return (f"Please give a length from {describe_seconds(self.minimum_s)} to "
                f"{describe_seconds(self.maximum_s)}, such as 2w (two weeks) or 10d.")

    def convert(self, text: str) -> int:
        word = text.casefold()
        count = small_number(word[:-1])
        if count is None or word[-1] not in DURATION_SECONDS:
            raise UsageError(self.problem)
        seconds = count * DURATION_SECONDS[word[-1]]
        if not self.minimum_s <= seconds <= self.maximum_s:
            raise UsageError(self.problem)
        return seconds


@dataclass(frozen=True)
class UserId(Param):
    """A Matrix user ID, as typed: IDs are not case-folded, so a mistyped capital is refused rather than guessed."""

    @property
    def label(self) -> str:
        return f"@{self.name.upper()}"

    @property
    def problem(self) -> str:
        return "Please give one member's Matrix ID, like @alice:example.org."

    def convert(self, text: str) -> str:
        if not is_user_id(text):
            raise UsageError(self.problem)
        return text


@dataclass(frozen=True)
class Text(Param):
    """The rest of the message (e.g. a topic), spaces collapsed, so it must be the last argument."""

    max_length: int
    takes_rest: ClassVar[bool] = True

    @property
    def missing(self) -> str:
        return f"Please add the {self.name}."

    @property
    def problem(self) -> str:
        return f"That's longer than I can take: please keep the {self.name} to {self.max_length} characters."

    def convert(self, text: str) -> str:
        if len(text) > self.max_length:
            raise UsageError(self.problem)
        return text


@dataclass(frozen=True)
class Note(Param):
    """Anything a member adds after a command that needs nothing more ("!talk I can't keep myself safe tonight"):
    never refused, however long, and never kept (its value is only whether there was one). The words are read like
    any message instead, so crisis words in them reach the referral bot (Command.read_as_words)."""

    optional: bool = True
    read: bool = True
    takes_rest: ClassVar[bool] = True

    @property
    def usage(self) -> str:
        return ""  # allowed, not asked for: usage lines show what a command needs

    @property
    def problem(self) -> str:
        return ""  # never refused

    def convert(self, text: str) -> bool:
        return bool(text)


def check_declaration(params: Sequence[Param]) -> None:
    """Refuse at start-up what could never parse: required after optional, or anything after the rest."""
    for before, after in pairwise(params):
        if before.takes_rest or (before.optional and not after.optional):
            raise ValueError(f"argument {after.name!r} can never be reached after {before.name!r}")


def parse_params(params: Sequence[Param], args: Sequence[str]) -> dict[str, Any]:
    """Each declared argument from the words in turn; defaults for optional ones left out."""
    values: dict[str, Any] = {}
    remaining = list(args)
    for param in params:
        if not remaining:
            if not param.optional:
                raise UsageError(param.missing)
            values[param.name] = param.default
        elif param.takes_rest:
            values[param.name] = param.convert(" ".join(remaining))
            remaining = []
        else:
            values[param.name] = param.convert(remaining.pop(0))
    if remaining:
        raise UsageError("This one doesn't take anything after it." if not params
                         else "There's more there than I expected.")
    return values


def usage_of(params: Sequence[Param]) -> str:
    return " ".join(param.usage for param in params if param.usage)


# --- commands ------------------------------------------------------------------------------------


@dataclass
class CommandContext:
    command: Command
    sender: str
    room_id: str
    event_id: str
    role: Role
    in_dm: bool
    effects: Effects
    templates: Templates
    prefix: str
    params: dict[str, Any] = field(default_factory=dict)  # the declared arguments, parsed and typed
    encrypted: bool = True  # whether the room the command was typed in is encrypted
    reply_to: str | None = None  # the event the command message replies to, if it is a reply
    in_staff_room: bool = False  # typed in the staff room, which only staff read
    can_take_down: bool = False  # the bot may redact others' messages where this was typed (it has the power)
    sent_at_ms: int | None = None  # when the command says it was sent (its sender's server's clock)

    @property
    def answered_in_place(self) -> bool:
        """Whether a private command is answered where it was typed: in a DM, or in the staff room when it is staff
        business ("!group archive ROOM", "!mood report"). A member's own ("!mood 1", "!talk") typed there by a peer
        worker is answered by DM, as from a group: their colleagues read the staff room."""
        return self.in_dm or (self.in_staff_room and (self.command.role >= Role.PEER_WORKER
                                                      or self.command.staff_business))

    def _where(self) -> tuple[str | None, str | None]:
        """(room_id, to_user): in place, or in the member's DM when a private command was typed elsewhere."""
        return (None, self.sender) if self.command.private and not self.answered_in_place else (self.room_id, None)

    @property
    def files_allowed(self) -> bool:
        """Whether a reply may carry a file: files never go in the clear, so only to the member's DM (the
        outbox opens an encrypted one if need be) or into an encrypted room."""
        return self._file_where()[1] is not None or self.encrypted

    def reply(self, template: str, *, reactions: tuple[str, ...] = (), about: str | None = None,
              naming: Iterable[str] = (), **context: Any) -> None:
        """`about`: the member a reply to staff names ("I've sent @alice a check-in"), so it is theirs too; `naming`:
        the members a list names (`!quiet`), likewise."""
        content = self.templates.render(template, prefix=self.prefix, **context)
        room_id, to_user = self._where()
        self.effects.message(content, reactions=reactions, room_id=room_id, to_user=to_user, about=about,
                             naming=naming)

    def _file_where(self) -> tuple[str | None, str | None]:
        """Where a file goes: as a reply, but a member's private command's file (their own data) always to their DM."""
        personal = self.command.private and self.command.role < Role.PEER_WORKER and not self.command.staff_business
        return (None, self.sender) if personal and not self.in_dm else self._where()

    def reply_file(self, filename: str, mimetype: str, data: str | bytes) -> None:
        room_id, to_user = self._file_where()
        self.effects.file(filename, mimetype, data, room_id=room_id, to_user=to_user)


CommandRun = Callable[[CommandContext], Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    """A first word choosing what the command does, with its own handler and arguments (`pause DURATION`)."""

    word: str
    run: CommandRun = field(compare=False)
    params: tuple[Param, ...] = ()

    @property
    def usage(self) -> str:
        return f"{self.word} {usage_of(self.params)}".strip()


@dataclass(frozen=True)
class Command:
    """Either a handler with arguments (`params`), or `subcommands` that each have their own."""

    name: str  # one or two words, e.g. "help" or "mood report"
    bot: str
    summary: str
    run: CommandRun | None = field(default=None, compare=False)
    params: tuple[Param, ...] = ()
    subcommands: tuple[Subcommand, ...] = ()
    role: Role = Role.MEMBER
    private: bool = False  # answered in DM; the command message is redacted in group rooms
    aliases: tuple[str, ...] = ()
    # A staff command is audited by the router with its name and the member it names; one whose handler writes its
    # own line (with what it acted on, and only once it acted) says so, and is audited once.
    audits_itself: bool = False
    # A staff command that, typed in a group room, is about that room ("!mood report" there): it runs there too,
    # answered by DM (declare it private) like a member's private command, instead of only in the staff places.
    about_the_room: bool = False
    # A private command members use that is staff business too ("!group archive"): typed in the staff room, it is
    # answered there.
    staff_business: bool = False
    # A way to reach a person that must never wait behind a member's other commands (`!talk`): not paced
    # (commands/pace.py); it limits its own repeats.
    always_answered: bool = False
    # Listed by `!help` from this role up, where the handler itself refuses those below with a kind word of why
    # ("!group new" when only volunteers may start groups); None: from `role`.
    listed_from: Role | None = None

    def __post_init__(self) -> None:
        if (self.run is None) == (not self.subcommands) or (self.subcommands and self.params):
            raise ValueError(f"command {self.name!r} needs either a handler with params or subcommands")
        for params in (self.params, *(sub.params for sub in self.subcommands)):
            check_declaration(params)
        if self.subcommands:
            self._subcommand_choice()  # refuses badly declared words now, not when a member types one

    @property
    def usage(self) -> str:
        """The arguments, e.g. "on|off|pause DURATION"."""
        if self.subcommands:
            return "|".join(sub.usage for sub in self.subcommands)
        return usage_of(self.params)

    def usage_line(self, prefix: str) -> str:
        return f"{prefix}{self.name} {self.usage}".strip()

    def parse(self, args: Sequence[str]) -> tuple[CommandRun, dict[str, Any]]:
        """The handler to run and its typed arguments; UsageError with a kind problem otherwise."""
        if self.run is not None:
            return self.run, parse_params(self.params, args)
        choice = self._subcommand_choice()
        if not args:
            raise UsageError(choice.problem)
        word = choice.convert(args[0])
        chosen = next(sub for sub in self.subcommands if sub.word == word)
        return chosen.run, parse_params(chosen.params, args[1:])

    def _subcommand_choice(self) -> Choice:
        return Choice("subcommand", tuple(sub.word for sub in self.subcommands))

    def read_as_words(self, args: Sequence[str]) -> bool:
        """Whether a message invoking this command is also read like any message (for crisis words): when its
        words are not what the command takes ("!mood I want to die" is no mood), fill an argument declared
        `read` (a Note; the command `!help` is asked about), or are a sentence rather than a name. A name (a
        topic, a #tag, a group, a time) is a few words, none of them "I" or "me": "!resources self harm" is a
        lookup whose answer carries the crisis lines, "!resources I'm going to end it tonight" is a cry for help.
        Staff commands are never read: they are work (a topic named in `!refer` is about someone else)."""
        if self.role >= Role.PEER_WORKER:
            return False
        try:
            _, params = self.parse(args)
        except UsageError:
            return bool(args)
        if any(params.get(param.name) for param in self.every_param if param.read):
            return True
        words = [word.casefold().replace("\u2019", "'").strip(".,;:!?\"()") for arg in args
                 for word in arg.split() if not word.startswith("#")]
        return len(words) > NAME_WORDS + (1 if self.subcommands else 0) or not FIRST_PERSON.isdisjoint(words)

    @property
    def every_param(self) -> tuple[Param, ...]:
        """Its own arguments and each subcommand's."""
        return (*self.params, *(param for sub in self.subcommands for param in sub.params))

    @property
    def staff_places_only(self) -> bool:
        """Staff commands deal with members' data, so they run only in the staff room or a DM (or, about the room
        they are typed in, answered by DM)."""
        return self.role >= Role.PEER_WORKER and not self.about_the_room


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


# Each letter's neighbours on a QWERTY keyboard, as a thumb slips.
_BESIDE = dict(zip("qwertyuiopasdfghjklzxcvbnm", (
    "wa", "qesa", "wrds", "etdf", "ryfg", "tugh", "yihj", "uojk", "ipkl", "ol", "qwsz", "awedxz", "serfcx", "drtgvc",
    "ftyhbv", "gyujnb", "huikmn", "jiolm", "kop", "asx", "zsdc", "xdfv", "cfgb", "vghn", "bhjm", "njk"), strict=True))


def _edits_within(typed: str, meant: str, most: int, any_letter: bool = True, beside: bool = False) -> bool:
    """Whether `typed` is at most `most` edits from `meant`: a letter added, dropped or changed, or two neighbours
    swapped; without `any_letter`, a letter changed only for one `beside` it on the keyboard, if that."""
    if abs(len(typed) - len(meant)) > most:
        return False
    before, row = None, list(range(len(meant) + 1))
    for i, letter in enumerate(typed, 1):
        current = [i]
        for j, other in enumerate(meant, 1):
            changed = 0 if letter == other else 1 if any_letter or (beside and letter in _BESIDE.get(other, "")) else 2
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + changed)
            if before is not None and i > 1 and j > 1 and letter == meant[j - 2] and typed[i - 2] == other:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
        if min(row) > most:
            return False
    return row[-1] <= most


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

    def named(self, name: str) -> Command | None:
        """The command a name or alias means ("mood report", "Commands"), for `!help COMMAND`."""
        return self._by_words.get(tuple(name.casefold().split()))

    def may_mean(self, word: str, args: Sequence[str] = ()) -> bool:
        """Whether a word after the prefix that is no command looks like a try at one: a command's first word with more
        after it ("mood2", "helpme"), or a letter or two wrong ("moood", "hlep", "referals"). "!Congratulations on the
        new job" is someone's news, not a mistyped command. A short word with a letter changed is often a word of its
        own ("good", "hell", "moor"): only a key beside the right one, and only where the private command it would be
        takes what follows ("!mpod 1", a phone's slip, but not "!Moor walk on Sunday": a second and a third
        reviewer's)."""
        word = word.casefold()
        for first in {words[0] for words in self._by_words}:
            short = len(first) <= 4
            if word.startswith(first) or _edits_within(word, first, 1 if short else 2, any_letter=not short):
                return True
            if short and _edits_within(word, first, 1, any_letter=False, beside=True) and self._takes(first, args):
                return True
        return False

    def _takes(self, first_word: str, args: Sequence[str]) -> bool:
        """Whether the private command these words would run (one whose slip would leave something personal in front
        of the group) reads them without a usage problem."""
        found = self.find(Invocation((first_word, *(arg.casefold() for arg in args)), [first_word, *args]))
        if found is None or not found[0].private:
            return False
        try:
            found[0].parse(found[1])
        except UsageError:
            return False
        return True

    def family(self, first_word: str) -> list[Command]:
        """Commands sharing a first word, for usage help when a subcommand is mistyped."""
        return [c for c in self.commands if c.name.split()[0] == first_word]

    def visible_to(self, role: Role) -> list[Command]:
        """The commands `!help` lists for this role."""
        return [command for command in self.commands if max(command.role, command.listed_from or 0) <= role]
