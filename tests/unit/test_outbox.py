"""The outbox against a fake account that records what it was asked to send (pure delivery logic)."""

import asyncio
import functools
import logging

import nio
import pytest

from bothy.clock import Clock
from bothy.config import BotAccount
from bothy.matrix.adapter import FORBIDDEN_CODES, MatrixAccount, MatrixError, _raise_for
from bothy.outbox import Effects, OutboxDispatcher
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.outbox import AlertRecord, OutboxRepository
from bothy.storage.sessions import SessionRepository
from bothy.templates import Templates

ACCOUNT = "@bot:x"
MINUTE_MS = 60_000


class MovableClock(Clock):
    """Real time plus an offset the test moves forward."""

    def __init__(self):
        self.offset_ms = 0

    def ms(self) -> int:
        return super().ms() + self.offset_ms


class FakeAccount:
    user_id = ACCOUNT

    def __init__(self):
        self.sent: list[tuple[str, str, dict, str]] = []
        self.failures: list[MatrixError] = []
        self.txn_to_event: dict[str, str] = {}
        self.timeline: dict[str, str] = {}  # txn_id -> event ID, what the homeserver shows this device
        self.searched: list[str] = []
        self.logins = 0
        self.password = True

    async def recover_session(self):
        self.logins += self.password
        return self.password

    def rooms_to_leave(self):
        return frozenset()

    async def find_sent(self, room_id, txn_id, since_ms):
        self.searched.append(txn_id)
        return self.timeline.get(txn_id)

    def knows_room(self, room_id):
        return True

    def is_encrypted(self, room_id):
        return "plain" not in room_id

    async def send_file(self, room_id, filename, mimetype, data, txn_id):
        self.sent.append((room_id, "file", {"filename": filename, "data": data}, txn_id))
        return f"$file{len(self.sent)}"

    async def send(self, room_id, event_type, content, txn_id):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((room_id, event_type, content, txn_id))
        return self.txn_to_event.setdefault(txn_id, f"$ev{len(self.txn_to_event)}")

    async def redact(self, room_id, event_id, txn_id):
        self.sent.append((room_id, "redaction", {"redacts": event_id}, txn_id))
        return "$redaction"


class FakeDirectRooms:
    def __init__(self):
        self.generation = 0
        self.forgotten: list[str] = []
        self.moved_on_from: list[str] = []  # still the member's DMs, no longer written to

    async def room_for(self, account, user_id):
        return f"!dm{self.generation}-{user_id}"

    async def closed(self, account, room_id):
        self.forgotten.append(room_id)
        self.generation += 1

    async def superseded(self, account, room_id):
        self.moved_on_from.append(room_id)
        self.generation += 1


async def enqueue(database, effects: Effects) -> None:
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, Clock().ms())


def dispatcher(database, account, clock: Clock | None = None, direct_rooms=None) -> OutboxDispatcher:
    return OutboxDispatcher(OutboxRepository(database), {ACCOUNT: account}, direct_rooms or FakeDirectRooms(),
                            clock or Clock(), Templates())


async def test_messages_go_in_order_and_reactions_follow_their_message(database):
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "one"}, room_id="!r")
    effects.message({"body": "check-in"}, to_user="@alice:x", reactions=("👍", "💬"))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [s[2].get("body") for s in account.sent] == ["one", "check-in", None, None]
    parent_event = account.txn_to_event[account.sent[1][3]]
    assert account.sent[1][0] == "!dm0-@alice:x"
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
    assert due_now == []  # "second" waits behind "first", in later passes too
    later = await repository.due(Clock().ms() + 61_000)
    assert [row.content["body"] for row in later] == ["first", "second"]


async def test_a_message_the_homeserver_can_never_take_is_set_aside_and_the_room_moves_on(database, caplog):
    account = FakeAccount()
    account.failures.append(MatrixError("send: M_TOO_LARGE", permanent=True, code="M_TOO_LARGE"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "far too long"}, room_id="!staff")
    effects.message({"body": "a crisis alert"}, room_id="!staff")
    await enqueue(database, effects)
    with caplog.at_level(logging.ERROR):
        await dispatcher(database, account).deliver_due()
        await dispatcher(database, account).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["a crisis alert"]
    assert await OutboxRepository(database).pending_count() == 0
    assert "far too long" not in caplog.text and "M_TOO_LARGE" in caplog.text


async def test_a_message_that_became_moot_while_it_waited_is_dropped_not_sent_late(database):
    account = FakeAccount()
    account.failures.append(MatrixError("send: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"))
    clock = MovableClock()
    effects = Effects(ACCOUNT)
    effects.message({"body": "the meetup starts in an hour"}, room_id="!group", expires_at=clock.ms() + 60 * MINUTE_MS)
    effects.message({"body": "a later message"}, room_id="!group")
    await enqueue(database, effects)
    await dispatcher(database, account, clock).deliver_due()  # refused: the bot is out of the room
    clock.offset_ms = 2 * 60 * MINUTE_MS  # invited back two hours later
    await dispatcher(database, account, clock).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["a later message"]
    assert await OutboxRepository(database).pending_count() == 0


class AnnotatedAccount(FakeAccount):
    """A room where the bot's reactions are already there: Synapse refuses each again with a 400."""

    async def send(self, room_id, event_type, content, txn_id):
        if event_type == "m.reaction":
            raise MatrixError("send: M_DUPLICATE_ANNOTATION", permanent=True, code="M_DUPLICATE_ANNOTATION")
        return await super().send(room_id, event_type, content, txn_id)


async def test_a_reaction_the_homeserver_already_has_is_done_and_holds_back_nothing(database, caplog):
    caplog.set_level(logging.INFO, logger="bothy.outbox")
    account = AnnotatedAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "check-in"}, room_id="!dm", reactions=("👍",))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert await OutboxRepository(database).pending_count() == 0  # not retried hourly: it is there
    later = Effects(ACCOUNT)
    later.message({"body": "a later reply"}, room_id="!dm")
    await enqueue(database, later)
    await dispatcher(database, account).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["check-in", "a later reply"]
    assert "already on the homeserver" in caplog.text


def test_synapses_refusal_of_a_second_identical_reaction_reads_as_already_there():
    refusal = nio.RoomSendResponse.from_dict({"errcode": "M_DUPLICATE_ANNOTATION",
                                              "error": "Can't send same reaction twice"}, "!dm")
    with pytest.raises(MatrixError) as raised:
        _raise_for(refusal, "send")
    assert raised.value.already_there and not MatrixError("send: M_FORBIDDEN", code="M_FORBIDDEN").already_there


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


async def refused_alert(database, body: str, refusals: int):
    """A crisis alert for the staff room that the homeserver will refuse `refusals` times (the bot is not in it)."""
    account = FakeAccount()
    account.failures.extend(MatrixError("send: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")
                            for _ in range(refusals))
    effects = Effects(ACCOUNT)
    effects.message({"body": body}, room_id="!staff", alert=AlertRecord("crisis"))
    await enqueue(database, effects)
    clock = MovableClock()
    return account, clock, dispatcher(database, account, clock), OutboxRepository(database)


async def test_a_refused_crisis_alert_is_never_abandoned_and_retried_at_least_hourly(database, caplog):
    account, clock, outbox, repository = await refused_alert(database, "CANARY crisis words", 20)
    for _ in range(20):
        clock.offset_ms = (await repository.next_due_at()) - Clock().ms()
        await outbox.deliver_due()
    assert await repository.pending_count() == 1
    assert (await repository.next_due_at()) - clock.ms() <= 3600_000  # capped, not abandoned
    clock.offset_ms = (await repository.next_due_at()) - Clock().ms()
    await outbox.deliver_due()
    assert await repository.pending_count() == 0
    assert [s[2]["body"] for s in account.sent] == ["CANARY crisis words"]
    assert "giving up" not in caplog.text and "CANARY" not in caplog.text


async def test_a_stuck_row_is_logged_once_by_id_action_attempts_and_code_and_counted(database, caplog):
    account = FakeAccount()
    account.failures.extend(MatrixError("send: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN") for _ in range(9))
    effects = Effects(ACCOUNT)
    effects.message({"body": "CANARY one"}, room_id="!gone")
    effects.message({"body": "CANARY two"}, room_id="!gone")
    await enqueue(database, effects)
    clock = MovableClock()
    outbox, repository = dispatcher(database, account, clock), OutboxRepository(database)
    first, second = await repository.due(clock.ms())
    for _ in range(5):
        async with database.read() as db, db.execute("SELECT next_attempt_at FROM outbox WHERE id = ?",
                                                     (first.id,)) as cursor:
            retry_at = (await cursor.fetchone())[0]
        clock.offset_ms = retry_at - Clock().ms() + 20_000  # and past the pause between stuck checks
        await outbox.deliver_due()
    stuck = [r for r in caplog.records if r.levelno == logging.WARNING and "stuck" in r.getMessage()]
    assert [r.getMessage() for r in stuck] == [
        f"outbox row {first.id} (message) is stuck: 3 failed attempts, last error M_FORBIDDEN"]
    clock.offset_ms = 11 * MINUTE_MS  # the row behind it was never tried, but has waited too long
    await outbox.deliver_due()
    assert f"outbox row {second.id} (message) is stuck: 0 failed attempts" in caplog.text
    summary = await repository.stuck_summary(clock.ms())
    assert summary.count == 2 and summary.oldest_created_at == first.created_at
    assert "CANARY" not in caplog.text


async def test_a_lost_token_logs_in_again_and_the_row_goes_out_at_once(database):
    account = FakeAccount()
    account.failures.append(MatrixError("send: M_UNKNOWN_TOKEN", permanent=True, code="M_UNKNOWN_TOKEN"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "owed"}, room_id="!r")
    await enqueue(database, effects)
    outbox = dispatcher(database, account)
    await outbox.deliver_due()
    assert account.logins == 1
    await outbox.deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["owed"]


async def test_a_lost_token_without_a_password_keeps_the_row_and_backs_off(database):
    account = FakeAccount()
    account.password = False
    account.failures.append(MatrixError("send: M_UNKNOWN_TOKEN", permanent=True, code="M_UNKNOWN_TOKEN"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "owed"}, room_id="!r")
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    repository = OutboxRepository(database)
    assert await repository.pending_count() == 1 and await repository.due(Clock().ms()) == []


async def test_a_refused_send_to_a_members_dm_opens_a_fresh_dm(database):
    account = FakeAccount()
    account.failures.append(MatrixError("send: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "check-in"}, to_user="@alice:x")
    await enqueue(database, effects)
    clock, direct_rooms = MovableClock(), FakeDirectRooms()
    outbox = dispatcher(database, account, clock, direct_rooms)
    await outbox.deliver_due()
    assert direct_rooms.forgotten == ["!dm0-@alice:x"]
    clock.offset_ms = 5_000
    await outbox.deliver_due()
    assert [s[0] for s in account.sent] == ["!dm1-@alice:x"]


async def test_a_refused_send_to_the_room_a_member_wrote_in_keeps_their_dm(database):
    """A reply to the DM's room names the member too (for export and erase), but it is owed to that room: a
    refusal there (a redaction the bot has no power for, say) must not make the member's next message open
    a second DM."""
    account, direct_rooms = FakeAccount(), FakeDirectRooms()
    account.failures.append(MatrixError("send: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"))
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES (?, '@alice:x', '!dm0-@alice:x')",
                         (ACCOUNT,))
    effects = Effects(ACCOUNT)
    effects.message({"body": "noted"}, room_id="!dm0-@alice:x")
    await enqueue(database, effects)
    await dispatcher(database, account, direct_rooms=direct_rooms).deliver_due()
    assert direct_rooms.forgotten == []


class PowerlessAccount(FakeAccount):
    """In a DM the member made without giving the bot moderator rights: it may not redact their reactions."""

    async def redact(self, room_id, event_id, txn_id):
        raise MatrixError("redact: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")


async def test_a_refused_redaction_holds_back_no_reply(database):
    """A mood reaction is redacted, then answered in the same DM: the answer, and every later reply there,
    go even though the redaction keeps being refused (it is retried, never dropped)."""
    account, clock = PowerlessAccount(), MovableClock()
    effects = Effects(ACCOUNT)
    effects.redact("!dm", "$reaction")
    effects.message({"body": "noted"}, room_id="!dm")
    await enqueue(database, effects)
    outbox = dispatcher(database, account, clock)
    await outbox.deliver_due()
    later = Effects(ACCOUNT)
    later.message({"body": "your help"}, room_id="!dm")
    await enqueue(database, later)
    await outbox.deliver_due()
    assert [content["body"] for _, _, content, _ in account.sent] == ["noted", "your help"]
    clock.offset_ms = 2 * 60 * MINUTE_MS
    await outbox.deliver_due()
    assert await OutboxRepository(database).pending_count() == 1  # the redaction, still owed


async def test_a_redaction_refused_in_a_members_dm_is_dropped_after_a_day(database):
    """A privacy reviewer's, thirty-third session: kept for good, the row named the member with the moment they
    reacted, linking an answer counted under no name (👍 on a suggestion) to them. One in a shared room is kept: the
    bot may be given the power there, and it names no one."""
    account, clock = PowerlessAccount(), MovableClock()
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES (?, '@alice:x', '!dm')", (ACCOUNT,))
    effects = Effects(ACCOUNT)
    effects.redact("!dm", "$thumbs-up")
    effects.redact("!group", "$command")
    await enqueue(database, effects)
    outbox, repository = dispatcher(database, account, clock), OutboxRepository(database)
    await outbox.deliver_due()
    clock.offset_ms = 23 * 60 * MINUTE_MS
    await outbox.deliver_due()
    assert await repository.pending_count() == 2
    clock.offset_ms = 25 * 60 * MINUTE_MS
    await outbox.deliver_due()
    async with database.read() as db:
        left = await db.execute_fetchall("SELECT room_id, to_user FROM outbox")
    assert [tuple(row) for row in left] == [("!group", None)]


class PlainFirstDirectRooms(FakeDirectRooms):
    """The member's known DM was one they opened without encryption; DMs the bot opens are encrypted."""

    async def room_for(self, account, user_id):
        return f"!plain-{user_id}" if self.generation == 0 else await super().room_for(account, user_id)


async def test_a_file_never_goes_into_an_unencrypted_room(database):
    account, clock, direct_rooms = FakeAccount(), MovableClock(), PlainFirstDirectRooms()
    effects = Effects(ACCOUNT)
    effects.file("bothy-my-data.json", "application/json", "{}", to_user="@alice:x")
    await enqueue(database, effects)
    outbox = dispatcher(database, account, clock, direct_rooms)
    await outbox.deliver_due()
    assert account.sent == [] and direct_rooms.moved_on_from == ["!plain-@alice:x"] and direct_rooms.forgotten == []
    clock.offset_ms = 5_000
    await outbox.deliver_due()
    assert [(room, kind) for room, kind, _, _ in account.sent] == [("!dm1-@alice:x", "file")]


async def test_a_file_for_a_room_that_is_not_encrypted_is_set_aside_and_holds_back_nothing(database):
    """A `!mood report` chart answered in a staff room that is not encrypted: it can never go, so the crisis alert
    after it goes at once (it used to wait behind the chart for ever), and the room is told which file did not."""
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.file("mood-trend.png", "image/png", b"\x89PNG", room_id="!plain-staff")
    effects.message({"body": "crisis alert"}, room_id="!plain-staff", alert=AlertRecord("crisis", "@a:x", urgent=True))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [(room, kind) for room, kind, _, _ in account.sent] == [("!plain-staff", "m.room.message")] * 2
    alert, notice = (content["body"] for _, _, content, _ in account.sent)
    assert alert == "crisis alert"
    assert "mood-trend.png" in notice and "isn't encrypted" in notice
    repository = OutboxRepository(database)
    assert await repository.pending_count() == 0
    assert (await repository.stuck_summary(Clock().ms())).count == 1  # the chart, kept a while to investigate


class UnsyncedAccount(FakeAccount):
    """The homeserver has made the DM, but no sync has brought it yet (as after `create_dm`)."""

    def __init__(self):
        super().__init__()
        self.synced = False

    def knows_room(self, room_id):
        return self.synced

    def is_encrypted(self, room_id):
        return self.synced

    async def send_file(self, room_id, filename, mimetype, data, txn_id):
        if not self.synced:
            raise MatrixError("room not synced yet", retry_after_ms=500)
        return await super().send_file(room_id, filename, mimetype, data, txn_id)


async def test_a_file_waits_for_a_new_dm_to_sync_rather_than_opening_another(database):
    account, clock, direct_rooms = UnsyncedAccount(), MovableClock(), FakeDirectRooms()
    effects = Effects(ACCOUNT)
    effects.file("bothy-my-data.json", "application/json", "{}", to_user="@alice:x")
    await enqueue(database, effects)
    outbox = dispatcher(database, account, clock, direct_rooms)
    await outbox.deliver_due()
    assert account.sent == [] and direct_rooms.forgotten == []
    account.synced, clock.offset_ms = True, 5_000
    await outbox.deliver_due()
    assert [(room, kind) for room, kind, _, _ in account.sent] == [("!dm0-@alice:x", "file")]


async def attempted_long_ago(database, account, clock: MovableClock, minutes: int):
    """A row whose send began `minutes` ago and whose outcome was never recorded (the process was killed)."""
    effects = Effects(ACCOUNT)
    effects.message({"body": "alert"}, room_id="!staff", alert=AlertRecord("crisis"))
    await enqueue(database, effects)
    (row,) = await OutboxRepository(database).due(clock.ms())
    await OutboxRepository(database).attempting(row, clock.ms())
    clock.offset_ms = minutes * MINUTE_MS
    return row


async def test_an_old_row_that_may_have_gone_is_found_in_the_timeline_not_sent_again(database):
    from bothy.storage.alerts import AlertRepository
    account, clock = FakeAccount(), MovableClock()
    row = await attempted_long_ago(database, account, clock, minutes=40)
    account.timeline[row.txn_id] = "$already"
    await dispatcher(database, account, clock).deliver_due()
    assert account.sent == [] and account.searched == [row.txn_id]
    assert await OutboxRepository(database).pending_count() == 0
    assert (await AlertRepository(database).by_staff_event("$already")) is not None


async def test_an_old_attempted_row_missing_from_the_timeline_is_sent(database):
    account, clock = FakeAccount(), MovableClock()
    row = await attempted_long_ago(database, account, clock, minutes=40)
    await dispatcher(database, account, clock).deliver_due()
    assert account.searched == [row.txn_id] and [s[3] for s in account.sent] == [row.txn_id]


@pytest.mark.parametrize("attempted", [True, False])
async def test_a_young_or_never_tried_row_is_sent_without_looking(database, attempted):
    account, clock = FakeAccount(), MovableClock()
    if attempted:
        await attempted_long_ago(database, account, clock, minutes=10)  # the homeserver still knows the txn
    else:
        effects = Effects(ACCOUNT)
        effects.message({"body": "x"}, room_id="!r")
        await enqueue(database, effects)
        clock.offset_ms = 40 * MINUTE_MS
    await dispatcher(database, account, clock).deliver_due()
    assert account.searched == [] and len(account.sent) == 1


async def test_the_attempt_is_recorded_before_the_send(database):
    seen: list[int | None] = []

    class Inspecting(FakeAccount):
        async def send(self, room_id, event_type, content, txn_id):
            async with database.read() as db, db.execute("SELECT attempted_at FROM outbox") as cursor:
                seen.append((await cursor.fetchone())[0])
            return await super().send(room_id, event_type, content, txn_id)

    effects = Effects(ACCOUNT)
    effects.message({"body": "x"}, room_id="!r")
    await enqueue(database, effects)
    await dispatcher(database, Inspecting()).deliver_due()
    assert len(seen) == 1 and seen[0] is not None


@pytest.fixture
async def matrix_account(database, tmp_path):
    def make(password):
        return MatrixAccount(BotAccount(ACCOUNT, password, None), "http://127.0.0.1:9", tmp_path / "crypto", "k",
                             SessionRepository(database), DirectRoomRepository(database), frozenset())
    made = []
    yield lambda password: made.append(make(password)) or made[-1]
    for account in made:
        await account.close()


def unknown_token() -> nio.WhoamiError:
    return nio.WhoamiError("Invalid access token", status_code="M_UNKNOWN_TOKEN")


async def test_recovering_a_lost_token_logs_in_again_and_stores_the_session(database, matrix_account):
    account = matrix_account("secret")

    async def whoami():
        return unknown_token()

    async def login(password, device_name=""):
        return nio.LoginResponse(ACCOUNT, "DEVICE", "new-token")

    account.client.whoami, account.client.login = whoami, login
    assert await account.recover_session()
    assert (await SessionRepository(database).get(ACCOUNT)).access_token == "new-token"


async def test_a_lost_token_without_a_password_is_an_error_said_once(database, matrix_account, caplog):
    account = matrix_account(None)

    async def whoami():
        return unknown_token()

    account.client.whoami = whoami
    assert not await account.recover_session()
    assert not await account.recover_session()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "no password is configured" in errors[0].getMessage()


async def test_a_delivered_alert_remembers_its_staff_event(database):
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "alert"}, room_id="!staff", alert=AlertRecord("crisis", room_id="!g", event_id="$m"))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    from bothy.storage.alerts import AlertRepository, claim
    alert = await AlertRepository(database).by_staff_event(account.txn_to_event[account.sent[0][3]])
    assert alert is not None and alert.kind == "crisis" and alert.claimed_by is None
    async with database.transaction() as db:
        assert await claim(db, alert.id, "@sam:x", 1)
        assert not await claim(db, alert.id, "@kim:x", 2)


async def test_a_binary_file_reaches_the_homeserver_byte_for_byte(database):
    account, clock = FakeAccount(), MovableClock()
    effects = Effects(ACCOUNT)
    effects.file("chart.png", "image/png", b"\x89PNG\x00\xff", room_id="!staff")
    await enqueue(database, effects)
    await dispatcher(database, account, clock).deliver_due()
    assert [(room, kind, content["data"]) for room, kind, content, _ in account.sent] == [
        ("!staff", "file", b"\x89PNG\x00\xff")]


async def count(database, sql: str) -> int:
    async with database.read() as db, db.execute(sql) as cursor:
        return (await cursor.fetchone())[0]


async def test_words_owed_alike_to_many_are_stored_once_and_go_with_their_last_row(database):
    account = FakeAccount()
    prompt = {"body": "How's today?"}
    effects = Effects(ACCOUNT)
    effects.messages(prompt, to_users=["@a:x", "@b:x", "@c:x"], tag="prompt:1")
    effects.message({"body": "just for Dee"}, to_user="@d:x")
    await enqueue(database, effects)
    assert await count(database, "SELECT COUNT(*) FROM outbox_contents") == 1
    assert await count(database, "SELECT COUNT(*) FROM outbox WHERE content LIKE '%today%'") == 0

    async with database.transaction() as db:  # a member erased before delivery: the words stay for the rest
        await db.execute("DELETE FROM outbox WHERE to_user = '@a:x'")
    assert await count(database, "SELECT COUNT(*) FROM outbox_contents") == 1
    await dispatcher(database, account).deliver_due()
    assert [(s[0], s[2]["body"]) for s in account.sent] == [
        ("!dm0-@b:x", "How's today?"), ("!dm0-@c:x", "How's today?"), ("!dm0-@d:x", "just for Dee")]
    assert len({s[3] for s in account.sent}) == 3  # each its own transaction ID
    assert await count(database, "SELECT COUNT(*) FROM outbox_contents") == 0


async def test_joining_a_room_again_sends_at_once_what_was_refused_there(database, matrix_account):
    """Put out of the staff room and invited back: the alert goes on the join, not after its backoff."""
    account, clock, outbox, repository = await refused_alert(database, "alert", 12)
    while account.failures:
        clock.offset_ms = (await repository.next_due_at()) - Clock().ms()
        await outbox.deliver_due()
    assert account.sent == [] and (await repository.next_due_at()) - clock.ms() > MINUTE_MS
    await outbox.joined(ACCOUNT, "!group")  # another room's join hurries nothing

    joining = matrix_account("secret")

    async def join(room):
        return nio.JoinResponse(room)

    joining.client.join = join
    joining.on_joined = functools.partial(outbox.joined, "@another:x")
    await joining.join("!staff")  # nor does another account's
    assert (await repository.next_due_at()) - clock.ms() > MINUTE_MS
    joining.on_joined = functools.partial(outbox.joined, ACCOUNT)
    assert await joining.join("!staff") == "!staff"
    assert (await repository.next_due_at()) <= clock.ms()
    await outbox.deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["alert"]


async def test_a_join_hurries_only_what_was_refused_not_what_waits_on_a_rate_limit(database):
    effects = Effects(ACCOUNT)
    effects.message({"body": "refused"}, room_id="!staff")
    effects.message({"body": "rate limited"}, room_id="!staff")
    await enqueue(database, effects)
    repository, now = OutboxRepository(database), Clock().ms()
    refused, limited = await repository.due(now)
    await repository.postpone(refused, now, now + 3600_000, "M_FORBIDDEN")
    await repository.postpone(limited, now, now + 3600_000, "M_LIMIT_EXCEEDED")
    assert await repository.refused_due_now(ACCOUNT, "!staff", now, FORBIDDEN_CODES) == 1
    assert [row.content["body"] for row in await repository.due(now)] == ["refused"]


async def test_what_an_emergency_owes_goes_before_a_backlog(database):
    """A daily prompt to hundreds of members queued first must not keep an urgent alert and its DM waiting: they
    go before every row due, more than one pass reads included; the backlog then goes in its own order."""
    account = FakeAccount()
    prompts = Effects(ACCOUNT)
    prompts.messages({"body": "prompt"}, to_users=[f"@m{n}:x" for n in range(250)])
    await enqueue(database, prompts)
    urgent = Effects(ACCOUNT)
    urgent.message({"body": "lines"}, to_user="@alice:x", urgent=True)
    urgent.message({"body": "not urgent"}, room_id="!staff")
    urgent.message({"body": "alert"}, room_id="!staff", alert=AlertRecord("crisis", "@alice:x", urgent=True))
    await enqueue(database, urgent)
    await dispatcher(database, account).deliver_due()
    bodies = [s[2]["body"] for s in account.sent]
    assert bodies[:2] == ["lines", "alert"]
    assert bodies[2:] == ["prompt"] * 250 + ["not urgent"]


async def test_an_urgent_row_waits_behind_a_row_its_room_holds_back_then_goes_first(database):
    """An urgent row does not jump a row to its place that waits (what holds that one back would hold it back too);
    once both are due, it goes first."""
    account = FakeAccount()
    account.failures.append(MatrixError("rate limited", retry_after_ms=60_000))
    first = Effects(ACCOUNT)
    first.message({"body": "first"}, room_id="!staff")
    await enqueue(database, first)
    await dispatcher(database, account).deliver_due()
    alert = Effects(ACCOUNT)
    alert.message({"body": "alert"}, room_id="!staff", alert=AlertRecord("crisis", "@alice:x", urgent=True))
    alert.message({"body": "elsewhere"}, room_id="!other")
    await enqueue(database, alert)
    await dispatcher(database, account).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["elsewhere"]
    later = await OutboxRepository(database).due(Clock().ms() + 61_000)
    assert [row.content["body"] for row in later] == ["alert", "first"]


async def test_a_row_waiting_behind_one_that_backs_off_does_not_wake_the_outbox_until_that_one_is_due(database):
    """The next wake was the earliest time of any row, and a row held back behind another to the same place keeps
    a time already past: the outbox ran a thousand passes a second through an outage (a reviewer's)."""
    account = FakeAccount()
    account.failures.append(MatrixError("rate limited", retry_after_ms=60_000, code="M_LIMIT_EXCEEDED"))
    effects = Effects(ACCOUNT)
    effects.message({"body": "first"}, room_id="!r")
    effects.message({"body": "second"}, room_id="!r")  # waits behind "first" for its minute
    await enqueue(database, effects)
    outbox, repository = dispatcher(database, account), OutboxRepository(database)
    await outbox.deliver_due()
    assert account.sent == []
    now = Clock().ms()
    assert (await repository.next_due_at(after_ms=now)) - now > 50_000


async def test_a_failed_read_between_passes_is_tried_again_not_the_end_of_delivery(database, monkeypatch):
    """Reading when the next row is due sat outside the loop's guard: one busy database there ended the outbox, and
    Bothy with it (a reviewer's)."""
    import sqlite3

    from bothy import outbox as outbox_module

    monkeypatch.setattr(outbox_module, "FAILED_PASS_WAIT_S", 0.01)
    outbox, stopping, reads = dispatcher(database, FakeAccount()), asyncio.Event(), []

    async def next_due_at(after_ms: int | None = None) -> int | None:
        reads.append(after_ms)
        if len(reads) == 1:
            raise sqlite3.OperationalError("database is locked")
        stopping.set()
        return None

    outbox.repository.next_due_at = next_due_at
    await asyncio.wait_for(outbox.run(stopping), 5)
    assert len(reads) == 2


async def test_rows_queued_or_tried_while_the_clock_ran_fast_are_due_once_it_is_stepped_back(database):
    """A row postponed (or queued) while the host's clock ran an hour fast waited that hour once NTP stepped it back,
    and held its place: a crisis alert to the staff room behind it waited too (a reviewer's, twenty-ninth session)."""
    clock = MovableClock()
    clock.offset_ms = 3_600_000
    account = FakeAccount()
    account.failures.append(MatrixError("send: 502", code="502"))  # a blip: backs off half a second or so
    earlier = Effects(ACCOUNT)
    earlier.message({"body": "a note in the staff room"}, room_id="!staff")
    earlier.message({"body": "a DM queued while fast"}, room_id="!dm")
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, earlier.items, clock.ms())
    outbox = dispatcher(database, account, clock)
    account.failures.append(MatrixError("send: 502", code="502"))
    await outbox.deliver_due()
    assert account.sent == []

    clock.offset_ms = 0  # stepped back
    crisis = Effects(ACCOUNT)
    crisis.message({"body": "crisis alert"}, room_id="!staff", alert=AlertRecord("crisis", "@alice:x", urgent=True))
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, crisis.items, clock.ms())
    await outbox.deliver_due()
    assert sorted(s[2]["body"] for s in account.sent) == ["a DM queued while fast", "a note in the staff room",
                                                          "crisis alert"]


async def test_a_row_queued_while_the_clock_ran_fast_keeps_its_rate_limit_once_tried_again(database):
    """Brought forward once, then its own wait holds: every wake undid a rate limit (a second reviewer's)."""
    clock = MovableClock()
    clock.offset_ms = 3_600_000  # an hour fast when the row is queued
    account = FakeAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "queued while fast"}, room_id="!r")
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, clock.ms())
    clock.offset_ms = 0  # NTP steps the clock back
    outbox = dispatcher(database, account, clock)
    account.failures.append(MatrixError("rate limited", retry_after_ms=60_000, code="M_LIMIT_EXCEEDED"))
    await outbox.deliver_due()  # brought forward, tried now (right), and told to wait a minute
    assert account.sent == []
    tries = []
    real_send = account.send

    async def counting(*args, **kwargs):
        tries.append(args)
        return await real_send(*args, **kwargs)

    account.send = counting
    for _ in range(5):  # members keep talking: each commit wakes the dispatcher, a few ms later
        account.failures.append(MatrixError("rate limited", retry_after_ms=60_000, code="M_LIMIT_EXCEEDED"))
        await outbox.deliver_due()
    assert tries == [], f"{len(tries)} sends within the homeserver's 60 s retry_after"


class RateLimitedRoomCreation:
    """Opening a member's DM is refused for a minute (room creation is a homeserver's strictest limit)."""

    def __init__(self) -> None:
        self.tries = 0

    async def room_for(self, account, user_id):
        self.tries += 1
        raise MatrixError("create room: rate limited", retry_after_ms=60_000, code="M_LIMIT_EXCEEDED")

    async def closed(self, account, room_id):
        pass


async def test_a_dm_queued_while_the_clock_ran_fast_keeps_its_rate_limit_while_the_dm_is_opened(database):
    """Never tried (its DM could not be opened), the row had no time of a try, and was brought forward at every
    wake, each time asking to open the DM again (a reviewer's, thirtieth session)."""
    clock = MovableClock()
    clock.offset_ms = 3_600_000
    effects = Effects(ACCOUNT)
    effects.message({"body": "a DM to a member with no DM room yet"}, to_user="@alice:x")
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, clock.ms())
    clock.offset_ms = 0
    rooms = RateLimitedRoomCreation()
    outbox = dispatcher(database, FakeAccount(), clock, direct_rooms=rooms)
    await outbox.deliver_due()  # brought forward, tried, and told to wait a minute
    for _ in range(5):
        await outbox.deliver_due()
    assert rooms.tries == 1


async def test_a_wait_set_after_the_step_holds_though_a_try_before_it_was_from_the_future(database):
    """Tried while the clock ran fast, then postponed after the step (its DM could not be opened): the larger of the
    two times was read as the latest, and its wait undone at every wake (a second reviewer's, thirtieth session)."""
    now = Clock().ms()
    effects = Effects(ACCOUNT)
    effects.message({"body": "hi"}, to_user="@alice:x")
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, now - 2 * 3_600_000)
        await db.execute("UPDATE outbox SET attempted_at = ?, postponed_at = ?, next_attempt_at = ?",
                         (now + 3_600_000, now, now + 10 * MINUTE_MS))
    await OutboxRepository(database).bring_forward(now)
    async with database.read() as db, db.execute("SELECT next_attempt_at FROM outbox") as cursor:
        assert await cursor.fetchall() == [(now + 10 * MINUTE_MS,)]


async def test_a_message_withdrawn_while_it_goes_gets_no_buttons_under_it(database):
    """Deleted between its send and its delivered mark (the member erased, consent taken back), a row still had its
    reactions queued under the message (a third reviewer's, thirtieth session)."""
    class WithdrawnWhileSent(FakeAccount):
        async def send(self, room_id, event_type, content, txn_id):
            async with database.transaction() as db:
                await db.execute("DELETE FROM outbox WHERE txn_id = ?", (txn_id,))
            return await super().send(room_id, event_type, content, txn_id)

    account = WithdrawnWhileSent()
    effects = Effects(ACCOUNT)
    effects.message({"body": "check-in"}, room_id="!r", reactions=("👍", "💬"))
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [s[2].get("body") for s in account.sent] == ["check-in"]
    assert await OutboxRepository(database).pending_count() == 0


class HangingAccount(FakeAccount):
    """A send to one room that never returns (nio waiting for ever on a key share whose claim failed)."""

    async def send(self, room_id, event_type, content, txn_id):
        if room_id == "!wedged":
            await asyncio.Event().wait()
        return await super().send(room_id, event_type, content, txn_id)


async def test_a_send_that_never_returns_holds_back_nothing_owed_elsewhere(database, monkeypatch):
    """Rows go one at a time: one send that never returned held back every later row, a crisis alert's included, in
    every room (an operations reviewer's, thirty-second session). It is given up for now after SEND_TIMEOUT_S and
    tried again later, as after a network error."""
    monkeypatch.setattr("bothy.outbox.SEND_TIMEOUT_S", 0.05)
    account = HangingAccount()
    effects = Effects(ACCOUNT)
    effects.message({"body": "to a wedged room"}, room_id="!wedged")
    effects.message({"body": "a crisis alert"}, room_id="!staff")
    await enqueue(database, effects)
    await dispatcher(database, account).deliver_due()
    assert [s[2]["body"] for s in account.sent] == ["a crisis alert"]
    [waiting] = await OutboxRepository(database).due(Clock().ms() + 3_600_000)
    assert waiting.content["body"] == "to a wedged room" and waiting.attempts == 1
