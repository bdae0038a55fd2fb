"""Meetups: WHEN and WHERE understood in the organisation's time zone (or a kind reply, nothing stored); only
volunteers, peer workers and a group's creator post one; ✅ and `!meetup going` say who is going; each reminder
goes out once, never late; a cancellation tells the room and everyone going, once; `!mydata` and `!forget me`
cover it all, and past meetups are forgotten."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bothy.clock import FixedClock
from bothy.matrix.events import Reaction, Redaction
from bothy.outbox import Effects
from bothy.storage.outbox import OutboxRepository
from bothy.storage.retention import Retention, forget_old_rows
from bothy.testing import FixedRooms, bot_context, received_reaction
from bots.host.bot import HostBot
from bots.host.meetup_times import describe, parse_plan
from bots.host.storage import GroupRepository
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role, UsageError, parse_invocation

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # a Thursday
ALICE, BOB, CAROL, VIC, SAM = (f"@{n}:example.org" for n in ("alice", "bob", "carol", "vic", "sam"))
GROUP, OTHER, DM = "!group:example.org", "!other:example.org", "!dm:example.org"


async def going(host, meetup_id: int) -> list[str]:
    """Who is down as going, in the order they said so (what the room sees as the ✅ list)."""
    async with host.context.store.read() as db, db.execute(
        "SELECT user_id FROM meetup_rsvps WHERE meetup_id = ? ORDER BY going_at, user_id", (meetup_id,)
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


def plan(text: str, now: datetime = NOW):
    return parse_plan(text, now, LONDON)


@pytest.mark.parametrize(("typed", "starts", "place"), [
    ("next Tuesday 7pm | Community hall", datetime(2026, 3, 10, 19, 0), "Community hall"),
    ("25 Dec 14:00 online", datetime(2026, 12, 25, 14, 0), "online"),
    ("tomorrow 10:30 at St Mary's hall", datetime(2026, 3, 6, 10, 30), "St Mary's hall"),
    ("Tuesday at 7pm at the café at the station", datetime(2026, 3, 10, 19, 0), "the café at the station"),
    ("1 April 7pm | Online", datetime(2026, 4, 1, 19, 0), "online"),  # summer time: 18:00 UTC
    ("  sat   2pm  |  the  park ", datetime(2026, 3, 7, 14, 0), "the park"),
    # PRODUCT.md's `!meetup add WHEN WHERE`, nothing between them
    ("Saturday 2pm Community centre", datetime(2026, 3, 7, 14, 0), "Community centre"),
    ("friday 7:30 pm Zoom", datetime(2026, 3, 6, 19, 30), "Zoom"),
    ("25 Dec 14:00 St Mary's hall", datetime(2026, 12, 25, 14, 0), "St Mary's hall"),
    ("2026-04-01 18:30 The Bothy Café", datetime(2026, 4, 1, 18, 30), "The Bothy Café"),
    ("12 March 2pm March Hall", datetime(2026, 3, 12, 14, 0), "March Hall"),
    ("Saturday 2pm 12 High Street", datetime(2026, 3, 7, 14, 0), "12 High Street"),  # a house number, no date
    ("25 Dec 2pm 3 Station Road", datetime(2026, 12, 25, 14, 0), "3 Station Road"),
])
def test_when_and_where_are_read_in_the_organisations_time_zone(typed, starts, place):
    found = plan(typed)
    assert found.starts == starts.replace(tzinfo=LONDON) and found.place == place


def test_summer_time_is_the_organisations_not_utc():
    assert plan("1 April 7pm online").starts.astimezone(UTC).hour == 18


@pytest.mark.parametrize(("typed", "problem"), [
    ("garbage", "Please say when, then where"),
    ("next Tuesday 7pm", "Please say when, then where"),  # no place
    ("tomorrow 7:30 pm", "Please say when, then where"),  # all of it a time: still no place
    ("yesterday 3pm the hall", "has already passed"),
    ("| the hall", "Please say when, then where"),
    ("yesterday 3pm | the hall", "has already passed"),
    ("today 9am | the hall", "has already passed"),
    ("25 Dec 2027 14:00 online", "within the next year"),
    ("next Tuesday | the hall", "add a time of day"),
    ("Tuesday 7pm | " + "x" * 121, "120 characters"),
    ("0001-01-01 00:00 | the hall", "Please say when, then where"),  # before any time zone's first day
    # ... and with a zone typed, where dateparser itself overflows (a second reviewer's)
    ("01/01/0001 GMT+14 | the hall", "Please say when, then where"),
    ("31/12/9999 23:59 EST | the hall", "Please say when, then where"),
])
def test_anything_not_clearly_a_time_and_a_place_gets_a_kind_reason(typed, problem):
    with pytest.raises(UsageError, match=problem):
        plan(typed)


def test_a_line_full_of_at_is_not_parsed_once_per_at(monkeypatch):
    """Each way of splitting WHEN from WHERE is a dateparser call (up to some 10 ms on a long line): a
    200-character line of "1 at 1 at ..." took 0.3 s of the event loop. Only the last few ` at `s are tried,
    and the time-then-place reading tries only short beginnings of the line."""
    from dateparser.date import DateDataParser

    calls = []
    real = DateDataParser.get_date_data
    monkeypatch.setattr(DateDataParser, "get_date_data", lambda self, text, *a, **k: calls.append(text) or
                        real(self, text, *a, **k))
    with pytest.raises(UsageError):
        plan(("1 at " * 40)[:200])
    assert len([text for text in calls if len(text) > 60]) <= 4


def test_times_in_words():
    at = datetime(2026, 3, 10, 19, 0, tzinfo=LONDON)
    assert describe(at, NOW) == "Tuesday 10 March at 7pm"
    assert describe(at.replace(hour=10, minute=30), NOW) == "Tuesday 10 March at 10:30am"
    assert describe(at.replace(hour=12), NOW) == "Tuesday 10 March at 12 noon"
    assert describe(at.replace(year=2027), NOW) == "Wednesday 10 March 2027 at 7pm"


# --- the commands, over a real database ---------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
async def host(database, example_config, clock) -> HostBot:
    rooms = FixedRooms(frozenset({DM}), members={GROUP: frozenset({ALICE, BOB, CAROL}), OTHER: frozenset({ALICE})})
    bot = HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"], clock=clock,
                              account="@bothy:example.org", rooms=rooms, timezone=LONDON))
    for command in bot.commands():
        bot.context.commands.add(command)
    async with database.transaction() as db:  # bob started the group that GROUP is the room of
        group_id = await GroupRepository.propose(db, "Allotment club", ["gardening"], BOB, 0, False, "t0k")
        await GroupRepository.set_room(db, group_id, GROUP)
        await GroupRepository.move(db, group_id, "building", "ready")
    return bot


async def run(bot: HostBot, body: str, sender: str = ALICE, room_id: str = GROUP, role: Role = Role.MEMBER,
              encrypted: bool = True) -> Effects:
    """`body` typed in `room_id` and committed as the dispatcher would (usage problems raise)."""
    command, args = bot.context.commands.find(parse_invocation(body, "!"))
    runner, params = command.parse(args)
    effects = Effects(bot.context.account)
    ctx = CommandContext(command=command, sender=sender, room_id=room_id, event_id="$e", role=role,
                         in_dm=room_id == DM, effects=effects, templates=bot.context.templates, prefix="!",
                         params=params, encrypted=encrypted)
    await runner(ctx)
    await bot.context.work.commit(effects)
    return effects


def said(effects: Effects) -> list[tuple[str | None, str | None, str]]:
    return [(i.room_id, i.to_user, i.content["body"]) for i in effects.items if i.action == "message"]


async def outbox(host: HostBot) -> list[tuple]:
    async with host.context.store.read() as db, db.execute(
        "SELECT room_id, to_user, json_extract(content, '$.body'), tag FROM outbox WHERE action = 'message' ORDER BY id"
    ) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def posted(host: HostBot, body: str, sender: str = BOB, **kwargs) -> Effects:
    """A meetup posted, and its post delivered as the event `$post<ID>` (so reactions can find it)."""
    effects = await run(host, body, sender=sender, **kwargs)
    post = next(item for item in effects.items if item.tag)
    async with host.context.work.database.transaction() as db:
        await db.execute("INSERT INTO sent_events (event_id, tag, sent_at) VALUES (?, ?, 0)",
                         (f"$post{post.tag.split(':')[1]}", post.tag))
    return effects


def react(host: HostBot, who: str, target: str, key: str = "✅") -> Reaction:
    return received_reaction(GROUP, f"$r-{who}", who, target, key, host.context.clock.ms())


async def test_a_group_creator_posts_a_meetup_with_its_calendar_file(host):
    effects = await run(host, "!meetup add next Tuesday 7pm | Community hall", sender=BOB)
    [notice] = said(effects)
    assert notice[0] == GROUP and notice[1] is None
    assert "Meetup 1: Tuesday 10 March at 7pm, at Community hall" in notice[2] and "React ✅" in notice[2]
    assert "the day before and an hour before" in notice[2]
    assert effects.items[0].tag == "meetup:1"
    [ics] = [item for item in effects.items if item.action == "file"]
    assert ics.room_id == GROUP and ics.content["mimetype"] == "text/calendar"
    text = ics.content["text"]
    assert "DTSTART:20260310T190000Z" in text and "LOCATION:Community hall" in text and "SUMMARY:Meetup:" in text


async def test_no_calendar_file_where_the_room_is_not_encrypted(host):
    effects = await run(host, "!meetup add tomorrow 10:30 online", sender=BOB, encrypted=False)
    assert [item.action for item in effects.items] == ["message"]
    assert "the day before" not in said(effects)[0][2]  # under a day away: only the hour's reminder


async def test_only_volunteers_peer_workers_and_the_groups_creator_may_add(host):
    assert "added by volunteers, peer workers" in said(await run(host, "!meetup add tomorrow 7pm online"))[0][2]
    assert "added by volunteers" in said(await run(host, "!meetup add tomorrow 7pm online", sender=BOB,
                                                   room_id=OTHER))[0][2]  # not bob's group
    assert "Meetup 1" in said(await run(host, "!meetup add tomorrow 7pm online", sender=VIC, room_id=OTHER,
                                        role=Role.VOLUNTEER))[0][2]
    assert "Meetup 2" in said(await run(host, "!meetup add tomorrow 8pm online", sender=SAM,
                                        role=Role.PEER_WORKER))[0][2]
    with pytest.raises(UsageError, match="in the room it's for"):
        await run(host, "!meetup add tomorrow 7pm online", sender=VIC, room_id=DM, role=Role.VOLUNTEER)
    with pytest.raises(UsageError, match="has already passed"):
        await run(host, "!meetup add yesterday 7pm online", sender=BOB)
    command, args = host.context.commands.find(parse_invocation("!meetup add tomorrow 7pm online", "!"))
    elsewhere = CommandContext(command=command, sender=SAM, room_id=OTHER, event_id="$e", role=Role.PEER_WORKER,
                               in_dm=False, effects=Effects("@guide:example.org"), templates=host.context.templates,
                               prefix="!", params=command.parse(args)[1])
    with pytest.raises(UsageError, match=r"Meetups need @bothy:example\.org in the room"):
        await host.meetups.add(elsewhere)  # answered by another bot's account: the host's isn't in the room
    assert [m.id for m in await host.meetups.repository.upcoming({GROUP, OTHER}, 0)] == [1, 2]


async def test_going_by_reaction_or_command_and_stepping_back(host):
    await posted(host, "!meetup add next Tuesday 7pm | Community hall")
    effects = Effects(host.context.account)
    assert await host.on_reaction(react(host, ALICE, "$post1", "✅\ufe0f"), effects)
    await host.context.work.commit(effects)
    assert not await host.on_reaction(react(host, CAROL, "$post1", "👍"), Effects(host.context.account))
    assert not await host.on_reaction(react(host, CAROL, "$unrelated"), Effects(host.context.account))
    answer = said(await run(host, "!meetup going 1", sender=CAROL, room_id=DM))
    assert answer == [(DM, None, answer[0][2])] and "you're down as going to meetup 1" in answer[0][2]
    assert await going(host, 1) == [ALICE, CAROL]
    assert "1: Tuesday 10 March at 7pm, at Community hall. 2 going" in said(await run(host, "!meetups"))[0][2]

    await run(host, "!meetup not going 1", sender=ALICE, room_id=DM)
    assert await going(host, 1) == [CAROL]
    listed = said(await run(host, "!meetups", room_id=DM))[0][2]
    assert "in your rooms" in listed and f"({GROUP}). 1 going" in listed
    assert "couldn't find a meetup" in said(await run(host, "!meetup going 9", room_id=DM))[0][2]
    assert "No meetups are planned here" in said(await run(host, "!meetups", room_id=OTHER))[0][2]


async def taken_back(host: HostBot, room_id: str, reaction: str, sender: str = ALICE) -> None:
    effects = Effects(host.context.account)
    await host.on_redaction(Redaction(room_id, f"$redaction-{reaction}", sender, reaction), effects)
    await host.context.work.commit(effects)


async def test_taking_back_the_going_reaction_steps_back(host):
    """RSVP by reaction: the reactions are the list the room sees, so a ✅ clicked again (Element redacts it) is not
    going; a going said in words is kept until said otherwise, unless a ✅ came after it and was taken back (a
    reviewer's, twenty-ninth session: taking back the ✅ kept the member down as going and told of a cancellation)."""
    await posted(host, "!meetup add next Tuesday 7pm | Community hall")
    for who in (ALICE, CAROL):
        effects = Effects(host.context.account)
        assert await host.on_reaction(react(host, who, "$post1"), effects)
        await host.context.work.commit(effects)
    await run(host, "!meetup going 1", sender=BOB, room_id=DM)
    assert await going(host, 1) == [ALICE, BOB, CAROL]

    await taken_back(host, OTHER, f"$r-{ALICE}")  # a redaction naming it from another room changes nothing
    await taken_back(host, DM, f"$r-{ALICE}")
    await taken_back(host, GROUP, "$unrelated")
    # Nor does one from someone else: a homeserver takes a redaction from anyone in the room (a reviewer's, thirtieth)
    await taken_back(host, GROUP, f"$r-{ALICE}", sender=CAROL)
    assert await going(host, 1) == [ALICE, BOB, CAROL]
    await taken_back(host, GROUP, f"$r-{ALICE}")
    await taken_back(host, GROUP, f"$r-{ALICE}")  # replayed after a restart: the same
    assert await going(host, 1) == [BOB, CAROL]

    await run(host, "!meetup going 1", sender=CAROL, room_id=DM)  # words, after her ✅: the latest says
    await taken_back(host, GROUP, f"$r-{CAROL}", sender=CAROL)
    assert await going(host, 1) == [BOB, CAROL]
    effects = Effects(host.context.account)  # and Bob's ✅ after his words can be taken back
    assert await host.on_reaction(react(host, BOB, "$post1"), effects)
    await host.context.work.commit(effects)
    await taken_back(host, GROUP, f"$r-{BOB}", sender=BOB)
    assert await going(host, 1) == [CAROL]
    assert "1: Tuesday 10 March at 7pm, at Community hall. 1 going" in said(await run(host, "!meetups"))[0][2]


async def test_a_member_outside_the_room_cannot_see_or_join_its_meetup(host):
    await run(host, "!meetup add tomorrow 7pm online", sender=VIC, room_id=OTHER, role=Role.VOLUNTEER)
    assert "couldn't find a meetup" in said(await run(host, "!meetup going 1", sender=BOB, room_id=DM))[0][2]
    assert await going(host, 1) == []


async def test_a_reaction_sent_in_another_room_naming_a_meetups_post_does_not_say_going(host):
    """Matrix does not check that a reaction's target is in the reaction's room: a ✅ sent in OTHER naming the
    post in GROUP must not put someone outside GROUP down as going (nor later DM them the room's name)."""
    await posted(host, "!meetup add next Tuesday 7pm | Community hall")
    effects = Effects(host.context.account)
    await host.on_reaction(Reaction(OTHER, "$r-sam", SAM, host.context.clock.ms(), "$post1", "✅"), effects)
    await host.context.work.commit(effects)
    assert await going(host, 1) == []


async def test_each_reminder_goes_out_once_and_never_late(host, clock):
    await posted(host, "!meetup add Saturday 7pm | the hall")  # 7 March, 19:00 (GMT)
    await posted(host, "!meetup add Saturday 8pm | the park")
    await run(host, "!meetup cancel 2", sender=BOB)
    await host.meetups.sweep()
    assert [row for row in await outbox(host) if "⏰" in row[2]] == []

    clock.at = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # a day before
    await host.meetups.sweep()
    await host.meetups.sweep()
    [day] = [row for row in await outbox(host) if "⏰" in row[2]]
    assert day[0] == GROUP and day[3] == "meetup:1"
    assert "Coming up: meetup 1 is on Saturday 7 March at 7pm, at the hall. 0 going so far" in day[2]

    clock.at = datetime(2026, 3, 7, 18, 20, tzinfo=UTC)
    await host.meetups.sweep()
    clock.at += timedelta(minutes=1)
    await host.meetups.sweep()
    reminders = [row[2] for row in await outbox(host) if "⏰" in row[2]]
    assert len(reminders) == 2 and "Meetup 1 starts in 40 minutes (Saturday 7 March at 7pm)" in reminders[1]
    assert not any("meetup 2" in r.casefold() for r in reminders)  # cancelled


async def test_a_meetup_soon_gets_only_the_hours_reminder_at_once_and_a_missed_one_is_not_sent_late(host, clock):
    await posted(host, "!meetup add in 2 minutes online")
    await posted(host, "!meetup add in 3 hours online")
    await host.meetups.sweep()
    [soon] = [row[2] for row in await outbox(host) if "⏰" in row[2]]
    assert soon.startswith("⏰ Meetup 1 starts in 2 minutes")

    clock.at += timedelta(hours=4)  # Bothy was down through meetup 2's hour before: nothing late
    await host.meetups.sweep()
    await host.meetups.sweep()
    assert len([row for row in await outbox(host) if "⏰" in row[2]]) == 1
    assert await host.meetups.repository.reminders_due(host.context.clock.ms()) == []


async def test_a_reaction_to_a_reminder_counts_too(host):
    await posted(host, "!meetup add in 30 minutes online")
    await host.meetups.sweep()
    [tag] = [row[3] for row in await outbox(host) if "⏰" in row[2]]
    async with host.context.work.database.transaction() as db:  # the reminder, delivered
        await db.execute("INSERT INTO sent_events (event_id, tag, sent_at) VALUES ('$reminder', ?, 0)", (tag,))
    effects = Effects(host.context.account)
    assert await host.on_reaction(react(host, CAROL, "$reminder"), effects)
    await host.context.work.commit(effects)
    assert await going(host, 1) == [CAROL]


async def test_cancelling_tells_the_room_and_everyone_going_once(host):
    await posted(host, "!meetup add next Tuesday 7pm | Community hall", sender=VIC, role=Role.VOLUNTEER)
    for who in (ALICE, CAROL):
        await run(host, "!meetup going 1", sender=who, room_id=DM)
    assert "couldn't find a meetup" in said(await run(host, "!meetup cancel 1", sender=ALICE))[0][2]
    effects = await run(host, "!meetup cancel 1", sender=BOB, room_id=DM)  # the group's creator
    messages = said(effects)
    assert messages[0] == (DM, None, messages[0][2]) and "Done: meetup 1" in messages[0][2]
    assert "Sorry, meetup 1 on Tuesday 10 March at 7pm is cancelled. I've let the 2 people going know." \
        in next(m[2] for m in messages if m[0] == GROUP)
    dms = {m[1]: m[2] for m in messages if m[1]}
    assert set(dms) == {ALICE, CAROL} and "has been cancelled" in dms[ALICE] and "116 123" in dms[ALICE]
    assert "couldn't find a meetup" in said(await run(host, "!meetup cancel 1", sender=SAM, role=Role.PEER_WORKER,
                                                      room_id=DM))[0][2]
    assert "No meetups are planned here" in said(await run(host, "!meetups"))[0][2]


@pytest.mark.parametrize("removed", ["left or banned", "muted"])
async def test_a_creator_no_longer_in_their_group_or_muted_there_cannot_cancel_its_meetups(host, removed):
    """The group creator's say over its meetups goes with their place in its room (a spec auditor's, thirty-third
    session); whoever added a meetup and peer workers keep theirs."""
    await posted(host, "!meetup add next Tuesday 7pm | Community hall", sender=SAM, role=Role.PEER_WORKER)
    await run(host, "!meetup going 1", sender=ALICE, room_id=DM)
    if removed == "muted":
        await host.context.rooms.set_power_level(GROUP, BOB, -1)
    else:
        host.context.rooms.members[GROUP] = frozenset({ALICE, CAROL})
    assert "couldn't find a meetup" in said(await run(host, "!meetup cancel 1", sender=BOB, room_id=DM))[0][2]
    assert (await host.meetups.repository.by_id(1)).state == "planned"
    assert "Done: meetup 1" in said(await run(host, "!meetup cancel 1", sender=SAM, role=Role.PEER_WORKER,
                                              room_id=DM))[0][2]


async def test_archiving_a_group_cancels_its_meetups_and_tells_everyone_going(host, clock):
    """An archived group's room is read-only: its meetups still to come are cancelled with it, as `!meetup cancel`
    does, in the transaction that marks it archived (a spec auditor's, thirty-third session: reminders went on into
    the archived room, `!meetups` still listed them, and nobody going was told). Other rooms' are untouched."""
    await posted(host, "!meetup add Saturday 7pm | the hall")  # 7 March 19:00
    await posted(host, "!meetup add Saturday 2pm | the park", sender=VIC, room_id=OTHER, role=Role.VOLUNTEER)
    for meetup_id in (1, 2):
        await run(host, f"!meetup going {meetup_id}", sender=ALICE, room_id=DM)
    await run(host, f"!group archive {GROUP}", sender=SAM, role=Role.PEER_WORKER, room_id=DM)
    await host.group_rooms.sweep()
    await host.group_rooms.sweep()  # once only
    assert (await host.group_rooms.repository.by_room(GROUP)).state == "archived"
    assert [(m.id, m.state) for m in (await host.meetups.repository.by_id(1), await host.meetups.repository.by_id(2))
            ] == [(1, "cancelled"), (2, "planned")]
    messages = await outbox(host)
    [told] = [row[2] for row in messages if row[1] == ALICE and "cancelled" in row[2]]
    assert "meetup 1" in told and "Saturday 7 March at 7pm" in told
    assert len([row for row in messages if row[0] == GROUP and "is cancelled" in row[2]]) == 1

    clock.at = datetime(2026, 3, 6, 19, 0, tzinfo=UTC)  # the day before
    await host.meetups.sweep()
    assert [row[0] for row in await outbox(host) if "⏰" in row[2]] == [OTHER]
    listed = said(await run(host, "!meetups", sender=ALICE, room_id=DM))[0][2]
    assert "2: Saturday 7 March at 2pm" in listed and "1: Saturday" not in listed


async def test_a_peer_worker_cancelling_a_meetup_someone_else_added_is_audited(host):
    """Staff acting on a volunteer's meetup is a staff action, audited as `!group archive` is (a spec auditor's,
    thirty-third session); cancelling one's own is not."""
    await posted(host, "!meetup add next Tuesday 7pm | Community hall", sender=VIC, role=Role.VOLUNTEER)
    await posted(host, "!meetup add next Tuesday 8pm | Community hall", sender=SAM, role=Role.PEER_WORKER)
    await run(host, "!meetup going 1", sender=ALICE, room_id=DM)
    for meetup_id in (1, 2):
        assert "Done: meetup" in said(await run(host, f"!meetup cancel {meetup_id}", sender=SAM,
                                                role=Role.PEER_WORKER, room_id=DM))[0][2]
    async with host.context.store.read() as db, db.execute(
        "SELECT actor, action, subject, detail FROM audit_log"
    ) as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [(SAM, "meetup cancel", None, "1")]


async def test_mydata_shows_and_forget_me_erases_meetups_and_going(host):
    await posted(host, "!meetup add next Tuesday 7pm | Community hall")
    await run(host, "!meetup going 1", sender=ALICE, room_id=DM)
    await run(host, "!meetup going 1", sender=BOB, room_id=DM)
    data = host.context.personal_data
    alice = await data.export(ALICE)
    assert [row["meetup_id"] for row in alice["meetup_rsvps"]] == [1]
    bob = json.dumps(await data.export(BOB))
    assert "Community hall" in bob and ALICE not in bob
    async with host.context.work.database.transaction() as db:
        await data.erase_in(db, BOB)
        await data.erase_in(db, ALICE)
    assert await data.export(ALICE) == {} and await data.export(BOB) == {}
    meetup = await host.meetups.repository.by_id(1)
    assert meetup.creator is None and meetup.going == 0  # the meetup still goes ahead


async def test_meetups_and_who_went_are_forgotten_a_month_after(host, clock):
    await posted(host, "!meetup add tomorrow 7pm online")
    await run(host, "!meetup going 1", sender=ALICE, room_id=DM)
    clock.at += timedelta(days=30)
    await host.meetups.sweep()
    assert await host.meetups.repository.by_id(1) is not None
    clock.at += timedelta(days=2)
    await host.meetups.sweep()
    assert await host.meetups.repository.by_id(1) is None and await going(host, 1) == []


async def test_going_stands_while_any_of_the_members_ticks_does(host):
    """A ✅ on the post and one on a reminder both show: taking back the later one stepped the member back though the
    other still showed them going (a reviewer's, twenty-ninth session)."""
    await posted(host, "!meetup add next Tuesday 7pm | Community hall")
    for event_id in ("$on-post", "$on-reminder", "$on-reminder"):  # the last handled again after a restart
        effects = Effects(host.context.account)
        reaction = received_reaction(GROUP, event_id, ALICE, "$post1", "✅", host.context.clock.ms())
        assert await host.on_reaction(reaction, effects)
        await host.context.work.commit(effects)
    await taken_back(host, GROUP, "$on-reminder")
    assert await going(host, 1) == [ALICE]
    await taken_back(host, GROUP, "$on-post")
    assert await going(host, 1) == []


async def test_a_check_mark_on_a_meetup_post_weeks_ahead_still_counts_after_a_month(host, clock):
    """Which bot message was which is kept 30 days (`retention.sent_events_days`): a ✅ on the post of a meetup six
    weeks ahead, made after a month, was silently no RSVP (a spec auditor's, thirty-second session). A meetup's post
    is known from when it was delivered until a month after the meetup."""
    await run(host, "!meetup add 20 April 7pm | Community hall", sender=BOB)  # posted 5 March, six weeks ahead
    repository = OutboxRepository(host.context.store)
    post = next(row for row in await repository.due(10**15) if row.tag)
    await repository.delivered(post, GROUP, "$post", clock.ms())  # as the outbox records it
    clock.at = NOW + timedelta(days=35)  # 9 April: the meetup is still 11 days away
    await forget_old_rows(host.context.store, Retention(), clock.ms())  # the nightly retention sweep
    effects = Effects(host.context.account)
    await host.on_reaction(react(host, ALICE, "$post"), effects)
    await host.context.work.commit(effects)
    assert await going(host, 1) == [ALICE]
    clock.at = datetime(2026, 5, 21, 12, tzinfo=UTC)  # a month after the meetup: forgotten, as every tag is
    await forget_old_rows(host.context.store, Retention(), clock.ms())
    assert await host.context.sent_tags.tag_of("$post") is None
