"""What other devices and servers send for encryption never stops Bothy or skips a sync's rooms (a second reviewer's
findings, twenty-sixth session): device keys that are not keys, a to-device message that is not ciphertext, and any
sync nio fails to read part-way, which nio would otherwise take as read."""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import nio
import pytest
import vodozemac
from nio.crypto.sessions import InboundGroupSession

from bothy.matrix import adapter
from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.matrix.events import Message, Undecryptable
from tests.unit.test_collect import BOT, matrix_account

MALLORY, SAM = "@mallory:elsewhere.example", "@sam:example.org"
STAFF = "!staff:example.org"
NOT_KEYS = {"device_keys": {MALLORY: {"EVIL": {
    "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"], "device_id": "EVIL", "user_id": MALLORY,
    "keys": {"ed25519:EVIL": "AAAA", "curve25519:EVIL": "AAAA"},  # the right shape, but not 32-byte keys
    "signatures": {MALLORY: {"ed25519:EVIL": "AAAA"}},
}}}, "failures": {}}


class HomeserverReply:
    """What nio's transport hands back: a fresh copy of the JSON each time, as from a homeserver."""

    def __init__(self, body: Any):
        self.status = 200
        self.content_type = "application/json"
        self.content_disposition = None
        self._body = json.loads(json.dumps(body))

    async def json(self, *args: Any, **kwargs: Any) -> Any:
        return self._body

    async def text(self) -> str:
        return json.dumps(self._body)

    def release(self) -> None:
        pass


Route = Callable[[str, str], Awaitable[Any]]


@pytest.fixture
async def account(database, tmp_path) -> AsyncIterator[MatrixAccount]:
    account = matrix_account(database, tmp_path)
    account.client.restore_login(BOT, "BOTDEVICE", "token")  # creates the Olm account, as logging in does
    account.client.olm.account.shared = True  # its keys uploaded: only queries are due
    yield account
    await account.close()


def serve(account: MatrixAccount, syncs: dict[str, dict[str, Any]],
          route: Route | None = None) -> list[tuple[str, str]]:
    """Answer nio's syncs from `syncs` (by the token they are since; a later one waits, as a long poll with nothing
    new does) and its other requests with `route(method, path)`; returns the requests made, in order."""
    requests: list[tuple[str, str]] = []

    async def send(method: str, path: str, data: Any = None, headers: Any = None, trace_context: Any = None,
                   timeout: Any = None) -> HomeserverReply:
        requests.append((method, path))
        await asyncio.sleep(0)  # a real request yields to the event loop
        if "/sync" in path:
            since = path.split("since=")[1].split("&")[0]
            if since not in syncs:
                await asyncio.Event().wait()
            return HomeserverReply(syncs[since])
        return HomeserverReply(await route(method, path) if route else {})

    account.client.send = send  # type: ignore[method-assign]
    return requests


def sync_body(batch: str, state: list[dict[str, Any]] = (), to_device: list[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"next_batch": batch,
            "rooms": {"join": {STAFF: {"timeline": {"events": [], "limited": False}, "state": {"events": [*state]},
                                       "ephemeral": {"events": []}}} if state else {}, "invite": {}, "leave": {}},
            "to_device": {"events": [*to_device]}, "presence": {"events": []},
            "device_one_time_keys_count": {"signed_curve25519": 50}, "device_lists": {"changed": [], "left": []}}


def state(event_type: str, state_key: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "state_key": state_key, "sender": SAM, "event_id": f"${event_type}{state_key}",
            "origin_server_ts": 1, "content": content}


STAFF_ROOM_STATE = [state("m.room.encryption", "", {"algorithm": "m.megolm.v1.aes-sha2"}),
                    state("m.room.member", SAM, {"membership": "join"}),
                    state("m.room.member", BOT, {"membership": "join"})]


async def run_sync(account: MatrixAccount, until: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """sync_forever from "s0" until the batch `until` has been delivered; the batches delivered."""
    monkeypatch.setattr(adapter, "backoff_delay", lambda *args, **kwargs: 0.0)
    stopping, delivered, reached = asyncio.Event(), [], asyncio.Event()

    async def on_batch(token: str, events: list[Any]) -> None:
        delivered.append(token)
        if token == until:
            reached.set()

    task = asyncio.ensure_future(account.sync_forever("s0", on_batch, stopping))
    await asyncio.wait([task, asyncio.ensure_future(reached.wait())], timeout=10,
                       return_when=asyncio.FIRST_COMPLETED)
    stopping.set()
    assert not task.done(), task.exception() if task.done() else None  # the sync loop is still running
    task.cancel()
    return delivered


async def test_device_keys_that_are_not_keys_do_not_stop_the_sync_loop(account, monkeypatch):
    async def route(method: str, path: str) -> Any:
        return NOT_KEYS if "/keys/query" in path else {}

    serve(account, {"s0": sync_body("s1"), "s1": sync_body("s2")}, route)
    account.client.olm.users_for_key_query.add(MALLORY)  # she changed her keys, or shares an encrypted room
    assert await run_sync(account, "s2", monkeypatch) == ["s1", "s2"]
    assert MALLORY not in account.client.olm.users_for_key_query  # nio gave her up: she is not asked for again


async def test_device_keys_that_are_not_keys_before_a_send_are_a_temporary_failure(account, monkeypatch):
    queries = 0

    async def route(method: str, path: str) -> Any:
        nonlocal queries
        if "/keys/query" in path:  # her keys first; asked again, only for those not yet read (Sam)
            queries += 1
            sams = {SAM: {}}
            return {**NOT_KEYS, "device_keys": {**NOT_KEYS["device_keys"], **sams}} if queries == 1 else \
                {"device_keys": sams, "failures": {}}
        if path.split("?")[0].endswith("/state"):
            return []  # no members beyond those synced
        return {"event_id": "$sent"} if "/send/" in path else {}

    requests = serve(account, {"s0": sync_body("s1", STAFF_ROOM_STATE)}, route)
    await account.client.sync(since="s0")
    account.client.olm.users_for_key_query.add(MALLORY)
    with pytest.raises(MatrixError) as raised:
        await account.send(STAFF, "m.room.message", {"msgtype": "m.notice", "body": "alert"}, "txn1")
    assert not raised.value.permanent and not raised.value.unsendable  # the outbox tries again
    assert await account.send(STAFF, "m.room.message", {"msgtype": "m.notice", "body": "alert"}, "txn1") == "$sent"
    assert any("/send/m.room.encrypted/" in path for method, path in requests if method == "PUT")


async def test_a_to_device_message_that_is_not_ciphertext_leaves_the_syncs_rooms_read(account, monkeypatch):
    own_key = account.client.olm.account.identity_keys["curve25519"]
    not_ciphertext = {"type": "m.room.encrypted", "sender": MALLORY, "content": {
        "algorithm": "m.olm.v1.curve25519-aes-sha2", "sender_key": "A" * 43,
        "ciphertext": {own_key: {"type": 0, "body": "not base64!"}}}}

    serve(account, {"s0": sync_body("s1", STAFF_ROOM_STATE, [not_ciphertext])})
    assert await run_sync(account, "s1", monkeypatch) == ["s1"]
    assert account.is_encrypted(STAFF)  # so alerts to it go out encrypted


async def test_a_sync_nio_fails_to_read_part_way_is_read_afresh(account, monkeypatch):
    serve(account, {"s0": sync_body("s1", STAFF_ROOM_STATE)})
    handle_rooms = account.client._handle_joined_rooms
    calls = 0

    async def fails_once(response: nio.SyncResponse) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("nio could not read something in it")
        await handle_rooms(response)

    monkeypatch.setattr(account.client, "_handle_joined_rooms", fails_once)
    assert await run_sync(account, "s1", monkeypatch) == ["s1"]
    assert calls == 2 and account.is_encrypted(STAFF)  # the rooms were read on the second try, not skipped


async def first_batch(account: MatrixAccount, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The events sync_forever from "s0" hands over in its first batch."""
    monkeypatch.setattr(adapter, "backoff_delay", lambda *args, **kwargs: 0.0)
    stopping, events, reached = asyncio.Event(), [], asyncio.Event()

    async def on_batch(token: str, batch: list[Any]) -> None:
        events.extend(batch)
        reached.set()

    task = asyncio.ensure_future(account.sync_forever("s0", on_batch, stopping))
    await asyncio.wait_for(reached.wait(), 10)
    stopping.set()
    task.cancel()
    return events


def megolm_event(session: vodozemac.GroupSession, plaintext: bytes, event_id: str) -> dict[str, Any]:
    return {"type": "m.room.encrypted", "sender": MALLORY, "event_id": event_id, "origin_server_ts": 1, "content": {
        "algorithm": "m.megolm.v1.aes-sha2", "sender_key": "MalloryCurve25519", "device_id": "EVIL",
        "session_id": session.session_id, "ciphertext": session.encrypt(plaintext).to_base64()}}


def with_mallorys_key(account: MatrixAccount, room_id: str) -> vodozemac.GroupSession:
    session = vodozemac.GroupSession()
    account.client.olm.inbound_group_store.add(InboundGroupSession(
        session.session_key.to_base64(), "MalloryEd25519", "MalloryCurve25519", room_id))
    return session


@pytest.mark.parametrize("plaintext", [b"[]", b"5", b'"text"', b"null"])
async def test_a_message_that_decrypts_to_no_object_leaves_the_rest_of_its_sync_read(account, monkeypatch,
                                                                                    plaintext):
    """A robustness reviewer's, thirty-third session: nio's checks of a plaintext that is JSON but no object raise a
    TypeError inside its handling of the sync's rooms, and after three tries the sync was gone past, so another
    member's message in it, in another room, was never read. Now it is one undecryptable message, parked as any."""
    session = with_mallorys_key(account, STAFF)
    sync = sync_body("s1", STAFF_ROOM_STATE)
    staff_room = sync["rooms"]["join"][STAFF]
    staff_room["timeline"]["events"] = [
        megolm_event(session, plaintext, "$odd"),
        {"type": "m.room.message", "sender": SAM, "event_id": "$sams", "origin_server_ts": 2,
         "content": {"msgtype": "m.text", "body": "hello"}}]
    serve(account, {"s0": sync})
    events = await first_batch(account, monkeypatch)
    assert [(type(event), event.event_id) for event in events if isinstance(event, Message | Undecryptable)] == [
        (Undecryptable, "$odd"), (Message, "$sams")]


async def test_a_parked_message_that_decrypts_to_no_object_is_unreadable_not_an_error(account):
    """The same message fetched again by the give-up sweep once its key is there: unreadable, so a member in a DM is
    asked to send it again, and the sweep goes on."""
    session = with_mallorys_key(account, STAFF)
    odd = {**megolm_event(session, b"[]", "$odd"), "room_id": STAFF}

    async def room_get_event(room_id: str, event_id: str) -> nio.RoomGetEventResponse:
        return nio.RoomGetEventResponse.from_dict(json.loads(json.dumps(odd)))

    account.client.room_get_event = room_get_event  # type: ignore[method-assign]
    assert await account.fetch_and_decrypt(STAFF, "$odd") == (False, None)


async def test_a_missed_page_with_a_message_that_decrypts_to_no_object_still_yields_the_rest(account, monkeypatch):
    """A second reviewer's, thirty-third session: events missed while away are paged back with `/messages`, which nio
    decrypts by another path than the sync's; the same plaintext gave up the room's whole gap there, another member's
    missed message with it."""
    session = with_mallorys_key(account, STAFF)
    sync = sync_body("s1", STAFF_ROOM_STATE)
    timeline = sync["rooms"]["join"][STAFF]["timeline"]
    timeline.update(limited=True, prev_batch="p1", events=[
        {"type": "m.room.message", "sender": SAM, "event_id": "$latest", "origin_server_ts": 3,
         "content": {"msgtype": "m.text", "body": "latest"}}])
    page = {"start": "p1", "end": "p0", "chunk": [  # newest first
        {"type": "m.room.message", "sender": SAM, "event_id": "$missed", "origin_server_ts": 2, "room_id": STAFF,
         "content": {"msgtype": "m.text", "body": "missed"}},
        {**megolm_event(session, b"[]", "$odd"), "room_id": STAFF}]}

    async def route(method: str, path: str) -> Any:
        return page if "/messages" in path else {}

    serve(account, {"s0": sync}, route)
    events = await first_batch(account, monkeypatch)
    handled = [(type(event), event.event_id) for event in events if isinstance(event, Message | Undecryptable)]
    assert {(Undecryptable, "$odd"), (Message, "$missed"), (Message, "$latest")} <= set(handled)
