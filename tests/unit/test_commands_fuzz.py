"""Property-based fuzzing of commands: whatever a member types, through the real router and every installed bot,
nothing escapes `handle`, a reply's HTML never carries the member's markup, nothing they typed reaches the log,
there is at most one reply, and a command that fails changes nothing."""

import dataclasses
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bothy.clock import Clock
from bothy.config import Config
from bothy.matrix.events import Message
from bothy.outbox import Effects, UnitOfWork
from bothy.settings import DURATION_SECONDS, MATRIX_USER_ID
from bothy.storage.database import Database
from bots.installed import INSTALLATION
from commands.framework import (
    Choice,
    Command,
    CommandContext,
    CommandRegistry,
    CommandRun,
    Duration,
    Integer,
    Param,
    Text,
    UserId,
)
from commands.router import CommandRouter

# The database and the bots over it are built once per test and shared by every example, as in a running
# Bothy: what one command stores, the next one reads.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

DAY = DURATION_SECONDS["d"]
CANARY = "fz0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # for the regression examples
HOST = "@bothy:example.org"
DM, GROUP, STAFF = "!dm:example.org", "!group:example.org", "!staff:example.org"
MEMBER, VOLUNTEER, PEER_WORKER, ADMIN = "@alice:example.org", "@vic:example.org", "@sam:example.org", "@ali:example.org"
SENDERS = (MEMBER, VOLUNTEER, PEER_WORKER, ADMIN)
# Every installed command's name and alias (a test below keeps this complete), and near misses.
COMMAND_WORDS = ("help", "commands", "mydata", "forget", "status", "checkins", "checkin", "quiet", "stress",
                 "resources", "referrals", "refer", "referrals report", "mood", "energy", "mood share", "mood report",
                 "hangout", "hangout invite", "interests", "interests add", "interests remove", "interests invites",
                 "groups", "group new", "group join", "group approve", "group decline", "group archive", "talk", "peer",
                 "alerts", "done", "report", "mod", "audit", "meetups", "meetup add", "meetup going",
                 "meetup not", "meetup cancel")
NEAR_MISSES = ("hlep", "moood", "mood reprt", "checkins2", "stres", "forget me", "refer@")
KEYWORDS = ("on", "off", "pause", "link", "unlink", "threshold", "me", "confirm", "housing", "debt", "crisis",
            "Mental Health Support", "young-people")
# One set of templates for every example, as a running Bothy has: a fresh set compiles each template again at its
# first use, which was most of these tests' time.
TEMPLATES = INSTALLATION.templates()
# Tags and attributes the templates themselves use; anything else in a reply's HTML came from the input.
TEMPLATE_TAGS = frozenset({"p", "ul", "li", "code", "strong", "a", "br"})

# A valid configured prefix: one to three characters, none of them a space.
PREFIX = st.text(st.characters(exclude_categories=("Cs", "Z", "Cc")), min_size=1, max_size=3)
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)  # events never carry lone surrogates
HUGE_TEXT = st.builds(lambda piece, times: (piece * times)[:100_000], ANY_TEXT, st.integers(0, 10_000))
# Mostly one space; sometimes other Unicode spaces, or a zero-width space (not a space: it joins the words).
SPACE = st.sampled_from([" ", " ", " "]) | st.text(st.sampled_from(" \t\n\u00a0\u2003\u3000\u200b"), min_size=1,
                                                  max_size=3)
NUMBER = st.integers(-(10**30), 10**30).map(str) | st.sampled_from(
    ["0", "007", "٣", "²", "１２", "৪", "1e3", "-1", "1.5", "0x10", "9" * 40, "0" * 40 + "5", "NaN", "∞"])
UNIT = st.sampled_from(["s", "m", "h", "d", "w", "W", "x", ""])
DURATION = st.builds(lambda count, unit: f"{count}{unit}", NUMBER, UNIT)
USER_ID = (st.sampled_from(["@bob:example.org", "@BOB:example.org", "@bob", "bob:example.org", "@b:" + "x" * 300])
           | st.from_regex(MATRIX_USER_ID, fullmatch=True)).filter(lambda user_id: user_id not in SENDERS)


def any_case(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    cases = st.sampled_from([str, str.upper, str.title])
    return st.builds(lambda word, case: case(word), st.sampled_from(words), cases)


def carrying(canary: str) -> st.SearchStrategy[str]:
    """Words that carry the canary: inside markup a reply must never let through, bare, or as a user ID."""
    return st.sampled_from([
        f"<script>{canary}</script>", f"<{canary}>", f'"><img src=x onerror={canary}>', f"<b>{canary}",
        f"<a href='javascript:{canary}'>x</a>", canary, f"@{canary}:example.org", f"&lt;{canary}&gt;", f"{canary}d",
    ])


@dataclasses.dataclass(frozen=True)
class Typed:
    body: str
    canary: str  # unique to this example: found in a reply's markup or the log, it came from the body
    prefix: str  # the configured command prefix


@st.composite
def typed(draw: st.DrawFn) -> Typed:
    """Mostly a known command with the configured prefix, so handlers run; sometimes anything at all."""
    canary = f"fz{draw(st.uuids()).hex}"
    prefix = draw(st.sampled_from(["!", "!", "!", "?", "b!", "..."]) | PREFIX)
    typed_prefix = draw(st.sampled_from([prefix] * 12 + ["", "!", prefix * 2, "！"]))
    rarely = st.sampled_from([False] * 7 + [True])
    name = draw(ANY_TEXT if draw(rarely) else any_case(COMMAND_WORDS * 3 + NEAR_MISSES))
    word = st.one_of(carrying(canary), any_case(KEYWORDS), carrying(canary), NUMBER, DURATION, USER_ID, ANY_TEXT,
                     HUGE_TEXT)
    args = draw(st.lists(word, max_size=4))
    spaces = draw(st.lists(SPACE, min_size=len(args) + 3, max_size=len(args) + 3))
    body = spaces[0] * draw(rarely) + typed_prefix + spaces[1] * draw(rarely) + name
    for space, arg in zip(spaces[2:], args, strict=False):
        body += space + arg
    return Typed(body + spaces[-1] * draw(st.booleans()), canary, prefix)


class Account:
    """The host bot's account, alone with the sender in every room, so it answers every command itself."""

    user_id = HOST

    def __init__(self, sender: str, power: bool):
        self.sender = sender
        self.power = power

    async def joined_members(self, room_id: str) -> frozenset[str]:
        return frozenset({HOST, self.sender})

    def is_direct_room(self, room_id: str) -> bool:
        return room_id == DM

    def can_redact_others(self, room_id: str) -> bool:
        return self.power

    def is_encrypted(self, room_id: str) -> bool:
        return room_id != GROUP


def breaking(run: CommandRun) -> CommandRun:
    """The real handler, then a failure whose message quotes the member's arguments."""
    async def run_then_fail(ctx: CommandContext) -> None:
        await run(ctx)
        raise RuntimeError(f"broke on {ctx.params!r}")

    return run_then_fail


def broken(command: Command) -> Command:
    if command.run is not None:
        return dataclasses.replace(command, run=breaking(command.run))
    return dataclasses.replace(command, subcommands=tuple(dataclasses.replace(sub, run=breaking(sub.run))
                                                          for sub in command.subcommands))


class Tags(HTMLParser):
    """Every tag and attribute name in a piece of HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


def assert_escaped(html: str, canary: str) -> None:
    """No markup from the input: no tag the templates don't use, and the canary only ever in text."""
    assert f"<{canary}" not in html and "<script" not in html.lower()
    start = html.find(canary)
    while start != -1:
        assert html.rfind("<", 0, start) <= html.rfind(">", 0, start), "the canary is inside a tag"
        start = html.find(canary, start + 1)
    parsed = Tags(html)
    assert parsed.tags <= TEMPLATE_TAGS and parsed.attributes <= {"href"}


def test_the_fuzzed_words_name_every_installed_command(registry):
    names = {name for command in registry.commands for name in (command.name, *command.aliases)}
    assert names <= set(COMMAND_WORDS)


@st.composite
def declared(draw: st.DrawFn, commands: list[Command]) -> Typed:
    """A known command typed with the configured prefix, its arguments drawn from its own declaration:
    mostly good values, often the canary where free text or a user ID goes, sometimes junk or a word too many."""
    canary = f"fz{draw(st.uuids()).hex}"
    command = draw(st.sampled_from([*commands, *[c for c in commands if echoing(c)] * 2]))
    params: tuple[Param, ...] = command.params
    words = [draw(any_case((command.name, *command.aliases)))]
    if command.subcommands:
        chosen = draw(st.sampled_from(command.subcommands))
        words.append(draw(any_case((chosen.word,)) | carrying(canary)))
        params = chosen.params
    for param in params:
        if not (param.optional and draw(st.booleans())):
            words.append(draw(value_for(param, canary)))
    if draw(st.sampled_from([False] * 7 + [True])):
        words.append(draw(carrying(canary) | ANY_TEXT))
    spaces = draw(st.lists(SPACE, min_size=len(words), max_size=len(words)))
    return Typed("!" + "".join(word + space for word, space in zip(words, spaces, strict=True)), canary, "!")


def echoing(command: Command) -> bool:
    """Whether what is typed can reach the reply (free text, a member's ID): drawn three times as often."""
    params = (*command.params, *(param for sub in command.subcommands for param in sub.params))
    return any(isinstance(param, Text | UserId) for param in params)


def value_for(param: Param, canary: str) -> st.SearchStrategy[str]:
    match param:
        case Choice(words=words):
            return any_case(words) | carrying(canary)
        case Integer(minimum=low, maximum=high):
            return st.integers(low, high).map(str) | NUMBER
        case Duration(minimum_s=low, maximum_s=high):
            return st.integers(low // DAY, high // DAY).map(lambda days: f"{days}d") | DURATION
        case UserId():
            return st.just(f"@{canary}:example.org") | USER_ID
        case Text():
            text = st.builds(lambda first, rest: " ".join([first, *rest]), carrying(canary),
                             st.lists(carrying(canary) | ANY_TEXT, max_size=3))
            return st.one_of(text, text, any_case(KEYWORDS), HUGE_TEXT)
    return carrying(canary) | ANY_TEXT  # a kind of argument this fuzzing does not know yet: still no crash


async def handle_checked(typed: Typed, commands: CommandRegistry, database: Database, caplog: pytest.LogCaptureFixture,
                         config: Config, sender: str, room_id: str, power: bool, breaks: bool, age_ms: int) -> None:
    """Route one typed message and check every property; what it owes is then committed, as Bothy would."""
    caplog.clear()
    config = dataclasses.replace(config, volunteers=frozenset({VOLUNTEER}), command_prefix=typed.prefix)
    if breaks:
        commands = CommandRegistry(broken(command) for command in commands.commands)
    router = CommandRouter(config, commands, Account(sender, power), TEMPLATES, Clock(), lambda: STAFF)
    effects = Effects(HOST)
    message = Message(room_id, "$typed", sender, typed.body, Clock().ms() - age_ms, "m.text", encrypted=True)

    await router.handle(message, effects)

    messages = [item for item in effects.items if item.action == "message"]
    for item in messages:
        assert_escaped(item.content["formatted_body"], typed.canary)
    # One reply to the sender; `!refer` also DMs the member, and a staff alert (`!talk`), or a note under one about
    # the member (`!talk` again), is not a reply.
    assert len([item for item in messages if item.to_user in (None, sender) and item.alert is None
                and not (item.room_id == STAFF and item.about_user == sender)]) <= 1
    went_wrong = TEMPLATES.render("went_wrong", prefix=typed.prefix)
    if any(item.content == went_wrong for item in messages):
        assert breaks, "a real command failed"
        assert effects.writes == [] and [i.content for i in effects.items if i.action != "redaction"] == [went_wrong]
    assert typed.canary not in caplog.text
    await UnitOfWork(database, Clock(), lambda: None).commit(effects)
    assert typed.canary not in caplog.text


# Who types it and where, whether the bot may redact there, whether every handler breaks after running,
# and how old the message is (an hour: the "I was away" answer).
PLACES = (st.sampled_from(SENDERS), st.sampled_from([DM, GROUP, STAFF]), st.booleans(),
          st.sampled_from([False] * 3 + [True]), st.sampled_from([0] * 7 + [3_600_000]))


@FUZZ
@given(typed(), *PLACES)
# aiosqlite logged the outbox row, and this reply quotes the unknown command name.
@example(Typed(f"!help {CANARY}", CANARY, "!"), MEMBER, DM, False, False, 0)
async def test_whatever_is_typed_nothing_escapes_leaks_or_half_happens(registry, database, example_config, debug_logs,
                                                                        typed, sender, room_id, power, breaks, age_ms):
    await handle_checked(typed, registry, database, debug_logs, example_config, sender, room_id, power, breaks,
                         age_ms)


@FUZZ
@given(st.data(), *PLACES)
async def test_every_declared_argument_fuzzed_nothing_escapes_leaks_or_half_happens(
        registry, database, example_config, debug_logs, data, sender, room_id, power, breaks, age_ms):
    typed = data.draw(declared(registry.commands))
    await handle_checked(typed, registry, database, debug_logs, example_config, sender, room_id, power, breaks,
                         age_ms)
