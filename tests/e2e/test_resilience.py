"""Staff alert claims and reminders, and a homeserver outage in the middle of a conversation."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import nio
import pytest
from aiohttp import web

from tests.e2e.conftest import HELP_ANSWER, Homeserver, expect_each_answered_once, staff_room_of, start_bothy
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e


def from_bot(bot: str, room_id: str, *fragments: str):
    return lambda m: m.sender == bot and m.room_id == room_id and all(f in m.body for f in fragments)


async def crisis_alert(homeserver: Homeserver, bot: str, author: Member, sam: Member) -> tuple[str, Received]:
    """The author writes something in crisis in a group with the bot; sam sees the staff alert."""
    staff_room = await staff_room_of(homeserver, sam)
    group = await author.create_room(invite=[bot])
    event_id = await author.send(group, "I want to end it all")
    return staff_room, await sam.wait_for(from_bot(bot, staff_room, event_id))


async def test_an_alert_is_claimed_with_a_tick_and_an_unclaimed_crisis_one_is_escalated_once(
    homeserver: Homeserver, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "alerts", extra={
        "staff": {"escalate_after": "2s"}, "schedules": {"alert_reminders": "every 1s"},
    })
    bot = process.bot_user_id
    try:
        staff_room, alert = await crisis_alert(homeserver, bot, alice, sam)
        await sam.react(staff_room, alert.event_id, "✅")
        claimed = await sam.wait_for(from_bot(bot, staff_room, "is picking this one up"))
        assert sam.user_id in claimed.body
        assert claimed.content["m.relates_to"]["rel_type"] == "m.thread"  # under the alert it answers
        assert claimed.content["m.relates_to"]["event_id"] == alert.event_id

        mark = sam.mark()
        bob = await homeserver.new_member()
        try:
            other_group = await bob.create_room(invite=[bot])
            second = await bob.send(other_group, "I really can't go on")
        finally:
            await bob.stop()
        unclaimed = await sam.wait_for(from_bot(bot, staff_room, second), after=mark)

        def reminder_of(message):  # crisis alerts are urgent: escalated by DM, noted once in the thread
            relates = message.content.get("m.relates_to") or {}
            return (message.sender == bot and "each peer worker" in message.body
                    and relates.get("event_id") == unclaimed.event_id)

        await sam.wait_for(reminder_of, after=mark)
        await sam.react(staff_room, unclaimed.event_id, "✅")
        await sam.wait_for(from_bot(bot, staff_room, "is picking this one up"), after=mark)
        await sam.send(staff_room, "!status")
        status = await sam.wait_for(from_bot(bot, staff_room, "Bothy status"), after=mark)
        assert "0 alerts not yet picked up" in status.body
        assert sum(reminder_of(m) for m in sam.messages_in(staff_room, mark)) == 1
    finally:
        await process.stop()


async def test_a_reaction_from_a_member_claims_nothing(homeserver: Homeserver, alice: Member, sam: Member):
    process = await start_bothy(homeserver, "member-claim")
    bot = process.bot_user_id
    try:
        staff_room, alert = await crisis_alert(homeserver, bot, alice, sam)
        await homeserver.synapse.client_api(
            "POST", f"/_matrix/client/v3/rooms/{staff_room}/invite",
            (await homeserver.synapse.login("sam", homeserver.passwords["sam"])).access_token,
            {"user_id": alice.user_id})
        await alice.join(staff_room)
        await alice.react(staff_room, alert.event_id, "✅")
        await sam.send(staff_room, "!status")
        status = await sam.wait_for(from_bot(bot, staff_room, "Bothy status"))
        assert "1 alert not yet picked up" in status.body
        assert not any("picking this one up" in m.body for m in sam.messages_in(staff_room))
    finally:
        await process.stop()


async def test_a_homeserver_outage_delays_answers_but_loses_none(homeserver: Homeserver, alice: Member):
    process = await start_bothy(homeserver, "outage")
    bot = process.bot_user_id
    try:
        room = await alice.open_dm(bot)
        words = [f"outage{n}" for n in range(5)]
        for word in words:
            await alice.send(room, f"!{word}")
        homeserver.synapse.kill()
        await homeserver.synapse.start()
        await expect_each_answered_once(alice, bot, room, words)
    finally:
        await process.stop()


async def test_a_429_storm_delays_answers_but_loses_none_and_doubles_none(homeserver: Homeserver, alice: Member):
    # Not exempt from Synapse's default limit (a burst of 10, then one message every 5 s).
    process = await start_bothy(homeserver, "rate-limited", rate_limited=True)
    bot = process.bot_user_id
    try:
        room = await alice.open_dm(bot)
        words = [f"storm{n:02d}" for n in range(13)]
        for word in words:
            await alice.send(room, f"!{word}")
        await expect_each_answered_once(alice, bot, room, words)
        assert "rate limited" in process.log()  # the limit was really hit, and waited out
    finally:
        await process.stop()


async def test_malformed_events_are_skipped_without_a_crash_loop(homeserver: Homeserver, alice: Member):
    """Synapse relays any content; a relation of the wrong type used to kill the sync loop, and every
    restart replayed the same batch and died again."""
    canary = "CANARY-malformed-5e0b"
    process = await start_bothy(homeserver, "malformed")
    bot = process.bot_user_id
    try:
        group = await alice.create_room(invite=[bot])
        text = {"msgtype": "m.text", "body": f"!help {canary}"}
        await alice.send(group, "", {**text, "m.relates_to": {"m.in_reply_to": "x"}})
        await alice.send(group, "", {**text, "m.relates_to": ["x"]})
        response = await alice.client.room_send(group, "m.reaction", {"m.relates_to": canary},
                                                ignore_unverified_devices=True)
        assert isinstance(response, nio.RoomSendResponse), response

        def help_answer(message):
            return message.sender == bot and message.room_id == group and HELP_ANSWER in message.body

        await alice.send(group, "!help")
        await alice.wait_for(help_answer)
        assert process.process.returncode is None
        assert len([m for m in alice.messages_in(group) if help_answer(m)]) == 1  # the bad ones were skipped
        assert "skipped a malformed event" in process.log()

        await process.kill()
        await process.start()
        mark = alice.mark()
        await alice.send(group, "!help")
        await alice.wait_for(help_answer, after=mark)
        assert process.process.returncode is None
        assert canary not in process.log()  # nio's "Error validating event" quoted it before
    finally:
        await process.stop()


async def test_a_list_for_a_display_name_in_a_dm_does_not_stop_bothy_after_a_restart(homeserver: Homeserver,
                                                                                      alice: Member):
    """Synapse accepts any display name of the right length, a list too. After a restart, loading the DM's
    members passed it to nio as a dict key: the TypeError ended the sync loop, and Bothy exited every time
    the member wrote again (a crash loop any member could cause)."""
    process = await start_bothy(homeserver, "displayname")
    bot = process.bot_user_id
    try:
        dm = await alice.open_dm(bot)

        def help_answer(message):
            return message.sender == bot and message.room_id == dm and HELP_ANSWER in message.body

        await homeserver.synapse.client_api(
            "PUT", f"/_matrix/client/v3/rooms/{quote(dm)}/state/m.room.member/{quote(alice.user_id)}",
            alice.client.access_token, {"membership": "join", "displayname": ["Alice"]})
        await alice.send(dm, "!help")
        await alice.wait_for(help_answer)  # Bothy has synced past the new member event
        await process.stop()
        await process.start()
        mark = alice.mark()
        await alice.send(dm, "hello")
        await alice.send(dm, "!help")
        await alice.wait_for(help_answer, after=mark)
        assert process.process.returncode is None
        assert "could not load the members" not in process.log()
    finally:
        await process.stop()


class PagingBackBlip:
    """A reverse proxy in front of Synapse that answers the next `refuse` requests to page back over a room's events
    (`/messages`) with a 502, as a proxy or a worker restarting would, and passes everything else through."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.refuse = self.refused = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1 << 26)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        if self.refuse and request.path.endswith("/messages"):
            self.refuse -= 1
            self.refused += 1
            return web.Response(status=502, text="bad gateway")
        assert self._session is not None
        headers = {key: value for key, value in request.headers.items()
                   if key.lower() not in {"host", "content-length"}}
        async with self._session.request(request.method, self.target + request.rel_url.raw_path_qs, headers=headers,
                                         data=await request.read()) as upstream:
            passed = {key: value for key, value in upstream.headers.items()
                      if key.lower() not in {"content-length", "transfer-encoding", "connection"}}
            return web.Response(status=upstream.status, body=await upstream.read(), headers=passed)


async def test_events_beyond_one_sync_page_that_arrived_while_away_are_still_handled(homeserver: Homeserver,
                                                                                    alice: Member):
    """More than a page (100) of events arrived while Bothy was down: the command among the oldest of them
    is answered, because Bothy pages back to where it stopped instead of starting at the newest 100; and when the
    homeserver fails that paging back once (a 502), the sync is taken again rather than handed over without them
    (an operations reviewer's, thirty-first session: a crisis message there was lost for good)."""
    proxy = PagingBackBlip(homeserver.synapse.url)
    await proxy.start()
    process = await start_bothy(homeserver, "gap", extra={"homeserver": {"url": proxy.url}})
    bot = process.bot_user_id
    try:
        group = await alice.create_room(invite=[bot])
        await alice.send(group, "!help")
        await alice.wait_for(from_bot(bot, group, HELP_ANSWER))  # Bothy is in and has a checkpoint
        await process.stop()
        mark = alice.mark()
        await alice.send(group, "!help")
        for n in range(120):
            await alice.send(group, f"just chatting, message {n}")
        proxy.refuse = 1
        await process.start()
        await alice.wait_for(from_bot(bot, group, HELP_ANSWER), after=mark)
        assert proxy.refused == 1
    finally:
        await process.stop()
        await proxy.stop()
