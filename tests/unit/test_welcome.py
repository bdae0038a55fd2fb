"""The welcome DM: once per member, the first time they join a community room, never again (a restart,
another room, a profile change), and never for a DM or a bot."""

import dataclasses

from bothy.matrix.events import Membership, membership_from_event
from bothy.outbox import Effects
from bothy.testing import bot_context
from bots.host.bot import HostBot
from bots.installed import INSTALLATION

ALICE, GUIDE = "@alice:example.org", "@guide:example.org"
DM = "!dm:example.org"


def host(database, example_config) -> HostBot:
    return HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"],
                               direct_rooms=frozenset({DM}), bot_accounts=frozenset({GUIDE})))


async def welcomes(bot: HostBot, membership: Membership) -> list[str]:
    effects = Effects(bot.context.account)
    await bot.on_membership(membership, effects)
    await bot.context.work.commit(effects)
    return [item.to_user for item in effects.items]


async def test_a_member_is_welcomed_once_across_rooms_and_restarts(database, example_config):
    bot = host(database, example_config)
    assert await welcomes(bot, Membership(DM, ALICE, "join")) == []  # a DM is not a community room
    assert await welcomes(bot, Membership("!a:example.org", GUIDE, "join")) == []  # nor is a bot a member
    assert await welcomes(bot, Membership("!a:example.org", ALICE, "invite")) == []
    assert await welcomes(bot, Membership("!a:example.org", ALICE, "join", previous="join")) == []  # profile change

    effects = Effects(bot.context.account)
    await bot.on_membership(Membership("!a:example.org", ALICE, "join", previous="invite"), effects)
    await bot.context.work.commit(effects)
    [welcome] = effects.items
    assert welcome.to_user == ALICE
    assert "never what you write" in welcome.content["body"] and "checkins off" in welcome.content["body"]
    assert "guidelines" in welcome.content["body"] and "116 123" in welcome.content["body"]
    # PRODUCT.md: what the bots do (mood too), how to switch each off, how to reach a peer worker (`!talk`)
    assert "!mood off" in welcome.content["body"] and "!talk" in welcome.content["body"]

    assert await welcomes(bot, Membership("!b:example.org", ALICE, "join")) == []
    assert await welcomes(host(database, example_config), Membership("!a:example.org", ALICE, "join")) == []


async def test_the_welcome_says_who_may_start_groups(database, example_config):
    """With `groups.who_may_start: volunteers` a member told "anyone can start one" is then refused."""
    said = {}
    for volunteers_only in (False, True):
        settings = dataclasses.replace(example_config.bot_settings["host"], volunteers_only=volunteers_only)
        bot = HostBot(bot_context(database, INSTALLATION, settings, bot_accounts=frozenset({GUIDE})))
        effects = Effects(bot.context.account)
        await bot.on_membership(Membership("!a:example.org", f"@m{volunteers_only}:example.org", "join"), effects)
        await bot.context.work.commit(effects)
        said[volunteers_only] = effects.items[0].content["body"]
    assert "anyone can start one" in said[False] and "volunteers can start" not in said[False]
    assert "our volunteers can start new ones" in said[True] and "anyone can start" not in said[True]


def test_the_previous_membership_is_read_when_the_homeserver_gives_it():
    event = {"type": "m.room.member", "state_key": ALICE, "content": {"membership": "join"}}
    assert membership_from_event(event, "!r").previous is None
    assert membership_from_event({**event, "unsigned": {"prev_content": {"membership": "join"}}}, "!r").previous \
        == "join"
    assert membership_from_event({**event, "unsigned": {"prev_content": {"membership": 5}}}, "!r").previous is None
    assert membership_from_event({**event, "unsigned": "odd"}, "!r").previous is None
