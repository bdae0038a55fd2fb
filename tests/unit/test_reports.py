"""`!report` and moderation from the staff room: no reporter anywhere, one alert per message, every action
audited and confirmed, mutes undone by the sweep."""

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from bothy.clock import FixedClock
from bothy.matrix.adapter import MatrixError
from bothy.outbox import Effects
from bothy.storage.outbox import OutboxRepository
from bothy.testing import STAFF_ROOM, FixedRooms, bot_context, received_reaction
from bots.host.bot import HostBot
from bots.host.reports import DISMISS, GUIDELINES, MUTE, REMOVE
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role, UsageError
from tests.unit.test_config import settings_of

ALICE, BOB, CARA, SAM = "@alice:example.org", "@bob:example.org", "@cara:example.org", "@sam:example.org"
GROUP = "!group:example.org"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))


@pytest.fixture
def bot(database, clock) -> HostBot:
    context = bot_context(database, INSTALLATION, settings_of("host"), clock=clock)
    rooms = FixedRooms(senders={"$rude": BOB})
    rooms.levels[GROUP] = {"events_default": 0, "users": {context.account: 50}}  # a moderator there, as the README asks
    return HostBot(dataclasses.replace(context, rooms=rooms))


async def report(bot: HostBot, reporter: str, reply_to: str | None = "$rude") -> Effects:
    command = next(c for c in bot.commands() if c.name == "report")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=reporter, room_id=GROUP, event_id="$cmd",
                                     role=Role.MEMBER, in_dm=False, effects=effects, templates=bot.context.templates,
                                     prefix="!", reply_to=reply_to))
    await bot.context.work.commit(effects)
    return effects


async def owed(database) -> list:
    return await OutboxRepository(database).due(10**15)


async def delivered(database) -> None:
    async with database.transaction() as db:
        await db.execute("UPDATE alerts SET staff_event_id = '$alert'")
        await db.execute("DELETE FROM outbox")


async def react(bot: HostBot, key: str) -> None:
    effects = Effects(bot.context.account)
    reaction = received_reaction(STAFF_ROOM, f"${key}", SAM, "$alert", key)
    assert await bot.context.alerts.handle_reaction(reaction, effects)
    await bot.context.work.commit(effects)


async def test_a_report_names_the_author_never_the_reporter_and_repeats_merge(bot, database):
    [thanks] = [item for item in (await report(bot, ALICE)).items if item.to_user == ALICE]
    assert thanks.to_user == ALICE and "without your name" in thanks.content["body"]
    [alert] = [row for row in await owed(database) if row.room_id == STAFF_ROOM]
    assert BOB in alert.content["body"] and ALICE not in json.dumps(alert.content)
    await delivered(database)
    await report(bot, CARA)
    [again] = [row for row in await owed(database) if row.room_id == STAFF_ROOM]
    assert "2 reports" in again.content["body"] and again.content["m.relates_to"]["event_id"] == "$alert"
    async with database.read() as db:
        dump = [row async for row in await db.execute("SELECT * FROM reports")]
        audit = [row async for row in await db.execute("SELECT * FROM audit_log")]
    assert ALICE not in repr(dump) and CARA not in repr(dump) and dump[0][3] == 2 and audit == []


async def test_a_report_must_reply_to_a_message(bot):
    with pytest.raises(UsageError):
        await report(bot, ALICE, reply_to=None)


async def test_remove_guidelines_and_dismiss_are_audited_and_confirmed_in_the_thread(bot, database):
    await report(bot, ALICE)
    await delivered(database)
    for key in (REMOVE, GUIDELINES, DISMISS):
        await react(bot, key)
    rows = await owed(database)
    assert [(r.room_id, r.target_event_id) for r in rows if r.action == "redaction"] == [(GROUP, "$rude")]
    [sent] = [r.content["body"] for r in rows if r.to_user == BOB and "guidelines" in r.content["body"]]
    # The guidelines of the welcome, which an organisation words once in _guidelines (a spec auditor's, thirty-first)
    welcomed = bot.context.templates.render("_guidelines")["body"].strip()
    assert welcomed.startswith("Our guidelines") and welcomed in sent
    thread = [r.content["body"] for r in rows if r.room_id == STAFF_ROOM]
    assert any("Removed" in b for b in thread) and any("Dismissed" in b for b in thread)
    async with database.read() as db:
        audit = [row async for row in await db.execute("SELECT actor, action, subject FROM audit_log ORDER BY id")]
    assert (SAM, "report remove", BOB) in audit and (SAM, "report dismiss", BOB) in audit
    assert (SAM, "alert claimed", BOB) in audit and (SAM, "alert done", BOB) in audit
    assert (await bot.context.alerts.repository.by_id(1)).state == "done"


async def test_a_mute_lowers_the_author_below_posting_and_the_sweep_gives_their_level_back(bot, database, clock):
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, 10)
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    await react(bot, MUTE)  # twice: the level first kept is the one given back
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1  # not yet
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == 10
    async with database.read() as db:
        assert [row async for row in await db.execute("SELECT * FROM mutes")] == []


async def test_a_report_row_is_forgotten_90_days_after_the_last_report(bot, database, clock):
    await report(bot, ALICE)
    clock.at += timedelta(days=89)
    await bot.reports.forget_old()
    async with database.read() as db:
        assert len([row async for row in await db.execute("SELECT * FROM reports")]) == 1
    clock.at += timedelta(days=2)
    await bot.reports.forget_old()
    async with database.read() as db:
        assert [row async for row in await db.execute("SELECT * FROM reports")] == []


async def test_a_report_of_a_bot_s_message_never_mutes_the_bot(bot, database):
    """Muting a bot account would have it lower its own power in the room for good (it could not undo it)."""
    rooms = bot.context.rooms
    rooms.senders["$notice"] = bot.context.account
    await rooms.set_power_level(GROUP, bot.context.account, 100)
    await report(bot, ALICE, reply_to="$notice")
    await delivered(database)
    await react(bot, MUTE)
    assert (await rooms.power_levels(GROUP))["users"][bot.context.account] == 100
    [note] = [row.content["body"] for row in await owed(database) if row.room_id == STAFF_ROOM]
    assert "Bothy's own" in note
    async with database.read() as db:
        assert [row async for row in await db.execute("SELECT * FROM mutes")] == []


async def test_a_level_written_as_text_is_given_back_after_a_mute(bot, database, clock):
    """Rooms before version 10 allow levels as strings ("50"): a moderator muted there gets 50 back, not the default."""
    rooms = bot.context.rooms
    rooms.levels[GROUP] = {"events_default": "0", "users": {BOB: "50"}}
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == 50


async def test_odd_power_levels_get_a_kind_note_not_a_crash(bot, database):
    rooms = bot.context.rooms
    rooms.levels[GROUP] = {"events_default": {"no": "number"}, "users": ["not", "a", "map"]}
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    [note] = [row.content["body"] for row in await owed(database) if row.room_id == STAFF_ROOM]
    assert "couldn't mute" in note


async def test_a_crash_between_muting_and_recording_it_still_gives_the_level_back(bot, database, clock):
    """Killed after the homeserver lowered the level but before the mute was recorded, the reaction is handled
    again: by then the member is at the muted level, and the level to give back must not be that one."""
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, 50)
    await report(bot, ALICE)
    await delivered(database)
    alert = await bot.context.alerts.repository.by_id(1)
    await bot.reports.mute(alert, SAM, Effects(bot.context.account))  # its effects are never committed
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1
    await react(bot, MUTE)  # the replay
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == 50


async def test_a_refused_mute_leaves_nothing_to_undo(bot, database):
    async def refused(room_id, user_id, level):
        raise MatrixError("set power levels: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")

    bot.context.rooms.set_power_level = refused
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    assert any("couldn't mute" in row.content["body"] for row in await owed(database) if row.room_id == STAFF_ROOM)
    async with database.read() as db:
        assert [row async for row in await db.execute("SELECT * FROM mutes")] == []


async def forget(bot: HostBot, member: str, *words: str) -> None:
    """`!forget WORDS` from the member in their DM, committed as the dispatcher would."""
    command = next(c for c in bot.commands() if c.name == "forget")
    run, params = command.parse(list(words))
    effects = Effects(bot.context.account)
    await run(CommandContext(command=command, sender=member, room_id="!dm", event_id=f"$forget-{len(words)}",
                             role=Role.MEMBER, in_dm=True, effects=effects, templates=bot.context.templates,
                             prefix="!", params=params))
    await bot.context.work.commit(effects)


async def test_a_muted_member_who_asks_to_be_forgotten_gets_their_voice_back_first(bot, database):
    """The mute row is the only record of the level owed: erased with the rest, it left the member able to read
    but never post again. Their mutes are lifted before the erase, and nothing about them is left."""
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, 10)
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1
    await forget(bot, BOB, "me")
    await forget(bot, BOB, "me", "confirm")
    assert (await rooms.power_levels(GROUP))["users"][BOB] == 10
    assert await INSTALLATION.personal_data(database).export(BOB) == {}


async def test_a_mute_the_bot_can_no_longer_lift_is_left_to_staff_even_when_the_member_is_forgotten(bot, database):
    """The note asking staff to give them their voice back by hand was about the member, and erased with them before
    it went: muted for good, with no record (a reviewer's, thirtieth session)."""
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    refusing = NotInTheRoom()  # the bot has since lost its power there
    bot.context = dataclasses.replace(bot.context, rooms=refusing, account_rooms={bot.context.account: refusing})
    bot.reports.context = bot.context
    await forget(bot, BOB, "me")
    await forget(bot, BOB, "me", "confirm")
    notes = [row for row in await OutboxRepository(database).due(10**15)
             if row.room_id == STAFF_ROOM and "by hand" in row.content["body"]]
    assert len(notes) == 1 and BOB in notes[0].content["body"]
    assert await INSTALLATION.personal_data(database).export(BOB) == {}


class NotInTheRoom(FixedRooms):
    """The host bot's account, not in a room from before Bothy: the homeserver refuses it there."""

    async def power_levels(self, room_id):
        raise MatrixError("M_FORBIDDEN: not in room", permanent=True, code="M_FORBIDDEN")

    async def set_power_level(self, room_id, user_id, level):
        raise MatrixError("M_FORBIDDEN: not in room", permanent=True, code="M_FORBIDDEN")


GUIDE = "@guide:example.org"


async def reported_through_the_guide(database, clock, guide_levels: dict | None = None) -> tuple[HostBot, FixedRooms]:
    """Only the guide bot's account is in the group: it answers a `!report` there and raises the alert. The host bot,
    and the guide account's view of the group."""
    host_rooms, guide_rooms = NotInTheRoom(senders={"$rude": BOB}), FixedRooms(senders={"$rude": BOB})
    if guide_levels is not None:
        guide_rooms.levels[GROUP] = {"events_default": 0, "users": guide_levels}
    context = bot_context(database, INSTALLATION, settings_of("host"), clock=clock, bot_accounts=frozenset({GUIDE}))
    bot = HostBot(dataclasses.replace(context, rooms=host_rooms,
                                      account_rooms={context.account: host_rooms, GUIDE: guide_rooms}))
    command = next(c for c in bot.commands() if c.name == "report")
    effects = Effects(GUIDE)
    await command.run(CommandContext(command=command, sender=ALICE, room_id=GROUP, event_id="$cmd", role=Role.MEMBER,
                                     in_dm=False, effects=effects, templates=bot.context.templates, prefix="!",
                                     reply_to="$rude"))
    await bot.context.work.commit(effects)
    await delivered(database)
    return bot, guide_rooms


async def test_a_mute_made_through_another_bot_account_is_lifted_through_it(database, clock):
    """Where only the guide bot's account is in the room, it answers `!report` and makes the mute; lifting it through
    the host account was refused, and the row deleted: muted for good (a reviewer's, twenty-ninth session)."""
    bot, guide_rooms = await reported_through_the_guide(database, clock)
    effects = Effects(GUIDE)
    assert await bot.context.alerts.handle_reaction(received_reaction(STAFF_ROOM, "$m", SAM, "$alert", MUTE), effects)
    await bot.context.work.commit(effects)
    assert (await guide_rooms.power_levels(GROUP))["users"][BOB] == -1
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    assert BOB not in (await guide_rooms.power_levels(GROUP))["users"]


async def test_a_member_muted_by_the_room_s_own_moderators_stays_muted_after_a_timed_mute(bot, database, clock):
    """Already at -1 (no end date), the timed mute kept no level, and its end gave them their voice back (a
    reviewer's). A member already unable to post is left as they are."""
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, -1)
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1


async def test_a_mute_the_room_no_longer_lets_the_bot_lift_is_handed_to_the_staff_room(bot, database, clock):
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)
    refusing = NotInTheRoom()
    bot.context = dataclasses.replace(bot.context, rooms=refusing, account_rooms={bot.context.account: refusing})
    bot.reports.context = bot.context
    clock.at += timedelta(hours=1, minutes=1)
    await bot.reports.unmute_due()
    [note] = [row for row in await owed(database) if row.room_id == STAFF_ROOM and "by hand" in row.content["body"]]
    assert BOB in note.content["body"] and "by hand" in note.content["body"]


async def test_the_reporter_is_told_their_report_was_taken_down_only_where_it_was(bot):
    """Where the bot has no power to redact, the thanks said "removed your !report" while it stayed beside their name
    (a reviewer's, twenty-ninth session)."""
    [thanks] = [item for item in (await report(bot, ALICE)).items if item.to_user == ALICE]
    assert "delete it yourself" in thanks.content["body"]
    command = next(c for c in bot.commands() if c.name == "report")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=CARA, room_id=GROUP, event_id="$cmd2", role=Role.MEMBER,
                                     in_dm=False, effects=effects, templates=bot.context.templates, prefix="!",
                                     reply_to="$rude", can_take_down=True))
    thanks = effects.items[-1].content["body"]
    assert "removed your !report from the room" in thanks and "yourself" not in thanks


async def test_the_guidelines_go_to_the_author_once_per_report(bot, database):
    """📜 tapped again (or `!mod guidelines` after it) sent them again: twice reads as a telling-off (a reviewer's)."""
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, GUIDELINES)
    await react(bot, GUIDELINES)
    rows = await owed(database)
    assert len([r for r in rows if r.to_user == BOB and "guidelines" in r.content["body"]]) == 1
    assert any(r.room_id == STAFF_ROOM and "already" in r.content["body"] for r in rows)


async def test_a_mute_made_by_an_account_no_longer_configured_is_lifted_by_the_host(bot, database, clock):
    """The account that made it was since removed from `bots:`: the host account tries, and the note asking staff to
    do it by hand goes out as the host's (as the removed one's it was set aside, and the member stayed muted)."""
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, -1)
    async with database.transaction() as db:
        await db.execute("INSERT INTO mutes (room_id, user_id, until, previous_level, account) VALUES (?, ?, 0, 10, ?)",
                         (GROUP, BOB, "@old:example.org"))
    await bot.reports.unmute_due()
    assert (await rooms.power_levels(GROUP))["users"][BOB] == 10


async def test_a_mute_extended_while_the_sweep_lifts_the_old_one_stands(bot, database, clock):
    """The sweep read the hour-long mute as due; a peer worker's `!mod mute ID 1d` landed while it gave the level back,
    and the sweep then forgot the mute: the member could post at once, though staff were told a day (a reviewer's,
    thirtieth session). One mute or unmute at a time per member and room: the day's mute comes after, and stands."""
    rooms = bot.context.rooms
    await rooms.set_power_level(GROUP, BOB, 10)
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, MUTE)  # an hour
    alert = await bot.context.alerts.repository.by_id(1)
    clock.at += timedelta(hours=1, minutes=1)
    giving_back = rooms.set_power_level
    extending: list[asyncio.Task] = []

    async def mute_for_a_day() -> None:
        effects = Effects(bot.context.account)
        await bot.reports.mute(alert, SAM, effects, 86_400)
        await bot.context.work.commit(effects)

    async def set_power_level(room_id, user_id, level):
        if level == 10 and not extending:  # the sweep's homeserver call in flight: the peer worker's mute comes in
            extending.append(asyncio.create_task(mute_for_a_day()))
            await asyncio.sleep(0)  # let it run as far as it can
            assert not extending[0].done()  # it waits for the sweep
        await giving_back(room_id, user_id, level)

    rooms.set_power_level = set_power_level
    await bot.reports.unmute_due()
    await extending[0]
    assert (await rooms.power_levels(GROUP))["users"][BOB] == -1
    async with database.read() as db, db.execute("SELECT until, previous_level FROM mutes WHERE user_id = ?",
                                                 (BOB,)) as cursor:
        [(until, previous)] = await cursor.fetchall()
    assert until >= clock.ms() + 86_000_000 and previous == 10


async def test_remove_where_the_bot_has_no_power_says_so_and_audits_nothing(bot, database):
    """In a room where the bot is an ordinary member (a community room an admin made), 🗑️ said "Removed the message",
    audited it and claimed the alert while the homeserver refused the redaction and the message stayed up (a spec
    auditor's, thirty-first session)."""
    rooms = bot.context.rooms
    rooms.levels[GROUP] = {"events_default": 0, "redact": 50, "users": {"@ali:example.org": 100}}  # type: ignore
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, REMOVE)
    rows = await owed(database)
    assert not [r for r in rows if r.action == "redaction"]
    thread = [r.content["body"] for r in rows if r.room_id == STAFF_ROOM]
    assert any("couldn't remove that message" in body for body in thread)
    assert not any("Removed the message" in body for body in thread)
    async with database.read() as db, db.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'report remove'") as c:
        assert await c.fetchall() == [(0,)]


async def test_remove_where_redaction_events_need_more_than_the_bot_has_is_not_claimed(bot, database):
    """Auth rules check the m.room.redaction event's own level (events, else events_default) too: the bot (50) passed
    `redact` but could not send a redaction event (100), and the thread said 'Removed' (a reviewer's, thirty-first)."""
    bot.context.rooms.levels[GROUP] = {"events_default": 0, "redact": 50, "events": {"m.room.redaction": 100},
                                       "users": {bot.context.account: 50}}
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, REMOVE)
    rows = await owed(database)
    thread = [r.content["body"] for r in rows if r.room_id == STAFF_ROOM]
    assert not any("Removed the message" in body for body in thread), thread


@pytest.mark.parametrize("levels", [
    {"users_default": 50},
    {"users_default": "50", "users": {}},
    {"users": {"ACCOUNT": "50"}, "redact": "50"},
    {"users": {"ACCOUNT": 0}, "users_default": 100, "redact": 0},
])
async def test_odd_but_valid_shapes_let_a_moderator_remove(bot, database, levels):
    """Levels as text (rooms before version 10), no users map, a users_default above the bot's own level."""
    levels = {k: ({bot.context.account: v["ACCOUNT"]} if isinstance(v, dict) and "ACCOUNT" in v else v)
              for k, v in levels.items()}
    bot.context.rooms.levels[GROUP] = levels
    await report(bot, ALICE)
    await delivered(database)
    await react(bot, REMOVE)
    assert [r for r in await owed(database) if r.action == "redaction"]


async def acted_on_from_the_staff_room(database, clock, guide_levels: dict, action: str, params: dict) -> FixedRooms:
    """`!mod ACTION 1` on a report the guide account raised, typed in the staff room and answered there by the host
    account, which is not in the group; the guide account's view of the group."""
    host, guide_rooms = await reported_through_the_guide(database, clock, guide_levels)
    mod = next(c for c in host.commands() if c.name == "mod")
    effects = Effects(host.context.account)
    await host.reports._by_id(getattr(host.reports, action))(CommandContext(
        command=mod, sender=SAM, room_id=STAFF_ROOM, event_id="$mod", role=Role.PEER_WORKER, in_dm=False,
        effects=effects, templates=host.context.templates, prefix="!", params={"id": 1, **params}, in_staff_room=True))
    await host.context.work.commit(effects)
    return guide_rooms

async def test_mod_remove_answered_by_another_account_checks_and_redacts_through_the_one_in_the_room(
        database, clock):
    """The redaction went from the host account, not in the room (refused), and the thread said 'Removed' (a
    reviewer's, thirty-first session)."""
    await acted_on_from_the_staff_room(database, clock, {GUIDE: 50}, "remove", {})
    rows = await owed(database)
    thread = [r.content["body"] for r in rows if r.room_id == STAFF_ROOM]
    assert [(r.account, r.room_id) for r in rows if r.action == "redaction"] == [(GUIDE, GROUP)]
    assert any("Removed the message" in body for body in thread)


async def test_mod_mute_answered_by_another_account_mutes_through_the_one_in_the_room(database, clock):
    """... and the mute was tried through the host account too (a reviewer's, thirty-first session)."""
    guide_rooms = await acted_on_from_the_staff_room(database, clock, {GUIDE: 100, BOB: 10}, "mute", {"for": None})
    assert (await guide_rooms.power_levels(GROUP))["users"][BOB] == -1
    async with database.read() as db, db.execute("SELECT account FROM mutes") as cursor:
        assert await cursor.fetchall() == [(GUIDE,)]
