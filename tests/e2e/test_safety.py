"""Safety on a real Synapse: `!report` and the homeserver's own reports without the reporter, moderation from
the staff room, `!talk`, room climate naming nobody, and an unclaimed urgent alert sent by DM to each peer
worker exactly once, across a restart."""

from __future__ import annotations

from urllib.parse import quote

import nio
import pytest

from tests.e2e.conftest import Homeserver, answered_help, from_bot, staff_room_of, start_bothy, until_redacted
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e


async def test_a_reported_message_reaches_staff_without_the_reporter_merges_and_can_be_removed(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "report")
    bot = process.bot_user_id
    bob = await homeserver.new_member()
    cara = await homeserver.new_member()
    try:
        staff_room = await staff_room_of(homeserver, sam)
        await alice.open_dm(bot)
        group = await alice.create_room(invite=[bot], moderators=(bot,))
        for member in (bob, cara):
            await alice.client.room_invite(group, member.user_id)
            await member.accept_invite()
        rude = await bob.send(group, "you lot are pathetic")
        reply = {"msgtype": "m.text", "body": "!report", "m.relates_to": {"m.in_reply_to": {"event_id": rude}}}
        command = await alice.send(group, "!report", reply)
        alert = await sam.wait_for(from_bot(bot, staff_room, bob.user_id, "reported"))
        assert alice.user_id not in alert.body and alice.user_id not in alert.html
        await alice.wait_for(lambda m: m.sender == bot and "without your name" in m.body)
        await until_redacted(bob, group, command)

        await cara.send(group, "!report", reply)
        again = await sam.wait_for(from_bot(bot, staff_room, "2 reports"))
        assert again.content["m.relates_to"]["event_id"] == alert.event_id
        assert cara.user_id not in again.body

        await sam.react(staff_room, alert.event_id, "🗑️")
        await sam.wait_for(from_bot(bot, staff_room, "Removed the message"))
        await until_redacted(alice, group, rude)
        alerts = [m for m in sam.messages_in(staff_room) if m.sender == bot and bob.user_id in m.body]
        assert len(alerts) == 1
    finally:
        await bob.stop()
        await cara.stop()
        await process.stop()


async def test_peer_workers_mute_the_author_send_them_the_guidelines_and_dismiss_from_the_alert(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "moderate")
    bot = process.bot_user_id
    bob = await homeserver.new_member()
    try:
        staff_room = await staff_room_of(homeserver, sam)
        bob_dm = await bob.open_dm(bot)
        # Muting changes power levels, which rooms leave to admins unless their settings say otherwise.
        group = await alice.create_room(invite=[bot], admins=(bot,))
        await alice.client.room_invite(group, bob.user_id)
        await bob.accept_invite()
        rude = await bob.send(group, "nobody here is worth listening to, idiots")
        reply = {"msgtype": "m.text", "body": "!report", "m.relates_to": {"m.in_reply_to": {"event_id": rude}}}
        await alice.send(group, "!report", reply)
        alert = await sam.wait_for(from_bot(bot, staff_room, bob.user_id, "reported"))

        await sam.react(staff_room, alert.event_id, "🔇")
        await sam.wait_for(from_bot(bot, staff_room, "Muted them", sam.user_id))
        refused = await bob.client.room_send(group, "m.room.message", {"msgtype": "m.text", "body": "hello?"},
                                             ignore_unverified_devices=True)
        assert isinstance(refused, nio.RoomSendError) and refused.status_code == "M_FORBIDDEN", refused

        await sam.react(staff_room, alert.event_id, "📜")
        guidelines = await bob.wait_for(from_bot(bot, bob_dm, "community guidelines", "116 123"))
        assert alice.user_id not in guidelines.body  # the reporter is never named
        await sam.wait_for(from_bot(bot, staff_room, "Sent them the community guidelines"))

        await sam.react(staff_room, alert.event_id, "👋")
        await sam.wait_for(from_bot(bot, staff_room, "Dismissed", sam.user_id))
    finally:
        await bob.stop()
        await process.stop()


async def test_talk_raises_an_alert_and_a_tick_tells_the_member_who(homeserver: Homeserver, alice: Member,
                                                                      sam: Member):
    process = await start_bothy(homeserver, "talk")
    bot = process.bot_user_id
    try:
        staff_room = await staff_room_of(homeserver, sam)
        dm = await alice.open_dm(bot)
        await alice.send(dm, "!talk")
        await alice.wait_for(from_bot(bot, dm, "let the peer support team know", "116 123"))
        alert = await sam.wait_for(from_bot(bot, staff_room, alice.user_id, "would like to talk"))
        await sam.react(staff_room, alert.event_id, "✅")
        told = await alice.wait_for(from_bot(bot, dm, "will message you soon"))
        assert sam.user_id in told.body
    finally:
        await process.stop()


async def test_an_unclaimed_urgent_alert_is_sent_by_dm_to_each_peer_worker_once_across_a_restart(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "escalate", extra={
        "staff": {"escalate_after": "6s"}, "schedules": {"alert_reminders": "every 1s"},
    })
    bot = process.bot_user_id
    try:
        staff_room = await staff_room_of(homeserver, sam)
        sam_dm = await sam.open_dm(bot)
        group = await alice.create_room(invite=[bot])
        event_id = await alice.send(group, "I want to end it all")
        alert = await sam.wait_for(from_bot(bot, staff_room, event_id))
        await process.kill()  # before the escalation is due
        await process.start()
        await sam.wait_for(from_bot(bot, sam_dm, "nobody has picked it up"), timeout=60)
        # The admins' step (twice the delay) comes next; once it has, peer workers can't be owed another.
        await sam.wait_for(from_bot(bot, staff_room, "each admin"), timeout=60)
        await process.kill()
        await process.start()
        await process.sweep_ran("alert_reminders")
        await answered_help(sam, bot, sam_dm)
        dms = [m for m in sam.messages_in(sam_dm) if m.sender == bot and "nobody has picked it up" in m.body]
        assert len(dms) == 1 and alert.event_id in dms[0].html
    finally:
        await process.stop()


async def test_a_tick_taken_back_opens_the_urgent_alert_again_and_it_escalates(homeserver: Homeserver, alice: Member,
                                                                                sam: Member):
    """An end-to-end auditor's, thirty-third session: a ✅ clicked by mistake and clicked again (Element redacts it)
    left the alert claimed, and a crisis alert never escalated."""
    process = await start_bothy(homeserver, "unclaim", extra={
        "staff": {"escalate_after": "4s"}, "schedules": {"alert_reminders": "every 1s"}})
    bot = process.bot_user_id
    try:
        staff_room = await staff_room_of(homeserver, sam)
        sam_dm = await sam.open_dm(bot)
        group = await alice.create_room(invite=[bot])
        alert = await sam.wait_for(from_bot(bot, staff_room, await alice.send(group, "I want to end it all tonight")))
        tick = await sam.react(staff_room, alert.event_id, "✅")
        await sam.wait_for(from_bot(bot, staff_room, "is picking this one up"))
        await sam.redact(staff_room, tick)
        await sam.wait_for(from_bot(bot, staff_room, "took their ✅ back"))
        await sam.wait_for(from_bot(bot, sam_dm, "nobody has picked it up"), timeout=60)
    finally:
        await process.stop()


async def test_a_report_made_with_the_homeserver_s_report_api_is_forwarded_once_without_the_reporter(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "event-reports", extra={"schedules": {"event_reports": "every 1s"}})
    bot = process.bot_user_id
    bob = await homeserver.new_member()
    try:
        admin = await homeserver.synapse.login("admin", homeserver.passwords["admin"])
        await homeserver.synapse.client_api("PUT", f"/_synapse/admin/v2/users/{quote(bot)}", admin.access_token,
                                            {"admin": True})
        await process.stop()
        await process.start()  # it checks once, at start, whether it may read reports
        staff_room = await staff_room_of(homeserver, sam)
        group = await alice.create_room(invite=[bot])
        await alice.client.room_invite(group, bob.user_id)
        await bob.accept_invite()
        rude = await bob.send(group, "nobody wants you here")
        localpart = alice.user_id.split(":")[0][1:]
        reporter = await homeserver.synapse.login(localpart, homeserver.passwords[localpart])
        await homeserver.synapse.client_api(
            "POST", f"/_matrix/client/v3/rooms/{quote(group)}/report/{quote(rude)}", reporter.access_token,
            {"reason": "unkind", "score": -100})
        alert = await sam.wait_for(from_bot(bot, staff_room, bob.user_id, "unkind"))
        assert alice.user_id not in alert.body and alice.user_id not in alert.html
        await process.stop()
        await process.start()
        mark = sam.mark()
        await sam.send(staff_room, "!alerts")  # a barrier: by its answer, several sweeps have run
        await sam.wait_for(from_bot(bot, staff_room, "Alerts not yet done"), after=mark)
        await process.sweep_ran("event_reports")
        await answered_help(sam, bot, staff_room)
        forwarded = [m for m in sam.messages_in(staff_room) if m.sender == bot and "unkind" in m.body]
        assert len(forwarded) == 1
    finally:
        await bob.stop()
        await process.stop()


async def test_three_people_in_distress_in_one_room_give_one_climate_notice_naming_nobody(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "climate")
    bot = process.bot_user_id
    others = [await homeserver.new_member() for _ in range(3)]
    try:
        staff_room = await staff_room_of(homeserver, sam)
        group = await alice.create_room(invite=[bot], name="Tea and chat")
        for member in others:
            await alice.client.room_invite(group, member.user_id)
            await member.accept_invite()
        for member, words in zip(others, ("I feel so alone", "having panic attacks again", "really depressed"),
                                 strict=True):
            await member.send(group, words)
        notice = await sam.wait_for(from_bot(bot, staff_room, "Tea and chat", "3 people"))
        assert not any(m.user_id in notice.body or m.user_id in notice.html for m in others)
        assert "alone" not in notice.body and "panic" not in notice.body
        await alice.send(group, "so anxious tonight")
        await sam.send(staff_room, "!alerts")
        await sam.wait_for(from_bot(bot, staff_room, "Alerts not yet done"))
        assert sum("Tea and chat" in m.body for m in sam.messages_in(staff_room) if m.sender == bot) == 1
    finally:
        for member in others:
            await member.stop()
        await process.stop()
