"""Interest tags: what members type meets (case, spaces, plurals, synonyms), and `!interests` keeps them
privately, answered in the member's DM."""

import pytest

from bothy.outbox import Effects
from bothy.testing import bot_context
from bots.host.bot import HostBot
from bots.host.tags import SHIPPED_SYNONYMS, Tags, near_duplicate, singular
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role, UsageError, parse_invocation

ALICE = "@alice:example.org"
TAGS = Tags.load(SHIPPED_SYNONYMS)


@pytest.mark.parametrize(("typed", "tag"), [
    ("Gardening", "gardening"), ("  ALLOTMENTS ", "gardening"), ("allotment", "gardening"), ("#garden", "gardening"),
    ("Hiking", "walking"), ("board games", "games"), ("Board-Games", "games"), ("self harm", "self-harm"),
    ("Dogs", "dog"), ("hobbies", "hobby"), ("watches", "watch"), ("chess", "chess"), ("news", "news"),
    ("Café", "cafe"), ("films", "movie"), ("Movies", "movie"),
])
def test_tags_meet_whatever_the_case_spacing_plural_or_synonym(typed, tag):
    assert TAGS.normalise(typed) == tag


@pytest.mark.parametrize("typed", ["", "  ", "!!!", "123", "x" * 41])
def test_nothing_tag_like_is_not_a_tag(typed):
    assert TAGS.normalise(typed) is None


def test_a_list_splits_on_commas_hashes_and_and():
    assert TAGS.parse_list("Gardening, #walks and dogs; allotments") == (["gardening", "walking", "dog"], [])
    assert TAGS.parse_list("knitting, ???") == (["knitting"], ["???"])


def test_words_joined_by_and_that_are_one_tag_stay_one():
    """"arts and crafts" was split into "art" and "crafts", so the synonym list's arts-and-crafts was never met."""
    assert TAGS.parse_list("arts and crafts, Arts & Crafts, D&D, dungeons and dragons") == (["crafts", "games"], [])
    assert TAGS.parse_list("cats & dogs, &&&") == (["cat", "dog"], ["&&&"])


def test_plurals_of_words_in_ie_meet_their_singular():
    assert [TAGS.normalise(w) for w in ("zombies", "cookies", "budgies", "parties")] == \
        ["zombie", "cookie", "budgie", "party"]


def test_singular_leaves_short_and_invariant_words_alone():
    assert [singular(w) for w in ("bus", "gas", "yes", "diabetes", "glass", "cats")] == \
        ["bus", "gas", "yes", "diabetes", "glass", "cat"]


def test_a_synonym_file_that_lists_a_word_twice_is_refused(tmp_path):
    path = tmp_path / "synonyms.yaml"
    path.write_text("gardening: [allotment]\nwalking: [allotment]\n")
    with pytest.raises(ValueError, match="both"):
        Tags.load(path)


@pytest.mark.parametrize(("new", "duplicate"), [
    ("Allotment Club", "Allotment club"), ("the allotment club", "Allotment club"), ("Allotments", "Allotment club"),
    ("Alotment club", "Allotment club"), ("Talking", None), ("Walking group", "Walking"), ("Bereavement", None),
])
def test_near_duplicate_names(new, duplicate):
    assert near_duplicate(new, ["Allotment club", "Walking"]) == duplicate


async def run(bot: HostBot, body: str, sender: str = ALICE, role: Role = Role.MEMBER) -> Effects:
    """`body` typed in a group room and committed as the dispatcher would (usage problems raise)."""
    command, args = bot.context.commands.find(parse_invocation(body, "!"))
    runner, params = command.parse(args)
    effects = Effects(bot.context.account)
    ctx = CommandContext(command=command, sender=sender, room_id="!group:example.org", event_id="$e",
                         role=role, in_dm=False, effects=effects, templates=bot.context.templates, prefix="!",
                         params=params)
    await runner(ctx)
    await bot.context.work.commit(effects)
    return effects


@pytest.fixture
def host(database, example_config) -> HostBot:
    bot = HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"]))
    for command in bot.commands():
        bot.context.commands.add(command)
    return bot


async def test_interests_are_kept_normalised_and_answered_in_the_dm(host):
    effects = await run(host, "!interests add Allotments, Hiking, dogs")
    [reply] = effects.items
    assert reply.to_user == ALICE and reply.room_id is None  # typed in a group, answered privately
    assert "dog, gardening, walking" in reply.content["body"]
    assert "Invitations are off" in reply.content["body"] and "116 123" in reply.content["body"]

    await run(host, "!interests remove walks")
    await run(host, "!interests invites on")
    body = (await run(host, "!interests")).items[0].content["body"]
    assert "Your interests: dog, gardening." in body and "Invitations are on" in body
    exported = await host.context.personal_data.export(ALICE)
    assert {row["tag"] for row in exported["interests"]} == {"gardening", "dog"}
    assert exported["interest_invites"] == [{"user_id": ALICE, "invites": 1}]


async def test_tags_that_are_not_words_get_a_kind_usage_reply(host):
    with pytest.raises(UsageError, match="couldn't make 1 of those"):
        await run(host, "!interests add gardening, ???")
    with pytest.raises(UsageError, match="more than 30"):
        for batch in range(4):
            await run(host, "!interests add " + ", ".join(f"topic{chr(97 + batch)}{chr(97 + i)}" for i in range(9)))


async def test_two_adds_side_by_side_keep_within_the_limit(host):
    """From a DM and a group at once, each add read room for its own: counted as written, the limit holds."""
    async def handled(words: str) -> Effects:
        command, args = host.context.commands.find(parse_invocation(f"!interests add {words}", "!"))
        runner, params = command.parse(args)
        effects = Effects(host.context.account)
        await runner(CommandContext(command=command, sender=ALICE, room_id="!group:example.org", event_id="$e",
                                    role=Role.MEMBER, in_dm=False, effects=effects, templates=host.context.templates,
                                    prefix="!", params=params))
        return effects

    first = await handled(", ".join(f"first{chr(97 + i)}" for i in range(20)))
    second = await handled(", ".join(f"second{chr(97 + i)}" for i in range(20)))
    await host.context.work.commit(first)
    await host.context.work.commit(second)
    assert len((await host.context.personal_data.export(ALICE))["interests"]) == 30
