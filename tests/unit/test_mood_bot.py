"""The mood bot over a real database: answers typed or reacted, the prompt, the weather, sharing, reports."""

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bothy.clock import FixedClock
from bothy.matrix.adapter import MatrixError
from bothy.matrix.events import Membership
from bothy.outbox import Effects
from bothy.testing import STAFF_ROOM, FixedRooms, bot_context, received_reaction
from bots.facts import ENERGY
from bots.installed import INSTALLATION
from bots.mood import chart
from bots.mood.bot import MoodBot
from bots.mood.policy import local_day
from bots.mood.storage import MoodRepository
from commands.framework import CommandContext, Role, parse_invocation

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
GROUP, SMALL, DM, HANGOUT = "!group:example.org", "!small:example.org", "!dm:example.org", "!low:example.org"
MEMBERS = [f"@m{n}:example.org" for n in range(6)]
ALICE = MEMBERS[0]


def mood_bot(database, example_config, clock=None) -> MoodBot:
    settings = replace(example_config.bot_settings["mood"], hangout_rooms={"low": "#low:example.org"})
    rooms = FixedRooms(frozenset({DM}), members={GROUP: frozenset(MEMBERS[:5]), SMALL: frozenset(MEMBERS[:2]),
                                                 STAFF_ROOM: frozenset(MEMBERS), HANGOUT: frozenset()},
                       aliases={"#low:example.org": HANGOUT})
    return MoodBot(bot_context(database, INSTALLATION, settings, clock=clock or FixedClock(NOW), rooms=rooms,
                               direct_rooms=frozenset({DM})))


async def command(bot: MoodBot, sender: str, body: str, room_id: str = DM, role: Role = Role.MEMBER,
                  encrypted: bool = True) -> Effects:
    registry = {c.name: c for c in bot.commands()}
    invocation = parse_invocation(body, "!")
    name = " ".join(invocation.words[:2]) if " ".join(invocation.words[:2]) in registry else invocation.words[0]
    found = registry[name]
    run, params = found.parse(invocation.raw_args[len(name.split()):])
    effects = Effects(bot.context.account)
    await run(CommandContext(command=found, sender=sender, room_id=room_id, event_id="$c", role=role,
                             in_dm=room_id == DM, in_staff_room=room_id == STAFF_ROOM, effects=effects,
                             templates=bot.context.templates, prefix="!",
                             params=params, encrypted=encrypted))
    await bot.context.work.commit(effects)
    return effects


async def outbox(database) -> list[tuple]:
    async with database.read() as db, db.execute(
        "SELECT room_id, to_user, action, content, tag, target_event_id FROM outbox ORDER BY id"
    ) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_five_answers_make_one_weather_notice_with_the_tally_and_no_names(database, example_config):
    bot = mood_bot(database, example_config)
    for member, mood in zip(MEMBERS[:5], [1, 3, 3, 4, 5], strict=True):
        await command(bot, member, f"!mood {mood}")
    await command(bot, ALICE, "!mood 2")  # replaces Alice's 1
    await command(bot, ALICE, "!energy low")
    assert await bot.weather() == 1
    assert await bot.weather() == 0  # the day is frozen: no second post
    posts = [row for row in await outbox(database) if row[0] == GROUP]
    assert len(posts) == 1
    body = json.loads(posts[0][3])["body"]
    assert "5 anonymous answers" in body and "😞 0   🙁 1   😐 2   🙂 1   😄 1" in body and "🪫 1" in body
    assert not any(member in body for member in MEMBERS)
    assert not [row for row in await outbox(database) if row[0] in {SMALL, STAFF_ROOM}]  # two answers; staff room


async def test_a_run_with_nothing_to_show_leaves_the_day_open_for_the_weather(database, example_config):
    """On an interval schedule the first run came before anyone answered and closed the day empty: five answers then
    never made a weather (a spec auditor's, thirty-first session)."""
    bot = mood_bot(database, example_config)
    assert await bot.weather() == 0
    for member, mood in zip(MEMBERS[:4], [1, 3, 3, 4], strict=True):
        await command(bot, member, f"!mood {mood}")
    assert await bot.weather() == 0
    await command(bot, MEMBERS[4], "!mood 5")
    assert await bot.weather() == 1
    await command(bot, MEMBERS[5], "!mood 2")
    assert await bot.weather() == 0  # shown once: the day is closed now
    assert len([row for row in await outbox(database) if row[0] == GROUP]) == 1


async def test_today_s_anonymous_answer_is_in_mydata_and_goes_with_forget_me(database, example_config):
    """The answer holds no user ID, but until midnight the day's key finds it, as the bot does on every answer:
    `!forget me` takes it back at once (a review found it left to count in the evening's weather)."""
    bot = mood_bot(database, example_config)
    for member, mood in zip(MEMBERS[:5], [1, 3, 3, 4, 5], strict=True):
        await command(bot, member, f"!mood {mood}")
    personal = bot.context.personal_data

    exported = (await personal.export(ALICE))["mood_answers"]
    day = local_day(bot.context.clock.ms(), bot.context.timezone)
    assert {(row["day"], row["room_id"], row["mood"]) for row in exported} == {
        (day, None, 1), (day, GROUP, 1), (day, SMALL, 1)}
    assert (await personal.erase(ALICE))["mood_answers"] == 3
    assert "mood_answers" not in await personal.export(ALICE)
    assert "mood_answers" in await personal.export(MEMBERS[1])  # everyone else's answers stay
    assert await bot.weather() == 0  # four answers left in the group: fewer than the five it takes to post


@pytest.mark.parametrize(("key", "energy"), [
    ("🪫", "low"),
    ("⚡\ufe0f", "high"),  # some clients add the emoji variation selector
    ("⚡\ufe0e", "high"),  # or the text one
])
async def test_a_reaction_to_the_prompt_is_recorded_then_redacted(database, example_config, key, energy):
    bot = mood_bot(database, example_config)
    await command(bot, ALICE, "!mood on")
    assert await bot.prompt_sweep() == 1
    assert await bot.prompt_sweep() == 0  # once a day
    day = local_day(bot.context.clock.ms(), bot.context.timezone)
    assert (await outbox(database))[-1][4] == f"mood_prompt:{day}"
    async with database.transaction() as db:
        await db.execute("INSERT INTO sent_events VALUES ('$prompt', ?, 0)", (f"mood_prompt:{day}",))
    effects = Effects(bot.context.account)
    reaction = received_reaction(DM, "$r", ALICE, "$prompt", key)
    assert await bot.on_reaction(reaction, effects)
    await bot.context.work.commit(effects)
    assert [row[2] for row in await outbox(database)][-2:] == ["redaction", "message"]
    assert await bot.context.facts.get(ENERGY, ALICE) == energy
    async with database.read() as db:
        assert await db.execute_fetchall("SELECT energy FROM mood_answers WHERE room_id = ?", (GROUP,)) == [(energy,)]
    assert GROUP not in await bot.repository.tallies(day)  # an energy alone is not in the weather


async def test_the_weather_shows_only_moods_and_their_energies_never_an_energy_counted_as_a_contributor(
    database, example_config
):
    """Four energies and one mood were five contributors: the weather showed one person's mood as the room's, and two
    rooms' figures could be subtracted to one member's mood (a spec auditor's, thirty-second session)."""
    bot = mood_bot(database, example_config)
    members = [f"@m{number}:example.org" for number in range(5)]
    day = local_day(bot.context.clock.ms(), bot.context.timezone)
    async with database.transaction() as db:
        await MoodRepository.answer(db, members[0], day, [GROUP], mood=1, energy="low")
        for member in members[1:]:
            await MoodRepository.answer(db, member, day, [GROUP], energy="medium")
    assert (await bot.repository.tallies(day))[GROUP].contributors == 1 and await bot.weather() == 0
    async with database.transaction() as db:
        for member in members[1:]:
            await MoodRepository.answer(db, member, day, [GROUP], mood=4)
    tally = (await bot.repository.tallies(day))[GROUP]
    assert (tally.contributors, tally.moods, tally.energies) == (5, (1, 0, 0, 4, 0), (1, 4, 0))


async def test_the_first_mood_on_explains_what_is_kept(database, example_config):
    bot = mood_bot(database, example_config)
    await command(bot, ALICE, "!mood on")
    await command(bot, ALICE, "!mood on")
    first, second = [json.loads(row[3])["body"] for row in await outbox(database)]
    assert "What is kept" in first and "24 hours" in first and "116 123" in first
    assert "What is kept" not in second


async def test_a_shared_low_spell_alerts_once(database, example_config):
    day_ms = 86_400_000
    clock = FixedClock(NOW)
    bot = mood_bot(database, example_config, clock)
    await command(bot, ALICE, "!mood share on")
    for n in range(4):
        clock.at = datetime.fromtimestamp(NOW.timestamp() + n * day_ms / 1000, UTC)
        await command(bot, ALICE, "!mood 1")
    alerts = [row for row in await outbox(database) if row[0] == STAFF_ROOM]
    assert len(alerts) == 1 and ALICE in json.loads(alerts[0][3])["body"]
    await command(bot, ALICE, "!mood share off")
    assert await bot.repository.shared_history(ALICE, 0) == {}


async def test_turning_sharing_off_closes_the_open_alert_built_on_it(database, example_config):
    """"mood share off stops this and deletes what was shared": the open alert naming her stayed in `!alerts`, and a
    later ✅ still told her someone would message (a reviewer's, twenty-ninth session)."""
    bot = mood_bot(database, example_config)
    await command(bot, ALICE, "!mood share on")
    await command(bot, ALICE, "!mood 1")
    [alert] = await bot.context.alerts.not_done()
    assert (alert.kind, alert.subject_user) == ("mood_shared", ALICE)
    async with database.transaction() as db:  # the alert has been tried: the staff room may have seen it
        await db.execute("UPDATE outbox SET attempted_at = created_at WHERE alert_id = ?", (alert.id,))
    await command(bot, ALICE, "!mood share off")
    assert await bot.context.alerts.not_done() == []
    assert (await bot.context.alerts.repository.by_id(alert.id)).subject_user is None
    [note] = [json.loads(row[3])["body"] for row in await outbox(database) if row[0] == STAFF_ROOM]
    assert "turned mood sharing off" in note and ALICE not in note  # and the alert itself is not sent again
    await command(bot, ALICE, "!mood share off")  # again: nothing more is said
    assert len([row for row in await outbox(database) if row[0] == STAFF_ROOM]) == 1


async def test_sharing_off_before_the_alert_went_out_means_it_never_does(database, example_config):
    """The alert waited in the outbox (an outage, a refusal, or not yet sent): turning sharing off closed it but the
    staff room was still told her mood was low, after she took her consent back (a reviewer's, thirtieth session).
    Every open alert goes, not only the newest: an older spell's stayed in `!alerts` naming her."""
    clock = FixedClock(NOW)
    bot = mood_bot(database, example_config, clock)
    await command(bot, ALICE, "!mood share on")
    await command(bot, ALICE, "!mood 1")
    clock.at = NOW + timedelta(days=1)
    await command(bot, ALICE, "!mood 4")  # a good day ends the spell
    clock.at = NOW + timedelta(days=2)
    await command(bot, ALICE, "!mood 1")
    assert len(await bot.context.alerts.not_done()) == 2
    await command(bot, ALICE, "!mood share off")
    assert await bot.context.alerts.not_done() == []
    assert [row for row in await outbox(database) if row[0] == STAFF_ROOM] == []


async def test_a_shared_answer_of_one_alerts_at_once_and_once(database, example_config):
    bot = mood_bot(database, example_config, FixedClock(NOW))
    await command(bot, ALICE, "!mood share on")
    await command(bot, ALICE, "!mood 4")
    assert [row for row in await outbox(database) if row[0] == STAFF_ROOM] == []
    await command(bot, ALICE, "!mood 1")  # the same day: the answer changes, and it is the lowest
    await command(bot, ALICE, "!mood 1")
    alerts = [row for row in await outbox(database) if row[0] == STAFF_ROOM]
    assert len(alerts) == 1 and ALICE in json.loads(alerts[0][3])["body"]


async def test_an_archived_group_counts_no_answers_and_gets_no_weather(database, example_config):
    """Read-only, its last word said: the evening notice was refused there and set aside every day, and answers were
    counted for it (a reviewer's, twenty-ninth session). The host bot says which rooms hold archived groups."""
    from bots.host.bot import HostBot

    bot = mood_bot(database, example_config)
    HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"], facts=bot.context.facts))
    for member, mood in zip(MEMBERS[:5], [1, 3, 3, 4, 5], strict=True):
        await command(bot, member, f"!mood {mood}")  # the morning: the group is still open
    async with database.transaction() as db:  # then `!group archive`, and its sweep finished
        await db.execute(
            "INSERT INTO group_rooms (name, slug, tags, creator, created_at, state, sensitive, listed, token, room_id)"
            " VALUES ('Allotment club', 'allotment-club', 'gardening', NULL, 0, 'archived', 0, 0, 'abc', ?)", (GROUP,))
    bot.context.rooms.members[GROUP] = frozenset(MEMBERS)  # a sixth member, in the archived room
    await command(bot, MEMBERS[5], "!mood 2")
    assert await bot.weather() == 0
    assert not [row for row in await outbox(database) if row[0] == GROUP]
    async with database.read() as db, db.execute("SELECT COUNT(*) FROM mood_answers WHERE room_id = ?",
                                                 (GROUP,)) as cursor:
        assert (await cursor.fetchone())[0] == 5  # hers is not counted there


async def test_the_report_is_a_png_chart_with_a_summary(database, example_config):
    bot = mood_bot(database, example_config)
    for member in MEMBERS[:5]:
        await command(bot, member, "!mood 4")
    await bot.weather()
    await command(bot, "@sam:example.org", f"!mood report {GROUP}", room_id=STAFF_ROOM, role=Role.PEER_WORKER)
    file, summary = (await outbox(database))[-2:]
    content = json.loads(file[3])
    assert file[2] == "file" and content["mimetype"] == "image/png" and content["base64"].startswith("iVBORw0KGgo")
    assert "8 weeks" in json.loads(summary[3])["body"]


async def test_a_chart_that_cannot_be_drawn_leaves_the_words_and_says_so(database, example_config, monkeypatch):
    """The chart is drawn by a child process; if that fails the peer worker still gets the figures in words."""
    bot = mood_bot(database, example_config)
    for member in MEMBERS[:5]:
        await command(bot, member, "!mood 4")
    await bot.weather()
    before = len(await outbox(database))
    monkeypatch.setattr(chart.sys, "executable", "/bin/false")  # a child that exits at once, failing
    await command(bot, "@sam:example.org", f"!mood report {GROUP}", room_id=STAFF_ROOM, role=Role.PEER_WORKER)
    (summary,) = (await outbox(database))[before:]
    body = json.loads(summary[3])["body"]
    assert summary[2] == "message" and "couldn't draw the chart just now" in body and "4-week average" in body


@pytest.mark.parametrize("room_id", [STAFF_ROOM, DM])
async def test_the_report_in_a_room_that_is_not_encrypted_has_no_chart_and_says_why(database, example_config,
                                                                                     room_id):
    """A chart there could never be sent, and once held back every later alert to the room: words only."""
    bot = mood_bot(database, example_config)
    for member in MEMBERS[:5]:
        await command(bot, member, "!mood 4")
    await bot.weather()
    before = len(await outbox(database))
    await command(bot, "@sam:example.org", f"!mood report {GROUP}", room_id=room_id, role=Role.PEER_WORKER,
                  encrypted=False)
    (summary,) = (await outbox(database))[before:]
    body = json.loads(summary[3])["body"]
    assert summary[:3] == (room_id, None, "message") and "8 weeks" in body
    assert "only share the chart in encrypted rooms" in body and "4-week average" in body


@pytest.mark.parametrize("reference", ["Knitting Circle", "knitting  circle"])
async def test_the_report_finds_a_room_by_its_name_too(database, example_config, reference):
    """PRODUCT.md's `!mood report [room]`: the listing shows names, so a peer worker may type one."""
    bot = mood_bot(database, example_config)
    bot.context.rooms.names[GROUP] = "Knitting Circle"
    for member in MEMBERS[:5]:
        await command(bot, member, "!mood 4")
    await bot.weather()
    await command(bot, "@sam:example.org", f"!mood report {reference}", room_id=STAFF_ROOM, role=Role.PEER_WORKER)
    file, summary = (await outbox(database))[-2:]
    assert file[2] == "file" and "Knitting Circle" in json.loads(summary[3])["body"]


async def test_the_list_of_rooms_with_figures_is_short_latest_first_and_says_how_many_more(database,
                                                                                           example_config):
    """Every room with figures was listed, and room names are members' words: some 300 rooms (90 with names full
    of emoji and "&") made a reply over an event's 64 KiB, refused by the homeserver (a second reviewer's)."""
    bot = mood_bot(database, example_config)
    today = local_day(bot.context.clock.ms(), bot.context.timezone)
    async with database.transaction() as db:
        for number in range(300):
            room_id = f"!r{number:03}:example.org"
            bot.context.rooms.names[room_id] = f"{number} " + "🌿&<" * 30
            await db.execute("INSERT INTO mood_days VALUES (?, ?, 5, 0, 0, 0, 5, 0, 0, 0, 0)",
                             (room_id, today - number // 10))
    effects = await command(bot, "@sam:example.org", "!mood report", room_id=STAFF_ROOM, role=Role.PEER_WORKER)
    content = effects.items[0].content
    listed = [line for line in content["body"].splitlines() if line.startswith("- ")]
    assert len(listed) == 30 and listed[0].startswith("- 0 ") and "…and 270 more" in content["body"]
    assert len(json.dumps(content, ensure_ascii=False).encode()) < 32 * 1024  # encrypted, a third more


async def test_hangout_rooms_welcome_once_and_prompt_in_turn(database, example_config):
    bot = mood_bot(database, example_config)
    await bot.start()
    for _ in range(2):
        effects = Effects(bot.context.account)
        await bot.on_membership(Membership(HANGOUT, ALICE, "join"), effects)
        await bot.context.work.commit(effects)
    welcomes = [row for row in await outbox(database) if row[1] == ALICE]
    assert len(welcomes) == 1 and "reading along" in json.loads(welcomes[0][3])["body"]
    assert await bot.hangout_prompts() == 1
    assert await bot.hangout_prompts() == 0  # prompted recently
    assert "colour of your day" in json.loads((await outbox(database))[-1][3])["body"]
    await command(bot, ALICE, "!energy low")
    await command(bot, ALICE, "!hangout")
    assert "#low:example.org" in json.loads((await outbox(database))[-1][3])["body"]


async def test_a_new_name_or_picture_in_a_hang_out_room_is_no_arrival(database, example_config):
    """A join after a join is a profile change: welcomed again months in, after an erase, in a new DM (a
    reviewer's, twenty-ninth session)."""
    bot = mood_bot(database, example_config)
    await bot.start()
    effects = Effects(bot.context.account)
    await bot.on_membership(Membership(HANGOUT, ALICE, "join", previous="join"), effects)
    await bot.context.work.commit(effects)
    assert [row for row in await outbox(database) if row[1] == ALICE] == []


async def test_hangout_with_an_energy_that_has_no_space_does_not_ask_for_the_energy_again(database, example_config):
    bot = mood_bot(database, example_config)  # only a low-energy space is set up
    await command(bot, ALICE, "!energy high")
    await command(bot, ALICE, "!hangout")
    said = json.loads((await outbox(database))[-1][3])["body"]
    assert "isn't a space for high energy yet" in said and "Tell me your energy" not in said


async def last_body(database) -> str:
    return json.loads((await outbox(database))[-1][3])["body"]


async def test_hangout_invite_invites_to_the_space_that_fits_and_answers_kindly_when_it_cannot(database,
                                                                                            example_config):
    bot = mood_bot(database, example_config)
    await command(bot, ALICE, "!hangout invite")
    assert "!energy low|medium|high" in await last_body(database) and bot.context.room_maker.calls == []

    await command(bot, ALICE, "!energy low")
    await command(bot, ALICE, "!hangout invite")
    assert bot.context.room_maker.calls == [("invite", HANGOUT, ALICE)]
    assert "I've invited you to the low-energy" in await last_body(database)

    bot.context.rooms.members[HANGOUT] = frozenset({ALICE})
    await command(bot, ALICE, "!hangout invite")
    assert "already in the low-energy" in await last_body(database) and len(bot.context.room_maker.calls) == 1

    async def refused(room_id: str, user_id: str) -> None:
        raise MatrixError("invite: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")

    bot.context.rooms.members[HANGOUT] = frozenset()
    bot.context.room_maker.invite = refused
    await command(bot, ALICE, "!hangout invite")
    body = await last_body(database)
    assert "couldn't invite you" in body and "https://matrix.to/#/#low:example.org" in body

    await command(bot, MEMBERS[1], "!energy high")
    await command(bot, MEMBERS[1], "!hangout invite")
    assert "isn't a high-energy hang-out space" in await last_body(database)


async def test_an_answer_arriving_while_the_weather_reads_cannot_let_two_rooms_subtract_to_one_person(
        database, example_config, monkeypatch):
    """The tallies and the overlaps between rooms must come from the same answers: an answer counted in the
    overlap but not in the tallies made a room holding one extra person look contained in the other."""
    from bots.mood.storage import MoodRepository

    bot = mood_bot(database, example_config)
    day = local_day(bot.context.clock.ms(), bot.context.timezone)
    async with database.transaction() as db:
        for n in range(5):
            await MoodRepository.answer(db, f"@b{n}:example.org", day, {GROUP, SMALL}, mood=3)
        await MoodRepository.answer(db, "@alone:example.org", day, {GROUP}, mood=1)  # GROUP - SMALL: only them
    real = bot.repository.answered_elsewhere

    async def answered_elsewhere_with_an_answer_meanwhile(*args, **kwargs):
        # Between the weather's reads, another member in both rooms answers.
        async with database.transaction() as db:
            await MoodRepository.answer(db, "@late:example.org", day, {GROUP, SMALL}, mood=5)
        return await real(*args, **kwargs)

    monkeypatch.setattr(bot.repository, "answered_elsewhere", answered_elsewhere_with_an_answer_meanwhile)
    assert await bot.weather() == 1
    posted = {row[0] for row in await outbox(database) if row[2] == "message"}
    assert posted == {GROUP}  # with SMALL's figures too, GROUP's minus SMALL's would be @alone's answer


async def test_a_peer_worker_typing_the_report_in_a_group_gets_that_group_s_by_dm(database, example_config):
    """PRODUCT.md's `!mood report [room]`: typed in the group, the room is the group; the answer is private."""
    bot = mood_bot(database, example_config)
    for member in MEMBERS[:5]:
        await command(bot, member, "!mood 4")
    await bot.weather()
    effects = await command(bot, "@sam:example.org", "!mood report", room_id=GROUP, role=Role.PEER_WORKER)
    file, summary = effects.items
    assert (file.action, file.to_user) == ("file", "@sam:example.org")
    assert summary.to_user == "@sam:example.org" and "8 weeks" in summary.content["body"]


async def test_a_low_answer_changed_and_changed_back_the_same_day_alerts_once(database, example_config):
    """A reviewer's: 1, then 3, then 1 again the same day is one low spell, not two."""
    bot = mood_bot(database, example_config, FixedClock(NOW))
    await command(bot, ALICE, "!mood share on")
    for answer in ("1", "3", "1"):
        await command(bot, ALICE, f"!mood {answer}")
    assert len([row for row in await outbox(database) if row[0] == STAFF_ROOM]) == 1


async def test_two_low_answers_handled_side_by_side_alert_once(database, example_config):
    """A reaction in the DM and `!mood 1` typed in a group, handled at once: the alert is claimed in the commit."""
    bot = mood_bot(database, example_config, FixedClock(NOW))
    await command(bot, ALICE, "!mood share on")
    await asyncio.gather(command(bot, ALICE, "!mood 1"), command(bot, ALICE, "!mood 1", room_id=GROUP))
    assert len([row for row in await outbox(database) if row[0] == STAFF_ROOM]) == 1


async def test_a_member_whose_energy_is_low_gets_the_gentler_prompt_with_the_same_faces(database, example_config):
    """The spec's "prompts are gentler when low": it asks for nothing, and a face still counts as an answer."""
    bot = mood_bot(database, example_config)
    for member in MEMBERS[:4]:
        await command(bot, member, "!mood on")
    await command(bot, MEMBERS[1], "!energy low")
    await command(bot, MEMBERS[2], "!energy high")
    async with database.transaction() as db:  # said yesterday morning: no longer today's energy
        await MoodRepository.set_energy(db, MEMBERS[3], "low", bot.context.clock.ms() - 25 * 3_600_000)
    assert await bot.prompt_sweep() == 4
    day = local_day(bot.context.clock.ms(), bot.context.timezone)
    async with database.read() as db, db.execute(  # words owed alike to many are stored once
        "SELECT to_user, COALESCE(c.content, o.content), reactions FROM outbox AS o LEFT JOIN outbox_contents AS c "
        "ON c.id = o.content_id WHERE tag = ?", (f"mood_prompt:{day}",),
    ) as cursor:
        rows = await cursor.fetchall()
    prompts = {user: json.loads(content)["body"] for user, content, _ in rows}
    assert set(prompts) == set(MEMBERS[:4]) and len({reactions for *_, reactions in rows}) == 1
    assert "nothing you need to do today" in prompts[MEMBERS[1]] and "116 123" in prompts[MEMBERS[1]]
    assert all("nothing you need to do" not in prompts[member] for member in (MEMBERS[0], *MEMBERS[2:4]))


async def test_sharing_off_while_the_outbox_is_out_sending_stops_the_alert_it_has_read(database, example_config):
    """The pass had read the alert's row and was sending an earlier one when sharing was turned off: the row was
    deleted as never tried, with no note, and the pass sent its copy anyway, matched by its number, which the reply
    to "share off" had taken (a second reviewer's, thirtieth session). A row gone since it was read is not sent."""
    from bothy.outbox import OutboxDispatcher
    from bothy.storage.outbox import OutboxRepository
    from bothy.templates import Templates
    from tests.unit.test_outbox import FakeAccount, FakeDirectRooms

    bot = mood_bot(database, example_config, FixedClock(NOW))
    await command(bot, ALICE, "!mood share on")
    await command(bot, ALICE, "!mood 1")  # the alert, queued after the reply to her DM

    class Account(FakeAccount):
        user_id = bot.context.account
        withdrew = False

        async def send(self, room_id, event_type, content, txn_id):
            if not self.withdrew:  # handled while the pass is out sending the reply
                self.withdrew = True
                await command(bot, ALICE, "!mood share off")
            return await super().send(room_id, event_type, content, txn_id)

    account = Account()
    dispatcher = OutboxDispatcher(OutboxRepository(database), {account.user_id: account}, FakeDirectRooms(),
                                  bot.context.clock, Templates())
    await dispatcher.deliver_due()
    assert account.withdrew
    assert not [content for room, _, content, _ in account.sent if room == STAFF_ROOM and ALICE in content["body"]]
    # ... nor in the words of the reply that took its row's number once it was gone: that reply goes, as itself
    assert len([room for room, _, _, _ in account.sent if room == DM]) == 3
