"""`!talk`: a claimable alert naming the member, honesty about staff hours, one alert per request."""

from datetime import UTC, datetime, timedelta
from itertools import count

from bothy.clock import FixedClock
from bothy.matrix.events import Reaction
from bothy.outbox import Effects
from bothy.staff_hours import parse_staff_hours
from bothy.storage.outbox import AlertRecord, OutboxRepository
from bothy.testing import STAFF_ROOM, bot_context
from bots.host.bot import HostBot
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role
from tests.unit.test_config import settings_of

ALICE, SAM = "@alice:example.org", "@sam:example.org"
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 12:00 in London too (before the clocks change)
_EVENT_NUMBERS = count()


async def run(bot: HostBot, name: str, sender: str = ALICE, room: str = "!group", event_id: str | None = None,
              commit: bool = True, **params) -> Effects:
    """The command handled; `commit=False` leaves its messages unqueued, as a handling that failed would."""
    command = bot.context.commands.named(name) or next(c for c in bot.commands() if c.name == name)
    effects = Effects(bot.context.account)
    event_id = event_id or f"$cmd{next(_EVENT_NUMBERS)}"
    await command.run(CommandContext(command=command, sender=sender, room_id=room, event_id=event_id,
                                     role=Role.PEER_WORKER if sender == SAM else Role.MEMBER, in_dm=False,
                                     effects=effects, templates=bot.context.templates, prefix="!", params=params))
    if commit:
        await bot.context.work.commit(effects)
    return effects


def host(database, clock: FixedClock) -> HostBot:
    return HostBot(bot_context(database, INSTALLATION, settings_of("host"), clock=clock,
                               staff_hours=parse_staff_hours("09:00-17:00 mon-fri")))


async def test_talk_in_hours_raises_one_alert_naming_the_member_and_tells_them_privately(database):
    bot = host(database, FixedClock(MONDAY_NOON))
    effects = await run(bot, "talk")
    [alert] = [item for item in effects.items if item.alert is not None]  # queued as it commits
    [reply] = [item for item in effects.items if item.alert is None]
    assert alert.room_id == STAFF_ROOM and ALICE in alert.content["body"] and alert.alert.kind == "talk"
    assert reply.to_user == ALICE and "someone will message you here soon" in reply.content["body"]
    assert "116 123" in reply.content["body"]
    again = await run(bot, "talk")
    note, told = again.items  # no second alert while one is waiting: a note under it
    assert note.alert is None and note.room_id == STAFF_ROOM and "asked again" in note.content["body"]
    assert told.to_user == ALICE and "already" in told.content["body"]


async def test_asking_again_and_again_is_noted_for_peer_workers_once_in_ten_minutes(database):
    clock = FixedClock(MONDAY_NOON)
    bot = host(database, clock)
    await run(bot, "talk")
    notes = []
    for _ in range(5):
        effects = await run(bot, "talk")
        assert "already" in effects.items[-1].content["body"]  # the member is always told where it stands
        notes += [item for item in effects.items if item.room_id == STAFF_ROOM]
    assert len(notes) == 1
    clock.at += timedelta(minutes=10)
    assert [item for item in (await run(bot, "talk")).items if item.room_id == STAFF_ROOM]


async def test_an_ask_handled_again_after_a_failure_is_noted_again(database):
    """Its first handling's messages were never queued (the database was busy): the retry's note is not skipped."""
    bot = host(database, FixedClock(MONDAY_NOON))
    await run(bot, "talk")
    await run(bot, "talk", event_id="$again", commit=False)
    retried = await run(bot, "talk", event_id="$again")
    assert [item for item in retried.items if item.room_id == STAFF_ROOM]
    assert not [item for item in (await run(bot, "talk")).items if item.room_id == STAFF_ROOM]


async def test_asking_again_after_a_claim_is_noted_for_the_peer_worker_who_claimed_it(database):
    bot = host(database, FixedClock(MONDAY_NOON))
    await run(bot, "talk")
    await run(bot, "talk")  # noted
    async with database.transaction() as db:
        await db.execute("UPDATE alerts SET staff_event_id = '$alert'")
    effects = Effects(bot.context.account)
    assert await bot.context.alerts.handle_reaction(Reaction(STAFF_ROOM, "$tick", SAM, 0, "$alert", "✅"), effects)
    await bot.context.work.commit(effects)
    assert [item for item in (await run(bot, "talk")).items if item.room_id == STAFF_ROOM]


async def test_outside_hours_the_member_is_told_when_someone_will_be_back(database):
    bot = host(database, FixedClock(MONDAY_NOON + timedelta(hours=8)))  # Monday 20:00
    [reply] = [item for item in (await run(bot, "talk")).items if item.to_user == ALICE]
    assert "back tomorrow at 09:00" in reply.content["body"] and "0800 83 85 87" in reply.content["body"]
    friday_evening = host(database, FixedClock(MONDAY_NOON + timedelta(days=4, hours=8)))
    [reply] = [item for item in (await run(friday_evening, "talk", sender="@bob:example.org")).items
               if item.to_user == "@bob:example.org"]
    assert "back on Monday at 09:00" in reply.content["body"]


async def test_a_claim_tells_the_member_who_will_message_them(database):
    bot = host(database, FixedClock(MONDAY_NOON))
    await run(bot, "talk")
    async with database.transaction() as db:
        await db.execute("UPDATE alerts SET staff_event_id = '$alert'")
        await db.execute("DELETE FROM outbox")
    effects = Effects(bot.context.account)
    tick = Reaction(STAFF_ROOM, "$tick", SAM, 0, "$alert", "✅")
    assert await bot.context.alerts.handle_reaction(tick, effects)
    await bot.context.work.commit(effects)
    told = [row for row in await OutboxRepository(database).due(10**15) if row.to_user == ALICE]
    assert len(told) == 1 and SAM in told[0].content["body"]


async def test_alerts_lists_what_is_not_done_and_done_closes_by_number(database):
    bot = host(database, FixedClock(MONDAY_NOON))
    await run(bot, "talk")
    listing = (await run(bot, "alerts", sender=SAM, room=STAFF_ROOM)).items[0].content["body"]
    assert "1: talk" in listing and "nobody has it yet" in listing
    await run(bot, "done", sender=SAM, room=STAFF_ROOM, id=1)
    assert (await bot.context.alerts.repository.by_id(1)).state == "done"
    assert "Nothing waiting" in (await run(bot, "alerts", sender=SAM, room=STAFF_ROOM)).items[0].content["body"]
    assert "already done" in (await run(bot, "done", sender=SAM, room=STAFF_ROOM, id=1)).items[0].content["body"]
    assert "can't find alert 9" in (await run(bot, "done", sender=SAM, room=STAFF_ROOM, id=9)).items[0].content["body"]


async def test_a_new_alert_is_listed_first_however_many_older_ones_are_taken_and_not_done(database):
    """`!alerts` read the 50 oldest alerts not done and sorted those: 50 reports taken and left undone hid every new
    alert from it, a crisis one included, and the list did not say it was cut (a second reviewer's)."""
    bot = host(database, FixedClock(MONDAY_NOON))
    for number in range(52):
        effects = Effects(bot.context.account)
        effects.message({"body": "report"}, room_id=STAFF_ROOM,
                        alert=AlertRecord("report", f"@spammer{number}:example.org"))
        await bot.context.work.commit(effects)
    async with database.transaction() as db:
        await db.execute("UPDATE alerts SET claimed_by = ?, claimed_at = 1", (SAM,))
    effects = Effects(bot.context.account)
    effects.message({"body": "crisis"}, room_id=STAFF_ROOM, alert=AlertRecord("crisis", ALICE, urgent=True))
    await bot.context.work.commit(effects)
    await run(bot, "talk")  # an ordinary open alert, newer still
    listing = (await run(bot, "alerts", sender=SAM, room=STAFF_ROOM)).items[0].content["body"].splitlines()
    assert listing[1].startswith("- 53: crisis (urgent)") and listing[2].startswith("- 54: talk")
    assert "nobody has it yet" in listing[1] and "with @sam" in listing[3]
    assert "…and 4 more not listed here." in listing


async def test_asking_again_long_after_a_request_was_claimed_is_a_new_request(database):
    """Sam took Alice's request with ✅ and never marked it done (nothing makes peer workers do so). A month later her
    `!talk` raised nothing: a note under a month-old alert, and "@sam has your request" (a reviewer's)."""
    clock = FixedClock(MONDAY_NOON)
    bot = host(database, clock)
    await run(bot, "talk")
    async with database.transaction() as db:
        await db.execute("UPDATE alerts SET staff_event_id = '$alert'")
    effects = Effects(bot.context.account)
    assert await bot.context.alerts.handle_reaction(Reaction(STAFF_ROOM, "$tick", SAM, 0, "$alert", "✅"), effects)
    await bot.context.work.commit(effects)
    clock.at += timedelta(hours=1)  # still in hand: a note under it, and she is told who has it
    soon = await run(bot, "talk")
    assert not [item for item in soon.items if item.alert is not None]
    clock.at += timedelta(days=30)
    again = await run(bot, "talk")
    assert [item for item in again.items if item.alert is not None]
    told = next(item for item in again.items if item.to_user == ALICE)
    assert "has your request" not in told.content["body"]


async def test_two_talks_handled_side_by_side_raise_one_alert(database):
    """A member's DM and a group room are handled in parallel: `!talk` typed in both at once read "no request
    waiting" twice, and the staff room got two alerts (a reviewer's, thirtieth session). It is decided as the
    request commits."""
    bot = host(database, FixedClock(MONDAY_NOON))
    first = await run(bot, "talk", room="!group:example.org", commit=False)
    second = await run(bot, "talk", room="!dm:example.org", commit=False)
    await bot.context.work.commit(first)
    await bot.context.work.commit(second)
    async with database.read() as db, db.execute("SELECT COUNT(*) FROM alerts WHERE kind = 'talk'") as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_a_message_reported_twice_side_by_side_gets_one_alert(database):
    """Reported with Element's Report button while a `!report` of it was handled: two alerts for one message."""
    bot = host(database, FixedClock(MONDAY_NOON))
    by_command, by_sweep = Effects(bot.context.account), Effects(bot.context.account)
    await bot.reports.file(by_command, "!group:example.org", "$bad", "@mallory:example.org")
    await bot.reports.file(by_sweep, "!group:example.org", "$bad", "@mallory:example.org", reason="abusive",
                           source="homeserver")
    await bot.context.work.commit(by_command)
    await bot.context.work.commit(by_sweep)
    async with database.read() as db, db.execute("SELECT COUNT(*), MAX(reports) FROM alerts, reports "
                                                 "WHERE kind = 'report'") as cursor:
        assert tuple(await cursor.fetchone()) == (1, 2)  # one alert, and both reports counted
    # ... and the second report's reason goes under it, as when the alert was seen open (a second reviewer's)
    [again] = [item for item in by_sweep.items if item.alert is None and "abusive" in item.content["body"]]
    assert "2 reports" in again.content["body"]
