"""A bounded fault campaign on loopback: Bothy SIGKILLed twenty times at random points while it answers a
burst of commands, raises crisis alerts and runs a check-in sweep; and a homeserver that refuses every
connection for a minute. Owed messages arrive exactly once, and Bothy neither hammers the homeserver nor
needs a hand to recover.

A poison event in the middle of a burst (it fails at commit time, is set aside with one apology and
delays none of the commands after it) is `test_exactly_once.py`'s
`test_a_poison_command_is_set_aside_once_delays_nothing_after_it_and_is_not_replayed`, not repeated here.

The seed of each random run is printed; BOTHY_FAULT_SEED replays its schedule (when messages are sent and
how long Bothy runs between kills; where exactly a kill lands also depends on the machine's speed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import (
    CRISIS_LINES,
    HELP_ANSWER,
    Homeserver,
    expect_each_answered_once,
    staff_room_of,
    start_bothy,
)
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e

KILLS = 20
RUN_BETWEEN_KILLS_S = (0.2, 2.5)
SEND_GAP_S = (0.0, 2.0)  # members' messages are spread over the first part of the campaign
FAST_SWEEP = {
    "checkin": {"silent_after": "2s", "new_member_grace": "0s", "quiet_hours": "00:00-00:00"},
    "schedules": {"checkin_sweep": "every 1s"},
}
CRISIS_SENTENCES = ("I want to end it all", "I really can't go on any more", "I keep thinking about ending my life")
CHECKIN_DM = "no need to reply"
OUTAGE_S = 60.0
RECOVERY_S = 30.0
MAX_REQUESTS_PER_S = 1.0


def campaign_seed() -> int:
    seed = int(os.environ.get("BOTHY_FAULT_SEED") or random.SystemRandom().randrange(2**32))
    print(f"fault campaign seed {seed} (BOTHY_FAULT_SEED={seed} replays it)")
    return seed


def from_bot(bot: str, fragment: str, room_id: str | None = None,
             not_in: str | None = None) -> Callable[[Received], bool]:
    def match(item: Received) -> bool:
        return (item.sender == bot and item.type == "m.room.message" and fragment in item.body
                and (room_id is None or item.room_id == room_id) and (not_in is None or item.room_id != not_in))
    return match


async def join_every_invite(member: Member, opened: dict[str, int]) -> None:
    """What a member's client does with the DMs Bothy opens: accept them, counting them (a kill between
    creating a DM and recording it may open another; an empty room, not a message sent twice)."""
    while True:
        room_id = await member.wait_for_invite(timeout=3600)
        opened[member.user_id] = opened.get(member.user_id, 0) + 1
        await member.join(room_id)


async def barrier(member: Member, bot: str, room_id: str) -> None:
    """A `!help` answered in the room: one room's answers go out in order, so anything owed there before
    it (a duplicate included) has arrived by then."""
    mark = member.mark()
    await member.send(room_id, "!help")
    await member.wait_for(from_bot(bot, HELP_ANSWER, room_id), after=mark, timeout=60)


async def test_twenty_sigkills_lose_nothing_and_send_nothing_twice(homeserver: Homeserver, alice: Member,
                                                                   sam: Member):
    rng = random.Random(campaign_seed())
    process = await start_bothy(homeserver, "fault-campaign", extra=FAST_SWEEP)
    bot = process.bot_user_id
    quiet, *in_crisis = [await homeserver.new_member() for _ in range(1 + len(CRISIS_SENTENCES))]
    members = [quiet, *in_crisis]
    joiners: list[asyncio.Task[None]] = []
    try:
        staff_room = await staff_room_of(homeserver, sam)
        dm = await alice.open_dm(bot)
        group = await quiet.create_room(invite=[bot])
        for member in in_crisis:
            await quiet.client.room_invite(group, member.user_id)
            await member.accept_invite()
        opened: dict[str, int] = {}
        joiners = [asyncio.create_task(join_every_invite(m, opened)) for m in members]

        words = [f"fault{n:02d}" for n in range(20)]
        canaries = [f"canary{uuid.uuid4().hex[:8]}" for _ in in_crisis]
        crisis_events: dict[str, str] = {}  # member -> event ID
        commands: list[str] = []  # event IDs

        async def say_crisis(member: Member, sentence: str) -> None:
            crisis_events[member.user_id] = await member.send(group, sentence)

        async def command(word: str) -> None:
            commands.append(await alice.send(dm, f"!{word}"))

        sends: list[Callable[[], Awaitable[object]]] = [lambda w=w: command(w) for w in words]
        sends += [lambda m=m, s=s, c=c: say_crisis(m, f"{s} {c}")
                  for m, s, c in zip(in_crisis, CRISIS_SENTENCES, canaries, strict=True)]
        rng.shuffle(sends)
        sends.insert(0, lambda: quiet.send(group, "hello all, I'll be quiet for a while"))
        gaps = [rng.uniform(*SEND_GAP_S) for _ in sends]
        runs = [rng.uniform(*RUN_BETWEEN_KILLS_S) for _ in range(KILLS)]

        async def traffic() -> None:
            for gap, send in zip(gaps, sends, strict=True):
                await asyncio.sleep(gap)  # fault timing, not synchronisation
                await send()

        sending = asyncio.create_task(traffic())
        started = time.monotonic()
        for run in runs:
            await asyncio.sleep(run)  # a random point in Bothy's work, not a wait for anything
            await process.kill()
            await process.start()
        await sending
        campaign_s = time.monotonic() - started
        print(f"{KILLS} SIGKILLs over {campaign_s:.0f}s; {len(words)} commands, {len(in_crisis)} crisis messages, "
              f"{len(members)} members owed a check-in")

        # Everything owed, exactly once.
        await expect_each_answered_once(alice, bot, dm, words, timeout=120)
        for member in in_crisis:
            crisis_dm = await member.wait_for(from_bot(bot, CRISIS_LINES, not_in=group), timeout=120)
            await barrier(member, bot, crisis_dm.room_id)
            assert sum(map(from_bot(bot, CRISIS_LINES), member.received)) == 1, member.user_id
        for event_id in crisis_events.values():
            await sam.wait_for(from_bot(bot, event_id, staff_room), timeout=120)
        mark = sam.mark()
        await sam.send(staff_room, "!status")  # also the staff room's barrier
        status = await sam.wait_for(from_bot(bot, "Bothy status", staff_room), after=mark, timeout=60)
        # One alert per crisis message, and one room-climate notice: three people in distress in one room in an
        # hour is an episode. Nothing raised twice.
        climate = from_bot(bot, "is having a hard", staff_room)
        assert sum(map(climate, sam.received)) == 1
        assert f"{len(in_crisis) + 1} alerts not yet picked up" in status.body
        for event_id in crisis_events.values():
            assert sum(map(from_bot(bot, event_id, staff_room), sam.received)) == 1
        for member in members:
            checkin = await member.wait_for(from_bot(bot, CHECKIN_DM), timeout=120)
            await barrier(member, bot, checkin.room_id)
            assert sum(map(from_bot(bot, CHECKIN_DM), member.received)) == 1, member.user_id
        # A DM is still a DM after a restart: not community activity (each answer was committed with
        # the activity it counted), no check-in, and nothing in it redacted.
        with sqlite3.connect(process.directory / "bothy.sqlite3", timeout=10) as db:
            assert db.execute("SELECT COUNT(*) FROM presence WHERE user_id = ?", (alice.user_id,)).fetchone() == (0,)
        assert not any(from_bot(bot, CHECKIN_DM)(m) for m in alice.received)
        for event_id in commands:
            assert await alice.event_exists(dm, event_id)

        log = process.log()
        for canary, sentence in zip(canaries, CRISIS_SENTENCES, strict=True):
            assert canary not in log and sentence not in log
        assert process.starts == KILLS + 1
        print(f"DMs opened per member: {sorted(opened.values())} ({len(members)} members)")
    finally:
        for task in joiners:
            task.cancel()
        await asyncio.gather(*joiners, return_exceptions=True)
        await process.stop()
        for member in members:
            await member.stop()


class OutageProxy:
    """A TCP proxy between Bothy and Synapse. In an outage it accepts every connection and closes it at
    once (what a crashed reverse proxy looks like), counting them: each is one request Bothy tried."""

    def __init__(self, target_url: str):
        target = urlsplit(target_url)
        self.target_host, self.target_port = target.hostname or "127.0.0.1", target.port or 80
        self.down = False
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        self._cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def outage(self) -> None:
        """From now on refuse service, and cut what is in flight (a long-poll sync, kept-alive connections)."""
        self.down, self.refused = True, 0
        self._cut()

    def restore(self) -> None:
        self.down = False

    def _cut(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            self.refused += 1
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        self._open.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        self._open.discard(sink)
        sink.close()


async def test_a_minute_long_outage_is_waited_out_gently_and_recovered_from_unaided(homeserver: Homeserver,
                                                                                     alice: Member):
    proxy = OutageProxy(homeserver.synapse.url)
    await proxy.start()
    process = await start_bothy(homeserver, "outage-proxy", extra={"homeserver": {"url": proxy.url}})
    bot = process.bot_user_id
    try:
        dm = await alice.open_dm(bot)
        await barrier(alice, bot, dm)  # Bothy is settled in the DM before the outage

        proxy.outage()
        began = time.monotonic()
        await asyncio.sleep(OUTAGE_S / 2)  # the outage window itself, not synchronisation
        mark = alice.mark()
        await alice.send(dm, "!duringoutage")  # members reach Synapse directly
        await asyncio.sleep(OUTAGE_S - (time.monotonic() - began))
        attempts, outage_s = proxy.refused, time.monotonic() - began
        proxy.restore()
        returned = time.monotonic()
        rate = attempts / outage_s
        print(f"outage {outage_s:.1f}s: {attempts} connection attempts from one account, {rate:.2f}/s")
        assert rate < MAX_REQUESTS_PER_S
        assert not any(m.sender == bot for m in alice.messages_in(dm, mark))

        await alice.send(dm, "!afteroutage")
        deadline = returned + RECOVERY_S
        for word in ("duringoutage", "afteroutage"):
            await alice.wait_for(from_bot(bot, f'"!{word}"', dm), after=mark,
                                 timeout=max(0.0, deadline - time.monotonic()))
        print(f"recovered {time.monotonic() - returned:.1f}s after the homeserver came back")
        await barrier(alice, bot, dm)
        for word in ("duringoutage", "afteroutage"):
            assert sum(map(from_bot(bot, f'"!{word}"', dm), alice.received)) == 1
    finally:
        await process.stop()
        await proxy.stop()
