"""The referral bot end to end: suggestions by DM, the crisis path, cooldowns, private commands."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import CRISIS_LINES, HELP_ANSWER, BothyProcess, Homeserver, staff_room_of, start_bothy
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e

ALL_BOTS = ("bothy", "checkin", "mood", "guide")


def from_bot(bot: str, *fragments: str, room_id: str | None = None):
    def match(item: Received) -> bool:
        return (item.sender == bot and item.type == "m.room.message" and (room_id is None or item.room_id == room_id)
                and all(f in item.body for f in fragments))
    return match


async def group_with_bots(homeserver: Homeserver, member: Member, bots=ALL_BOTS, **options) -> str:
    return await member.create_room(invite=[homeserver.uid(b) for b in bots], **options)


async def test_a_benefits_message_gets_a_private_suggestion_and_no_public_reply(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    guide = homeserver.uid("guide")
    group = await group_with_bots(homeserver, alice)
    await alice.send(group, "universal credit sanctioned me again, can't afford food")
    dm = await alice.accept_invite()
    suggestion = await alice.wait_for(from_bot(guide, "Social Security Scotland", room_id=dm))
    assert "0800 182 2222" in suggestion.body
    assert 'href="tel:08001822222"' in suggestion.html
    assert alice.client.rooms[dm].encrypted
    assert alice.messages_in(group) == []  # never a public call-out


async def test_a_crisis_message_gets_crisis_lines_and_alerts_staff_without_the_text(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member, sam: Member
):
    guide = homeserver.uid("guide")
    staff_room = await staff_room_of(homeserver, sam)
    group = await group_with_bots(homeserver, alice, encrypted=True)
    secret = f"marker{uuid.uuid4().hex[:8]}"
    event_id = await alice.send(group, f"honestly I just want to die {secret}")
    dm = await alice.accept_invite()
    lines = await alice.wait_for(from_bot(guide, CRISIS_LINES, room_id=dm))
    assert "999" in lines.body and "0800 83 85 87" in lines.body
    alert = await sam.wait_for(from_bot(guide, event_id, room_id=staff_room))
    assert group in alert.body  # a link to the message
    assert alice.user_id in alert.body and "in group" in alert.body and "crisis" in alert.body
    assert secret not in alert.body and "want to die" not in alert.body and secret not in alert.html


async def test_idioms_trigger_nothing_and_a_topic_is_suggested_once_a_day(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    guide = homeserver.uid("guide")
    group = await group_with_bots(homeserver, alice, bots=("guide",))
    await alice.send(group, "I'm dying to see you all, that cake was to die for")
    await alice.send(group, "I'm not suicidal, just knackered")
    await alice.send(group, "the bailiffs came about my debt")
    dm = await alice.accept_invite()
    await alice.wait_for(from_bot(guide, "StepChange", room_id=dm))
    await alice.send(group, "still worried about the debt collectors")
    await alice.send(group, "I might be homeless soon")
    await alice.wait_for(from_bot(guide, "Shelter Scotland", room_id=dm))
    bodies = [m.body for m in alice.messages_in(dm)]
    assert sum("StepChange" in b for b in bodies) == 1
    assert not any(CRISIS_LINES in b for b in bodies)


async def test_a_private_command_in_a_group_is_answered_by_dm_and_redacted(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    guide = homeserver.uid("guide")
    group = await group_with_bots(homeserver, alice, moderators=(guide,))
    command = await alice.send(group, "!resources housing")
    dm = await alice.accept_invite()
    await alice.wait_for(from_bot(guide, "0808 800 4444", room_id=dm))
    await alice.send(group, "!help")
    await alice.wait_for(from_bot(homeserver.host_bot, HELP_ANSWER, room_id=group))
    assert not await alice.event_exists(group, command)
    assert not any("Shelter" in m.body for m in alice.messages_in(group))


async def test_staff_refer_and_unknown_topic(homeserver: Homeserver, bothy: BothyProcess, alice: Member,
                                             sam: Member):
    guide = homeserver.uid("guide")
    staff_room = await staff_room_of(homeserver, sam)
    discussed = await sam.send(staff_room, "a member wrote 'I want to die' earlier, I'm calling her now")
    await sam.send(staff_room, f"!refer {alice.user_id} gardening")
    problem = await sam.wait_for(from_bot(guide, "don't have a topic", room_id=staff_room))
    assert "housing" in problem.body
    await sam.send(staff_room, f"!refer {alice.user_id} grief")  # the word people use, not the topic's id
    await sam.wait_for(from_bot(guide, 'Bereavement support (the topic I found for "grief")', room_id=staff_room))
    assert not any(discussed in m.body for m in sam.messages_in(staff_room))  # staff talk raises no alert
    assert not any(CRISIS_LINES in m.body for m in sam.received if m.sender == guide)
    dm = await alice.accept_invite()
    await alice.wait_for(from_bot(guide, "Cruse Scotland", room_id=dm))


async def test_killed_right_after_a_crisis_message_the_alert_arrives_once_after_restart(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "crisis-kill")
    try:
        staff_room = await staff_room_of(homeserver, sam)
        group = await alice.create_room(invite=[process.bot_user_id])
        event_id = await alice.send(group, "I can't go on, I want to end it all")
        await process.kill()
        await process.start()
        await sam.wait_for(lambda m: m.sender == process.bot_user_id and event_id in m.body)
        dm = await alice.accept_invite()
        await alice.wait_for(from_bot(process.bot_user_id, CRISIS_LINES, room_id=dm))
        await sam.send(staff_room, "!status")
        await sam.wait_for(from_bot(process.bot_user_id, "Bothy status", room_id=staff_room))
        alerts = [m for m in sam.messages_in(staff_room) if event_id in m.body]
        assert len(alerts) == 1
        assert sum(CRISIS_LINES in m.body for m in alice.messages_in(dm)) == 1
    finally:
        await process.stop()


async def test_quoted_words_in_a_reply_are_not_the_author_s_but_an_edit_is(homeserver: Homeserver,
                                                                           bothy: BothyProcess, alice: Member):
    guide = homeserver.uid("guide")
    bob = await homeserver.new_member()
    try:
        group = await group_with_bots(homeserver, alice, bots=("guide",))
        await alice.client.room_invite(group, bob.user_id)
        await bob.accept_invite()
        quoted = await bob.send(group, "I want to die")
        await alice.send(group, "", content={
            "msgtype": "m.text",
            "body": f"> <{bob.user_id}> I want to die\n\nI'm here for you, message me any time",
            "m.relates_to": {"m.in_reply_to": {"event_id": quoted}},
        })
        original = await alice.send(group, "hello")
        await alice.send(group, "", content={
            "msgtype": "m.text", "body": "* my universal credit was sanctioned",
            "m.new_content": {"msgtype": "m.text", "body": "my universal credit was sanctioned"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original},
        })
        dm = await alice.accept_invite()
        await alice.wait_for(from_bot(guide, "Social Security Scotland", room_id=dm))
        assert not any(CRISIS_LINES in m.body for m in alice.messages_in(dm))
    finally:
        await bob.stop()


async def test_a_member_who_leaves_the_dm_gets_a_fresh_one_next_time(homeserver: Homeserver, bothy: BothyProcess,
                                                                      alice: Member):
    guide = homeserver.uid("guide")
    group = await group_with_bots(homeserver, alice, bots=("guide",))
    await alice.send(group, "I'm worried about the bailiffs")
    first_dm = await alice.accept_invite()
    await alice.wait_for(from_bot(guide, "StepChange", room_id=first_dm))
    await alice.client.room_leave(first_dm)
    await alice.send(group, "I might be homeless soon")
    second_dm = await alice.accept_invite()
    assert second_dm != first_dm
    await alice.wait_for(from_bot(guide, "Shelter Scotland", room_id=second_dm))


async def test_a_rooms_history_from_before_the_bots_were_invited_is_not_acted_on(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member, sam: Member
):
    """README: invite the bots to the community's existing rooms. Joining one, Bothy acted on the history the join
    sync carries, months old as it may be: crisis lines to its author, an urgent staff alert, answers to old commands
    (a spec auditor's, thirty-second session). What is said once they are invited is read."""
    guide = homeserver.uid("guide")
    staff_room = await staff_room_of(homeserver, sam)
    bob = await homeserver.new_member()
    try:
        group = await alice.create_room(invite=[], name=f"Old walkers {uuid.uuid4().hex[:4]}")
        await alice.client.room_invite(group, bob.user_id)
        await bob.accept_invite(room_id=group)
        old_crisis = await alice.send(group, "I can't do this anymore, I want to end my life")
        await alice.send(group, "!mood 2")
        mark = sam.mark()
        for bot in ALL_BOTS:
            await alice.client.room_invite(group, homeserver.uid(bot))
        for bot in ALL_BOTS:
            await alice.wait_joined(group, homeserver.uid(bot))
        new_crisis = await bob.send(group, "honestly I just want to die")
        # Alerts go out in the order they were raised: one about the old message would come before this one.
        await sam.wait_for(from_bot(guide, new_crisis, room_id=staff_room), after=mark)
        assert not any(old_crisis in message.body for message in sam.messages_in(staff_room, mark))
        assert not any(message.type == "m.room.message" and message.room_id != group for message in alice.received)
        assert not alice.invites  # no DM opened to her: no crisis lines, no answer to the old command
    finally:
        await bob.stop()
