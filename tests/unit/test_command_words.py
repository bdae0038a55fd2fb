"""Crisis words are read whatever a message starts with: a known command's words are read too when they are not
what the command takes, are a note it allows ("!talk I can't keep myself safe tonight"), or are a sentence rather
than a name; well-formed arguments that name a thing (a topic, a group) and staff commands are not."""

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bothy.clock import Clock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.routing import EventRouter
from bothy.storage.database import Database
from bothy.testing import STAFF_ROOM, FixedRooms, bot_context
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.settings import ReferralSettings
from commands.framework import parse_invocation
from commands.router import CommandRouter
from rooms.staff import StaffRoom
from tests.unit.conftest import migrated_database
from tests.unit.test_engine import shared_config

GUIDE, DM = "@guide:example.org", "!dm:example.org"
KB = Path(__file__).resolve().parents[2] / "referral_kb"
CRISIS = "I want to kill myself tonight"


class Account:
    user_id = GUIDE

    async def joined_members(self, room_id: str) -> frozenset[str]:
        return frozenset({GUIDE})

    def is_direct_room(self, room_id: str) -> bool:
        return room_id == DM

    def can_redact_others(self, room_id: str) -> bool:
        return True

    def is_encrypted(self, room_id: str) -> bool:
        return True


@pytest.mark.parametrize(("body", "read"), [
    (f"!talk {CRISIS}", True),
    (f"!peer please, {CRISIS}", True),
    (f"!report {CRISIS}", True),
    (f"!help {CRISIS}", True),
    (f"!mood {CRISIS}", True),  # no mood: the words are words
    ("!talk", False),
    ("!mood 3", False),
    ("!help mood report", True),  # read, and nothing in it matches
    ("!resources suicide", False),  # a topic looked up: its answer carries the crisis lines
    ("!group new Suicide prevention walkers #walking", False),  # a group's name
    ("!resources self harm", False),
    ("!resources I am going to kill myself tonight", True),  # a sentence, not a topic's name
    ("!group new going to end it all tonight #games", True),
    ("!groups kill myself", True),  # about oneself: no name says "myself"
    ("!interests add I\u2019m done", True),
    ("!checkins pause 2d", False),
    ("!refer @bob:example.org suicide", False),  # staff work, about someone else
])
async def test_which_commands_words_are_read(read_only_registry, body, read):
    command, args = read_only_registry.find(parse_invocation(body, "!"))
    assert command.read_as_words(args) is read


@dataclasses.dataclass
class Guide:
    events: EventRouter
    referral: ReferralBot
    database: Database


@pytest.fixture(scope="module")
async def guide(tmp_path_factory, read_only_registry) -> AsyncIterator[Guide]:
    """The guide account's routing with the real referral bot and every command, over a database of the module's
    own: each test writes as a member of its own, so none sees another's alerts or cooldowns."""
    async with migrated_database(tmp_path_factory.mktemp("guide")) as database:
        settings = ReferralSettings(kb_dirs=(KB,), cooldown_s=86_400, crisis_cooldown_s=3_600,
                                    keep_log_s=365 * 86_400)
        context = bot_context(database, INSTALLATION, settings, account=GUIDE, rooms=FixedRooms(frozenset({DM})))
        referral = ReferralBot(dataclasses.replace(context, account_rooms={GUIDE: FixedRooms(frozenset({DM}))},
                                                   commands=read_only_registry))
        staff = StaffRoom(STAFF_ROOM)
        staff.room_id = STAFF_ROOM
        router = CommandRouter(shared_config(), read_only_registry, Account(), INSTALLATION.templates(), Clock(),
                               lambda: STAFF_ROOM)
        yield Guide(EventRouter(Account(), [referral], router, None, None, staff, [], (GUIDE,)), referral, database)


@pytest.mark.parametrize(("member", "body", "alerts"), [
    ("@talk-crisis:example.org", f"!talk {CRISIS}", ["crisis", "talk"]),
    ("@talk:example.org", "!talk", ["talk"]),
    ("@mood-crisis:example.org", f"!mood {CRISIS}", ["crisis"]),  # no mood, but still a crisis
    ("@lookup:example.org", "!resources suicide", []),  # a topic looked up: its answer carries the crisis lines
])
async def test_the_staff_alerts_a_command_raises(guide, member, body, alerts):
    effects = Effects(GUIDE)
    await guide.events(Message(DM, "$typed", member, body, Clock().ms(), "m.text", True), effects)
    await guide.referral.context.work.commit(effects)
    async with guide.database.read() as db:
        rows = await db.execute_fetchall("SELECT kind FROM alerts WHERE subject_user = ? ORDER BY kind", (member,))
    assert [kind for (kind,) in rows] == alerts


@pytest.mark.parametrize(("member", "body", "suggested"), [
    ("@debt-words:example.org", "I'm drowning in debt and the bailiffs are coming", True),
    ("@debt-lookup:example.org", "!resources I'm drowning in debt and the bailiffs are coming", False),
    ("@debt-talk:example.org", "!talk I'm drowning in debt and the bailiffs are coming", False),
])
async def test_a_commands_words_are_read_for_a_cry_for_help_not_for_topics_it_answers(guide, member, body, suggested):
    """`!resources` answers the topic itself: a suggestion beside its answer would say the same twice."""
    effects = Effects(GUIDE)
    await guide.events(Message(DM, "$typed", member, body, Clock().ms(), "m.text", True), effects)
    await guide.referral.context.work.commit(effects)
    async with guide.database.read() as db:
        rows = await db.execute_fetchall("SELECT tag FROM outbox WHERE to_user = ? AND tag LIKE 'suggestion:%'",
                                         (member,))
    assert bool(rows) is suggested
