"""Rooms a bot account left or was removed from, with nio's own sync parsing: nio keeps them among its rooms for
good, and asking who was in them (for `!mood`, `!meetups` in a DM, `!hangout invite`) met the homeserver's 403 and
failed every member's command until a restart (a second reviewer's, twenty-eighth session)."""

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import nio
import pytest

from bothy.clock import Clock
from bothy.matrix.adapter import MatrixAccount
from bothy.outbox import Effects, OutboxDispatcher
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.outbox import OutboxRepository
from bothy.templates import Templates
from rooms.dm import DirectRooms
from tests.unit.test_collect import BOT, matrix_account

ALICE, BOB = "@alice:example.org", "@bob:example.org"
GROUP, OLD, BOB_DM = "!group:example.org", "!old:example.org", "!bobdm:example.org"


def member(user_id: str, membership: str, number: int, sender: str | None = None) -> dict[str, Any]:
    return {"type": "m.room.member", "state_key": user_id, "sender": sender or user_id, "event_id": f"$m{number}",
            "origin_server_ts": 1000 + number, "content": {"membership": membership}}


def room(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {"state": {"events": []}, "timeline": {"events": events, "limited": False},
            "ephemeral": {"events": []}, "account_data": {"events": []}}


def sync(batch: str, join: dict[str, Any], leave: dict[str, Any] | None = None) -> nio.SyncResponse:
    return nio.SyncResponse.from_dict({
        "next_batch": batch, "rooms": {"join": join, "invite": {}, "leave": leave or {}},
        "to_device": {"events": []}, "presence": {"events": []}, "device_one_time_keys_count": {},
        "device_lists": {"changed": [], "left": []}})


async def synced(account: MatrixAccount, response: nio.SyncResponse) -> None:
    """As sync_forever has it: nio reads the sync (in `client.sync`), then Bothy collects it."""
    await account.client.receive_response(response)
    account._collect(response, deliver_timeline=True)


@pytest.fixture
def inside() -> dict[str, list[str]]:
    """Who is in each room the bot is in, as the homeserver has it."""
    return {GROUP: [BOT, ALICE], OLD: [BOT, ALICE], BOB_DM: [BOT, BOB]}


@pytest.fixture
async def account(database, tmp_path, inside) -> AsyncIterator[MatrixAccount]:
    """In GROUP and OLD with Alice, and in a DM with Bob; the homeserver refuses to list the members of a room the
    bot is not in, as Synapse does (403 M_FORBIDDEN)."""
    account = matrix_account(database, tmp_path)

    async def joined_members(room_id: str):
        if room_id not in inside:
            return nio.JoinedMembersError("Getting joined members while not being a current member of the room is "
                                          "forbidden.", "M_FORBIDDEN")
        return nio.JoinedMembersResponse([nio.RoomMember(user, None, None) for user in inside[room_id]], room_id)

    async def room_leave(room_id: str):
        inside.pop(room_id, None)
        return nio.RoomLeaveResponse()

    account.client.joined_members = joined_members
    account.client.room_leave = room_leave
    await synced(account, sync("s1", {GROUP: room([member(BOT, "join", 1), member(ALICE, "join", 2)]),
                                      OLD: room([member(BOT, "join", 3), member(ALICE, "join", 4)]),
                                      BOB_DM: room([member(BOT, "join", 5), member(BOB, "join", 6)])}))
    account._direct_rooms[BOB_DM] = BOB
    yield account
    await account.close()


async def test_a_space_is_not_one_of_the_members_rooms(account, inside):
    """The community Space the host account joined to list group rooms holds everyone: counted as a room, the mood
    bot recorded answers for it and posted a community-wide tally into it (a reviewer's, twenty-ninth session)."""
    space = "!space:example.org"
    inside[space] = [BOT, ALICE]
    create = {"type": "m.room.create", "state_key": "", "sender": ALICE, "event_id": "$c1", "origin_server_ts": 900,
              "content": {"creator": ALICE, "type": "m.space"}}
    await synced(account, sync("s2", {space: room([create, member(BOT, "join", 20), member(ALICE, "join", 21)])}))
    assert space in account.client.rooms
    assert await account.member_rooms(ALICE) == frozenset({GROUP, OLD})


def kicked_from_old() -> nio.SyncResponse:
    return sync("s2", {}, {OLD: {"state": {"events": []}, "account_data": {"events": []},
                                 "timeline": {"events": [member(BOT, "leave", 7, sender=ALICE)], "limited": False}}})


async def test_a_room_the_bot_was_removed_from_is_not_one_of_the_members_rooms(account, inside):
    assert await account.member_rooms(ALICE) == frozenset({GROUP, OLD})
    del inside[OLD]  # an admin of OLD removes the bot
    await synced(account, kicked_from_old())
    assert await account.member_rooms(ALICE) == frozenset({GROUP})


def invited_back(batch: str, with_leave: bool) -> nio.SyncResponse:
    """Invited back to OLD; Synapse lists a room left and invited to again within one sync under both."""
    invite = {"invite_state": {"events": [{"type": "m.room.member", "state_key": BOT, "sender": ALICE,
                                           "content": {"membership": "invite"}}]}}
    left = {"state": {"events": []}, "account_data": {"events": []},
            "timeline": {"events": [member(BOT, "leave", 7, sender=ALICE)], "limited": False}}
    return nio.SyncResponse.from_dict({
        "next_batch": batch, "rooms": {"join": {}, "invite": {OLD: invite}, "leave": {OLD: left} if with_leave else {}},
        "to_device": {"events": []}, "presence": {"events": []}, "device_one_time_keys_count": {},
        "device_lists": {"changed": [], "left": []}})


@pytest.mark.parametrize("same_sync", [True, False], ids=["removed and invited back in one sync", "in two"])
async def test_what_waited_for_a_room_the_bot_was_removed_from_goes_when_it_is_invited_back(account, inside,
                                                                                           database, same_sync):
    """The outbox's `joined` sends what the homeserver refused while the bot was out the moment it joins again (a
    second reviewer's: forgotten from nio's rooms, it waited up to an hour)."""
    outbox = OutboxDispatcher(OutboxRepository(database), {BOT: account}, DirectRooms(DirectRoomRepository(database)),
                              Clock(), Templates())
    account.on_joined = functools.partial(outbox.joined, BOT)
    sent = []

    async def room_send(room_id, event_type, content, tx_id=None, ignore_unverified_devices=False):
        if room_id not in inside:
            return nio.RoomSendError("You are not in this room", "M_FORBIDDEN")
        sent.append(room_id)
        return nio.RoomSendResponse("$sent", room_id)

    async def join(room_id):
        inside[room_id] = [BOT, ALICE]
        return nio.JoinResponse(room_id)

    account.client.room_send, account.client.join = room_send, join
    del inside[OLD]
    if not same_sync:
        await synced(account, kicked_from_old())
    effects = Effects(BOT)
    effects.message({"msgtype": "m.notice", "body": "an alert"}, room_id=OLD)
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, Clock().ms())
        await db.execute("UPDATE outbox SET attempts = 12")  # refused again and again: an hour's wait by now
    await outbox.deliver_due()
    assert sent == []
    await synced(account, invited_back("s3", with_leave=same_sync))
    await asyncio.gather(*account._background)  # the invite accepted: join, then the outbox's nudge
    await outbox.deliver_due()
    assert sent == [OLD] and await account.member_rooms(ALICE) == frozenset({GROUP, OLD})


async def test_invited_back_and_joined_the_room_is_one_of_its_rooms_again(account, inside):
    del inside[OLD]
    await synced(account, kicked_from_old())
    inside[OLD] = [BOT, ALICE]
    await synced(account, sync("s3", {OLD: room([member(BOT, "join", 8), member(ALICE, "join", 9)])}))
    assert await account.member_rooms(ALICE) == frozenset({GROUP, OLD})


async def test_a_member_leaving_their_dm_breaks_nobody_elses_commands(account):
    """The everyday case: Bob leaves his DM, the bot leaves it too (_close_dm)."""
    await synced(account, sync("s2", {BOB_DM: room([member(BOB, "leave", 7)])}))
    await account._close_dm(BOB_DM)  # what the membership event spawned, awaited here
    assert not account.is_direct_room(BOB_DM) and account.dm_made_with(BOB) is None
    assert await account.member_rooms(ALICE) == frozenset({GROUP, OLD})


async def test_a_room_the_sync_has_not_yet_said_was_left_is_passed_over(account, inside):
    del inside[OLD]  # removed, and no sync has told the bot yet
    assert await account.member_rooms(ALICE) == frozenset({GROUP})


async def test_a_dm_the_bot_was_removed_from_is_a_dm_no_more(account, inside):
    del inside[BOB_DM]
    await synced(account, sync("s2", {}, {BOB_DM: {
        "state": {"events": []}, "account_data": {"events": []},
        "timeline": {"events": [member(BOT, "leave", 7, sender=BOB)], "limited": False}}}))
    assert not account.is_direct_room(BOB_DM) and account.dm_made_with(BOB) is None


async def test_an_erased_members_dm_is_left_once_what_is_owed_there_has_gone(account, inside, database):
    """Staying, the bot took what the member wrote in their old DM for a group's talk, keeping the room's ID in counts
    no erase reaches (a reviewer's); leaving at once, it raced the reply saying the erase is done, owed in that room
    (the end-to-end test caught it)."""
    outbox = OutboxDispatcher(OutboxRepository(database), {BOT: account}, DirectRooms(DirectRoomRepository(database)),
                              Clock(), Templates())
    sent, left = [], []

    async def room_send(room_id, event_type, content, tx_id=None, ignore_unverified_devices=False):
        sent.append(room_id)
        return nio.RoomSendResponse("$sent", room_id)

    async def room_leave(room_id: str):
        left.append(room_id)
        return nio.RoomLeaveResponse()

    account.client.room_send, account.client.room_leave = room_send, room_leave
    account.forget_member(BOB)
    effects = Effects(BOT)
    effects.message({"msgtype": "m.notice", "body": "Done: erased."}, room_id=BOB_DM)
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, Clock().ms())
    await outbox.leave_rooms_done_with()
    assert left == [] and not account.is_direct_room(BOB_DM)
    await outbox.deliver_due()
    await outbox.leave_rooms_done_with()
    assert sent == [BOB_DM] and left == [BOB_DM] and account.rooms_to_leave() == frozenset()
