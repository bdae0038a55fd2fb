"""Declared arguments: every type's good and wrong values, and the usage lines generated from declarations."""

import pytest

from commands.framework import (
    Choice,
    Command,
    CommandRegistry,
    Duration,
    Integer,
    Subcommand,
    Text,
    UsageError,
    UserId,
    describe_seconds,
    one_of,
    parse_invocation,
)

DAY, WEEK = 86_400, 604_800
SETTING = Choice("setting", ("on", "off"))
LENGTH = Duration("duration", DAY, 365 * DAY)
LEVEL = Integer("level", 1, 100)
USER = UserId("user")
TOPIC = Text("topic", 20)


async def on(ctx) -> None: ...


async def off(ctx) -> None: ...


async def pause(ctx) -> None: ...


async def run(ctx) -> None: ...


REGISTRY = CommandRegistry([
    Command("checkins", "checkin", "check-ins", subcommands=(
        Subcommand("on", on), Subcommand("off", off), Subcommand("pause", pause, (LENGTH,)))),
    Command("forget", "host", "erase", run, params=(Choice("me", ("me",)), Choice("confirm", ("confirm",),
                                                                                   optional=True))),
    Command("quiet", "checkin", "quiet members", run, params=(Integer("days", 0, 365, optional=True),)),
    Command("refer", "referral", "refer", run, params=(USER, TOPIC)),
    Command("resources", "referral", "resources", run, params=(Text("topic", 20, optional=True, default="all"),)),
    Command("status", "host", "status", run),
])


def parse(body: str):
    command, args = REGISTRY.find(parse_invocation(body, "!"))
    return command.parse(args)


@pytest.mark.parametrize(("param", "text", "value"), [
    (SETTING, "on", "on"), (SETTING, "OFF", "off"), (SETTING, "oN", "on"),
    (LENGTH, "2w", 2 * WEEK), (LENGTH, "10d", 10 * DAY), (LENGTH, "2W", 2 * WEEK), (LENGTH, "1d", DAY),
    (LENGTH, "24h", DAY), (LENGTH, "52w", 52 * WEEK), (LENGTH, "365d", 365 * DAY), (LENGTH, "007d", 7 * DAY),
    (LEVEL, "1", 1), (LEVEL, "100", 100), (LEVEL, "042", 42),
    (USER, "@alice:example.org", "@alice:example.org"), (USER, "@a.b_c=d-e/f+g:matrix.example.org:8448",
                                                         "@a.b_c=d-e/f+g:matrix.example.org:8448"),
    (TOPIC, "housing", "housing"), (TOPIC, "Mental Health", "Mental Health"), (TOPIC, "x" * 20, "x" * 20),
])
def test_good_values(param, text, value):
    assert param.convert(text) == value


HUGE = "99999999999999999999"


@pytest.mark.parametrize(("param", "text"), [
    (SETTING, "maybe"), (SETTING, "onn"), (SETTING, "o"),
    (LENGTH, "2"), (LENGTH, "w"), (LENGTH, "2x"), (LENGTH, "2.5w"), (LENGTH, "-2w"), (LENGTH, "+2w"),
    (LENGTH, "0d"), (LENGTH, "23h"), (LENGTH, "366d"), (LENGTH, "53w"), (LENGTH, f"{HUGE}w"),
    (LENGTH, "9" * 5000 + "d"), (LENGTH, "²w"), (LENGTH, "٢w"), (LENGTH, "２w"), (LENGTH, "2wk"), (LENGTH, "two"),
    (LEVEL, "0"), (LEVEL, "101"), (LEVEL, "-1"), (LEVEL, "+5"), (LEVEL, "1.5"), (LEVEL, "1e3"), (LEVEL, "ten"),
    (LEVEL, HUGE), (LEVEL, "9" * 5000), (LEVEL, "²"), (LEVEL, "٣"), (LEVEL, "５"), (LEVEL, "৫"), (LEVEL, "5²"),
    (USER, "alice"), (USER, "@alice"), (USER, "alice:example.org"), (USER, "@Alice:example.org"),
    (USER, "@alice:example.org:port"), (USER, "@" + "a" * 300 + ":example.org"), (USER, "@alïce:example.org"),
    (TOPIC, "x" * 21), (TOPIC, "y" * 10_000),
])
def test_wrong_values_get_the_type_s_kind_problem(param, text):
    with pytest.raises(UsageError) as raised:
        param.convert(text)
    assert raised.value.problem == param.problem  # the same for every wrong value: what was typed is never echoed


@pytest.mark.parametrize(("body", "handler", "params"), [
    ("!checkins on", on, {}),
    ("  !CHECKINS   Off ", off, {}),
    ("!checkins PAUSE 2W", pause, {"duration": 2 * WEEK}),
    ("!checkins   pause    10d  ", pause, {"duration": 10 * DAY}),
    ("!forget me", run, {"me": "me", "confirm": None}),
    ("!forget ME Confirm", run, {"me": "me", "confirm": "confirm"}),
    ("!quiet", run, {"days": None}),
    ("!quiet 0", run, {"days": 0}),
    ("!quiet 14", run, {"days": 14}),
    ("!refer @alice:example.org   mental    health", run, {"user": "@alice:example.org", "topic": "mental health"}),
    ("!resources", run, {"topic": "all"}),
    ("!resources debt", run, {"topic": "debt"}),
    ("!status", run, {}),
])
def test_messages_parse_to_a_handler_and_typed_values(body, handler, params):
    assert parse(body) == (handler, params)


@pytest.mark.parametrize(("body", "problem"), [
    ("!checkins", "Please say on, off, or pause."),
    ("!checkins sometimes", "Please say on, off, or pause."),
    ("!checkins on please", "This one doesn't take anything after it."),
    ("!checkins pause", LENGTH.problem),
    ("!checkins pause forever", LENGTH.problem),
    (f"!checkins pause {HUGE}w", LENGTH.problem),
    ("!checkins pause 2w 3d", "There's more there than I expected."),
    ("!forget", "Please say me."),
    ("!forget me now", "Please say confirm."),
    ("!forget me confirm really", "There's more there than I expected."),
    ("!quiet 14 days", "There's more there than I expected."),
    ("!quiet ٣", "Please give a whole number from 0 to 365."),
    ("!quiet 366", "Please give a whole number from 0 to 365."),
    ("!refer", USER.problem),
    ("!refer alice housing", USER.problem),
    ("!refer @alice:example.org", "Please add the topic."),
    ("!refer @alice:example.org " + "word " * 10, TOPIC.problem),
    ("!status now", "This one doesn't take anything after it."),
])
def test_mistakes_are_usage_errors_with_a_kind_problem(body, problem):
    with pytest.raises(UsageError) as raised:
        parse(body)
    assert raised.value.problem == problem


@pytest.mark.parametrize(("name", "usage"), [
    ("checkins", "!checkins on|off|pause DURATION"),
    ("forget", "!forget me [confirm]"),
    ("quiet", "!quiet [DAYS]"),
    ("refer", "!refer @USER TOPIC"),
    ("resources", "!resources [TOPIC]"),
    ("status", "!status"),
])
def test_usage_lines_are_generated_from_the_declaration(name, usage):
    assert REGISTRY.named(name).usage_line("!") == usage


def test_a_hint_replaces_the_generated_problem():
    me = Choice("me", ("me",), hint="Please send “forget me” to start.")
    with pytest.raises(UsageError, match="forget me"):
        me.convert("you")


@pytest.mark.parametrize("declaration", [
    {"run": run, "params": (Integer("days", 0, 9, optional=True), SETTING)},  # required after optional
    {"run": run, "params": (TOPIC, SETTING)},  # anything after the rest of the message
    {"run": run, "params": (Text("a", 5, optional=True), Text("b", 5, optional=True))},
    {},  # neither a handler nor subcommands
    {"run": run, "subcommands": (Subcommand("on", on),)},
    {"subcommands": (Subcommand("on", on),), "params": (SETTING,)},
    {"subcommands": (Subcommand("pause", pause, (TOPIC, LENGTH)),)},
])
def test_declarations_that_could_never_parse_are_refused(declaration):
    with pytest.raises(ValueError):
        Command("broken", "host", "broken", **declaration)


@pytest.mark.parametrize(("words", "said"), [
    (("me",), "me"), (("on", "off"), "on or off"), (("on", "off", "pause"), "on, off, or pause"),
])
def test_choices_read_as_plain_english(words, said):
    assert one_of(words) == said


@pytest.mark.parametrize(("seconds", "said"), [
    (DAY, "1 day"), (10 * DAY, "10 days"), (WEEK, "1 week"), (365 * DAY, "365 days"), (3600, "1 hour"),
    (90, "90 seconds"),
])
def test_durations_in_problems_read_naturally(seconds, said):
    assert describe_seconds(seconds) == said


@pytest.mark.parametrize("words", [(), ("On", "off"), ("on off",), ("",)])
def test_choice_words_are_declared_as_single_lower_case_words(words):
    with pytest.raises(ValueError):
        Choice("setting", words)
    with pytest.raises(ValueError):
        Command("broken", "host", "broken", subcommands=tuple(Subcommand(word, on) for word in words))
