"""Engine pieces with small fakes: sweep catch-up, late decryption, which bot answers."""

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bothy.clock import Clock, FixedClock
from bothy.late_decryption import LateDecryption
from bothy.matrix.events import Undecryptable
from bothy.outbox import UnitOfWork
from bothy.scheduling import Sweep, SweepScheduler
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sweep_runs import SweepRunRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates


async def test_a_daily_sweep_missed_while_down_runs_once_on_start(database):
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    runs = SweepRunRepository(database)
    await runs.record("retention_sweep", int(datetime(2026, 11, 23, 3, 0, tzinfo=UTC).timestamp() * 1000))
    await runs.record("mood_prompt", int(datetime(2026, 11, 25, 10, 0, tzinfo=UTC).timestamp() * 1000))
    ran = {"retention_sweep": asyncio.Event(), "mood_prompt": asyncio.Event()}
    scheduler = SweepScheduler(runs, ZoneInfo("Europe/London"), FixedClock(now))

    def sweep(name):
        async def run():
            ran[name].set()
        return Sweep(name, "0 3 * * *" if name == "retention_sweep" else "0 10 * * *", run)

    scheduler.add(sweep("retention_sweep"))
    scheduler.add(sweep("mood_prompt"))
    await scheduler.start()
    try:
        await asyncio.wait_for(ran["retention_sweep"].wait(), 5)
        assert not ran["mood_prompt"].is_set()  # ran at 10:00 today; next is tomorrow
    finally:
        scheduler.shutdown()


class FakeAccount:
    user_id = "@bot:x"

    def __init__(self, direct_rooms):
        self.direct_rooms = direct_rooms

    def is_direct_room(self, room_id):
        return room_id in self.direct_rooms


async def test_a_dm_message_whose_key_never_arrives_gets_one_kind_resend_request(database):
    sync_state = SyncStateRepository(database)
    late = LateDecryption(sync_state, Templates(), wait_s=60, work=UnitOfWork(database, Clock(), lambda: None))
    old = Clock().ms() - 120_000
    for event_id, room in (("$dm", "!dm"), ("$group", "!group")):
        await late.park("@bot:x", Undecryptable(room, event_id, "@alice:x", old, "session"))
    async with database.transaction() as db:
        await db.execute("UPDATE pending_decryption SET received_at = ?", (old,))
    accounts = {"@bot:x": FakeAccount({"!dm"})}
    await late.give_up_sweep(accounts)
    await late.give_up_sweep(accounts)
    rows = await OutboxRepository(database).due(Clock().ms())
    assert [(row.room_id, "send it again" in row.content["body"]) for row in rows] == [("!dm", True)]
    assert await sync_state.parked_before("@bot:x", Clock().ms()) == []


class RoomOf:
    """A fake account that knows who is in one room."""

    def __init__(self, user_id, members):
        self.user_id = user_id
        self.members = frozenset(members)

    async def joined_members(self, room_id):
        return self.members


def shared_config():
    from pathlib import Path

    import yaml

    from bothy.config import parse_config
    from bots.installed import INSTALLATION

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "config.example.yaml").read_text())
    data["crypto"]["pickle_key"] = "a-real-secret-of-length"
    for bot in data["bots"].values():
        bot["password"] = "a-real-password"
    return parse_config(data, root, INSTALLATION.bots)


def test_exactly_one_account_answers_each_command():
    from commands.router import CommandRouter

    config = shared_config()
    host, mood, guide = "@bothy:example.org", "@mood:example.org", "@guide:example.org"

    def answering(owner, members):
        return [me for me in members
                if asyncio.run(CommandRouter(config, None, RoomOf(me, members), None, Clock(), lambda: None)
                               ._answers_here(owner, "!room")) is True]

    for owner, members, expected in [
        ("referral", {host, mood, guide}, [guide]),  # the owner is there
        ("referral", {host, mood}, [host]),          # the owner is not: host steps in
        ("referral", {mood}, [mood]),                # nor host: the next bot in the fixed order
        ("host", {mood, guide}, [mood]),
    ]:
        assert answering(owner, members) == expected, (owner, members)


def test_the_staff_room_must_be_invite_only_encrypted_and_staff_only():
    from bothy.matrix.adapter import RoomFacts
    from rooms.staff import staff_room_problems

    staff = frozenset({"@sam:x", "@bot:x"})
    assert staff_room_problems(RoomFacts("invite", True, staff), staff) == []
    found = staff_room_problems(RoomFacts("public", False, staff | {"@mallory:x"}), staff)
    assert len(found) == 3
    assert not any("mallory" in problem for problem in found)  # counted, never named
