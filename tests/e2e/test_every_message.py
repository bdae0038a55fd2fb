"""Every message Bothy can read is matched, DMs with any bot included, whatever it starts with; unknown
commands are answered privately; private output never lands in a DM someone else has joined."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import CRISIS_LINES, HELP_ANSWER, BothyProcess, Homeserver, from_bot, staff_room_of
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e

ALL_BOTS = ("bothy", "checkin", "mood", "guide")


async def test_crisis_words_in_a_dm_with_the_checkin_bot_get_crisis_lines_and_a_staff_alert(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member, sam: Member
):
    checkin = homeserver.uid("checkin")
    staff_room = await staff_room_of(homeserver, sam)
    dm = await alice.open_dm(checkin)
    secret = f"marker{uuid.uuid4().hex[:8]}"
    await alice.send(dm, f"to be honest I've been thinking about ending my life {secret}")
    lines = await alice.wait_for(from_bot(checkin, dm, CRISIS_LINES))
    assert "999" in lines.body
    alert = await sam.wait_for(from_bot(checkin, staff_room, alice.user_id))
    assert secret not in alert.body and "ending my life" not in alert.body and secret not in alert.html


async def test_a_crisis_message_starting_with_exclamation_marks_is_matched_and_never_answered_in_public(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member, sam: Member
):
    guide, host = homeserver.uid("guide"), homeserver.host_bot
    staff_room = await staff_room_of(homeserver, sam)
    group = await alice.create_room(invite=[homeserver.uid(b) for b in ALL_BOTS], moderators=(host,))
    event_id = await alice.send(group, "!!! honestly I can't do this anymore, I want to die")
    dm = await alice.accept_invite()
    await alice.wait_for(from_bot(guide, dm, CRISIS_LINES))
    await sam.wait_for(from_bot(guide, staff_room, event_id))
    await alice.send(group, "!help")
    await alice.wait_for(from_bot(host, group, HELP_ANSWER))  # a barrier: the group's answers go out in order
    answers = [m for m in alice.messages_in(group) if m.sender != alice.user_id]
    assert len(answers) == 1 and "116 123" in answers[0].body  # only !help's: no call-out, no "unknown command"
    assert await alice.event_exists(group, event_id)  # the alert links to it: it must stay


async def test_an_unknown_command_in_a_group_is_redacted_and_answered_by_dm(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    host = homeserver.host_bot
    group = await alice.create_room(invite=[homeserver.uid(b) for b in ALL_BOTS], moderators=(host,))
    command = await alice.send(group, "!moood 2")
    dm = await alice.accept_invite()
    await alice.wait_for(from_bot(host, dm, "don't know the command"))
    await alice.send(group, "!help")
    await alice.wait_for(from_bot(host, group, HELP_ANSWER))
    assert not await alice.event_exists(group, command)
    assert not any("don't know the command" in m.body for m in alice.messages_in(group))


async def test_a_dm_someone_else_joined_gets_no_private_output(homeserver: Homeserver, bothy: BothyProcess,
                                                               alice: Member):
    host = homeserver.host_bot
    bob = await homeserver.new_member()
    try:
        shared = await alice.open_dm(host)
        await alice.client.room_invite(shared, bob.user_id)
        await bob.accept_invite()
        await alice.send(shared, "!mydata")
        dm = await alice.accept_invite()
        assert dm != shared
        await alice.wait_for(lambda m: m.room_id == dm and m.content.get("msgtype") == "m.file")
        await alice.send(shared, "!help")
        await alice.wait_for(from_bot(host, shared, HELP_ANSWER))
        assert not any(m.content.get("msgtype") == "m.file" for m in bob.messages_in(shared))
    finally:
        await bob.stop()
