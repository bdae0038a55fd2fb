"""The check-in bot over a real database: who it reaches, and what it forgets."""

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bothy.clock import FixedClock
from bothy.matrix.events import Membership, Message, Receipt
from bothy.outbox import Effects
from bothy.staff_hours import StaffHours, parse_staff_hours
from bothy.storage.outbox import OutboxRepository
from bothy.testing import bot_context, received_reaction
from bots.checkin.bot import CheckinBot
from bots.checkin.storage import CheckinRepository
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role, UsageError

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY_MS = 86_400_000
ALICE, BOB, SAM = "@alice:example.org", "@bob:example.org", "@sam:example.org"
GROUP, OTHER = "!group:example.org", "!other:example.org"


def checkin_bot(database, example_config, direct_rooms: frozenset[str] = frozenset(), now: datetime = NOW,
                staff_hours: StaffHours | None = None) -> CheckinBot:
    settings = example_config.bot_settings["checkin"]
    settings = replace(settings, checkin=replace(settings.checkin, quiet_hours=(0, 0)))
    return CheckinBot(bot_context(database, INSTALLATION, settings, clock=FixedClock(now), direct_rooms=direct_rooms,
                                  staff_hours=staff_hours))


async def handle(bot: CheckinBot, event: Message | Membership) -> None:
    effects = Effects(bot.context.account)
    if isinstance(event, Message):
        await bot.on_message(event, effects)
    else:
        await bot.on_membership(event, effects)
    await bot.context.work.commit(effects)


async def checkin_asked(bot: CheckinBot, member: str, sender: str = SAM, commit: bool = True) -> Effects:
    """`!checkin MEMBER` from a peer worker in the staff room; committed unless told not to."""
    command = next(c for c in bot.commands() if c.name == "checkin")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=sender, room_id="!staff", event_id=f"${sender}",
                                     role=Role.PEER_WORKER, in_dm=False, effects=effects,
                                     templates=bot.context.templates, prefix="!", params={"user": member}))
    if commit:
        await bot.context.work.commit(effects)
    return effects


async def rows(database, table: str) -> list[tuple]:
    async with database.read() as db, db.execute(f"SELECT user_id, room_id FROM {table} ORDER BY 1, 2") as cursor:
        return list(await cursor.fetchall())


async def test_a_member_who_leaves_or_is_banned_is_forgotten_there_and_never_checked_in(database, example_config):
    bot = checkin_bot(database, example_config)
    long_ago = bot.context.clock.ms() - 30 * DAY_MS
    for n, (user, room) in enumerate([(ALICE, GROUP), (BOB, GROUP), (BOB, OTHER)]):
        await handle(bot, Message(room, f"$m{n}", user, "hello", long_ago, "m.text", True))

    await handle(bot, Membership(GROUP, ALICE, "leave"))
    await handle(bot, Membership(GROUP, BOB, "ban"))
    await handle(bot, Membership(OTHER, BOB, "join"))
    assert await rows(database, "presence") == [(BOB, OTHER)]
    assert await rows(database, "activity") == [(BOB, OTHER)]

    assert await bot.sweep() == 1
    async with database.read() as db, db.execute("SELECT user_id FROM checkins") as cursor:
        assert await cursor.fetchall() == [(BOB,)]  # still in a community room; Alice is in none


async def test_a_member_whose_energy_is_low_gets_the_gentlest_check_in(database, example_config):
    from bothy.facts import MemberFacts
    from bots.facts import ENERGY

    facts = MemberFacts()

    async def energy(user_id: str) -> str | None:
        return "low" if user_id == BOB else None

    facts.provide(ENERGY, energy)
    settings = example_config.bot_settings["checkin"]
    settings = replace(settings, checkin=replace(settings.checkin, quiet_hours=(0, 0)))
    bot = CheckinBot(bot_context(database, INSTALLATION, settings, clock=FixedClock(NOW), facts=facts))
    long_ago = bot.context.clock.ms() - 30 * DAY_MS
    for n, user in enumerate((ALICE, BOB)):
        await handle(bot, Message(GROUP, f"$m{n}", user, "hello", long_ago, "m.text", True))
    assert await bot.sweep() == 2
    async with database.read() as db, db.execute("SELECT to_user, content FROM outbox ORDER BY to_user") as cursor:
        bodies = {user: content for user, content in await cursor.fetchall()}
    assert "no need to reply" in bodies[BOB] and "energy is low" in bodies[BOB]
    assert "energy is low" not in bodies[ALICE]
    # It carries the three reactions, so it says what each does (🔕 pauses them for a month: a spec auditor's)
    gentle = json.loads(bodies[BOB])["body"]
    assert all(key in gentle for key in ("👍 I'm OK", "💬 I'd like a chat", "🔕 pause these for a month"))


async def answer_checkin(bot: CheckinBot, key: str) -> Effects:
    """BOB, quiet for a month, is checked in with and answers with `key`."""
    from bothy.storage.outbox import OutboxRepository

    long_ago = bot.context.clock.ms() - 30 * DAY_MS
    await handle(bot, Message(GROUP, "$m", BOB, "hello", long_ago, "m.text", True))
    assert await bot.sweep() == 1
    [checkin] = [row for row in await OutboxRepository(bot.context.store).due(10**15) if row.tag]
    await OutboxRepository(bot.context.store).delivered(checkin, "!dm", "$checkin", 0)
    effects = Effects(bot.context.account)
    assert await bot.on_reaction(received_reaction("!dm", "$answer", BOB, "$checkin", key), effects)
    await bot.context.work.commit(effects)
    return effects


async def test_asking_for_a_chat_outside_staff_hours_says_honestly_when_someone_is_back(database, example_config):
    """PRODUCT.md: outside staff.hours, members who ask for a chat (💬 on a check-in too) hear when."""
    monday_evening = NOW.replace(hour=20)
    bot = checkin_bot(database, example_config, frozenset({"!dm"}), monday_evening,
                      parse_staff_hours("09:00-17:00 mon-fri"))
    effects = await answer_checkin(bot, "💬")
    [alert] = [item for item in effects.items if item.alert is not None]
    [reply] = [item for item in effects.items if item.room_id == "!dm" and item.action == "message"]
    assert "outside staff hours" in alert.content["body"] and BOB in alert.content["body"]
    assert "back tomorrow at 09:00" in reply.content["body"] and "116 123" in reply.content["body"]


async def test_asking_for_a_chat_in_staff_hours_says_someone_will_be_in_touch(database, example_config):
    bot = checkin_bot(database, example_config, frozenset({"!dm"}), NOW, parse_staff_hours("09:00-17:00 mon-fri"))
    effects = await answer_checkin(bot, "💬")
    [reply] = [item for item in effects.items if item.room_id == "!dm" and item.action == "message"]
    assert "who will be in touch" in reply.content["body"] and "back" not in reply.content["body"]


async def test_an_answer_counts_whether_or_not_the_client_adds_the_emoji_variation_selector(database, example_config):
    """Some clients send 👍 with U+FE0F; the check-in's own option has none: the same answer."""
    await answer_checkin(checkin_bot(database, example_config, direct_rooms=frozenset({"!dm"})), "👍\ufe0f")
    async with database.read() as db, db.execute("SELECT answer FROM checkins") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [("ok",)]


async def test_sweeps_that_overlap_check_a_member_in_once(database, example_config):
    """The start-up catch-up and the scheduled run, say: both read Bob as due before either wrote. The gap is read
    again in the write, so the second finds Bob's check-in and adds none."""
    bot = checkin_bot(database, example_config)
    await handle(bot, Message(OTHER, "$m", BOB, "hello", bot.context.clock.ms() - 30 * DAY_MS, "m.text", True))
    assert sorted(await asyncio.gather(bot.sweep(), bot.sweep())) == [0, 1]
    assert len([row for row in await OutboxRepository(database).due(10**15) if row.to_user == BOB]) == 1


async def test_a_check_in_asked_for_while_a_sweep_runs_is_the_only_one(database, example_config):
    bot = checkin_bot(database, example_config)
    await handle(bot, Message(OTHER, "$m", BOB, "hello", bot.context.clock.ms() - 30 * DAY_MS, "m.text", True))
    read_last_checkins = bot.repository.last_checkins

    async def peer_worker_asks_just_after_the_sweep_read() -> dict[str, int]:
        last = await read_last_checkins()
        await checkin_asked(bot, BOB)
        return last

    bot.repository.last_checkins = peer_worker_asks_just_after_the_sweep_read
    assert await bot.sweep() == 0
    assert len([row for row in await OutboxRepository(database).due(10**15) if row.to_user == BOB]) == 1


async def test_a_time_in_the_far_future_is_taken_as_now(database, example_config):
    """Another server sets its own events' times: one dated years ahead must not keep a member "active" for ever."""
    bot = checkin_bot(database, example_config)
    ten_years_on = bot.context.clock.ms() + 3650 * DAY_MS
    await handle(bot, Message(GROUP, "$m", BOB, "hello", ten_years_on, "m.text", True))
    a_month_later = checkin_bot(database, example_config, now=datetime(2026, 4, 1, 12, 0, tzinfo=UTC))
    assert await a_month_later.sweep() == 1  # quiet for a month, as he is


async def chat_alerts(database) -> int:
    async with database.read() as db, db.execute("SELECT COUNT(*) FROM alerts WHERE kind = 'checkin_chat'") as cursor:
        return (await cursor.fetchone())[0]


async def test_tapping_chat_again_and_again_on_one_check_in_raises_one_alert(database, example_config):
    """💬, 👍, 💬, ... raised an alert for each 💬: only the answer stored then was compared (a reviewer's)."""
    bot = checkin_bot(database, example_config, frozenset({"!dm"}))
    await answer_checkin(bot, "💬")
    for number, key in enumerate(["👍", "💬"] * 4):
        effects = Effects(bot.context.account)
        assert await bot.on_reaction(received_reaction("!dm", f"$again{number}", BOB, "$checkin", key), effects)
        await bot.context.work.commit(effects)
    assert await chat_alerts(database) == 1


async def test_a_sweep_leaves_out_a_member_who_turned_check_ins_off_or_was_erased_while_it_ran(database,
                                                                                            example_config):
    """The sweep read who may be checked in, then waited on each member's energy (another bot's, read from the
    database), then wrote: `!checkins off` or `!forget me` committed meanwhile was overridden (a reviewer's)."""
    from bothy.facts import MemberFacts
    from bots.checkin.storage import CheckinRepository
    from bots.facts import ENERGY

    facts = MemberFacts()
    settings = example_config.bot_settings["checkin"]
    settings = replace(settings, checkin=replace(settings.checkin, quiet_hours=(0, 0)))
    bot = CheckinBot(bot_context(database, INSTALLATION, settings, clock=FixedClock(NOW), facts=facts))
    personal = INSTALLATION.personal_data(database)

    async def energy(user_id: str) -> None:  # meanwhile, ALICE turns check-ins off and BOB is erased
        if user_id == ALICE:
            async with database.transaction() as db:
                await CheckinRepository.set_preference(db, ALICE, False, None)
        else:
            await personal.erase(BOB)

    facts.provide(ENERGY, energy)
    for member in (ALICE, BOB):
        await handle(bot, Message(GROUP, f"$m{member}", member, "hello", bot.context.clock.ms() - 30 * DAY_MS,
                                  "m.text", True))
    assert await bot.sweep() == 0
    assert await personal.export(BOB) == {}


async def test_pausing_from_an_old_check_in_keeps_check_ins_off_when_they_were(database, example_config):
    """🔕 stored "on, paused for 30 days" whatever was set before: `!checkins off` came back on a month later."""
    from bots.checkin.policy import checkins_allowed
    from bots.checkin.storage import CheckinRepository

    bot = checkin_bot(database, example_config, frozenset({"!dm"}))
    await answer_checkin(bot, "👍")
    async with database.transaction() as db:  # then `!checkins off`
        await CheckinRepository.set_preference(db, BOB, False, None)
    effects = Effects(bot.context.account)
    assert await bot.on_reaction(received_reaction("!dm", "$pause", BOB, "$checkin", "🔕"), effects)
    await bot.context.work.commit(effects)
    assert not checkins_allowed(await bot.repository.preference(BOB), bot.context.clock.ms() + 31 * DAY_MS)


async def test_pausing_from_an_old_check_in_never_shortens_a_longer_pause(database, example_config):
    """`!checkins pause 26w`, then 🔕 ("a month") on an old check-in: the six months stand (a reviewer's)."""
    from bots.checkin.policy import checkins_allowed
    from bots.checkin.storage import CheckinRepository

    bot = checkin_bot(database, example_config, frozenset({"!dm"}))
    await answer_checkin(bot, "👍")
    now = bot.context.clock.ms()
    async with database.transaction() as db:
        await CheckinRepository.set_preference(db, BOB, True, now + 182 * DAY_MS)
    effects = Effects(bot.context.account)
    assert await bot.on_reaction(received_reaction("!dm", "$pause", BOB, "$checkin", "🔕"), effects)
    await bot.context.work.commit(effects)
    assert not checkins_allowed(await bot.repository.preference(BOB), now + 60 * DAY_MS)
    assert checkins_allowed(await bot.repository.preference(BOB), now + 183 * DAY_MS)


async def test_a_check_in_asked_for_says_so_and_is_sent_once_a_day_and_never_to_a_bot(database, example_config):
    """Reviewer's findings, twenty-ninth session: two peer workers acting on `!quiet` sent the same check-in twice;
    the sweep's words ("a little quieter from you lately") went to a member who had posted an hour before; and an
    autocomplete slip queued a check-in from the bot to itself."""
    bot = checkin_bot(database, example_config)
    await handle(bot, Message(GROUP, "$m", ALICE, "hello", bot.context.clock.ms() - 3_600_000, "m.text", True))
    def said(effects: Effects) -> str:
        return next(item for item in effects.items if item.room_id == "!staff").content["body"]

    assert "I've sent" in said(await checkin_asked(bot, ALICE, SAM))
    assert f"asked for by {SAM}" in said(await checkin_asked(bot, ALICE, "@jo:example.org"))
    [dm] = [row for row in await OutboxRepository(database).due(10**15) if row.to_user == ALICE]
    assert "peer workers wanted to say hello" in dm.content["body"] and "quieter" not in dm.content["body"]
    with pytest.raises(UsageError, match="one of Bothy's own accounts"):
        await checkin_asked(bot, bot.context.account)


async def test_quiet_says_who_has_asked_for_no_check_ins(database, example_config):
    from bots.checkin.storage import CheckinRepository

    bot = checkin_bot(database, example_config)
    long_ago = bot.context.clock.ms() - 30 * DAY_MS
    for member in (ALICE, BOB):
        await handle(bot, Message(GROUP, f"$m{member}", member, "hello", long_ago, "m.text", True))
    async with database.transaction() as db:
        await CheckinRepository.set_preference(db, BOB, False, None)
    command = next(c for c in bot.commands() if c.name == "quiet")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=SAM, room_id="!staff", event_id="$q",
                                     role=Role.PEER_WORKER, in_dm=False, effects=effects,
                                     templates=bot.context.templates, prefix="!", params={"days": None}))
    listed = next(item for item in effects.items if item.room_id == "!staff").content["body"].splitlines()
    assert any(ALICE in line and "asked for no check-ins" not in line for line in listed)
    assert any(BOB in line and "asked for no check-ins" in line for line in listed)


async def test_two_check_ins_asked_for_side_by_side_send_one(database, example_config):
    """Sam in the staff room and Jo in a DM, handled side by side: both read "none today" before either committed
    (a second reviewer's). The day's limit is read again where the check-in is written."""
    bot = checkin_bot(database, example_config)
    handled = [await checkin_asked(bot, ALICE, sender, commit=False) for sender in (SAM, "@jo:example.org")]
    for effects in handled:
        await bot.context.work.commit(effects)
    assert len([row for row in await OutboxRepository(database).due(10**15) if row.to_user == ALICE]) == 1
    replies = [next(i for i in effects.items if i.room_id == "!staff").content["body"] for effects in handled]
    assert "I've sent" in replies[0] and "had a check-in" in replies[1]


async def test_a_photo_shared_without_words_is_taking_part(database, example_config):
    """Sharing a photo counts as being around (PRODUCT.md): as parsed from the homeserver it is a message with no
    text, and a member who shares one is not checked in with as gone quiet."""
    from bothy.matrix.events import message_from_event

    bot = checkin_bot(database, example_config)
    now = bot.context.clock.ms()
    await handle(bot, Message(GROUP, "$m", BOB, "hello", now - 30 * DAY_MS, "m.text", True))
    photo = message_from_event({"type": "m.room.message", "event_id": "$p", "sender": BOB, "origin_server_ts": now,
                                "content": {"msgtype": "m.image", "body": "IMG_2.jpg", "url": "mxc://x/y"}},
                               GROUP, True)
    assert photo is not None
    await handle(bot, photo)
    assert await bot.sweep() == 0


async def test_a_peer_worker_may_check_in_again_once_the_member_has_answered(database, example_config):
    """A check-in waiting unanswered holds a second one back for a day; one answered does not: "one a day" refused a
    peer worker who, after a 👍 that morning, wanted to check in again (a spec auditor's, thirty-first session)."""
    bot = checkin_bot(database, example_config, direct_rooms=frozenset({"!dm"}))
    await answer_checkin(bot, "👍")
    sent = next(i for i in (await checkin_asked(bot, BOB)).items if i.room_id == "!staff").content["body"]
    assert "I've sent" in sent
    refused = next(i for i in (await checkin_asked(bot, BOB)).items if i.room_id == "!staff").content["body"]
    assert "had a check-in" in refused and "not answered yet" in refused
    async with database.read() as db, db.execute("SELECT requested_by FROM checkins WHERE user_id = ? ORDER BY id",
                                                 (BOB,)) as cursor:
        assert await cursor.fetchall() == [(None,), (SAM,)]


async def test_a_pause_tapped_while_a_peer_worker_checks_in_is_kept(database, example_config):
    """`!checkin @bob` and Bob's 🔕 on his answered check-in, handled side by side: the command read "allowed", the 🔕
    committed a pause, and the command's own commit queued a check-in to him all the same (a second reviewer's,
    thirty-first session). His choice is read again where the check-in is written, and the peer worker told."""
    bot = checkin_bot(database, example_config, direct_rooms=frozenset({"!dm"}))
    await answer_checkin(bot, "👍")
    command = await checkin_asked(bot, BOB, commit=False)  # read before Bob's 🔕 commits
    pause = Effects(bot.context.account)
    assert await bot.on_reaction(received_reaction("!dm", "$pause", BOB, "$checkin", "🔕"), pause)
    await bot.context.work.commit(pause)
    await bot.context.work.commit(command)
    async with database.read() as db, db.execute("SELECT COUNT(*) FROM checkins WHERE user_id = ?", (BOB,)) as cursor:
        assert await cursor.fetchall() == [(1,)]
    [reply] = [item.content["body"] for item in command.items if item.room_id == "!staff"]
    assert "I've sent" not in reply and BOB in reply


async def test_a_member_still_silent_when_a_pause_ends_is_checked_in_again(database, example_config):
    """Bob last wrote 70 days ago and answered a check-in 35 days ago with 🔕: paused until 5 days ago. The activity
    counters go after nine weeks, and only members with counters were checked in: the pause he asked for became an
    opt-out for good, while `!quiet` still listed him (a spec auditor's, thirty-second session)."""
    bot = checkin_bot(database, example_config)
    now = bot.context.clock.ms()
    await handle(bot, Message(GROUP, "$m", BOB, "hello", now - 70 * DAY_MS, "m.text", True))

    async def answered_pause(db):
        [checkin_id] = await CheckinRepository.add_checkins(db, [BOB], now - 35 * DAY_MS)
        await CheckinRepository.answer(db, checkin_id, "pause", now - 35 * DAY_MS)
        await CheckinRepository.pause(db, BOB, now - 5 * DAY_MS)

    effects = Effects(bot.context.account)
    effects.record(answered_pause)
    await bot.context.work.commit(effects)
    await bot.prune()  # the daily retention of activity counters
    assert [signal.user_id for signal in await bot._signals(now)] == [BOB]
    assert await bot.sweep() == 1


@pytest.mark.parametrize(("last_read_days_ago", "checked_in"), [(30, True), (2, False)])
async def test_a_listener_is_quiet_once_they_stop_reading_too(database, example_config, last_read_days_ago,
                                                              checked_in):
    """Reading is a listener's presence: Bob has only ever read along. While he reads he is not quiet; once he has read
    nothing for `silent_after` either he is, and was never noticed (a spec auditor's, thirty-second session)."""
    bot = checkin_bot(database, example_config)
    now = bot.context.clock.ms()
    for day in range(60, last_read_days_ago - 1, -1):
        effects = Effects(bot.context.account)
        await bot.on_receipt(Receipt(GROUP, BOB, f"$e{day}", now - day * DAY_MS), effects)
        await bot.context.work.commit(effects)
    assert await bot.sweep() == int(checked_in)
    described = [signal.describe() for signal in await bot._signals(now)]
    assert described == ([f"only ever reads along, and has read nothing for {last_read_days_ago} days"]
                         if checked_in else [])
