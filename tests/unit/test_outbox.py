"""The outbox against a fake account that records what it was asked to send (pure delivery logic)."""

from bothy.clock import Clock
from bothy.matrix.adapter import MatrixError
from bothy.outbox import Effects, OutboxDispatcher
from bothy.storage.outbox import AlertRecord, OutboxRepository

ACCOUNT = "@bot:x"


class FakeAccount:
    user_id = ACCOUNT

    def __init__(self):
        self.sent: list[tuple[str, str, dict, str]] = []
        self.failures: list[MatrixError] = []
        self.txn_to_event: dict[str, str] = {}

    def knows_room(self, room_id):
        return True

    async def send(self, room_id, event_type, content, txn_id):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((room_id, event_type, content, txn_id))
        return self.txn_to_event.setdefault(txn_id, f"$ev{len(self.txn_to_event)}")

    async def redact(self, room_id, event_id, txn_id):
        self.sent.append((room_id, "redaction", {"redacts": event_id}, txn_id))
        return "$redaction"


class FakeDirectRooms:
    async def room_for(self, account, user_id):
        return f"!dm-{user_id}"


async def enqueue(database, effects: Effects) -> None:
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, Clock().ms())


def dispatcher(database, account) -> OutboxDispatcher:
    return OutboxDispatcher(OutboxRepository(database), {ACCOUNT: account}, FakeDirectRooms(), Clock())


async def test_messages_go_in_order_and_reactions_follow_their_message(database):
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "one"}, room_id="!r")
    effects.message({"body": "check-in"}, to_user="@alice:x", reactions=("👍", "💬"))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [s[2].get("body") for s in account.sent] == ["one", "check-in", None, None]
    parent_event = account.txn_to_event[account.sent[1][3]]
    assert account.sent[1][0] == "!dm-@alice:x"
    assert [s[2]["m.relates_to"] for s in account.sent[2:]] == [
        {"rel_type": "m.annotation", "key": "👍", "event_id": parent_event},
        {"rel_type": "m.annotation", "key": "💬", "event_id": parent_event},
    ]
    assert await OutboxRepository(database).pending_count() == 0


async def test_a_rate_limit_keeps_the_row_and_later_rows_to_that_room_wait(database):
    account = FakeAccount()
    account.failures.append(MatrixError("rate limited", retry_after_ms=60_000))
    effects = Effects(ACCOUNT)
    effects.message({"body": "first"}, room_id="!r")
    effects.message({"body": "second"}, room_id="!r")
    effects.message({"body": "elsewhere"}, room_id="!other")
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["elsewhere"]
    repository = OutboxRepository(database)
    assert await repository.pending_count() == 2
    due_now = await repository.due(Clock().ms())
    assert [row.content["body"] for row in due_now] == ["second"]  # held back behind "first", not postponed
    assert await repository.due(Clock().ms() + 61_000) != due_now


async def test_a_retry_reuses_the_transaction_id(database):
    account = FakeAccount()
    account.failures.append(MatrixError("homeserver down"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "owed"}, room_id="!r")
    await enqueue(database, effects)
    (row,) = await OutboxRepository(database).due(Clock().ms())
    await dispatcher(database, account).deliver_due()
    async with database.transaction() as db:
        await db.execute("UPDATE outbox SET next_attempt_at = 0")
    await dispatcher(database, account).deliver_due()
    assert [s[3] for s in account.sent] == [row.txn_id]


async def test_permanent_failures_give_up_after_several_tries_and_say_so(database, caplog):
    account = FakeAccount()
    account.failures.extend(MatrixError("forbidden", permanent=True) for _ in range(5))
    effects = Effects(ACCOUNT)
    effects.message({"body": "x"}, room_id="!gone")
    await enqueue(database, effects)
    outbox = dispatcher(database, account)
    for _ in range(5):
        async with database.transaction() as db:
            await db.execute("UPDATE outbox SET next_attempt_at = 0")
        await outbox.deliver_due()
    assert await OutboxRepository(database).pending_count() == 0
    assert "giving up" in caplog.text


async def test_a_delivered_alert_remembers_its_staff_event(database):
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "alert"}, room_id="!staff", alert=AlertRecord("crisis", room_id="!g", event_id="$m"))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    from bothy.storage.alerts import AlertRepository
    alert = await AlertRepository(database).by_staff_event(account.txn_to_event[account.sent[0][3]])
    assert alert is not None and alert.kind == "crisis" and alert.claimed_by is None
    assert await AlertRepository(database).claim(alert.id, "@sam:x", 1)
    assert not await AlertRepository(database).claim(alert.id, "@kim:x", 2)
