"""Every message Bothy can read reaches the referral matcher exactly once, whichever account receives it."""

import dataclasses
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bothy.clock import Clock
from bothy.inbound import InboundDispatcher, SetAsideNotice
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.routing import EventRouter
from bothy.storage.database import UNAVAILABLE
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.testing import STAFF_ROOM, FixedRooms, bot_context
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.settings import ReferralSettings
from commands.framework import Command
from commands.router import KnownCommand
from rooms.staff import StaffRoom
from tests.unit.test_unknown_commands import Account as CommandAccount
from tests.unit.test_unknown_commands import router as unknown_command_router

HOST, CHECKIN, MOOD, GUIDE = "@bothy:example.org", "@checkin:example.org", "@mood:example.org", "@guide:example.org"
ORDER = (HOST, CHECKIN, MOOD, GUIDE)  # bot registration order; GUIDE hosts the referral bot
ALICE = "@alice:example.org"
KB = Path(__file__).resolve().parents[2] / "referral_kb"
CRISIS = "to be honest I've been thinking about ending my life"


class Account:
    def __init__(self, user_id: str, members: frozenset[str]):
        self.user_id = user_id
        self.members = members

    async def joined_members(self, room_id: str) -> frozenset[str]:
        return self.members

    def is_direct_room(self, room_id: str) -> bool:
        return False

    def can_redact_others(self, room_id: str) -> bool:
        return True


class NotACommand:
    async def handle(self, message: Message, effects: Effects) -> None:
        return None


class Reader:
    """A bot hosted on GUIDE that reads every room; it notes which account handed it each message."""

    name = "reader"
    reads_every_room = True

    def __init__(self) -> None:
        self.context = SimpleNamespace(account=GUIDE)
        self.heard_by: list[str] = []

    async def on_message(self, message: Message, effects: Effects) -> None:
        self.heard_by.append(effects.account)


def message(room_id: str = "!room:example.org", body: str = CRISIS, msgtype: str = "m.text",
            sender: str = ALICE) -> Message:
    return Message(room_id, "$m", sender, body, Clock().ms(), msgtype, encrypted=True)


def staff_room() -> StaffRoom:
    room = StaffRoom(STAFF_ROOM)
    room.room_id = STAFF_ROOM
    return room


async def readers_of(members: frozenset[str], body: str = CRISIS, **fields: str) -> list[str]:
    """Each bot account in the room receives the message; which of them hand it to the reader?"""
    reader = Reader()
    for me in sorted(members & set(ORDER)):
        hosted = [reader] if me == GUIDE else []
        guests = [] if me == GUIDE else [reader]
        account = Account(me, members)
        router = unknown_command_router(account) if me == HOST else NotACommand()
        events = EventRouter(account, hosted, router, None, None, staff_room(), guests, ORDER)
        await events(message(body=body, **fields), Effects(me))
    return reader.heard_by


@pytest.mark.parametrize(("members", "reader"), [
    ({CHECKIN, ALICE}, CHECKIN),             # a DM with the check-in bot: its own account reads
    ({HOST, ALICE}, HOST),                   # a DM with the host bot
    ({HOST, CHECKIN, MOOD, ALICE}, HOST),    # a group without the referral bot: the first bot present
    ({CHECKIN, MOOD, ALICE}, CHECKIN),
    ({HOST, CHECKIN, GUIDE, ALICE}, GUIDE),  # the referral bot is there: only it reads
])
async def test_each_message_is_read_once_by_one_account(members, reader):
    assert await readers_of(frozenset(members)) == [reader]


async def test_an_unknown_command_is_read_like_any_message():
    assert await readers_of(frozenset({HOST, ALICE}), "!!! honestly I can't do this anymore, I want to die") == [HOST]
    assert await readers_of(frozenset({HOST, ALICE}), "!report") == [HOST]


@pytest.mark.parametrize("msgtype", ["m.notice", "m.image"])
async def test_a_members_notice_and_a_caption_are_read_like_any_message(msgtype):
    # A bridge relays people's words as notices; a photo's caption is the member's words (spec v1.10).
    assert await readers_of(frozenset({HOST, CHECKIN, ALICE}), msgtype=msgtype) == [HOST]


async def test_a_notice_from_one_of_bothys_own_bots_is_never_read():
    assert await readers_of(frozenset({HOST, CHECKIN, ALICE}), msgtype="m.notice", sender=CHECKIN) == []


@pytest.mark.parametrize(("body", "msgtype", "read", "answered"), [
    ("!help", "m.text", False, False),         # typed: a known command, run (this test's `help` says nothing)
    ("!help", "m.notice", True, False),
    ("!help", "m.image", True, False),
    ("!hlep I want to die", "m.text", True, True),  # typed: a mistyped command, read and given usage help
    ("!hlep I want to die", "m.notice", True, False),
    ("!hlep I want to die", "m.image", True, False),
])
async def test_only_typed_text_is_a_command(body, msgtype, read, answered):
    # A caption is not typed as a command, and a notice must never be answered (spec): no command runs and no
    # usage help is sent, but the words are read like any message's.
    reader, account = Reader(), CommandAccount()
    events = EventRouter(account, [], unknown_command_router(account), None, None, staff_room(), [reader], ORDER)
    effects = Effects(HOST)
    await events(message("!group:example.org", body, msgtype), effects)
    assert (reader.heard_by == [HOST], effects.items != []) == (read, answered)


class WordsOfACommand:
    """A known command whose words are also read (as "!talk I can't keep myself safe" or "!forget me confirm")."""

    async def handle(self, message: Message, effects: Effects) -> KnownCommand:
        return KnownCommand(Command("talk", "host", "ask for a chat", run=self.run), read_as_words=True)

    async def run(self, ctx: object) -> None:
        raise AssertionError("the router runs commands; this one only says its words are read")


class ActivityCounter(Reader):
    reads_every_room = False


async def test_a_commands_words_reach_only_the_bots_that_read_for_a_cry_for_help():
    """A command is no activity: a check-in bot counting "!forget me confirm" would write the member back into the
    transaction that erases them (a reviewer's find)."""
    reader, counter = Reader(), ActivityCounter()
    account = Account(GUIDE, frozenset({GUIDE, ALICE}))
    events = EventRouter(account, [counter, reader], WordsOfACommand(), None, None, staff_room(), [], ORDER)
    await events(message(body="!talk I can't keep myself safe"), Effects(GUIDE))
    assert (reader.heard_by, counter.heard_by) == ([GUIDE], [])


class CommandsRun:
    """A router that notes every message it is asked to read as a command."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def handle(self, message: Message, effects: Effects) -> None:
        self.asked.append(message.event_id)


async def test_what_a_member_did_before_their_erase_reaches_only_a_reader_for_a_cry_for_help(database):
    """A privacy reviewer's, thirty-third session: an event from before a member's erase handled after it (another
    room's queue behind, or `bothy forget` run while Bothy was down) stored them again. Now it runs no command and
    is counted by nothing; its words still reach the bot that reads for a cry for help. Their later events are
    handled as anyone's."""
    from bothy.matrix.events import Membership, Reaction, Receipt
    from bothy.storage.erasures import Erasures

    clock = Clock()
    erasures = Erasures(database, "pickle-key", clock)
    personal = INSTALLATION.personal_data(database, erasures)
    before = clock.ms() - 1_000
    await personal.erase(ALICE)
    class Counter(ActivityCounter):
        async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
            self.heard_by.append("reaction")
            return False

        async def on_receipt(self, receipt: Receipt, effects: Effects) -> None:
            self.heard_by.append("receipt")

        async def on_membership(self, membership: Membership, effects: Effects) -> None:
            self.heard_by.append(membership.membership)

    reader, counter, router = Reader(), Counter(), CommandsRun()
    events = EventRouter(Account(GUIDE, frozenset({GUIDE, ALICE})), [counter, reader], router, None, None,
                         staff_room(), [], ORDER, erasures)
    for event in (Message("!room:example.org", "$old", ALICE, "!mood 3", before, "m.text", encrypted=True),
                  Reaction("!room:example.org", "$r", ALICE, before, "$old", "👍"),
                  Receipt("!room:example.org", ALICE, "$old", before),
                  Membership("!room:example.org", ALICE, "join", timestamp_ms=before),
                  Membership("!room:example.org", ALICE, "leave", timestamp_ms=before)):  # a leave only deletes
        await events(event, Effects(GUIDE))
    assert (reader.heard_by, counter.heard_by, router.asked) == ([GUIDE], ["leave"], [])
    await events(Message("!room:example.org", "$new", ALICE, "hello again", clock.ms() + 1_000, "m.text",
                         encrypted=True), Effects(GUIDE))
    assert (reader.heard_by, counter.heard_by, router.asked) == ([GUIDE, GUIDE], ["leave", GUIDE], ["$new"])
    assert not erasures.from_before_erasure("@bob:example.org", before)


@pytest.mark.parametrize(("body", "crisis"), [("my UC payment is late again", False), (CRISIS, True)])
async def test_the_reader_for_a_cry_for_help_stores_nothing_else_of_a_forgotten_member(database, referral, body,
                                                                                     crisis):
    """A second reviewer's, thirty-third session: the reader handed a forgotten member's words was the referral bot's
    whole `on_message`, so an everyday topic claimed a cooldown naming them and owed them a suggestion. Only a crisis
    is acted on (lines to them and an alert, which is never lost); no check-back is owed to someone forgotten."""
    from bothy.storage.database import scalar
    from bothy.storage.erasures import Erasures

    clock = Clock()
    erasures = Erasures(database, "pickle-key", clock)
    await INSTALLATION.personal_data(database, erasures).erase(ALICE)
    events = EventRouter(Account(GUIDE, frozenset({GUIDE, ALICE})), [referral], CommandsRun(), None, None,
                         staff_room(), [], ORDER, erasures)
    effects = Effects(GUIDE)
    await events(Message("!group:example.org", "$old", ALICE, body, clock.ms() - 60_000, "m.text", encrypted=True),
                 effects)
    await referral.context.work.commit(effects)
    owed = await OutboxRepository(database).due(10**15)
    async with database.read() as db:
        checkbacks = await scalar(db, "SELECT COUNT(*) FROM referral_checkbacks")
    assert (bool(owed), checkbacks) == (crisis, 0)
    if crisis:
        assert {row.room_id or row.to_user for row in owed} == {STAFF_ROOM, ALICE}


async def test_an_erase_is_dated_when_it_was_asked_for_and_never_ahead_of_the_clock(database):
    """A second reviewer's, thirty-third session: dated when a backlog let Bothy handle it, a `!talk` sent half an
    hour after `!forget me confirm` counted as from before the erase and went unanswered; and an erase dated by a
    clock running a year fast silenced the member for that year once the clock was put right."""
    from bothy.clock import FixedClock
    from bothy.storage.erasures import Erasures, forget_old_erasures

    asked = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    clock = FixedClock(asked + timedelta(hours=2))  # handled after a backlog
    erasures = Erasures(database, "pickle-key", clock)
    await INSTALLATION.personal_data(database, erasures).erase(ALICE)
    erasures.remember(ALICE, int(asked.timestamp() * 1000))  # as `!forget me confirm` dates it
    assert erasures.from_before_erasure(ALICE, int((asked - timedelta(minutes=1)).timestamp() * 1000))
    assert not erasures.from_before_erasure(ALICE, int((asked + timedelta(minutes=30)).timestamp() * 1000))

    clock.at = asked + timedelta(days=365)  # a clock a year fast
    fast = Erasures(database, "pickle-key", clock)
    await INSTALLATION.personal_data(database, fast).erase("@bob:example.org")
    clock.at = asked + timedelta(hours=3)  # put right
    restarted = Erasures(database, "pickle-key", clock)
    await restarted.load()
    assert not restarted.from_before_erasure("@bob:example.org", clock.ms())
    async with database.transaction() as db:
        assert await forget_old_erasures(db, clock.ms()) == 1  # the one dated a year ahead


async def test_an_erase_while_bothy_is_down_is_known_at_its_restart_and_only_with_its_key(database):
    from bothy.storage.erasures import KEEP_MS, Erasures
    from bothy.storage.retention import Retention, forget_old_rows

    await INSTALLATION.personal_data(database, Erasures(database, "pickle-key", Clock())).erase(ALICE)  # the CLI's
    restarted, other_key = Erasures(database, "pickle-key", Clock()), Erasures(database, "another-key", Clock())
    await restarted.load()
    await other_key.load()
    assert restarted.from_before_erasure(ALICE, Clock().ms() - 60_000)
    assert not other_key.from_before_erasure(ALICE, Clock().ms() - 60_000)  # the database alone cannot tell
    async with database.read() as db:
        assert ALICE.encode() not in b"".join(row[0] for row in await db.execute_fetchall("SELECT * FROM erasures"))
    await forget_old_rows(database, Retention(), Clock().ms() + KEEP_MS + 1)
    month_later = Erasures(database, "pickle-key", Clock())
    await month_later.load()
    async with database.read() as db:
        assert await db.execute_fetchall("SELECT * FROM erasures") == []


async def test_the_staff_room_is_never_read():
    reader = Reader()
    events = EventRouter(Account(CHECKIN, frozenset({CHECKIN})), [], NotACommand(), None, None, staff_room(),
                         [reader], ORDER)
    await events(message(STAFF_ROOM), Effects(CHECKIN))
    assert reader.heard_by == []


@pytest.fixture
async def referral(database):
    settings = ReferralSettings(kb_dirs=(KB,), cooldown_s=86_400, crisis_cooldown_s=3_600, keep_log_s=365 * 86_400)
    context = bot_context(database, INSTALLATION, settings, account=GUIDE)
    dm, group = FixedRooms(frozenset({"!checkin-dm:example.org"})), FixedRooms()
    return ReferralBot(dataclasses.replace(context, account_rooms={CHECKIN: dm, HOST: group, GUIDE: group}))


async def handled(bot: ReferralBot, received_by: str, room_id: str) -> None:
    effects = Effects(received_by)
    await bot.on_message(message(room_id), effects)
    await bot.context.work.commit(effects)


async def test_crisis_words_in_a_dm_with_another_bot_get_lines_from_that_bot_and_a_staff_alert(database, referral):
    await handled(referral, CHECKIN, "!checkin-dm:example.org")
    rows = await OutboxRepository(database).due(Clock().ms())
    lines, alert = rows
    assert (lines.account, lines.to_user, lines.room_id) == (CHECKIN, ALICE, None)
    assert "116 123" in lines.content["body"]
    assert (alert.account, alert.room_id) == (CHECKIN, STAFF_ROOM)
    assert ALICE in alert.content["body"]  # from a DM the alert names the member
    assert CRISIS not in alert.content["body"]


async def test_the_crisis_cooldown_is_per_member_whichever_account_answers(database, referral):
    await handled(referral, CHECKIN, "!checkin-dm:example.org")
    await handled(referral, HOST, "!group:example.org")
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [row.account for row in rows] == [CHECKIN, CHECKIN]


class Broken(Reader):
    """A bot with a bug: it fails on every message, after owing something."""

    name = "broken"

    async def on_message(self, message: Message, effects: Effects) -> None:
        effects.message({"body": "half-done"}, to_user=ALICE)
        raise RuntimeError("a bug")


class Owing(Reader):
    name = "owing"

    async def on_message(self, message: Message, effects: Effects) -> None:
        effects.message({"body": "crisis lines"}, to_user=ALICE)


async def test_one_bots_bug_never_costs_another_bot_its_turn(caplog):
    events = EventRouter(Account(GUIDE, frozenset({GUIDE, ALICE})), [Broken(), Owing()], NotACommand(), None, None,
                         staff_room(), [], ORDER)
    effects = Effects(GUIDE)
    await events(message("!group:example.org"), effects)
    assert [item.content["body"] for item in effects.items] == ["crisis lines"]
    assert "the broken bot failed" in caplog.text and "a bug" not in caplog.text


class BrokenAtCommit(Reader):
    """A bot whose share fails only once committed (a write with a bug), after owing a message of its own."""

    name = "broken at commit"
    reads_every_room = False

    async def on_message(self, message: Message, effects: Effects) -> None:
        async def write(db) -> None:
            await db.execute("INSERT INTO alerts (kind) VALUES ('half-done')")  # saved, then undone with its share
            effects.message({"body": "owed by the write"}, to_user=ALICE)
            raise RuntimeError("a bug")

        effects.message({"body": "half-done"}, to_user=ALICE)
        effects.record(write)


async def test_a_bots_write_that_fails_at_commit_never_costs_the_crisis_alert(database, referral, caplog):
    """An event whose commit keeps failing is tried again, then set aside with what can be saved: each bot's share
    on its own (a reviewer found a share that failed at commit sinking the whole event, the referral bot's crisis
    lines and staff alert among it)."""
    events = EventRouter(Account(GUIDE, frozenset({GUIDE, ALICE})), [BrokenAtCommit(), referral], NotACommand(),
                         None, None, staff_room(), [], ORDER)
    notice = SetAsideNotice(INSTALLATION.templates(), "!", lambda room_id: False)
    dispatcher = InboundDispatcher(GUIDE, SyncStateRepository(database), events, referral.context.work, notice,
                                   retry_delay=lambda attempts, retry_after_ms: 0.0)
    await dispatcher.on_batch("t1", [message("!group:example.org")])
    await dispatcher.drain()
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [row.room_id for row in rows] == [None, STAFF_ROOM]  # the crisis lines and the alert
    assert "116 123" in rows[0].content["body"] and ALICE in rows[1].content["body"]
    async with database.read() as db, db.execute("SELECT kind FROM alerts") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["crisis"]  # the broken share's row was undone
    assert "the broken at commit bot's changes for an event could not be saved" in caplog.text


class DatabaseLocked(Reader):
    """A bot whose read meets a database another process has locked: no bug of its own."""

    name = "locked out"

    async def on_message(self, message: Message, effects: Effects) -> None:
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = sqlite3.SQLITE_BUSY  # as SQLite sets it
        raise error


async def test_a_database_unavailable_to_one_bot_fails_the_whole_event_to_be_tried_again():
    """Dropping the bot's share would let the event's handled mark commit without it (a reviewer's)."""
    assert sqlite3.SQLITE_BUSY in UNAVAILABLE
    events = EventRouter(Account(GUIDE, frozenset({GUIDE, ALICE})), [DatabaseLocked(), Owing()], NotACommand(), None,
                         None, staff_room(), [], ORDER)
    with pytest.raises(sqlite3.OperationalError):
        await events(message("!group:example.org"), Effects(GUIDE))
