"""Exactly once in, through a real Synapse: a command that fails at commit time is set aside with a kind
word and holds up nothing (the commands after it in a burst are all answered), and the first message of a
new encrypted DM is answered once."""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e.conftest import HELP_ANSWER, Homeserver, expect_each_answered_once, start_bothy
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e

WENT_WRONG = "something went wrong on my side"
HELP = HELP_ANSWER


def from_bot(bot: str, room_id: str, fragment: str):
    return lambda m: m.sender == bot and m.room_id == room_id and fragment in m.body


async def test_a_poison_command_is_set_aside_once_delays_nothing_after_it_and_is_not_replayed(
    homeserver: Homeserver, alice: Member
):
    process = await start_bothy(homeserver, "poison")
    bot = process.bot_user_id
    try:
        with sqlite3.connect(process.directory / "bothy.sqlite3", timeout=10) as db:  # every write of it fails
            db.execute("CREATE TRIGGER refuse BEFORE INSERT ON checkin_prefs BEGIN SELECT RAISE(ABORT, 'no'); END")
        dm = await alice.open_dm(bot)
        # The first message in a new encrypted DM (often ahead of its key), failing only at commit time.
        await alice.send(dm, "!checkins off")
        await alice.send(dm, "!help")
        await alice.wait_for(from_bot(bot, dm, HELP), timeout=60)
        await alice.wait_for(from_bot(bot, dm, WENT_WRONG), timeout=60)
        await process.wait_for_log("set aside Message")

        await process.stop()  # a restart replays from the checkpoint: the poison must not come round again
        await process.start()
        # A poison in the middle of a burst: every command after it is answered, it gets one apology.
        mark = alice.mark()
        before, after = [f"before{n}" for n in range(3)], [f"after{n}" for n in range(5)]
        for word in before:
            await alice.send(dm, f"!{word}")
        await alice.send(dm, "!checkins off")
        for word in after:
            await alice.send(dm, f"!{word}")
        await alice.wait_for(from_bot(bot, dm, WENT_WRONG), after=mark, timeout=60)
        await expect_each_answered_once(alice, bot, dm, before + after, timeout=60)  # its !help is a barrier

        messages = alice.messages_in(dm)
        assert sum(from_bot(bot, dm, WENT_WRONG)(m) for m in messages) == 2  # one per poison, none replayed
        assert sum(from_bot(bot, dm, HELP)(m) for m in messages) == 2
        assert process.log().count("set aside Message") == 2
        assert "checkins off" not in process.log()  # set aside by type and ID, never its text
    finally:
        await process.stop()
