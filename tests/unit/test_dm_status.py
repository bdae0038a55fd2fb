"""A room is a DM only while the bot and the member are alone in it, whatever the invite said."""

import asyncio
import os
import sqlite3
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import nio
import peewee
import pytest
from nio.crypto import OlmDevice

from bothy.clock import Clock
from bothy.config import BotAccount
from bothy.matrix.adapter import GAP_TRIES, STORE_WAIT_S, UNREADABLE_TRIES, MatrixAccount
from bothy.matrix.events import Message, RoomKeyArrived
from bothy.outbox import Effects, UnitOfWork
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.sessions import SessionRepository
from bots.installed import INSTALLATION
from rooms.dm import DirectRooms

BOT, ALICE, BOB = "@bot:x", "@alice:x", "@bob:x"
DM = "!dm:x"


@pytest.fixture
async def account(database, tmp_path):
    account = MatrixAccount(BotAccount(BOT, "pw", None), "http://127.0.0.1:9", tmp_path, "key",
                            SessionRepository(database), DirectRooms(DirectRoomRepository(database)), frozenset({"x"}))
    yield account
    await account.close()


def room_with(account: MatrixAccount, room_id: str, joined: tuple[str, ...], invited: tuple[str, ...] = ()):
    """The room state nio keeps after a sync."""
    room = nio.MatrixRoom(room_id, BOT)
    for user_id in joined:
        room.add_member(user_id, None, None)
    for user_id in invited:
        room.add_member(user_id, None, None, invited=True)
    account.client.rooms[room_id] = room
    return room


async def flagged_dm(account: MatrixAccount) -> None:
    await account.direct_book.opened(BOT, ALICE, DM)
    account._direct_rooms[DM] = ALICE


async def test_a_flagged_room_with_only_the_bot_and_the_member_is_a_dm(account):
    await flagged_dm(account)
    room_with(account, DM, (BOT, ALICE))
    assert account.is_direct_room(DM)


async def test_a_room_the_bot_opened_is_a_dm_while_the_member_is_still_invited(account):
    await flagged_dm(account)
    room_with(account, DM, (BOT,), invited=(ALICE,))
    assert account.is_direct_room(DM)


@pytest.mark.parametrize(("joined", "invited"), [
    ((BOT, ALICE, BOB), ()),   # someone else joined
    ((BOT, ALICE), (BOB,)),    # someone else is invited: they could join and read the history
])
async def test_a_dm_with_anyone_else_in_it_is_a_dm_no_more(account, joined, invited):
    await flagged_dm(account)
    room_with(account, DM, joined, invited)
    assert not account.is_direct_room(DM)


async def test_server_member_counts_win_over_a_lazily_loaded_member_list(account):
    await flagged_dm(account)
    room = room_with(account, DM, (BOT, ALICE))  # lazy loading: only the members nio has seen
    room.update_summary(nio.RoomSummary(joined_member_count=3, invited_member_count=0))
    assert not account.is_direct_room(DM)


async def test_a_group_of_two_and_an_unknown_room_are_not_dms(account):
    room_with(account, "!pair:x", (BOT, ALICE))
    assert not account.is_direct_room("!pair:x")
    await flagged_dm(account)
    assert not account.is_direct_room(DM)  # not synced yet: nothing private goes there


async def test_a_dm_that_gained_a_member_is_forgotten_so_private_output_opens_a_fresh_one(account, database):
    await flagged_dm(account)
    room_with(account, DM, (BOT, ALICE), invited=(BOB,))
    response = SimpleNamespace(device_list=SimpleNamespace(changed=[]), to_device_events=[],
                               rooms=SimpleNamespace(invite={}, leave={}, join={DM: SimpleNamespace(
                                   timeline=SimpleNamespace(events=[]), ephemeral=[], state=[])}))
    account._collect(response, deliver_timeline=True)
    await asyncio.gather(*account._background)
    assert await DirectRoomRepository(database).get(BOT, ALICE) is None
    room_with(account, DM, (BOT, ALICE))  # even when the other person leaves again, it stays a group
    assert not account.is_direct_room(DM)


def sync_with(room_id: str, timeline: list) -> SimpleNamespace:
    """The parts of a sync response that say which rooms have something to handle."""
    return SimpleNamespace(rooms=SimpleNamespace(join={room_id: SimpleNamespace(
        timeline=SimpleNamespace(events=timeline), ephemeral=[], state=[])}))


def member(user_id: str, membership: str = "join") -> dict:
    return {"type": "m.room.member", "state_key": user_id, "content": {"membership": membership}}


async def test_after_a_restart_a_dm_with_new_events_has_its_members_loaded_before_they_are_handled(
    account, monkeypatch
):
    """The first sync after a restart, lazy-loading members, gives no member count and may leave out the
    member (sent to this device before): the DM must not be taken for a room of one, i.e. a group."""
    await flagged_dm(account)
    room_with(account, DM, (BOT,))
    assert not account.is_direct_room(DM)
    asked: list[str] = []

    async def room_get_state(room_id: str) -> SimpleNamespace:
        asked.append(room_id)
        return SimpleNamespace(events=[member(BOT), member(ALICE)])

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    await account._count_dm_members(sync_with(DM, [object()]))
    assert account.is_direct_room(DM)
    await account._count_dm_members(sync_with(DM, [object()]))
    assert asked == [DM]  # once per run


async def test_only_dms_with_new_events_and_no_member_count_have_their_members_loaded(account, monkeypatch):
    async def room_get_state(room_id: str) -> SimpleNamespace:
        raise AssertionError(f"{room_id} needed no state request")

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    await flagged_dm(account)
    room_with(account, DM, (BOT,))
    await account._count_dm_members(sync_with(DM, []))  # nothing to handle: a restart touches no idle DM
    room_with(account, "!group:x", (BOT,))
    await account._count_dm_members(sync_with("!group:x", [object()]))  # groups need no count
    room_with(account, DM, (BOT, ALICE)).update_summary(nio.RoomSummary(joined_member_count=2,
                                                                        invited_member_count=0))
    await account._count_dm_members(sync_with(DM, [object()]))  # the server gave the count
    assert account.is_direct_room(DM)


async def test_a_failure_to_load_a_dms_members_is_logged_without_stopping_the_batch(account, monkeypatch, caplog):
    async def room_get_state(room_id: str) -> nio.RoomGetStateError:
        return nio.RoomGetStateError("boom", "M_UNKNOWN")

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    await flagged_dm(account)
    room_with(account, DM, (BOT,))
    await account._count_dm_members(sync_with(DM, [object()]))
    assert "could not load the members of DM" in caplog.text


async def test_a_dm_the_member_opened_is_known_as_theirs_before_the_bot_is_seen_to_join(account, monkeypatch):
    """The member may write the moment the bot joins: by then the room must already be their DM."""
    known_when_joining = []

    async def join(room_id):
        known_when_joining.append(await account.direct_book.repository.get(BOT, ALICE))

    monkeypatch.setattr(account, "join", join)
    await account._accept_invite(DM, ALICE, is_direct=True)
    assert known_when_joining == [DM] and DM in account._direct_rooms


async def test_a_dm_invite_the_bot_could_not_join_is_forgotten(account, monkeypatch):
    from bothy.matrix.adapter import MatrixError

    async def join(room_id):
        raise MatrixError("join: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")

    monkeypatch.setattr(account, "join", join)
    await account._accept_invite(DM, ALICE, is_direct=True)
    assert await account.direct_book.repository.get(BOT, ALICE) is None and DM not in account._direct_rooms


async def test_an_erased_members_dm_is_no_dm_in_memory_either(account, database):
    """`!forget me` deletes the record of the member's DMs: the running account follows at once, as it would
    after a restart, and only once the erase is committed. Another member's DM stays theirs."""
    personal = INSTALLATION.personal_data(database)
    personal.kept_in_memory(account.forget_member)
    work = UnitOfWork(database, Clock(), lambda: None)
    await flagged_dm(account)
    await account.direct_book.opened(BOT, BOB, "!bob:x")
    account._direct_rooms["!bob:x"] = BOB
    room_with(account, DM, (BOT, ALICE))
    room_with(account, "!bob:x", (BOT, BOB))

    async def decline(db) -> bool:  # e.g. the event was handled already: nothing is committed
        return False

    declined = Effects(BOT)
    personal.erase_with(declined, ALICE)
    await work.commit(declined, guard=decline)
    assert account.is_direct_room(DM)
    erased = Effects(BOT)
    personal.erase_with(erased, ALICE)
    await work.commit(erased)
    assert not account.is_direct_room(DM) and account.is_direct_room("!bob:x")
    assert await account.direct_book.dms_of(BOT) == {"!bob:x": BOB}


def state_event(user_id: str, content: object) -> dict:
    """A member event as the homeserver's /state returns it: nio checks the envelope, not the content."""
    return {"type": "m.room.member", "sender": user_id, "event_id": f"$m-{user_id}", "state_key": user_id,
            "origin_server_ts": 1, "content": content}


# Synapse checks only a display name's length, so a member can make theirs a list (the audit tried it).
JUNK_NAME_STATE = [state_event(BOT, {"membership": "join"}),
                   state_event(ALICE, {"membership": "join", "displayname": ["Alice"], "avatar_url": {"a": 1}})]


def restart_sync(timeline: list, limited: bool = False) -> SimpleNamespace:
    """The first sync after a restart: something new in the DM, and (lazy-loaded members) no member count."""
    info = SimpleNamespace(timeline=SimpleNamespace(events=timeline, limited=limited, prev_batch="p1"),
                           ephemeral=[], state=[])
    return SimpleNamespace(rooms=SimpleNamespace(join={DM: info}, invite={}, leave={}), next_batch="s2",
                           to_device_events=[], device_list=SimpleNamespace(changed=[]))


def hello_from_alice() -> nio.Event:
    return nio.Event.parse_event({"type": "m.room.message", "sender": ALICE, "event_id": "$hello",
                                  "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "hello"}})


async def sync_once(account: MatrixAccount, monkeypatch, response: SimpleNamespace) -> list:
    """Run the sync loop for one batch; what it handed over, each event with whether its room was a DM."""
    async def sync(**kwargs):
        return response

    async def no_keys_to_share() -> None:
        pass

    monkeypatch.setattr(account.client, "sync", sync)
    monkeypatch.setattr(account, "_crypto_housekeeping", no_keys_to_share)
    stopping, batches = asyncio.Event(), []

    async def on_batch(token, events):
        batches.append([(event.event_id, account.is_direct_room(event.room_id)) for event in events])
        stopping.set()

    await asyncio.wait_for(account.sync_forever("s1", on_batch, stopping), 5)
    return batches


async def test_a_member_whose_display_name_is_not_text_still_counts_and_nothing_breaks(account, monkeypatch):
    async def room_get_state(room_id: str) -> nio.RoomGetStateResponse:
        return nio.RoomGetStateResponse.from_dict(JUNK_NAME_STATE, room_id)

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    await flagged_dm(account)
    room = room_with(account, DM, (BOT,))  # after a restart nio dropped her member event as malformed
    await account._count_dm_members(sync_with(DM, [object()]))
    assert account.is_direct_room(DM)
    assert room.users[ALICE].display_name is None and room.users[ALICE].avatar_url is None


async def test_after_a_restart_a_list_for_a_display_name_neither_stops_sync_nor_makes_the_dm_a_group(
    account, monkeypatch
):
    """It used to reach nio as a dict key: a TypeError out of the sync loop stopped all of Bothy, every restart."""
    async def room_get_state(room_id: str) -> nio.RoomGetStateResponse:
        return nio.RoomGetStateResponse.from_dict(JUNK_NAME_STATE, room_id)

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    await flagged_dm(account)
    room_with(account, DM, (BOT,))
    assert await sync_once(account, monkeypatch, restart_sync([hello_from_alice()])) == [[("$hello", True)]]


@pytest.mark.parametrize("failing", ["room_get_state", "room_messages"])
async def test_an_unexpected_failure_in_one_rooms_housekeeping_is_logged_and_sync_goes_on(
    account, monkeypatch, caplog, failing
):
    async def broken(*args, **kwargs):
        raise RuntimeError("CANARY-never-logged")

    async def no_state(room_id: str) -> SimpleNamespace:
        return SimpleNamespace(events=[])

    monkeypatch.setattr(account.client, "room_get_state", no_state)
    monkeypatch.setattr(account.client, failing, broken)
    await flagged_dm(account)
    room_with(account, DM, (BOT, ALICE))
    batches = await sync_once(account, monkeypatch, restart_sync([hello_from_alice()], limited=True))
    assert [[event_id for event_id, _ in batch] for batch in batches] == [["$hello"]]
    assert "RuntimeError" in caplog.text and "CANARY" not in caplog.text


def missed_while_away() -> nio.Event:
    return nio.Event.parse_event({"type": "m.room.message", "sender": ALICE, "event_id": "$missed",
                                  "origin_server_ts": 0, "content": {"msgtype": "m.text", "body": "missed"}})


@pytest.mark.parametrize("failures", [1, 3])
async def test_events_missed_while_away_are_fetched_again_when_paging_back_fails_for_now(
    account, monkeypatch, failures
):
    """One 502 or network blip while paging back over events missed while away handed the sync over without them,
    and the checkpoint moved past a crisis message for good (an operations reviewer's, thirty-first session): the sync
    is taken again from the same point until the missed events come."""
    fetched = []

    async def room_messages(room_id: str, **kwargs) -> SimpleNamespace:
        fetched.append(kwargs["start"])
        if len(fetched) <= failures:
            raise OSError("connection reset")
        return SimpleNamespace(chunk=[missed_while_away()], end="")

    monkeypatch.setattr(account.client, "room_messages", room_messages)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 0)
    room_with(account, DM, (BOT, ALICE))
    batches = await sync_once(account, monkeypatch, restart_sync([hello_from_alice()], limited=True))
    assert [[event_id for event_id, _ in batch] for batch in batches] == [["$missed", "$hello"]]
    assert fetched == ["p1"] * (failures + 1)


async def test_a_room_whose_missed_events_never_come_is_skipped_after_a_while_and_said(account, monkeypatch, caplog):
    """... but one room the homeserver cannot page back in, while it answers everything else, must not stop Bothy."""
    async def room_messages(room_id: str, **kwargs) -> SimpleNamespace:
        raise OSError("connection reset")

    async def whoami() -> nio.WhoamiResponse:
        return nio.WhoamiResponse(BOT, "BOTDEV", False)

    monkeypatch.setattr(account.client, "room_messages", room_messages)
    monkeypatch.setattr(account.client, "whoami", whoami)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 0)
    monkeypatch.setattr("bothy.matrix.adapter.GAP_TRIES", 2)
    room_with(account, DM, (BOT, ALICE))
    batches = await sync_once(account, monkeypatch, restart_sync([hello_from_alice()], limited=True))
    assert [[event_id for event_id, _ in batch] for batch in batches] == [["$hello"]]
    assert "they are not handled" in caplog.text


@pytest.mark.parametrize("away", ["rate limited", "homeserver away"])
async def test_missed_events_are_waited_for_however_long_the_homeserver_is_busy_or_away(account, monkeypatch, away):
    """Rate limits counted towards the tries after which a room's gap is skipped, so a 429 storm of a minute lost the
    missed events for good, and so did a homeserver restarting for as long (a reviewer's, thirty-second session): only
    failures while the homeserver answers other requests count."""
    fetched, checked = [], []

    async def room_messages(room_id: str, **kwargs):
        fetched.append(kwargs["start"])
        if len(fetched) <= 3 * GAP_TRIES:
            if away == "rate limited":
                return nio.RoomMessagesError("Too many requests", "M_LIMIT_EXCEEDED", retry_after_ms=5000)
            raise OSError("connection refused")
        return SimpleNamespace(chunk=[missed_while_away()], end="")

    async def whoami():
        checked.append(1)
        raise OSError("connection refused")

    monkeypatch.setattr(account.client, "room_messages", room_messages)
    monkeypatch.setattr(account.client, "whoami", whoami)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 0)
    room_with(account, DM, (BOT, ALICE))
    batches = await sync_once(account, monkeypatch, restart_sync([hello_from_alice()], limited=True))
    assert [[event_id for event_id, _ in batch] for batch in batches] == [["$missed", "$hello"]]
    assert bool(checked) == (away == "homeserver away")  # a 429 is the homeserver answering: nothing to check


async def test_a_sync_nio_cannot_read_is_tried_afresh_a_few_times_then_gone_past(account, monkeypatch, caplog):
    """nio takes a sync's token, then fails on something in it: the sync is asked for again from the same point a few
    times, and then from the token nio took. Asked from the same point for ever, the same sync stopped Bothy for good
    (an operations reviewer's suspicion, thirty-first session)."""
    asked = []

    async def sync(**kwargs):
        asked.append(kwargs["since"])
        if kwargs["since"] == "s1":
            account.client.next_batch = "s1b"  # as nio does before handling a sync
            raise KeyError("something nio could not read")
        return restart_sync([hello_from_alice()])

    async def no_keys_to_share() -> None:
        pass

    monkeypatch.setattr(account.client, "sync", sync)
    monkeypatch.setattr(account, "_crypto_housekeeping", no_keys_to_share)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 0)
    room_with(account, DM, (BOT, ALICE))
    stopping, tokens = asyncio.Event(), []

    async def on_batch(token, events):
        tokens.append((token, [event.event_id for event in events]))
        stopping.set()

    await asyncio.wait_for(account.sync_forever("s1", on_batch, stopping), 5)
    assert asked == ["s1"] * UNREADABLE_TRIES + ["s1b"]
    assert tokens == [("s2", ["$hello"])] and "goes past a sync" in caplog.text


async def test_malformed_member_events_in_room_state_are_skipped(account, monkeypatch):
    async def room_get_state(room_id: str) -> SimpleNamespace:
        return SimpleNamespace(events=[
            member(ALICE), "junk", state_event(BOB, ["join"]), state_event(BOB, {"membership": ["join"]}),
            {**member(BOB), "state_key": [BOB]}, {"type": "m.room.member", "content": {"membership": "join"}},
        ])

    monkeypatch.setattr(account.client, "room_get_state", room_get_state)
    assert (await account.room_facts("!staff:x")).members == {ALICE}
    room = room_with(account, DM, (BOT,))
    await account._load_members(DM)
    assert set(room.users) == {BOT, ALICE}


async def test_a_dm_the_bot_made_but_never_heard_back_about_is_found_and_becomes_a_dm(account, monkeypatch):
    recorded = []

    async def record_direct(user_id, room_id):
        recorded.append((user_id, room_id))

    monkeypatch.setattr(account, "_record_direct", record_direct)
    for room_id, name, join_rule, encrypted in (("!group:x", "Gardening", "invite", True),
                                                ("!open:x", None, "public", True), ("!plain:x", None, "invite", False),
                                                (DM, None, "invite", True)):
        room = room_with(account, room_id, (BOT,), invited=(ALICE,))  # a group down to two is no DM of ours
        room.name, room.join_rule, room.encrypted = name, join_rule, encrypted
    assert account.dm_made_with(ALICE) == DM
    assert account.dm_made_with(BOB) is None
    await account.record_dm(ALICE, DM)
    assert account.is_direct_room(DM) and recorded == [(ALICE, DM)]


# --- nio's real sync over a fake transport ----------------------------------------------------------------

class FakeTransport:
    """What aiohttp hands nio: status 200 and a JSON body."""
    status = 200
    content_type = "application/json"
    content_disposition = None

    def __init__(self, body: dict):
        self.body = body

    async def json(self) -> dict:
        return self.body


def serve_syncs(account, monkeypatch, body_for_since) -> list:
    """nio's real `sync` (parse, then _handle_sync) over a transport answering /sync with body_for_since(since)."""
    asked: list = []

    async def send(method, path, data=None, headers=None, trace_context=None, timeout=None):
        assert "/sync" in path, path
        since = parse_qs(urlparse(path).query).get("since", [None])[0]
        asked.append(since)
        return FakeTransport(body_for_since(since))

    async def no_keys_to_share() -> None:
        pass

    monkeypatch.setattr(account.client, "send", send)
    monkeypatch.setattr(account, "_crypto_housekeeping", no_keys_to_share)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 0)
    return asked


def sync_body(next_batch: str, to_device: list, timeline: list, limited: bool = False) -> dict:
    return {"next_batch": next_batch, "to_device": {"events": to_device},
            "rooms": {"join": {DM: {"timeline": {"events": timeline, "limited": limited, "prev_batch": "p1"},
                                    "state": {"events": []}, "ephemeral": {"events": []}}},
                      "invite": {}, "leave": {}}}


def hello_event(event_id: str = "$hello") -> dict:
    return {"type": "m.room.message", "sender": ALICE, "event_id": event_id, "origin_server_ts": 1,
            "content": {"msgtype": "m.text", "body": "hello"}}


def a_receipt_nio_cannot_read(body: dict) -> None:
    """An m.receipt whose receipt type maps to a non-object: nio raises while parsing, before it takes the token."""
    body["rooms"]["join"][DM]["ephemeral"]["events"] = [{"type": "m.receipt", "content": {"$e": {"m.fully_read": 1}}}]


def a_field_nio_refuses(body: dict) -> None:
    """One odd field nio's schema refuses: nio answers with an error, not an exception."""
    body["rooms"]["join"][DM]["timeline"]["prev_batch"] = None


@pytest.mark.parametrize("spoil", [a_receipt_nio_cannot_read, a_field_nio_refuses])
async def test_a_sync_nio_cannot_read_before_taking_its_token_is_gone_past_too(account, monkeypatch, spoil):
    """Going past a sync nio could not read needs a token: when nio fails while parsing (raising, or answering with an
    error taken for a failed request), it took none, and the same sync was asked for from the same point for ever: no
    room's events, a crisis included, were handled again (two reviewers', thirty-first session). Synapse builds these
    itself, so this needs a homeserver or proxy sending malformed data."""
    account.client.restore_login(BOT, "BOTDEV", "token")
    stopping, batches = asyncio.Event(), []

    def body_for(since):
        if len(asked) >= 4 * UNREADABLE_TRIES:
            stopping.set()  # enough: the loop would go on asking for ever
        body = sync_body("s2" if since == "s1" else "s3", [], [hello_event()])
        if since == "s1":
            spoil(body)
        return body

    asked = serve_syncs(account, monkeypatch, body_for)

    async def on_batch(token, events):
        batches.append(token)
        stopping.set()

    await asyncio.wait_for(account.sync_forever("s1", on_batch, stopping), 5)
    assert batches == ["s3"] and asked == ["s1"] * UNREADABLE_TRIES + ["s2"]


def room_key_to_device(account) -> tuple[dict, str]:
    """Alice's device sends the bot's device a Megolm room key over a new Olm session (a pre-key message)."""
    alice = nio.AsyncClient("http://127.0.0.1:9", ALICE, store_path=str(account.client.store_path) + "-alice",
                            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False))
    os.makedirs(alice.store_path, exist_ok=True)
    alice.restore_login(ALICE, "ALICEDEV", "token")
    bot_olm = account.client.olm
    bot_olm.account.generate_one_time_keys(1)
    one_time_key = next(iter(bot_olm.account.one_time_keys["curve25519"].values()))
    bot_olm.account.mark_keys_as_published()
    keys = bot_olm.account.identity_keys
    bot_device = OlmDevice(BOT, "BOTDEV", {"ed25519": keys["ed25519"], "curve25519": keys["curve25519"]})
    session = alice.olm.create_session(one_time_key, keys["curve25519"])
    alice.olm.create_outbound_group_session(DM)
    group = alice.olm.outbound_group_sessions[DM]
    content = alice.olm._olm_encrypt(session, bot_device, "m.room_key", {
        "algorithm": "m.megolm.v1.aes-sha2", "room_id": DM, "session_id": group.id, "session_key": group.session_key})
    return {"type": "m.room.encrypted", "sender": ALICE, "content": content}, group.id


@pytest.mark.parametrize("gap_failures", [0, 1])
async def test_a_room_key_in_a_sync_taken_again_for_a_gap_still_reaches_late_decryption(
    account, monkeypatch, gap_failures
):
    """Fetching events missed while away is tried again on the sync in hand: taken again from the homeserver, its
    to-device messages came a second time, nio could not decrypt the room key then (the Olm session had moved on), and
    a message parked waiting for that key (a member's first DM, maybe a crisis) waited for the give-up sweep."""
    account.client.restore_login(BOT, "BOTDEV", "token")
    to_device, session_id = room_key_to_device(account)
    stopping, batches = asyncio.Event(), []
    serve_syncs(account, monkeypatch, lambda since: sync_body("s2", [to_device], [hello_event()], limited=True))
    fetched = []

    async def room_messages(room_id, **kwargs):
        fetched.append(kwargs["start"])
        if len(fetched) <= gap_failures:
            raise OSError("connection reset")
        return SimpleNamespace(chunk=[], end="")

    monkeypatch.setattr(account.client, "room_messages", room_messages)

    async def on_batch(token, events):
        batches.append(events)
        stopping.set()

    await asyncio.wait_for(account.sync_forever("s1", on_batch, stopping), 5)
    assert len(batches) == 1
    assert RoomKeyArrived(session_id) in batches[0], [type(event).__name__ for event in batches[0]]


def store_error(code: int, words: str) -> peewee.OperationalError:
    """As peewee raises SQLite's error: wrapped, the sqlite3 error its first argument."""
    error = sqlite3.OperationalError(words)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]  # as SQLite sets it
    return peewee.OperationalError(error, *error.args)


RETAKEN = int(STORE_WAIT_S // 60) + 1  # times a sync is taken again, a minute apart, before it is gone past


@pytest.mark.parametrize(("error", "failing", "read"), [
    # a full disk for a while: the sync is taken again until the store takes it, and nothing in it is lost
    (store_error(sqlite3.SQLITE_FULL, "database or disk is full"), RETAKEN - 1, [["$crisis"]]),
    # a store that never takes a write again: gone past after a while (at once if not "for now"), so later syncs are
    # read; the next sync has its own time, so a disk freed while it is retaken costs none of it (a third reviewer's)
    (store_error(sqlite3.SQLITE_READONLY, "attempt to write a readonly database"), 10**6, [["$later"]]),
    (store_error(sqlite3.SQLITE_FULL, "database or disk is full"), 10**6, [["$later"]]),
    (store_error(sqlite3.SQLITE_FULL, "database or disk is full"), RETAKEN + UNREADABLE_TRIES + 5, [["$later"]]),
])
async def test_a_crypto_store_that_cannot_take_a_sync_for_now_costs_none_of_its_events(
    account, monkeypatch, error, failing, read
):
    """A store that could not take a write for a few seconds (a full disk, a backup holding its lock) was taken for a
    sync nio could not read, and gone past after three tries with every event in it, a crisis included (a reviewer's,
    thirty-second session): the sync is taken again while the store may take it; one that never will (a second
    reviewer's) is gone past after a while, as before, so it does not stall every later sync."""
    account.client.restore_login(BOT, "BOTDEV", "token")
    stopping, batches = asyncio.Event(), []
    encryption = {"type": "m.room.encryption", "sender": ALICE, "event_id": "$enc", "state_key": "",
                  "origin_server_ts": 1, "content": {"algorithm": "m.megolm.v1.aes-sha2"}}

    def body_for(since):
        if since == "s1":  # the first sync after a restart: full state, each encrypted room's encryption event
            body = sync_body("s2", [], [hello_event("$crisis")])
            body["rooms"]["join"][DM]["state"]["events"] = [encryption]
            return body
        return sync_body("s3", [], [hello_event("$later")])

    serve_syncs(account, monkeypatch, body_for)
    real_save, failures = account.client.store.save_encrypted_rooms, []

    def save_encrypted_rooms(rooms):
        if rooms and len(failures) < failing:
            failures.append(1)
            raise error
        return real_save(rooms)

    monkeypatch.setattr(account.client.store, "save_encrypted_rooms", save_encrypted_rooms)
    monkeypatch.setattr("bothy.matrix.adapter.backoff_delay", lambda *args, **kwargs: 60.0)

    async def a_minute(stopping, delay) -> None:
        pass

    monkeypatch.setattr("bothy.matrix.adapter._wait", a_minute)

    async def on_batch(token, events):
        batches.append([event.event_id for event in events if isinstance(event, Message)])
        stopping.set()

    await asyncio.wait_for(account.sync_forever("s1", on_batch, stopping), 10)
    assert batches == read


def group_message(event_id: str, ts: int) -> nio.Event:
    return nio.Event.parse_event({"type": "m.room.message", "sender": ALICE, "event_id": event_id,
                                  "origin_server_ts": ts, "content": {"msgtype": "m.text", "body": "words"}})


def own_membership(event_id: str, membership: str, before: str, ts: int) -> nio.Event:
    return nio.Event.parse_event({"type": "m.room.member", "sender": BOT if membership == "join" else ALICE,
                                  "event_id": event_id, "state_key": BOT, "origin_server_ts": ts,
                                  "content": {"membership": membership},
                                  "unsigned": {"prev_content": {"membership": before}}})


@pytest.mark.parametrize(("timeline", "read"), [
    # invited in the batch: what came before the invite is the room's history, not said to Bothy
    ([("$old", None), ("$invite", "invite"), ("$said", None), ("$join", "join"), ("$after", None)],
     ["$said", "$after"]),
    # invited before the batch (Bothy down, a busy room): all of it came after the invite (a second reviewer's)
    ([("$said", None), ("$join", "join"), ("$after", None)], ["$said", "$after"]),
    # joined with no invite (a public room): from the join
    ([("$old", None), ("$public-join", "join"), ("$after", None)], ["$after"]),
    # a name changed (a join after a join) is no joining
    ([("$said", None), ("$rename", "rename"), ("$after", None)], ["$said", "$after"]),
])
def test_a_group_joined_in_a_sync_is_read_from_the_bots_invite(account, timeline, read):
    """Joining an existing room, Bothy acted on the history its join sync carries (a spec auditor's, thirty-second
    session): a months-old crisis message raised an urgent alert."""
    group = "!group:x"
    room_with(account, group, (BOT, ALICE, "@bob:x"))
    events = []
    for ts, (event_id, membership) in enumerate(timeline):
        if membership == "invite":
            events.append(own_membership(event_id, "invite", "leave", ts))
        elif membership == "join":
            events.append(own_membership(event_id, "join", "leave" if event_id == "$public-join" else "invite", ts))
        elif membership == "rename":
            events.append(own_membership(event_id, "join", "join", ts))
        else:
            events.append(group_message(event_id, ts))
    assert [event.event_id for event in account._since_asked_in(group, events)
            if isinstance(event, nio.RoomMessageText)] == read


def test_a_dm_joined_in_a_sync_is_read_whole(account):
    """A member may write to the bot before it has joined their DM: nothing of it is history."""
    room_with(account, DM, (BOT, ALICE))
    account._direct_rooms[DM] = ALICE
    events = [group_message("$before", 0), own_membership("$join", "join", "leave", 1), group_message("$after", 2)]
    assert [event.event_id for event in account._since_asked_in(DM, events)] == ["$before", "$join", "$after"]


async def test_a_homeserver_that_never_lets_paging_back_through_does_not_hold_the_sync_for_ever(account, monkeypatch):
    """Rate limits do not count towards skipping a room's gap, but one that never lifts (a proxy's) would hold every
    later sync of the account: after half an hour of waiting they count too (a second reviewer's)."""
    async def room_messages(room_id: str, **kwargs):
        return nio.RoomMessagesError("Too many requests", "M_LIMIT_EXCEEDED", retry_after_ms=600_000)

    async def no_wait(stopping, delay) -> None:
        waited.append(delay)

    waited: list[float] = []
    monkeypatch.setattr(account.client, "room_messages", room_messages)
    monkeypatch.setattr("bothy.matrix.adapter._wait", no_wait)
    room_with(account, DM, (BOT, ALICE))
    batches = await sync_once(account, monkeypatch, restart_sync([hello_from_alice()], limited=True))
    assert [[event_id for event_id, _ in batch] for batch in batches] == [["$hello"]]
    assert sum(waited) > 1800


async def test_a_key_claim_that_fails_does_not_leave_the_room_waiting_for_ever(account, monkeypatch):
    """nio marks a room as sharing its key before claiming one-time keys, and a claim that failed (the network, a
    crypto store that could not take the keys) left the mark for good: every later message to the room waited on it,
    and the outbox, sending one row at a time, with them (an operations reviewer's, thirty-second session)."""
    account.client.restore_login(BOT, "BOTDEV", "token")
    room = room_with(account, DM, (BOT, ALICE))
    room.encrypted = True

    async def claim_fails(users) -> None:
        raise OSError("connection reset")

    monkeypatch.setattr(account.client, "get_missing_sessions", lambda room_id: {ALICE: ["ALICEDEV"]})
    monkeypatch.setattr(account.client, "keys_claim", claim_fails)
    for _ in range(2):  # the second is not "already sharing"
        with pytest.raises(OSError):
            await account.client.share_group_session(DM)
        assert DM not in account.client.sharing_session


async def test_a_group_joined_from_an_invite_older_than_the_sync_is_read_back_to_the_invite(account, monkeypatch):
    """Invited while Bothy was down, in a room busy since: the join sync holds only the newest events, and paging back
    went only to the last sync, after all of them, so a crisis said after the invite was never read (an operations
    reviewer's, thirty-second session). It pages back to the invite, and no further."""
    group = "!group:x"
    room_with(account, group, (BOT, ALICE, "@bob:x"))
    pages = {"p1": ([group_message("$said2", 5), group_message("$said1", 4)], "p2"),
             "p2": ([group_message("$said0", 3), own_membership("$invite", "invite", "leave", 2),
                     group_message("$old", 1)], "p3"),
             "p3": ([group_message("$older", 0)], "")}
    asked = []

    async def room_messages(room_id, start, end=None, limit=100, **kwargs):
        asked.append((start, end))
        chunk, older = pages[start]
        return SimpleNamespace(chunk=chunk, end=older)

    monkeypatch.setattr(account.client, "room_messages", room_messages)
    info = SimpleNamespace(timeline=SimpleNamespace(
        events=[own_membership("$join", "join", "invite", 6), group_message("$after", 7)], limited=True,
        prev_batch="p1"), ephemeral=[], state=[])
    response = SimpleNamespace(rooms=SimpleNamespace(join={group: info}, invite={}, leave={}), next_batch="s2",
                               to_device_events=[], device_list=SimpleNamespace(changed=[]))
    batches = await sync_once(account, monkeypatch, response)
    assert asked == [("p1", None), ("p2", None)]
    assert [event_id for batch in batches for event_id, _ in batch if event_id.startswith(("$said", "$after", "$old"))
            ] == ["$said0", "$said1", "$said2", "$after"]
