"""Delivery against a real Synapse: an old row that already went out is found by its transaction ID, not resent."""

from __future__ import annotations

import uuid

import pytest

from bothy.config import BotAccount
from bothy.matrix.adapter import MatrixAccount
from bothy.outbox import Effects, OutboxDispatcher
from bothy.storage.database import Database
from bothy.storage.dm_rooms import OPENING, DirectRoomRepository
from bothy.storage.migrations import migrate
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sessions import SessionRepository
from bothy.templates import Templates
from bots.installed import INSTALLATION
from rooms.dm import DirectRooms
from tests.e2e.conftest import Homeserver
from tests.unit.test_outbox import MINUTE_MS, MovableClock

pytestmark = pytest.mark.e2e


async def test_a_row_sent_before_a_crash_and_older_than_synapses_txn_memory_is_not_sent_twice(
    homeserver: Homeserver, tmp_path
):
    """Simulates a kill between "sent" and "marked sent", found again after Synapse forgot the transaction:
    the send really happens, the row is left as if the process died, the clock moves on 40 minutes."""
    localpart = f"d{uuid.uuid4().hex[:10]}"
    homeserver.passwords[localpart] = uuid.uuid4().hex
    await homeserver.synapse.register(localpart, homeserver.passwords[localpart])
    user_id = homeserver.uid(localpart)
    database = Database(tmp_path / "bothy.sqlite3")
    await database.open()
    await migrate(database, INSTALLATION.migrations)
    dm_rooms = DirectRoomRepository(database)
    account = MatrixAccount(BotAccount(user_id, homeserver.passwords[localpart], None), homeserver.synapse.url,
                            tmp_path / "crypto", "k", SessionRepository(database), dm_rooms, frozenset())
    try:
        await account.login()
        room = (await account.client.room_create(name="delivery")).room_id
        await account.client.sync(timeout=0, full_state=True)

        effects = Effects(user_id)
        effects.message({"msgtype": "m.notice", "body": "owed once"}, room_id=room)
        async with database.transaction() as db:
            await OutboxRepository.enqueue(db, effects.items, MovableClock().ms())
        repository = OutboxRepository(database)
        (row,) = await repository.due(MovableClock().ms())
        await repository.attempting(row, MovableClock().ms())
        sent = await account.send(room, "m.room.message", row.content, row.txn_id)  # then "killed"

        assert await account.find_sent(room, row.txn_id, 0) == sent  # Synapse shows this device its txn ID
        assert await account.find_sent(room, "bothy-never-sent", 0) is None

        async def no_resend(*args: object) -> str:  # Synapse still remembers the txn here and would mask one
            raise AssertionError("sent again")

        account.send = no_resend  # type: ignore[method-assign]
        clock = MovableClock()
        clock.offset_ms = 40 * MINUTE_MS
        await OutboxDispatcher(repository, {user_id: account}, DirectRooms(dm_rooms), clock,
                               Templates()).deliver_due()

        assert await repository.pending_count() == 0
        messages = await account.client.room_messages(room, limit=50)
        assert [e.event_id for e in messages.chunk if getattr(e, "sender", None) == user_id
                and getattr(e, "body", None) == "owed once"] == [sent]
    finally:
        await account.close()
        await database.close()


async def test_a_dm_made_by_the_homeserver_but_never_heard_back_about_is_adopted_not_made_again(
    homeserver: Homeserver, tmp_path
):
    """The request to open a member's DM timed out (or Bothy was killed) after Synapse made the room: once a sync
    shows it, the room is that member's DM, a DM to the account too, and no second one is made."""
    names = {part: f"{part}{uuid.uuid4().hex[:8]}" for part in ("bot", "member")}
    for localpart in names.values():
        homeserver.passwords[localpart] = uuid.uuid4().hex
        await homeserver.synapse.register(localpart, homeserver.passwords[localpart])
    bot, member = homeserver.uid(names["bot"]), homeserver.uid(names["member"])
    database = Database(tmp_path / "bothy.sqlite3")
    await database.open()
    await migrate(database, INSTALLATION.migrations)
    dm_rooms = DirectRoomRepository(database)
    account = MatrixAccount(BotAccount(bot, homeserver.passwords[names["bot"]], None), homeserver.synapse.url,
                            tmp_path / "crypto", "k", SessionRepository(database), dm_rooms, frozenset())
    try:
        await account.login()
        await dm_rooms.save(bot, member, OPENING)
        made = await account.create_dm(member)  # Synapse made it ...
        account._direct_rooms.clear()  # ... and Bothy never heard back
        await account.client.sync(timeout=0, full_state=True)

        assert await DirectRooms(dm_rooms).room_for(account, member) == made
        assert account.is_direct_room(made)
        assert await dm_rooms.dms_of(bot) == {made: member}
        joined = await account.client.joined_rooms()
        assert joined.rooms == [made]
    finally:
        await account.close()
        await database.close()
