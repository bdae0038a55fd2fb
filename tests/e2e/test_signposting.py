"""Signposting end to end (issue 9): alerts a peer worker can act on, the check-back after crisis lines
(once, restarts included) and anonymous feedback on suggestions."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from tests.e2e.conftest import (
    CRISIS_LINES,
    BothyProcess,
    Homeserver,
    answered_help,
    from_bot,
    staff_room_of,
    start_bothy,
)
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e

ALL_BOTS = ("bothy", "checkin", "mood", "guide")
CHECKBACK = "how are you today"
# A check-back 15 s after crisis lines, looked for every 2 s: long enough to restart Bothy before it is due.
FAST_CHECKBACK = {"referral": {"checkback_after": "15s"}, "schedules": {"referral_checkbacks": "every 2s"}}


async def test_a_crisis_alert_names_member_room_and_category_without_the_text(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member, sam: Member
):
    guide = homeserver.uid("guide")
    staff_room = await staff_room_of(homeserver, sam)
    group = await alice.create_room(invite=[homeserver.uid(b) for b in ALL_BOTS], name="Tuesday walkers")
    secret = f"marker{uuid.uuid4().hex[:8]}"
    event_id = await alice.send(group, f"I can't do this anymore, I want to end my life {secret}")
    alert = await sam.wait_for(from_bot(guide, staff_room, event_id))
    for text in (alert.body, alert.html):
        assert alice.user_id in text and "Tuesday walkers" in text and "crisis topic" in text
        assert secret not in text and "end my life" not in text
    assert f"https://matrix.to/#/{group}/{event_id}" in alert.body


async def test_a_suggestion_s_not_for_me_is_counted_and_the_reaction_redacted(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    guide = homeserver.uid("guide")
    group = await alice.create_room(invite=[homeserver.uid(b) for b in ALL_BOTS])
    await alice.send(group, "the bailiffs came about my debt again")
    dm = await alice.accept_invite()
    suggestion = await alice.wait_for(from_bot(guide, dm, "StepChange", "not for me"))
    await alice.wait_for(lambda m: m.type == "m.reaction" and m.content["m.relates_to"]["key"] == "👎"
                         and m.content["m.relates_to"]["event_id"] == suggestion.event_id)
    reaction = await alice.react(dm, suggestion.event_id, "👎")
    await alice.wait_for(from_bot(guide, dm, "helps us know"))  # recorded in the same transaction
    assert not await alice.event_exists(dm, reaction)
    with sqlite3.connect(bothy.directory / "bothy.sqlite3") as db:
        answers = db.execute("SELECT answer FROM referral_feedback_counts WHERE topic = 'debt'").fetchall()
    assert ("not_for_me",) in answers


async def test_the_check_back_arrives_once_even_across_restarts(homeserver: Homeserver, alice: Member, sam: Member):
    process = await start_bothy(homeserver, "checkback", extra=FAST_CHECKBACK)
    bot = process.bot_user_id
    try:
        staff_room = await staff_room_of(homeserver, sam)
        group = await alice.create_room(invite=[bot])
        await alice.send(group, "honestly I just want to die")
        dm = await alice.accept_invite()
        await alice.wait_for(from_bot(bot, dm, CRISIS_LINES))
        await process.kill()  # before the check-back is due: it is owed in the database, not in memory
        await process.start()
        checkback = await alice.wait_for(from_bot(bot, dm, CHECKBACK), timeout=60)
        await process.kill()
        await process.start()
        await process.sweep_ran("referral_checkbacks")  # and a DM round trip: nothing more was owed
        await answered_help(alice, bot, dm)
        assert sum(CHECKBACK in m.body for m in alice.messages_in(dm)) == 1

        await alice.react(dm, checkback.event_id, "💬")
        alert = await sam.wait_for(from_bot(bot, staff_room, alice.user_id, "would like a chat"))
        await sam.react(staff_room, alert.event_id, "✅")
        told = await alice.wait_for(from_bot(bot, dm, "will message you soon"))
        assert sam.user_id in told.body
    finally:
        await process.stop()
