import asyncio

from bothy.clock import Clock
from bothy.inbound import CheckpointTracker, InboundDispatcher
from bothy.matrix.events import Message
from bothy.outbox import UnitOfWork
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sync_state import SyncStateRepository


def message(event_id: str, room: str = "!r") -> Message:
    return Message(room, event_id, "@a:x", "text", 0, "m.text", False)


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

    sync_state = SyncStateRepository(database)
    dispatcher = InboundDispatcher("@bot:x", sync_state, handler, UnitOfWork(database, Clock(), lambda: None))
    await dispatcher.on_batch("t1", [message("$one"), message("$boom"), message("$two", "!other")])
    await dispatcher.drain()
    await dispatcher.on_batch("t2", [message("$one"), message("$three")])  # a replay after a crash
    await dispatcher.drain()
    assert sorted(seen) == ["$boom", "$one", "$three", "$two"]
    rows = await OutboxRepository(database).due(now_ms=10**15)
    assert sorted(row.content["body"] for row in rows) == ["$one", "$three", "$two"]
    assert await sync_state.checkpoint("@bot:x") == "t2"


async def test_a_slow_room_does_not_stall_another(database):
    release = asyncio.Event()
    fast_done = asyncio.Event()

    async def handler(event, effects):
        if event.room_id == "!slow":
            await release.wait()
        else:
            fast_done.set()

    dispatcher = InboundDispatcher("@bot:x", SyncStateRepository(database), handler,
                                   UnitOfWork(database, Clock(), lambda: None))
    await dispatcher.on_batch("t1", [message("$slow", "!slow")])
    await dispatcher.on_batch("t2", [message("$fast", "!fast")])
    await asyncio.wait_for(fast_done.wait(), 5)
    assert await SyncStateRepository(database).checkpoint("@bot:x") is None  # t1 not finished, so not t2 either
    release.set()
    await dispatcher.drain()
    assert await SyncStateRepository(database).checkpoint("@bot:x") == "t2"
