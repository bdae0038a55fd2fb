import asyncio
import logging

from bothy.clock import Clock
from bothy.inbound import (
    MAX_ATTEMPTS,
    MAX_TRANSIENT_ATTEMPTS,
    CheckpointTracker,
    InboundDispatcher,
    SetAsideNotice,
)
from bothy.matrix.adapter import MatrixError
from bothy.matrix.events import Message
from bothy.outbox import UnitOfWork
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates

SECRET = "CANARY-words-that-must-never-be-logged"


def message(event_id: str, room: str = "!r", body: str = "text") -> Message:
    return Message(room, event_id, "@a:x", body, 0, "m.text", False)


def dispatcher_for(database, handler, retry_delay: float = 0.0, **options) -> InboundDispatcher:
    """A dispatcher whose account has one DM, "!dm", and whose commands start with "!"."""
    notice = SetAsideNotice(Templates(), "!", lambda room_id: room_id == "!dm")
    return InboundDispatcher("@bot:x", SyncStateRepository(database), handler,
                             UnitOfWork(database, Clock(), lambda: None), notice,
                             retry_delay=lambda attempts, retry_after_ms: retry_delay, **options)


async def owed(database) -> list[tuple[str | None, str | None, str]]:
    return [(row.room_id, row.to_user, row.content["body"])
            for row in await OutboxRepository(database).due(now_ms=10**15)]


def test_checkpoint_moves_only_past_completely_handled_batches():
    tracker = CheckpointTracker()
    first = tracker.add_batch("t1", 2)
    second = tracker.add_batch("t2", 1)
    tracker.finish_one(second)
    assert tracker.safe_token() is None  # t1 still has work in flight
    tracker.finish_one(first)
    assert tracker.safe_token() is None
    tracker.finish_one(first)
    assert tracker.safe_token() == "t2"
    assert tracker.safe_token() is None


def test_an_empty_batch_is_safe_at_once():
    tracker = CheckpointTracker()
    tracker.add_batch("t1", 0)
    assert tracker.safe_token() == "t1"


async def test_a_failing_handler_does_not_stop_the_others_and_each_event_is_handled_once(database):
    seen: list[str] = []

    async def handler(event, effects):
        seen.append(event.event_id)
        if event.event_id == "$boom":
            raise RuntimeError("handler bug")
        effects.message({"body": event.event_id}, room_id=event.room_id)

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$one"), message("$boom"), message("$two", "!other")])
    await dispatcher.drain()
    await dispatcher.on_batch("t2", [message("$one"), message("$three")])  # a replay after a crash
    await dispatcher.drain()
    # tried MAX_ATTEMPTS times, then once more as it is set aside, to save what can be saved
    assert sorted(seen) == ["$boom"] * (MAX_ATTEMPTS + 1) + ["$one", "$three", "$two"]
    assert sorted(body for _, _, body in await owed(database)) == ["$one", "$three", "$two"]
    assert await dispatcher.sync_state.checkpoint("@bot:x") == "t2"


def overflowing_write(event, effects):
    """A write sqlite refuses only at commit time, outside the handler (a huge number from a command)."""
    async def write(db):
        await db.execute("INSERT INTO sweep_runs (name, last_run_at) VALUES (?, ?)", (event.event_id, 10**30))

    effects.record(write)


async def test_an_event_failing_at_commit_is_set_aside_without_delaying_anything_after_it(database, caplog):
    caplog.set_level(logging.DEBUG)
    order: list[str] = []

    async def handler(event, effects):
        order.append(event.event_id)
        if event.event_id == "$poison":
            overflowing_write(event, effects)
        effects.message({"body": f"answer to {event.event_id}"}, room_id=event.room_id)

    dispatcher = dispatcher_for(database, handler, retry_delay=0.05)
    await dispatcher.on_batch("t1", [message("$poison", "!dm", f"!checkins pause {SECRET}"),
                                     message("$later", "!dm"), message("$elsewhere", "!group")])
    await dispatcher.drain()
    # The room's later event and the other room went first: the failure waited for its retry, they did not.
    assert order.index("$later") < order.index("$poison", 1)
    assert order.count("$poison") == MAX_ATTEMPTS + 1  # and once more as it is set aside
    assert sorted(await owed(database)) == [
        ("!dm", None, Templates().render("went_wrong")["body"]),
        ("!dm", None, "answer to $later"),
        ("!group", None, "answer to $elsewhere"),
    ]
    assert await dispatcher.sync_state.checkpoint("@bot:x") == "t1"  # the checkpoint moved on
    assert await dispatcher.sync_state.is_handled("@bot:x", "set-aside:$poison")
    assert "$poison" in caplog.text and "OverflowError" in caplog.text and SECRET not in caplog.text

    await dispatcher.on_batch("t2", [message("$poison", "!dm")])  # replayed: set aside for good
    await dispatcher.drain()
    assert order.count("$poison") == MAX_ATTEMPTS + 1


async def test_a_failing_command_in_a_group_is_apologised_for_privately_and_chatter_is_not(database):
    async def handler(event, effects):
        raise RuntimeError(event.body)

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$command", "!group", "!mood 3"), message("$chat", "!group")])
    await dispatcher.drain()
    assert [(room, user) for room, user, _ in await owed(database)] == [(None, "@a:x")]


async def test_failures_counted_before_a_restart_still_count(database):
    attempts: list[str] = []

    async def handler(event, effects):
        attempts.append(event.event_id)
        raise RuntimeError("still broken")

    sync_state = SyncStateRepository(database)
    for _ in range(MAX_ATTEMPTS - 1):  # the run before the restart got this far, then was killed
        await sync_state.record_failure("@bot:x", "$p", 1, keep=10)
    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$p", "!dm")])
    await dispatcher.drain()
    assert attempts == ["$p", "$p"]  # its last try, then once more as it is set aside
    assert await sync_state.is_handled("@bot:x", "set-aside:$p")


async def test_a_homeserver_blip_is_ridden_out_rather_than_set_aside(database):
    failures = [MatrixError("joined members: 502")] * (MAX_ATTEMPTS + 2)

    async def handler(event, effects):
        if failures:
            raise failures.pop()
        effects.message({"body": "answer"}, room_id=event.room_id)

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$m", "!dm", "!help")])
    await dispatcher.drain()
    assert [body for _, _, body in await owed(database)] == ["answer"]


async def test_an_outage_of_any_length_is_waited_out_and_nothing_is_set_aside(database):
    """No sync gets through while the homeserver is down, so its failures do not count: the command in hand
    is answered once it is back, however long that took, with the retries paced by a growing backoff."""
    outage = [MatrixError("joined members: ClientConnectorError", code="ClientConnectorError")] \
        * (5 * MAX_TRANSIENT_ATTEMPTS)
    paced: list[int] = []

    async def handler(event, effects):
        if outage:
            raise outage.pop()
        effects.message({"body": "answer"}, room_id=event.room_id)

    def retry_delay(attempts: int, retry_after_ms: int | None) -> float:
        paced.append(attempts)
        return 0.0

    dispatcher = InboundDispatcher("@bot:x", SyncStateRepository(database), handler,
                                   UnitOfWork(database, Clock(), lambda: None),
                                   SetAsideNotice(Templates(), "!", lambda room_id: False), retry_delay=retry_delay)
    await dispatcher.on_batch("t1", [message("$m", "!group", "!talk")])
    await dispatcher.drain()
    assert [body for _, _, body in await owed(database)] == ["answer"]  # no apology, nothing set aside
    assert paced == list(range(1, 5 * MAX_TRANSIENT_ATTEMPTS + 1))  # the backoff grows to its cap
    assert not await dispatcher.sync_state.is_handled("@bot:x", "set-aside:$m")


async def test_a_rate_limit_is_waited_out_however_often_it_comes(database):
    limited = [MatrixError("join: rate limited", retry_after_ms=5000, code="M_LIMIT_EXCEEDED")] \
        * (2 * MAX_TRANSIENT_ATTEMPTS)

    async def handler(event, effects):
        await dispatcher.on_batch(f"t{len(limited)}", [])  # sync gets through meanwhile
        if limited:
            raise limited.pop()
        effects.message({"body": "answer"}, room_id=event.room_id)

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t", [message("$m", "!dm", "!help")])
    await dispatcher.drain()
    assert [body for _, _, body in await owed(database)] == ["answer"]


async def test_a_request_the_homeserver_fails_every_time_while_syncing_is_set_aside(database):
    """A 5xx is taken for an outage only while sync fails too: one that keeps coming back while syncs get
    through is the event's own, and must not hold the checkpoint for ever."""
    tries = 0

    async def handler(event, effects):
        nonlocal tries
        tries += 1
        await dispatcher.on_batch(f"t{tries}", [])
        raise MatrixError("get event: 500", code="500")

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t0", [message("$m", "!dm", "!help")])
    await dispatcher.drain()
    assert tries == MAX_TRANSIENT_ATTEMPTS + 1  # and once more as it is set aside
    assert [body for _, _, body in await owed(database)] == [Templates().render("went_wrong")["body"]]
    assert await dispatcher.sync_state.checkpoint("@bot:x") == f"t{tries}"


async def test_a_flood_runs_a_bounded_number_of_handlers_and_sync_keeps_going(database):
    release = asyncio.Event()
    running = 0
    most = 0

    async def handler(event, effects):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    dispatcher = dispatcher_for(database, handler, concurrency=8)
    tasks_before = len(asyncio.all_tasks())
    for batch in range(10):  # each on_batch returns while every handler is still blocked
        await asyncio.wait_for(dispatcher.on_batch(f"t{batch}", [message(f"${batch}.{n}", f"!room{n}")
                                                                for n in range(100)]), 1)
    await asyncio.sleep(0.05)
    assert most == 8 and len(asyncio.all_tasks()) - tasks_before <= 8
    release.set()
    await dispatcher.drain()
    assert await dispatcher.sync_state.checkpoint("@bot:x") == "t9"


async def test_a_slow_room_does_not_stall_another(database):
    release = asyncio.Event()
    fast_done = asyncio.Event()

    async def handler(event, effects):
        if event.room_id == "!slow":
            await release.wait()
        else:
            fast_done.set()

    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$slow", "!slow")])
    await dispatcher.on_batch("t2", [message("$fast", "!fast")])
    await asyncio.wait_for(fast_done.wait(), 5)
    assert await SyncStateRepository(database).checkpoint("@bot:x") is None  # t1 not finished, so not t2 either
    release.set()
    await dispatcher.drain()
    assert await SyncStateRepository(database).checkpoint("@bot:x") == "t2"


async def test_a_database_that_cannot_take_the_write_is_waited_out_and_nothing_is_set_aside(database):
    """A full disk (or another process's lock) is no fault of the event: setting it aside would commit its small
    mark once the database came back and lose what it owed, a crisis alert among them (a reviewer's)."""
    calls = 0

    async def handler(event, effects):
        nonlocal calls
        calls += 1
        if calls == MAX_ATTEMPTS + 2:  # the admin frees some space
            async with database.read() as db:
                await db.execute("PRAGMA max_page_count = 1073741823")
        effects.message({"body": "crisis lines " + "x" * 8000}, room_id=event.room_id)

    async with database.read() as db:  # the disk fills up: no page left in the file, none to be had
        await db.execute("VACUUM")
        async with db.execute("PRAGMA page_count") as cursor:
            await db.execute(f"PRAGMA max_page_count = {(await cursor.fetchone())[0]}")
    dispatcher = dispatcher_for(database, handler)
    await dispatcher.on_batch("t1", [message("$crisis", "!dm")])
    await dispatcher.drain()
    assert calls == MAX_ATTEMPTS + 2
    assert [body[:12] for _, _, body in await owed(database)] == ["crisis lines"]  # no apology: nothing set aside
    assert not await dispatcher.sync_state.is_handled("@bot:x", "set-aside:$crisis")
