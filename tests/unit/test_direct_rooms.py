"""Opening a member's DM: one room however a crash or a slow homeserver falls."""

import pytest

from bothy.matrix.adapter import MatrixError
from bothy.storage.dm_rooms import OPENING, DirectRoomRepository
from rooms.dm import SECONDS_TO_SHOW_A_ROOM, SYNCS_TO_SHOW_A_ROOM, DirectRooms

ALICE = "@alice:x"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CrashingAccount:
    """Creates the room on the homeserver, then 'crashes' before Bothy can record it, the first time."""

    user_id = "@bot:x"

    def __init__(self):
        self.created: list[str] = []
        self.rooms_with: dict[str, str] = {}
        self.adopted: dict[str, str] = {}
        self.syncs_done = 0

    def knows_room(self, room_id):
        return room_id in self.created

    async def create_dm(self, user_id):
        room_id = f"!dm{len(self.created)}:x"
        self.created.append(room_id)
        self.rooms_with[user_id] = room_id
        if len(self.created) == 1:
            raise RuntimeError("killed between creating the room and recording it")
        return room_id

    def dm_made_with(self, user_id):
        return self.rooms_with.get(user_id)

    async def record_dm(self, user_id, room_id):
        self.adopted[room_id] = user_id


async def test_a_crash_while_opening_a_dm_never_leaves_two(database):
    direct, account = DirectRooms(DirectRoomRepository(database)), CrashingAccount()
    with pytest.raises(RuntimeError):
        await direct.room_for(account, ALICE)
    assert await direct.room_for(account, ALICE) == "!dm0:x"  # the room it had made, adopted
    assert account.created == ["!dm0:x"]
    assert account.adopted == {"!dm0:x": ALICE}  # a DM to the account too: private replies, closed when she leaves
    assert await direct.dms_of(account.user_id) == {"!dm0:x": ALICE}


async def test_an_opening_mark_left_by_a_crash_with_no_room_behind_it_opens_one_after_a_sync(database):
    direct, account = DirectRooms(DirectRoomRepository(database), Clock()), CrashingAccount()
    account.created.append("!unrelated:x")  # so this account's first creation does not crash
    await direct.opened(account.user_id, ALICE, OPENING)  # the crash came before the homeserver made anything
    with pytest.raises(MatrixError) as waiting:  # before this process's first sync, nothing is known
        await direct.room_for(account, ALICE)
    assert not waiting.value.permanent  # the outbox tries again
    account.syncs_done += 1  # a whole sync, and no such room: none was made
    assert await direct.room_for(account, ALICE) == "!dm1:x"
    assert await direct.dms_of(account.user_id) == {"!dm1:x": ALICE}


class SlowHomeserverAccount(CrashingAccount):
    """The request to create the room times out, but the homeserver goes on and makes it: the room shows only in
    a later sync."""

    async def create_dm(self, user_id):
        self.created.append(f"!dm{len(self.created)}:x")
        raise MatrixError("create DM: TimeoutError", code="TimeoutError")

    def dm_made_with(self, user_id):
        return self.created[0] if self.created and self.syncs_done >= 4 else None


async def test_a_dm_whose_creation_timed_out_is_waited_for_not_opened_twice(database):
    clock = Clock()
    direct, account = DirectRooms(DirectRoomRepository(database), clock), SlowHomeserverAccount()
    with pytest.raises(MatrixError):
        await direct.room_for(account, ALICE)
    for _ in range(4):  # a busy account's syncs pass quickly while the homeserver is still making the room
        with pytest.raises(MatrixError, match="waiting for a sync"):
            await direct.room_for(account, ALICE)
        account.syncs_done += 1
        clock.now += 1
    assert await direct.room_for(account, ALICE) == "!dm0:x"
    assert account.created == ["!dm0:x"]
    assert account.adopted == {"!dm0:x": ALICE}


class TimingOutOnceAccount(CrashingAccount):
    """The first request to create the room times out, and the homeserver never made it."""

    async def create_dm(self, user_id):
        self.created.append(f"!dm{len(self.created)}:x")
        if len(self.created) == 1:
            raise MatrixError("create DM: TimeoutError", code="TimeoutError")
        return self.created[-1]

    def dm_made_with(self, user_id):
        return None


async def test_a_dm_whose_creation_timed_out_and_never_shows_is_opened_after_syncs_and_time(database):
    clock = Clock()
    direct, account = DirectRooms(DirectRoomRepository(database), clock), TimingOutOnceAccount()
    with pytest.raises(MatrixError):
        await direct.room_for(account, ALICE)
    account.syncs_done += SYNCS_TO_SHOW_A_ROOM
    with pytest.raises(MatrixError, match="waiting for a sync"):  # syncs come quickly: time must pass too
        await direct.room_for(account, ALICE)
    clock.now += SECONDS_TO_SHOW_A_ROOM
    assert await direct.room_for(account, ALICE) == "!dm1:x"
    assert await direct.dms_of(account.user_id) == {"!dm1:x": ALICE}


async def test_a_second_dm_a_member_opens_leaves_the_first_a_dm(database):
    """A robustness reviewer's, thirty-third session: the second replaced the first, which after a restart was read
    as a group room (a 💬 on a check-in there no chat request). Both are read as private; the bot writes to the
    newest."""
    direct = DirectRooms(DirectRoomRepository(database))
    await direct.opened("@bot:x", ALICE, "!first:x")
    await direct.opened("@bot:x", ALICE, "!second:x")  # from another client, say
    assert await direct.dms_of("@bot:x") == {"!first:x": ALICE, "!second:x": ALICE}
    assert await direct.repository.get("@bot:x", ALICE) == "!second:x"
    await direct.closed("@bot:x", "!second:x")  # she leaves it
    assert await direct.dms_of("@bot:x") == {"!first:x": ALICE}


async def test_a_dm_moved_on_from_is_still_read_as_private(database):
    """One that is not encrypted (a file must not go there): the next message opens a fresh DM, and what she writes
    in the old one is still hers alone."""
    direct = DirectRooms(DirectRoomRepository(database))
    await direct.opened("@bot:x", ALICE, "!plain:x")
    await direct.superseded("@bot:x", "!plain:x")
    assert await direct.repository.get("@bot:x", ALICE) is None
    await direct.opened("@bot:x", ALICE, "!fresh:x")
    assert await direct.dms_of("@bot:x") == {"!plain:x": ALICE, "!fresh:x": ALICE}
    assert await direct.repository.get("@bot:x", ALICE) == "!fresh:x"
