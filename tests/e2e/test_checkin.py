"""The check-in bot end to end: staff-requested check-ins, answers, the sweep, opt-outs, stress."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.e2e.conftest import Homeserver, staff_room_of, start_bothy
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e

FAST_SWEEP = {
    "checkin": {"silent_after": "2s", "new_member_grace": "0s", "quiet_hours": "00:00-00:00"},
    "schedules": {"checkin_sweep": "every 1s"},
}


def from_bot(bot: str, *fragments: str, room_id: str | None = None):
    def match(item: Received) -> bool:
        return (item.sender == bot and item.type == "m.room.message" and (room_id is None or item.room_id == room_id)
                and all(f in item.body for f in fragments))
    return match


async def test_a_peer_worker_checks_in_and_a_chat_request_reaches_them(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "checkin-chat")
    bot = process.bot_user_id
    try:
        staff_room = await staff_room_of(homeserver, sam)
        # Alice picked from Element's autocomplete: her name in the body, her ID only in the pill's link.
        pill = f'<a href="https://matrix.to/#/{alice.user_id}">Alice Smith</a>'
        await sam.send(staff_room, "", {"msgtype": "m.text", "body": "!checkin Alice Smith",
                                        "format": "org.matrix.custom.html", "formatted_body": f"!checkin {pill}",
                                        "m.mentions": {"user_ids": [alice.user_id]}})
        await sam.wait_for(from_bot(bot, "sent", alice.user_id, room_id=staff_room))
        dm = await alice.accept_invite()
        checkin = await alice.wait_for(from_bot(bot, "I'd like a chat", room_id=dm))
        buttons = set()
        for _ in range(3):
            reaction = await alice.wait_for(
                lambda m: m.type == "m.reaction" and m.content["m.relates_to"]["event_id"] == checkin.event_id
                and m.content["m.relates_to"]["key"] not in buttons)
            buttons.add(reaction.content["m.relates_to"]["key"])
        assert buttons == {"👍", "💬", "🔕"}

        chat = await alice.react(dm, checkin.event_id, "💬")
        await alice.wait_for(from_bot(bot, "let the peer workers know", room_id=dm))
        alert = await sam.wait_for(from_bot(bot, alice.user_id, "would like a chat", room_id=staff_room))
        assert not await alice.event_exists(dm, chat)  # the personal signal does not stay in the clear
        await sam.react(staff_room, alert.event_id, "✅")
        told = await alice.wait_for(from_bot(bot, "will message you soon", room_id=dm))
        assert sam.user_id in told.body
        # A mistyped ID is no one: said so, never "I've sent" (an end-to-end auditor's, thirty-third session)
        await sam.send(staff_room, f"!checkin @nosuch:{homeserver.server}")
        await sam.wait_for(from_bot(bot, "please check the Matrix ID", room_id=staff_room))
    finally:
        await process.stop()


async def test_the_sweep_checks_in_once_across_a_restart_and_respects_opt_outs(homeserver: Homeserver,
                                                                              alice: Member):
    process = await start_bothy(homeserver, "sweep", extra=FAST_SWEEP)
    bot = process.bot_user_id
    bob, carol = await homeserver.new_member(), await homeserver.new_member()
    try:
        carol_dm = await carol.open_dm(bot)
        await carol.send(carol_dm, "!checkins off")
        await carol.wait_for(from_bot(bot, "won't send check-ins", room_id=carol_dm))
        group = await alice.create_room(invite=[bot])
        for member in (bob, carol):
            await alice.client.room_invite(group, member.user_id)
            await member.accept_invite()
        await carol.send(group, "hello all")
        await alice.send(group, "hello everyone, off for a bit")

        alice_dm = await alice.accept_invite()
        await alice.wait_for(from_bot(bot, "no need to reply", room_id=alice_dm))
        await process.kill()
        await process.start()
        await bob.send(group, "hi, I'm back")
        bob_dm = await bob.accept_invite()
        await bob.wait_for(from_bot(bot, "no need to reply", room_id=bob_dm))

        assert sum("no need to reply" in m.body for m in alice.messages_in(alice_dm)) == 1
        assert not any("no need to reply" in m.body for m in carol.received)
    finally:
        await process.stop()
        await bob.stop()
        await carol.stop()


async def test_a_member_who_left_their_only_group_is_not_checked_in(homeserver: Homeserver, alice: Member):
    """Bob and Carol both go quiet; Bob left the group first. Carol's check-in is awaited, so by then the
    sweep that would have found Bob (quiet for longer) has run: no check-in for him was queued or sent."""
    process = await start_bothy(homeserver, "leaver", extra={
        **FAST_SWEEP, "checkin": {**FAST_SWEEP["checkin"], "silent_after": "4s"}})
    bot = process.bot_user_id
    bob, carol = await homeserver.new_member(), await homeserver.new_member()
    try:
        group = await alice.create_room(invite=[bot])
        for member in (bob, carol):
            await alice.client.room_invite(group, member.user_id)
            await member.accept_invite()
        await bob.send(group, "hello all, I'm moving on")
        await bob.client.room_leave(group)
        await carol.send(group, "hello everyone")

        carol_dm = await carol.accept_invite()
        await carol.wait_for(from_bot(bot, "no need to reply", room_id=carol_dm))
        with sqlite3.connect(process.directory / "bothy.sqlite3") as db:
            checked_in = {row[0] for row in db.execute("SELECT user_id FROM checkins")}
        assert checked_in == {carol.user_id}
        assert bob.invites == [] and not any("no need to reply" in m.body for m in bob.received)
    finally:
        await process.stop()
        await bob.stop()
        await carol.stop()


async def test_members_choose_their_check_ins_and_staff_see_who_is_quiet(homeserver: Homeserver, alice: Member,
                                                                        sam: Member):
    process = await start_bothy(homeserver, "quiet", extra={"checkin": {"new_member_grace": "0s"}})
    bot = process.bot_user_id
    try:
        dm = await alice.open_dm(bot)
        await alice.send(dm, "!checkins sometimes")
        await alice.wait_for(from_bot(bot, "on, off, or pause", room_id=dm))
        await alice.send(dm, "!checkins pause 2w")
        await alice.wait_for(from_bot(bot, "paused for 14 days", room_id=dm))

        group = await alice.create_room(invite=[bot])
        await alice.send(group, "a message so there is a habit")
        staff_room = await staff_room_of(homeserver, sam)
        await sam.send(staff_room, f"!checkin {alice.user_id}")
        await sam.wait_for(from_bot(bot, "asked not to get check-ins", room_id=staff_room))
        await sam.send(staff_room, "!quiet 0")  # silent for at least 0 days: anyone no longer active
        listing = await sam.wait_for(from_bot(bot, "quieter than usual", room_id=staff_room))
        assert alice.user_id in listing.body and "not reading either" in listing.body
    finally:
        await process.stop()


async def test_the_stress_webhook(homeserver: Homeserver, alice: Member, sam: Member):
    process = await start_bothy(homeserver, "stress", extra={"stress": {"sustained": "2s", "min_interval": "0s"}})
    bot = process.bot_user_id
    try:
        dm = await alice.open_dm(bot)
        await alice.send(dm, "!stress link")
        linked = await alice.wait_for(from_bot(bot, "What is shared", room_id=dm))
        url = linked.body.split("Address: ", 1)[1].split()[0]
        token = linked.body.split("Token: ", 1)[1].split()[0]
        now = datetime.now(UTC)

        async with aiohttp.ClientSession() as http:
            async def post(body, auth=token, raw=None):
                headers = {"Authorization": f"Bearer {auth}"}
                async with http.post(url, json=body if raw is None else None, data=raw, headers=headers) as response:
                    return response.status, await response.json()

            assert (await post({"stress": 50}, auth="wrong"))[0] == 401
            status, problem = await post(None, raw=b"not json")
            assert status == 400 and "JSON" in problem["error"]
            status, problem = await post({"stress": 150})
            assert status == 400 and "0 to 100" in problem["error"]
            status, problem = await post({"stress": 80, "at": (now + timedelta(hours=1)).isoformat()})
            assert status == 400 and "future" in problem["error"]
            # Readings no further apart than `sustained` (2s), over longer than it: stress that stayed high.
            for level, ago_s in ((80, 4.0), (85, 2.5), (90, 1.0)):
                assert (await post({"stress": level, "at": (now - timedelta(seconds=ago_s)).isoformat()}))[0] == 202

        staff_room = await staff_room_of(homeserver, sam)
        await sam.wait_for(from_bot(bot, alice.user_id, "stayed high", room_id=staff_room))
        await sam.send(staff_room, "!status")
        await sam.wait_for(from_bot(bot, "Bothy status", room_id=staff_room))
        alerts = [m for m in sam.messages_in(staff_room) if alice.user_id in m.body and "stayed high" in m.body]
        assert len(alerts) == 1

        await alice.send(dm, "!stress unlink")
        await alice.wait_for(from_bot(bot, "switched off", room_id=dm))
        async with aiohttp.ClientSession() as http, http.post(
            url, json={"stress": 50}, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401
    finally:
        await process.stop()
