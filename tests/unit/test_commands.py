import pytest

from commands.framework import Choice, Command, CommandRegistry, Integer, Role, parse_invocation


async def noop(ctx) -> None:
    return None


def registry() -> CommandRegistry:
    return CommandRegistry([
        Command("help", "host", "help", noop, aliases=("commands",)),
        Command("mood", "mood", "record mood", noop, params=(Integer("score", 1, 5),), private=True),
        Command("mood report", "mood", "trends", noop, role=Role.PEER_WORKER),
        Command("mood share", "mood", "consent", noop, params=(Choice("setting", ("on", "off")),), private=True),
    ])


@pytest.mark.parametrize(("body", "words"), [
    ("!help", ("help",)), ("  !HELP  ", ("help",)), ("!Mood   3", ("mood", "3")),
    ("!mood report  #garden", ("mood", "report", "#garden")),
])
def test_parse_is_case_insensitive_and_tolerates_spaces(body, words):
    assert parse_invocation(body, "!").words == words


@pytest.mark.parametrize("body", ["hello", "!", "! help", "help!", ""])
def test_not_commands(body):
    assert parse_invocation(body, "!") is None


def test_the_longest_declared_name_wins_and_keeps_argument_case():
    found = registry().find(parse_invocation("!MOOD Share On", "!"))
    assert found[0].name == "mood share" and found[1] == ["On"]
    command, args = registry().find(parse_invocation("!mood 3", "!"))
    assert command.name == "mood" and args == ["3"]


def test_aliases_and_unknown():
    assert registry().find(parse_invocation("!commands", "!"))[0].name == "help"
    assert registry().find(parse_invocation("!nosuch", "!")) is None


@pytest.mark.parametrize(("name", "found"), [
    ("mood report", "mood report"), ("  Mood   REPORT ", "mood report"), ("commands", "help"), ("mood", "mood"),
    ("mood nosuch", None), ("nosuch", None), ("", None),
])
def test_a_command_is_named_by_its_name_or_alias(name, found):
    command = registry().named(name)
    assert (command.name if command else None) == found


def test_help_shows_each_person_only_what_they_may_use():
    names = {c.name for c in registry().visible_to(Role.MEMBER)}
    assert "mood report" not in names and "mood" in names
    assert "mood report" in {c.name for c in registry().visible_to(Role.PEER_WORKER)}


def test_a_name_declared_twice_is_refused():
    with pytest.raises(ValueError):
        CommandRegistry([Command("help", "host", "a", noop), Command("help", "mood", "b", noop)])
