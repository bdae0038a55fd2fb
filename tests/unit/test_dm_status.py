"""A room is a DM only while the bot and the member are alone in it, whatever the invite said."""

import asyncio
from types import SimpleNamespace

import nio
import pytest

from bothy.config import BotAccount
from bothy.matrix.adapter import MatrixAccount
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.sessions import SessionRepository
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
    account._direct_rooms.add(DM)


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
                               rooms=SimpleNamespace(invite={}, join={DM: SimpleNamespace(
                                   timeline=SimpleNamespace(events=[]), ephemeral=[])}))
    account._collect(response, deliver_timeline=True)
    await asyncio.gather(*account._background)
    assert await DirectRoomRepository(database).get(BOT, ALICE) is None
    room_with(account, DM, (BOT, ALICE))  # even when the other person leaves again, it stays a group
    assert not account.is_direct_room(DM)


def sync_with(room_id: str, timeline: list) -> SimpleNamespace:
    """The parts of a sync response that say which rooms have something to handle."""
    return SimpleNamespace(rooms=SimpleNamespace(join={room_id: SimpleNamespace(
        timeline=SimpleNamespace(events=timeline), ephemeral=[])}))


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
