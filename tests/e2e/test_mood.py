"""The mood bot on a real Synapse: answers by reaction and by command become one anonymous weather notice
(and none for a room with too few answers), a mood typed in a group is taken private, peer workers get a
chart, low energy makes the check-in gentlest and picks the hang-out space, and a shared low spell raises
one staff alert."""

from __future__ import annotations

import asyncio
import uuid
from zoneinfo import ZoneInfo

import aiosqlite
import nio
import pytest
import yaml

from bothy.clock import Clock
from bothy.storage.database import BUSY_TIMEOUT_MS
from bots.mood.policy import local_day
from bots.mood.storage import MoodRepository
from tests.e2e.conftest import HELP_ANSWER, BothyProcess, Homeserver, from_bot, staff_room_of, start_bothy
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e

PROMPT = "How's today feeling?"
NOTED = "Thanks, noted for today"
WEATHER = "Today's weather in here"
NEVER = "0 0 1 1 *"  # midnight on New Year's Day: not during a test
FAST_PROMPT = {"schedules": {"mood_prompt": "every 1s", "mood_weather": NEVER}}


def image_from(bot: str, room_id: str):
    def match(item: Received) -> bool:
        return item.sender == bot and item.room_id == room_id and item.content.get("msgtype") == "m.image"
    return match


async def answer_by_reaction(member: Member, bot: str, mood_key: str, energy_key: str | None = None) -> None:
    """`!mood on`, then react to the day's prompt; each reaction is recorded, then redacted."""
    dm = await member.open_dm(bot)
    await member.send(dm, "!mood on")
    await member.wait_for(from_bot(bot, dm, "Once a day I'll send you a short prompt"))
    prompt = await member.wait_for(from_bot(bot, dm, PROMPT))
    for key in (mood_key, energy_key):
        if key is None:
            continue
        mark = member.mark()
        reaction = await member.react(dm, prompt.event_id, key)
        await member.wait_for(from_bot(bot, dm, NOTED, "I've removed your reaction"), after=mark)
        assert not await member.event_exists(dm, reaction)


async def answer_by_command(member: Member, bot: str, mood: int) -> None:
    dm = await member.open_dm(bot)
    await member.send(dm, f"!mood {mood}")
    await member.wait_for(from_bot(bot, dm, NOTED, f"mood {mood}"))


async def restart_with(process: BothyProcess, schedules: dict[str, str]) -> None:
    """Bothy cannot be given a clock from outside, so a schedule is made due by restarting with it."""
    await process.stop()
    config = yaml.safe_load(process.config_path.read_text())
    config["schedules"].update(schedules)
    process.config_path.write_text(yaml.safe_dump(config))
    await process.start()


async def test_five_answers_make_one_anonymous_weather_notice_a_small_room_none_and_staff_a_chart(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "mood-weather", extra=FAST_PROMPT)
    bot = process.bot_user_id
    bob, carol, dee, eve = await asyncio.gather(*(homeserver.new_member() for _ in range(4)))
    try:
        group = await alice.create_room(invite=[bot], name="Tuesday group", moderators=(bot,))  # it may redact
        for member in (bob, carol, dee, eve):
            await alice.client.room_invite(group, member.user_id)
            assert await member.accept_invite() == group
        small = await dee.create_room(invite=[bot], name="Two of us")
        await dee.client.room_invite(small, eve.user_id)
        assert await eve.accept_invite() == small

        await answer_by_reaction(alice, bot, "🙂", "🔋")  # mood 4, medium energy
        await answer_by_reaction(bob, bot, "😐")  # mood 3
        typed = await carol.send(group, "!mood 1")  # in the group: taken private
        carol_dm = await carol.accept_invite()
        await carol.wait_for(from_bot(bot, carol_dm, NOTED, "mood 1"))
        await carol.send(group, "!help")  # a barrier: the group's redaction went out before this answer
        await carol.wait_for(from_bot(bot, group, HELP_ANSWER))
        assert not await carol.event_exists(group, typed)
        await answer_by_command(dee, bot, 4)
        await answer_by_command(eve, bot, 5)

        await restart_with(process, {"mood_weather": "every 1s"})
        notice = await alice.wait_for(from_bot(bot, group, WEATHER))
        assert "from 5 anonymous answers" in notice.body
        assert "😞 1   🙁 0   😐 1   🙂 2   😄 1" in notice.body
        assert "🪫 0   🔋 1   ⚡ 0" in notice.body
        for member in (alice, bob, carol, dee, eve):
            localpart = member.user_id[1:].split(":")[0]
            assert localpart not in notice.body and localpart not in notice.html

        # Barriers: a notice for the small room, or a second one here, would have been queued before these answers.
        for member, room in ((dee, small), (alice, group)):
            mark = member.mark()  # an earlier !help's answer is no barrier
            await member.send(room, "!help")
            await member.wait_for(from_bot(bot, room, HELP_ANSWER), after=mark)
        assert not any(WEATHER in m.body for m in dee.messages_in(small))
        assert sum(WEATHER in m.body for m in alice.messages_in(group)) == 1

        staff_room = await staff_room_of(homeserver, sam)
        await sam.send(staff_room, f"!mood report {group}")
        await sam.wait_for(image_from(bot, staff_room))
        await sam.wait_for(from_bot(bot, staff_room, "8 weeks"))
    finally:
        await process.stop()
        for member in (bob, carol, dee, eve):
            await member.stop()


async def seed_low_days(process: BothyProcess, user_id: str, days: int) -> None:
    """The `days` before today as low shared days, written through the storage layer into the running
    Bothy's database: Bothy keeps real time (no clock can be given to it from outside), so a test cannot
    live through earlier days."""
    timezone = ZoneInfo(yaml.safe_load(process.config_path.read_text())["timezone"])
    today = local_day(Clock().ms(), timezone)
    async with aiosqlite.connect(process.directory / "bothy.sqlite3", isolation_level=None) as db:
        await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await db.execute("BEGIN IMMEDIATE")
        for back in range(1, days + 1):
            await MoodRepository.share_mood(db, user_id, today - back, 1)
        await db.execute("COMMIT")


async def test_low_energy_makes_the_check_in_gentlest_and_picks_the_hang_out_and_a_shared_low_spell_alerts_once(
    homeserver: Homeserver, alice: Member, sam: Member
):
    # Anyone in the hang-out may invite, so the bot, once in, can invite members on request.
    alias = f"quiet-corner-{uuid.uuid4().hex[:6]}"
    created = await sam.client.room_create(alias=alias, name="Quiet corner", power_level_override={"invite": 0})
    assert isinstance(created, nio.RoomCreateResponse), created
    hangout = created.room_id
    process = await start_bothy(homeserver, "mood-energy",
                                extra={"hangout": {"rooms": {"low": f"#{alias}:{homeserver.server}"}}})
    bot = process.bot_user_id
    try:
        await sam.client.room_invite(hangout, bot)
        await sam.wait_joined(hangout, bot)

        dm = await alice.open_dm(bot)
        await alice.send(dm, "!energy low")
        await alice.wait_for(from_bot(bot, dm, NOTED, "low energy"))
        staff_room = await staff_room_of(homeserver, sam)
        await sam.send(staff_room, f"!checkin {alice.user_id}")
        gentle = await alice.wait_for(from_bot(bot, dm, "no need to reply"))
        assert "energy is low today" in gentle.body

        await alice.send(dm, "!hangout invite")
        await alice.wait_for(from_bot(bot, dm, "I've invited you to the low-energy hang-out space"))
        await alice.accept_invite(room_id=hangout)
        await alice.wait_for(from_bot(bot, dm, "No pressure here"))  # the hang-out's welcome

        await alice.send(dm, "!mood share on")
        await alice.wait_for(from_bot(bot, dm, "Thanks for trusting us"))
        await seed_low_days(process, alice.user_id, 2)
        await alice.send(dm, "!mood 2")  # the third low day running
        await alice.wait_for(from_bot(bot, dm, NOTED, "mood 2"))
        await sam.wait_for(from_bot(bot, staff_room, alice.user_id, "shares their mood with you"))
        await alice.send(dm, "!mood 1")  # still the same low spell: no second alert
        await alice.wait_for(from_bot(bot, dm, NOTED, "mood 1"))
        await sam.send(staff_room, "!help")  # a barrier: a second alert would come before this answer
        await sam.wait_for(from_bot(bot, staff_room, HELP_ANSWER))
        alerts = [m for m in sam.messages_in(staff_room) if from_bot(bot, staff_room, "shares their mood")(m)]
        assert len(alerts) == 1
    finally:
        await process.stop()
