"""Engine pieces with small fakes: sweep catch-up, late decryption, which bot answers."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES

from bothy.clock import Clock, FixedClock
from bothy.inbound import MAX_TRANSIENT_ATTEMPTS, InboundDispatcher, SetAsideNotice
from bothy.late_decryption import LateDecryption
from bothy.matrix.adapter import MatrixError
from bothy.matrix.events import Message, RoomKeyArrived, Undecryptable
from bothy.outbox import Effects, UnitOfWork
from bothy.routing import EventRouter
from bothy.schedules import parse_schedule
from bothy.scheduling import CATCH_UP_WITHIN, Sweep, SweepScheduler, on_time
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sweep_runs import SweepRunRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates
from bots.installed import INSTALLATION
from rooms.staff import StaffRoom


async def test_a_daily_sweep_missed_while_down_runs_once_on_start(database):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    runs = SweepRunRepository(database)
    await runs.record("retention_sweep", int(datetime(2026, 11, 23, 3, 0, tzinfo=UTC).timestamp() * 1000))
    await runs.record("mood_prompt", int(datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp() * 1000))
    ran = {"retention_sweep": asyncio.Event(), "mood_prompt": asyncio.Event()}
    scheduler = SweepScheduler(runs, ZoneInfo("Europe/London"), FixedClock(now))

    def sweep(name):
        async def run():
            ran[name].set()
        return Sweep(name, "0 3 * * *" if name == "retention_sweep" else "0 10 * * *", run)

    scheduler.add(sweep("retention_sweep"))
    scheduler.add(sweep("mood_prompt"))
    await scheduler.start()
    try:
        await asyncio.wait_for(ran["retention_sweep"].wait(), 5)
        assert not ran["mood_prompt"].is_set()  # ran at 10:00 today; next is tomorrow
    finally:
        scheduler.shutdown()


@pytest.mark.parametrize(("back", "caught_up"), [
    (datetime(2026, 3, 1, 11, 0), True),  # an hour late, the same morning
    (datetime(2026, 3, 1, 14, 0), False),  # later than the sweep's window: its next time instead
    (datetime(2026, 3, 2, 3, 0), False),  # the small hours of the next day (a reviewer's: a prompt at 03:00)
    (datetime(2026, 3, 2, 10, 30), True),  # the next day's own time, missed by half an hour
])
async def test_an_on_time_sweep_is_caught_up_only_soon_after_its_time_and_on_its_day(database, back, caught_up):
    london = ZoneInfo("Europe/London")
    runs = SweepRunRepository(database)
    await runs.record("prompt", int(datetime(2026, 2, 28, 10, 0, tzinfo=london).timestamp() * 1000))
    scheduler = SweepScheduler(runs, london, FixedClock(back.replace(tzinfo=london)))

    @on_time(3 * 3600)
    async def prompt() -> None:
        pass

    assert await scheduler._missed("prompt", parse_schedule("0 10 * * *", london), 3 * 3600) is caught_up
    assert await scheduler._missed("prompt", parse_schedule("0 10 * * *", london)) is True  # any other sweep
    scheduler.add(Sweep("prompt", "0 10 * * *", prompt))
    await scheduler.start()
    try:
        assert scheduler._scheduler.get_job("prompt").misfire_grace_time == 3 * 3600  # APScheduler's lateness too
    finally:
        scheduler.shutdown()


def test_the_sweeps_that_speak_to_people_at_a_time_of_day_are_on_time(database, example_config):
    from bothy.testing import bot_context

    marked = {}
    for bot_class in INSTALLATION.bots:
        bot = bot_class(bot_context(database, INSTALLATION, example_config.bot_settings[bot_class.name]))
        marked.update({name: getattr(run, CATCH_UP_WITHIN, None) for name, run in bot.sweeps().items()})
    assert {name for name, within in marked.items() if within} == {
        "mood_prompt", "mood_weather", "hangout_prompts", "group_dormancy", "referral_checkbacks"}


async def test_a_missed_run_and_the_next_scheduled_run_never_overlap(database):
    """The catch-up is the sweep's own job run early, not a job of its own: a scheduled run that falls due while it
    is still going is skipped (APScheduler's max_instances) instead of running beside it."""
    runs = SweepRunRepository(database)
    await runs.record("checkin_sweep", 0)  # long ago: a run was missed
    started = []
    running, release, finished, skipped = asyncio.Event(), asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def run():
        started.append(datetime.now(UTC))
        running.set()
        await release.wait()
        finished.set()

    scheduler = SweepScheduler(runs, ZoneInfo("Europe/London"), Clock())
    scheduler.add(Sweep("checkin_sweep", "0 3 * * *", run))
    scheduler._scheduler.add_listener(lambda event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    await scheduler.start()
    try:
        await asyncio.wait_for(running.wait(), 5)  # the catch-up
        scheduler._scheduler.modify_job("checkin_sweep", next_run_time=datetime.now(UTC))  # the next run falls due
        await asyncio.wait_for(skipped.wait(), 5)
        assert len(started) == 1
    finally:
        release.set()
        await asyncio.wait_for(finished.wait(), 5)
        scheduler.shutdown()


class FakeAccount:
    user_id = "@bot:x"

    def __init__(self, direct_rooms):
        self.direct_rooms = direct_rooms

    def is_direct_room(self, room_id):
        return room_id in self.direct_rooms


async def test_a_dm_message_whose_key_never_arrives_gets_one_kind_resend_request(database):
    sync_state = SyncStateRepository(database)
    late = LateDecryption(sync_state, Templates(), wait_s=60, work=UnitOfWork(database, Clock(), lambda: None))
    account, handled = DecryptingAccount({"!dm"}), []
    old = Clock().ms() - 120_000
    for event_id, room in (("$dm", "!dm"), ("$group", "!group")):
        await late.park(account, Undecryptable(room, event_id, "@alice:x", old, "session"), handled.append)
    async with database.transaction() as db:
        await db.execute("UPDATE pending_decryption SET received_at = ?", (old,))
    accounts, readers = {"@bot:x": account}, {"@bot:x": handled.append}
    await late.give_up_sweep(accounts, readers)
    await late.give_up_sweep(accounts, readers)
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [(row.room_id, "send it again" in row.content["body"]) for row in rows] == [("!dm", True)]
    assert await sync_state.parked_before("@bot:x", Clock().ms()) == []
    assert handled == []


class DecryptingAccount(FakeAccount):
    """A fake account whose parked events become readable once `readable` holds them."""

    def __init__(self, direct_rooms):
        super().__init__(direct_rooms)
        self.readable: dict[str, Message | None] = {}  # None: read, and nothing in it for a bot (a photo)
        self.unreachable: set[str] = set()  # events the homeserver fails to return, for now
        self.fetched: list[str] = []
        self.synced_at_ms: int | None = 10**15  # a sync got through after any wait: None, none since a restart

    async def fetch_and_decrypt(self, room_id, event_id):
        self.fetched.append(event_id)
        if event_id in self.unreachable:
            raise MatrixError("get event: ClientConnectorError", code="ClientConnectorError")
        return event_id in self.readable, self.readable.get(event_id)


class Recorder:
    """A bot that answers every message it is given."""

    name = "recorder"

    def __init__(self):
        self.seen: list[str] = []

    async def on_message(self, message, effects):
        self.seen.append(message.event_id)
        effects.message({"body": f"answer to {message.event_id}"}, room_id=message.room_id)


class NoCommands:
    async def handle(self, message, effects):
        return None


def late_decryption_setup(database):
    sync_state = SyncStateRepository(database)
    work = UnitOfWork(database, Clock(), lambda: None)
    late = LateDecryption(sync_state, Templates(), wait_s=60, work=work)
    account, bot = DecryptingAccount({"!dm"}), Recorder()
    staff_room = StaffRoom("!staff")
    staff_room.room_id = "!staff"
    events = EventRouter(account, [bot], NoCommands(), None, late, staff_room)
    dispatcher = InboundDispatcher("@bot:x", sync_state, events, work,
                                   SetAsideNotice(Templates(), "!", account.is_direct_room))
    events.handle_now = dispatcher.handle_now
    return sync_state, late, account, bot, dispatcher


async def test_a_dm_message_decrypted_late_is_handled_exactly_once_and_no_resend_is_asked(database):
    sync_state, late, account, bot, dispatcher = late_decryption_setup(database)
    locked = Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s1")
    await dispatcher.on_batch("t1", [locked])
    await dispatcher.drain()
    assert [p.event_id for p in await sync_state.parked_for_session("@bot:x", "s1")] == ["$first"]

    account.readable["$first"] = Message("!dm", "$first", "@alice:x", "hello", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t2", [RoomKeyArrived("s1")])
    await dispatcher.drain()
    assert bot.seen == ["$first"]
    assert await sync_state.parked_for_session("@bot:x", "s1") == []

    # A crash before the checkpoint moved: the homeserver replays both batches, and the replayed copy
    # may now arrive readable. Nothing is handled twice, nothing is parked again.
    await dispatcher.on_batch("t1", [locked, account.readable["$first"]])
    await dispatcher.on_batch("t2", [RoomKeyArrived("s1")])
    await dispatcher.drain()
    assert bot.seen == ["$first"]
    assert await sync_state.parked_before("@bot:x", Clock().ms() + 10**9) == []

    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [row.content["body"] for row in rows] == ["answer to $first"]  # and no "send it again"


async def test_parking_commits_with_the_handled_mark_and_is_idempotent(database):
    sync_state, *_, dispatcher = late_decryption_setup(database)
    locked = Undecryptable("!dm", "$e", "@alice:x", Clock().ms(), "s1")
    await dispatcher.on_batch("t1", [locked, locked])
    await dispatcher.drain()
    assert [p.event_id for p in await sync_state.parked_for_session("@bot:x", "s1")] == ["$e"]
    assert await sync_state.is_handled("@bot:x", "undecryptable:$e")
    assert not await sync_state.is_handled("@bot:x", "$e")  # the readable event is still owed handling

    readable = Message("!dm", "$late", "@alice:x", "hi", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t2", [readable])  # already handled when its undecryptable copy comes round
    await dispatcher.on_batch("t3", [Undecryptable("!dm", "$late", "@alice:x", Clock().ms(), "s2")])
    await dispatcher.drain()
    assert await sync_state.parked_for_session("@bot:x", "s2") == []


async def test_a_key_handled_while_its_event_waits_in_its_room_queue_still_unlocks_the_event(database):
    # The room key is handled at once; the event it unlocks is parked only later, after the slow event ahead
    # of it in its DM. Parking tries it once more, so the message is read, once, and nothing stays parked.
    sync_state, late, account, bot, dispatcher = late_decryption_setup(database)
    busy_started, release, key_handled = asyncio.Event(), asyncio.Event(), asyncio.Event()
    answer, key_arrived = bot.on_message, late.key_arrived

    async def slow(message, effects):  # say `!mood 3`, asking the homeserver about every room the bot is in
        if message.event_id == "$busy":
            busy_started.set()
            await release.wait()
        await answer(message, effects)

    async def noted_key_arrived(*args):
        await key_arrived(*args)
        key_handled.set()

    bot.on_message, late.key_arrived = slow, noted_key_arrived
    busy = Message("!dm", "$busy", "@alice:x", "hello", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t1", [busy, Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s1")])
    await busy_started.wait()
    account.readable["$first"] = Message("!dm", "$first", "@alice:x", "hi", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t2", [RoomKeyArrived("s1")])
    await key_handled.wait()  # found nothing parked: the event is still behind $busy
    release.set()
    await dispatcher.drain()
    assert bot.seen == ["$busy", "$first"]
    assert await sync_state.parked_before("@bot:x", Clock().ms() + 10**9) == []
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [row.content["body"] for row in rows] == ["answer to $busy", "answer to $first"]


async def test_a_parked_event_readable_by_the_give_up_sweep_is_handled_not_asked_for_again(database):
    # The homeserver did not answer when the event was parked, and its key came with no word of it:
    # the sweep's last try reads it, so the member is not asked to resend what Bothy can read.
    sync_state, late, account, bot, dispatcher = late_decryption_setup(database)
    account.unreachable.add("$first")
    await dispatcher.on_batch("t1", [Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s1")])
    await dispatcher.drain()
    assert account.fetched == ["$first"] and bot.seen == []
    assert [p.event_id for p in await sync_state.parked_for_session("@bot:x", "s1")] == ["$first"]

    account.unreachable.clear()
    account.readable["$first"] = Message("!dm", "$first", "@alice:x", "hi", Clock().ms(), "m.text", True)
    async with database.transaction() as db:  # its wait is over
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 120_000,))
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    assert bot.seen == ["$first"]
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [row.content["body"] for row in rows] == ["answer to $first"]  # and no "send it again"
    assert await sync_state.parked_before("@bot:x", Clock().ms() + 10**9) == []


async def test_a_parked_photo_read_once_its_key_comes_is_let_go_quietly(database):
    """Read, a photo without a caption is nothing a bot handles; it was taken for still locked, and the member was
    asked to resend it (a reviewer's)."""
    sync_state, late, account, bot, dispatcher = late_decryption_setup(database)
    await dispatcher.on_batch("t1", [Undecryptable("!dm", "$photo", "@alice:x", Clock().ms(), "s1")])
    await dispatcher.drain()
    account.readable["$photo"] = None  # decrypted: an m.image with no words
    await late.key_arrived(account, "s1", dispatcher.handle_now)
    async with database.transaction() as db:  # had it stayed parked, its wait would be over
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 120_000,))
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    assert bot.seen == [] and await OutboxRepository(database).due(Clock().ms()) == []
    assert await sync_state.parked_before("@bot:x", Clock().ms() + 10**9) == []


async def test_a_message_parked_through_an_outage_is_read_when_its_key_comes_after(database):
    """An outage delays but loses nothing: a sweep that finds the homeserver down cannot tell whether the event is
    readable, so it keeps it parked (a reviewer's, twenty-ninth session: a crisis message in a group was let go, and a
    member in a DM asked to resend what Bothy then never read)."""
    _, late, account, bot, dispatcher = late_decryption_setup(database)
    await dispatcher.on_batch("t1", [Undecryptable("!group", "$crisis", "@alice:x", Clock().ms(), "s1"),
                                     Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s2")])
    await dispatcher.drain()
    async with database.transaction() as db:  # their wait is over, and the homeserver is down
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 120_000,))
    account.unreachable.update({"$crisis", "$first"})
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})

    account.unreachable.clear()  # back: the next sync brings the keys queued meanwhile
    account.readable["$crisis"] = Message("!group", "$crisis", "@alice:x", "words", Clock().ms(), "m.text", False)
    account.readable["$first"] = Message("!dm", "$first", "@alice:x", "hi", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t2", [RoomKeyArrived("s1"), RoomKeyArrived("s2")])
    await dispatcher.drain()
    assert sorted(bot.seen) == ["$crisis", "$first"]
    rows = await OutboxRepository(database).due(Clock().ms())
    assert not any("send it again" in row.content["body"] for row in rows)


async def test_a_message_parked_before_a_restart_waits_for_the_first_sync_after_it(database):
    """Down for longer than the wait, Bothy runs the missed sweep at start, before the first sync has brought the keys
    sent to its device meanwhile: nothing is given up on until a sync has got through after an event's wait ended."""
    _, late, account, bot, dispatcher = late_decryption_setup(database)
    await dispatcher.on_batch("t1", [Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s1")])
    await dispatcher.drain()
    async with database.transaction() as db:  # SIGKILL; Bothy starts again ten minutes later
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 600_000,))
    account.synced_at_ms = None
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})  # the catch-up run at start
    account.synced_at_ms = Clock().ms() - 590_000  # a sync before its wait ended is not enough either
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    assert await OutboxRepository(database).due(Clock().ms()) == []

    account.readable["$first"] = Message("!dm", "$first", "@alice:x", "hi", Clock().ms(), "m.text", True)
    await dispatcher.on_batch("t2", [RoomKeyArrived("s1")])  # the first sync after the restart
    await dispatcher.drain()
    assert bot.seen == ["$first"]

    account.readable.clear()  # a message whose key never comes is still asked for, once a sync has got through
    await dispatcher.on_batch("t3", [Undecryptable("!dm", "$second", "@alice:x", Clock().ms(), "s3")])
    await dispatcher.drain()
    async with database.transaction() as db:
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 600_000,))
    account.synced_at_ms = Clock().ms()
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    rows = await OutboxRepository(database).due(Clock().ms())
    assert ["send it again" in row.content["body"] for row in rows] == [False, True]


async def test_a_parked_event_the_homeserver_refuses_for_good_is_given_up_on(database):
    """Purged, or the bot removed from the room: that is an answer, not an outage. It stayed parked and was fetched
    every sweep for ever, and the member in a DM was never asked to resend (a second reviewer's)."""
    sync_state, late, account, _, dispatcher = late_decryption_setup(database)
    await dispatcher.on_batch("t1", [Undecryptable("!dm", "$first", "@alice:x", Clock().ms(), "s1")])
    await dispatcher.drain()
    async with database.transaction() as db:
        await db.execute("UPDATE pending_decryption SET received_at = ?", (Clock().ms() - 600_000,))

    async def refused(room_id, event_id):
        raise MatrixError("get event: M_NOT_FOUND", permanent=True, code="M_NOT_FOUND")

    account.fetch_and_decrypt = refused
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    assert await sync_state.parked_before("@bot:x", Clock().ms()) == []
    rows = await OutboxRepository(database).due(Clock().ms())
    assert ["send it again" in row.content["body"] for row in rows] == [True]


async def test_a_parked_event_nothing_can_read_does_not_hold_up_the_rest_of_the_sweep(database):
    """A robustness reviewer's, thirty-third session: one parked event whose fetch failed in a way nobody foresaw ended
    the sweep, every run, and the member whose DM message came after it was never asked to resend."""
    sync_state, late, account, _, dispatcher = late_decryption_setup(database)
    await dispatcher.on_batch("t1", [Undecryptable("!group", "$odd", "@mallory:x", Clock().ms(), "s1"),
                                     Undecryptable("!dm", "$alices", "@alice:x", Clock().ms(), "s2")])
    await dispatcher.drain()
    async with database.transaction() as db:
        await db.execute("UPDATE pending_decryption SET received_at = ? + (event_id = '$alices')",
                         (Clock().ms() - 600_000,))
    fetch = account.fetch_and_decrypt

    async def trips_on_the_first(room_id, event_id):
        if event_id == "$odd":
            raise TypeError("something nobody foresaw")
        return await fetch(room_id, event_id)

    account.fetch_and_decrypt = trips_on_the_first
    await late.give_up_sweep({"@bot:x": account}, {"@bot:x": dispatcher.handle_now})
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [(row.room_id, "send it again" in row.content["body"]) for row in rows] == [("!dm", True)]
    assert await sync_state.parked_before("@bot:x", Clock().ms()) == []


async def test_an_on_time_sweep_run_late_past_its_date_by_the_misfire_grace_waits(database):
    """Weather at 22:00, the machine stalled until 00:30: APScheduler's misfire grace ran it on the next date,
    closing that day empty (a second reviewer's). A run too late for its time today does nothing."""
    london = ZoneInfo("Europe/London")
    clock = FixedClock(datetime(2026, 3, 1, 22, 0, 1, tzinfo=london))
    scheduler = SweepScheduler(SweepRunRepository(database), london, clock)
    ran = []

    @on_time(3 * 3600)
    async def weather() -> None:
        ran.append(clock.now())

    sweep = Sweep("weather", "0 22 * * *", weather)
    scheduler._triggers["weather"] = parse_schedule(sweep.schedule, london)
    await scheduler._run(sweep)  # on time
    clock.at = datetime(2026, 3, 2, 0, 30, tzinfo=london)
    await scheduler._run(sweep)  # the next date: waits for 22:00
    assert len(ran) == 1


class RoomOf:
    """A fake account that knows who is in one room."""

    def __init__(self, user_id, members):
        self.user_id = user_id
        self.members = frozenset(members)

    async def joined_members(self, room_id):
        return self.members


def shared_config():
    from bothy.config import parse_config
    from tests.unit.test_config import ROOT, filled

    return parse_config(filled(), ROOT, INSTALLATION.bots)


def test_exactly_one_account_answers_each_command():
    from commands.router import CommandRouter

    config = shared_config()
    host, mood, guide = "@bothy:example.org", "@mood:example.org", "@guide:example.org"

    def answering(owner, members):
        return [me for me in members
                if asyncio.run(CommandRouter(config, None, RoomOf(me, members), None, Clock(), lambda: None)
                               ._answers_here(owner, "!room")) is True]

    for owner, members, expected in [
        ("referral", {host, mood, guide}, [guide]),  # the owner is there
        ("referral", {host, mood}, [host]),          # the owner is not: host steps in
        ("referral", {mood}, [mood]),                # nor host: the next bot in the fixed order
        ("host", {mood, guide}, [mood]),
    ]:
        assert answering(owner, members) == expected, (owner, members)


def test_the_staff_room_must_be_invite_only_encrypted_and_staff_only():
    from bothy.matrix.adapter import RoomFacts
    from rooms.staff import staff_room_problems

    staff = frozenset({"@sam:x", "@bot:x"})
    assert staff_room_problems(RoomFacts("invite", True, staff), staff) == []
    found = staff_room_problems(RoomFacts("public", False, staff | {"@mallory:x"}), staff)
    assert len(found) == 3
    assert not any("mallory" in problem for problem in found)  # counted, never named


class NoRoomInfo(RoomOf):
    """A fallback bot whose homeserver cannot say who is in the room just now."""

    async def joined_members(self, room_id):
        raise MatrixError("joined members: 502")


async def test_a_command_is_retried_not_dropped_when_the_fallback_bot_cannot_see_the_room():
    from commands.framework import Command, CommandRegistry
    from commands.router import CommandRouter

    async def noop(ctx):
        return None

    router = CommandRouter(shared_config(), CommandRegistry([Command("help", "host", "help", noop)]),
                           NoRoomInfo("@mood:example.org", ()), Templates(), Clock(), lambda: None)
    with pytest.raises(MatrixError):  # so the dispatcher tries it again, until the homeserver answers
        await router.handle(Message("!room", "$c", "@alice:x", "!help", Clock().ms(), "m.text", False),
                            Effects("@mood:example.org"))


class OutageThenRoom(RoomOf):
    """A bot that does not own the command, whose homeserver fails (a transient error, or a refusal)
    `failures` times before it can say who is in the room."""

    def __init__(self, user_id, members, error: MatrixError, failures: int):
        super().__init__(user_id, members)
        self.errors = [error] * failures

    async def joined_members(self, room_id):
        if self.errors:
            raise self.errors.pop()
        return self.members

    def is_direct_room(self, room_id):
        return False


@pytest.mark.parametrize(("error", "failures"), [
    (MatrixError("joined members: ClientConnectorError", code="ClientConnectorError"),
     5 * MAX_TRANSIENT_ATTEMPTS),  # an outage far longer than setting aside used to allow
    (MatrixError("joined members: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"), 1000),      # refused for good
])
async def test_a_bot_that_does_not_own_a_command_never_apologises_for_it_when_it_cannot_see_the_room(
    database, registry, error, failures
):
    """The audit's case: mood could not ask who is in the room through an outage of minutes, set `!talk` aside
    and told the member "something went wrong", though host answered it."""
    from commands.router import CommandRouter

    host, mood, group = "@bothy:example.org", "@mood:example.org", "!group:example.org"
    account = OutageThenRoom(mood, {host, mood}, error, failures)
    templates = INSTALLATION.templates()
    router = CommandRouter(shared_config(), registry, account, templates, Clock(), lambda: "!staff")
    staff = StaffRoom("!staff")
    staff.room_id = "!staff"
    sync_state = SyncStateRepository(database)
    dispatcher = InboundDispatcher(mood, sync_state, EventRouter(account, [], router, None, None, staff),
                                   UnitOfWork(database, Clock(), lambda: None),
                                   SetAsideNotice(templates, "!", account.is_direct_room),
                                   retry_delay=lambda attempts, retry_after_ms: 0.0)
    await dispatcher.on_batch("t1", [Message(group, "$talk", "@alice:x", "!talk", Clock().ms(), "m.text", True)])
    await dispatcher.drain()
    assert await OutboxRepository(database).due(10**15) == []
    assert await sync_state.is_handled(mood, "$talk") and not await sync_state.is_handled(mood, "set-aside:$talk")


class OwnRoom(RoomOf):
    """The owner's own account, in a group room where it may not redact."""

    def is_direct_room(self, room_id):
        return False

    def can_redact_others(self, room_id):
        return False

    def is_encrypted(self, room_id):
        return False


async def test_a_failing_command_apologises_and_never_logs_the_members_words(caplog):
    from commands.framework import Command, CommandRegistry, Text
    from commands.router import CommandRouter

    async def broken(ctx):
        raise ValueError(f"{ctx.params['words']!r} is not understood")

    registry = CommandRegistry([Command("help", "host", "help", broken, params=(Text("words", 100),))])
    host = "@bothy:example.org"
    router = CommandRouter(shared_config(), registry, OwnRoom(host, {host}), INSTALLATION.templates(), Clock(),
                           lambda: None)
    effects = Effects(host)
    await router.handle(Message("!room", "$c", "@alice:x", "!help canary-words", Clock().ms(), "m.text", False),
                        effects)
    assert ["wrong on my side" in item.content["body"] for item in effects.items] == [True]
    assert "command help failed" in caplog.text and "canary-words" not in caplog.text
