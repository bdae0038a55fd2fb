"""Meetups on a real Synapse: a group's creator posts one a few minutes away (with its .ics file), a member says
she's going with ✅, Bothy is SIGKILLed and restarted, and the hour's reminder (due at once) arrives exactly
once; `!meetups` counts her as going (and not while her ✅ is taken back), and a cancellation tells her by DM."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import BothyProcess, Homeserver, ask, from_bot, start_bothy
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e

REMINDER = "⏰ Meetup 1 starts"


@pytest.fixture
async def meetups_bothy(homeserver: Homeserver) -> AsyncIterator[BothyProcess]:
    process = await start_bothy(homeserver, "meetups", extra={
        "schedules": {"group_rooms": "every 2s", "meetups": "every 2s"},
    })
    yield process
    await process.stop()


@pytest.fixture
async def people(homeserver: Homeserver) -> AsyncIterator[tuple[Member, Member]]:
    bob, alice = await homeserver.new_member(), await homeserver.new_member()
    yield bob, alice
    for member in (bob, alice):
        await member.stop()


async def swept_since(process: BothyProcess, sweep: str, since_ms: int, timeout: float = 60) -> None:
    """Until the sweep has run (and finished) after `since_ms`, as its run record in the database says."""
    async def watch() -> None:
        while True:
            with sqlite3.connect(process.directory / "bothy.sqlite3", timeout=10) as db:
                row = db.execute("SELECT last_run_at FROM sweep_runs WHERE name = ?", (sweep,)).fetchone()
            if row and row[0] > since_ms:
                return
            await asyncio.sleep(0.2)  # reading a file another process writes: no event to await
    await asyncio.wait_for(watch(), timeout)


async def test_a_meetup_minutes_away_reminds_once_across_a_kill_and_its_cancellation_tells_those_going(
    meetups_bothy: BothyProcess, people: tuple[Member, Member]
):
    bot = meetups_bothy.bot_user_id
    bob, alice = people
    dm_bob, dm_alice = await bob.open_dm(bot), await alice.open_dm(bot)
    await ask(bob, dm_bob, bot, "!group new Walk and talk #walking", "is on its way")
    room = await bob.wait_for_invite()
    await bob.join(room)
    await bob.wait_for(from_bot(bot, room, "Welcome to Walk and talk"), timeout=60)
    await ask(alice, dm_alice, bot, "!group join walk-and-talk", "invited you")
    assert await alice.wait_for_invite() == room
    await alice.join(room)
    # Her command after joining is answered only once the bot has seen her join, so its posts reach her device.
    await ask(alice, room, bot, "!meetups", "No meetups are planned here")
    await ask(alice, room, bot, "!meetup add in 3 minutes online", "added by volunteers, peer workers")

    mark = alice.mark()
    await bob.send(room, "!meetup add in 3 minutes online")
    post = await alice.wait_for(from_bot(bot, room, "Meetup 1:", "online", "React ✅"), after=mark, timeout=60)
    going = await alice.react(room, post.event_id, "✅")
    await meetups_bothy.kill()  # the reminder may be owed, sent, or neither yet
    await meetups_bothy.start()
    ics = await alice.wait_for(lambda m: m.sender == bot and m.room_id == room and m.body == "meetup-1.ics",
                               after=mark, timeout=60)
    assert ics.content["msgtype"] == "m.file" and ics.content["info"]["mimetype"] == "text/calendar"

    await alice.wait_for(from_bot(bot, room, REMINDER), after=mark, timeout=90)
    await swept_since(meetups_bothy, "meetups", int(time.time() * 1000))  # a later sweep had its chance
    listing = await ask(bob, room, bot, "!meetups", "Meetups coming up")  # one room's messages go out in order
    assert "1 going" in listing
    assert sum(from_bot(bot, room, REMINDER)(m) for m in alice.messages_in(room, mark)) == 1
    # She clicks ✅ again (a redaction), then once more: the reactions are the list the room sees.
    await alice.redact(room, going)
    assert "0 going" in await ask(bob, room, bot, "!meetups", "Meetups coming up")
    await alice.react(room, post.event_id, "✅")
    assert "1 going" in await ask(bob, room, bot, "!meetups", "Meetups coming up")
    assert sum(from_bot(bot, room, "Meetup 1:")(m) for m in alice.messages_in(room, mark)) == 1

    await ask(bob, room, bot, "!meetup cancel 1", "I've let the 1 person going know")
    told = await alice.wait_for(lambda m: m.sender == bot and "has been cancelled" in m.body, after=mark)
    assert told.room_id != room and "116 123" in told.body
