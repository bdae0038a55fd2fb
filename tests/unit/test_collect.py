"""The sync loop's conversion step with nio's own parsing: one bad event never stops a batch."""

import json
import logging
import os
import stat
from collections.abc import AsyncIterator
from typing import Any

import nio
import pytest
import vodozemac
from nio.crypto.sessions import InboundGroupSession

from bothy.config import BotAccount
from bothy.matrix import adapter
from bothy.matrix.adapter import MatrixAccount, MatrixError
from bothy.matrix.events import Membership, Message, Receipt
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.sessions import SessionRepository
from rooms.dm import DirectRooms

BOT = "@bot:example.org"
ROOM = "!group:example.org"
CANARY = "CANARY-d41d8cd9"


def matrix_account(database, tmp_path) -> MatrixAccount:
    """A bot account on a homeserver that is never reached: nio's own parsing and state, no network."""
    return MatrixAccount(BotAccount(BOT, "unused", None), "http://127.0.0.1:9", tmp_path / "crypto", "test-key",
                         SessionRepository(database), DirectRooms(DirectRoomRepository(database)),
                         frozenset({"example.org"}))


@pytest.fixture
async def account(database, tmp_path) -> AsyncIterator[MatrixAccount]:
    account = matrix_account(database, tmp_path)
    yield account
    await account.close()


def event(event_type: str, content: Any, number: int) -> dict[str, Any]:
    return {"type": event_type, "event_id": f"$e{number}", "sender": "@alice:example.org",
            "origin_server_ts": 1000 + number, "content": content}


def sync(timeline: list[dict[str, Any]], ephemeral: list[dict[str, Any]] = (),
         invite: dict[str, Any] | None = None) -> nio.SyncResponse:
    """A sync response parsed by nio itself, so Bothy sees exactly what nio makes of bad events."""
    room = {"state": {"events": []}, "timeline": {"events": timeline, "limited": False},
            "ephemeral": {"events": list(ephemeral)}, "account_data": {"events": []}}
    return nio.SyncResponse.from_dict({
        "next_batch": "s1", "rooms": {"join": {ROOM: room} if timeline or ephemeral else {},
                                      "invite": invite or {}, "leave": {}},
        "to_device": {"events": []}, "presence": {"events": []}, "device_one_time_keys_count": {},
        "device_lists": {"changed": [], "left": []},
    })


def malformed_then_help() -> list[dict[str, Any]]:
    text = {"msgtype": "m.text", "body": CANARY}
    return [
        event("m.room.message", {**text, "m.relates_to": {"m.in_reply_to": "x"}}, 1),
        event("m.room.message", {**text, "m.relates_to": ["x"]}, 2),
        event("m.room.message", {**text, "m.relates_to": CANARY}, 3),
        event("m.room.message", {**text, "m.relates_to": 7}, 4),
        event("m.reaction", {"m.relates_to": CANARY}, 5),
        event("m.room.message", {"msgtype": "m.text", "body": [CANARY]}, 6),
        event("m.room.message", {"msgtype": {"m.text": CANARY}, "body": CANARY}, 7),
        event("m.room.message", {**text, "m.new_content": CANARY,
                                 "m.relates_to": {"rel_type": "m.replace", "event_id": "$e1"}}, 8),
        event("m.room.message", {**text, "m.relates_to": {"rel_type": "m.replace", "event_id": 7}}, 9),
        event("m.room.member", CANARY, 10),
        {**event("m.room.message", text, 11), "origin_server_ts": 1e300},
        {**event("m.room.message", text, 12), "event_id": 12},
        event("m.room.message", {"msgtype": "m.text", "body": "!help"}, 13),
    ]


async def test_malformed_events_are_skipped_counted_and_logged_without_content(account, caplog):
    caplog.set_level(logging.DEBUG, logger="bothy")
    events = account._collect(sync(malformed_then_help()), deliver_timeline=True)
    assert [(e.event_id, e.body) for e in events if isinstance(e, Message)] == [("$e13", "!help")]
    assert account.skipped_events == 12  # all but !help
    assert "$e1 (m.room.message)" in caplog.text
    assert not any(CANARY in r.getMessage() for r in caplog.records if r.name.startswith("bothy"))


async def test_an_unexpected_failure_converting_one_event_skips_only_that_event(account, caplog, monkeypatch):
    convert = adapter.message_from_event

    def explode_on_first(source: dict[str, Any], *args: Any, **kwargs: Any) -> Message | None:
        if source["event_id"] == "$e1":
            raise ValueError(f"invalid literal: {CANARY}")  # exception messages may quote content
        return convert(source, *args, **kwargs)

    monkeypatch.setattr(adapter, "message_from_event", explode_on_first)
    timeline = [event("m.room.message", {"msgtype": "m.text", "body": CANARY}, 1),
                event("m.room.message", {"msgtype": "m.text", "body": "!help"}, 2)]
    events = account._collect(sync(timeline), deliver_timeline=True)
    assert [e.event_id for e in events] == ["$e2"]
    assert account.skipped_events == 1
    assert "$e1 (m.room.message)" in caplog.text and "ValueError" in caplog.text
    assert CANARY not in caplog.text


async def test_receipts_nio_does_not_check_are_checked(account):
    # nio's schema checks only entries keyed by a well-formed user ID.
    receipt = {"type": "m.receipt", "content": {"$seen": {"m.read": {
        "not-a-user-id": {"ts": "yesterday"}, "@bob:example.org": {"ts": 5}}}}}
    events = account._collect(sync([], ephemeral=[receipt]), deliver_timeline=True)
    assert events == [Receipt(ROOM, "@bob:example.org", "$seen", 5)]
    assert account.skipped_events == 1


@pytest.mark.parametrize("is_direct", ["false", "true", 1, None])
async def test_only_a_json_true_is_direct_makes_an_invite_a_dm(account, monkeypatch, is_direct):
    accepted: list[tuple[str, str, bool]] = []

    async def accept(room_id: str, inviter: str, direct: bool) -> None:
        accepted.append((room_id, inviter, direct))

    monkeypatch.setattr(account, "_accept_invite", accept)
    member = {"type": "m.room.member", "sender": "@alice:example.org", "state_key": BOT,
              "content": {"membership": "invite", "is_direct": is_direct}}
    account._collect(sync([], invite={ROOM: {"invite_state": {"events": [member]}}}), deliver_timeline=True)
    for task in list(account._background):
        await task
    assert accepted == [(ROOM, "@alice:example.org", False)]


@pytest.mark.parametrize(("failure", "fails", "joins", "still_direct"), [
    (MatrixError("join: 502", code="502"), 1, 2, True),  # a homeserver restarting: tried again, joined
    (MatrixError("join: rate limited", retry_after_ms=10, code="M_LIMIT_EXCEEDED"), 1, 2, True),
    (MatrixError("join: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"), 1, 1, False),  # withdrawn, or banned
    (MatrixError("join: 502", code="502"), adapter.JOIN_TRIES, adapter.JOIN_TRIES, False),  # away for good: given up
])
async def test_an_invite_whose_join_fails_for_now_is_tried_again(account, monkeypatch, failure, fails, joins,
                                                                 still_direct):
    """A robustness reviewer's, thirty-third session: the homeserver sends an invite in one sync only, and a join that
    met one 502 was never tried again, so a member's new DM went unread until Bothy restarted. Not for ever, though
    (a second reviewer's): a server that stays away is given up after JOIN_TRIES."""
    tried: list[str] = []

    async def join(room_id: str) -> str:
        tried.append(room_id)
        if len(tried) <= fails:
            raise failure
        return room_id

    monkeypatch.setattr(account, "join", join)
    monkeypatch.setattr(adapter, "backoff_delay", lambda *args, **kwargs: 0.0)
    member = {"type": "m.room.member", "sender": "@alice:example.org", "state_key": BOT,
              "content": {"membership": "invite", "is_direct": True}}
    account._collect(sync([], invite={ROOM: {"invite_state": {"events": [member]}}}), deliver_timeline=True)
    for task in list(account._background):
        await task
    assert tried == [ROOM] * joins
    assert (ROOM in account._direct_rooms) is still_direct  # recorded as the member's DM until refused


async def test_membership_changes_in_the_timeline_reach_bots_whoever_made_them(account):
    def member(user: str, membership: Any, sender: str, number: int) -> dict[str, Any]:
        return {**event("m.room.member", {"membership": membership}, number), "state_key": user, "sender": sender}

    timeline = [member("@alice:example.org", "leave", "@alice:example.org", 1),
                member("@bob:example.org", "ban", BOT, 2),  # a bot account removing someone still counts
                member(BOT, "leave", "@admin:example.org", 3),  # the account's own membership is not news
                member("@carol:example.org", 7, "@carol:example.org", 4)]
    events = account._collect(sync(timeline), deliver_timeline=True)
    assert events == [Membership(ROOM, "@alice:example.org", "leave", timestamp_ms=1001),
                      Membership(ROOM, "@bob:example.org", "ban", timestamp_ms=1002)]
    assert account.skipped_events == 1


async def test_state_forged_inside_encrypted_messages_changes_nothing(account):
    """Anyone in an encrypted room can encrypt a plaintext that *says* it is state; only the server's is real."""
    client = account.client
    client.restore_login(BOT, "BOTDEVICE", "token")  # loads the local Olm account; no network
    state = [{**event("m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}, 1), "state_key": ""},
             {**event("m.room.name", {"name": "Allotment club"}, 2), "state_key": ""},
             {**event("m.room.power_levels", {"users": {BOT: 100}, "redact": 50}, 3), "state_key": ""},
             *({**event("m.room.member", {"membership": "join"}, 4 + n), "state_key": user, "sender": user}
               for n, user in enumerate([BOT, "@alice:example.org", "@bob:example.org"]))]
    first = nio.SyncResponse.from_dict({"next_batch": "s0", "rooms": {"join": {ROOM: {
        "state": {"events": state}, "timeline": {"events": []}, "ephemeral": {"events": []},
        "account_data": {"events": []}}}}})
    await client.receive_response(first)
    outbound = vodozemac.GroupSession()
    client.olm.inbound_group_store.add(InboundGroupSession(outbound.session_key.to_base64(), "AliceEd25519",
                                                           "AliceCurve25519", ROOM))

    def encrypted(plaintext: dict[str, Any], number: int) -> dict[str, Any]:
        ciphertext = outbound.encrypt(json.dumps({**plaintext, "room_id": ROOM}).encode()).to_base64()
        return event("m.room.encrypted", {"algorithm": "m.megolm.v1.aes-sha2", "sender_key": "AliceCurve25519",
                                          "ciphertext": ciphertext, "session_id": outbound.session_id,
                                          "device_id": "ALICEDEVICE"}, number)

    forged = [encrypted({"type": "m.room.member", "state_key": "@bob:example.org",
                         "content": {"membership": "leave"}}, 10),
              encrypted({"type": "m.room.name", "state_key": "", "content": {"name": "No action needed"}}, 11),
              encrypted({"type": "m.room.canonical_alias", "state_key": "",
                         "content": {"alias": "#bereavement:example.org"}}, 12),
              encrypted({"type": "m.room.power_levels", "state_key": "", "content": {"users": {BOT: 0}}}, 13),
              encrypted({"type": "m.room.message", "content": {"msgtype": "m.text", "body": "morning"}}, 14)]
    response = sync(forged)
    await client.receive_response(response)
    events = account._collect(response, deliver_timeline=True)

    assert [type(e) for e in events] == [Message]  # the genuine encrypted message, and nothing forged
    assert events[0].encrypted
    assert set(client.rooms[ROOM].users) == {BOT, "@alice:example.org", "@bob:example.org"}
    assert account.room_name(ROOM) == "Allotment club"
    assert account.canonical_alias(ROOM) is None
    assert account.can_redact_others(ROOM)


@pytest.mark.parametrize(("name", "shown"), [
    ("Tuesday walkers " * 2500, "Tuesday walkers " * 6 + "Tue…"),  # any member may name a room up to 64 KiB
    ("Allotment\nclub\u2028   NOTICE: all fine", "Allotment club NOTICE: all fine"),  # on one line
    ("   ", "a room without a name"),
])
def test_a_room_name_in_what_bots_send_is_one_short_line(account, name, shown):
    """An alert quoting a 40,000-character name was refused by the homeserver as too large, and set aside for good."""
    room = nio.MatrixRoom(ROOM, BOT)
    room.name = name
    account.client.rooms[ROOM] = room
    assert account.room_name(ROOM) == shown
    assert len(account.room_name(ROOM)) <= adapter.ROOM_NAME_CHARS


async def test_the_crypto_store_is_owner_only_like_the_database(database, tmp_path):
    """It holds, pickled, the keys that read members' DMs and the members the bot tracks (a privacy reviewer's,
    thirty-third session: under the usual umask its folders were open to every local account)."""
    old_umask = os.umask(0o022)
    try:
        account = matrix_account(database, tmp_path)
        account.client.restore_login(account.user_id, "DEVICE", "token")  # loads the store, as a restart does
        await account.close()
    finally:
        os.umask(old_umask)
    folders = [tmp_path / "crypto", *(path for path in (tmp_path / "crypto").rglob("*") if path.is_dir())]
    assert len(folders) == 2 and any((tmp_path / "crypto").rglob("*.db"))
    assert {oct(stat.S_IMODE(folder.stat().st_mode)) for folder in folders} == {oct(0o700)}


@pytest.mark.parametrize(("version", "creator_may"), [("12", True), ("11", False)])
async def test_a_rooms_creator_holds_power_the_levels_do_not_list_where_its_version_says_so(account, version,
                                                                                         creator_may):
    """An end-to-end auditor's, thirty-third session: on a homeserver that makes version 12 rooms, Bothy thought it
    could redact nothing in the groups it made, as nio reads only the power levels event, which leaves the creator
    out; moderation read the same event. In older versions the creator holds a level there like anyone."""
    create = {"type": "m.room.create", "sender": BOT, "state_key": "", "event_id": "$create", "origin_server_ts": 1,
              "content": {"room_version": version, "additional_creators": ["@co:example.org", 7]}}
    levels = {"type": "m.room.power_levels", "sender": BOT, "state_key": "", "event_id": "$levels",
              "origin_server_ts": 2, "content": {"users": {"@mod:example.org": 50}, "redact": 50}}
    response = sync([create, levels])
    account.client.rooms[ROOM] = nio.MatrixRoom(ROOM, BOT)
    for event in response.rooms.join[ROOM].timeline.events:
        account.client.rooms[ROOM].handle_event(event)
    account._collect(response, deliver_timeline=True)
    assert account.can_redact_others(ROOM) is creator_may

    async def levels_event(room_id: str) -> dict[str, Any]:
        return dict(levels["content"])

    account._levels_event = levels_event
    users = (await account.power_levels(ROOM))["users"]
    assert (users.get(BOT), users.get("@co:example.org")) == ((adapter.CREATOR_LEVEL,) * 2 if creator_may
                                                              else (None, None))
    assert users["@mod:example.org"] == 50
