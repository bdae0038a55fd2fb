"""Rooms a bot runs: power levels merged, and written only when something changes; whether someone was ever in one."""

from typing import Any

from bothy.matrix.adapter import MatrixError
from rooms.making import RoomMaker

ROOM, SAM, JO = "!room:example.org", "@sam:example.org", "@jo:example.org"


class Account:
    """A homeserver's state for one room, as the bot account reads and writes it."""

    def __init__(self) -> None:
        self.state: dict[tuple[str, str], dict[str, Any]] = {
            ("m.room.power_levels", ""): {"users": {SAM: 50}, "events_default": 0},
            ("m.room.member", SAM): {"membership": "leave"},
        }
        self.written: list[dict[str, Any]] = []

    async def state_event(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
        if (event_type, state_key) not in self.state:
            raise MatrixError("get state: M_NOT_FOUND", permanent=True, code="M_NOT_FOUND")
        return dict(self.state[(event_type, state_key)])

    async def put_state(self, room_id: str, event_type: str, state_key: str, content: dict[str, Any]) -> None:
        self.state[(event_type, state_key)] = content
        self.written.append(content)


async def test_power_levels_are_written_only_when_they_change():
    """A state event each time was a needless event in every group room at every start (its peer workers seen to)."""
    account = Account()
    maker = RoomMaker(account)  # type: ignore[arg-type]
    await maker.set_power(ROOM, {SAM: 50})
    assert account.written == []
    await maker.set_power(ROOM, {JO: 50})
    assert account.written == [{"users": {SAM: 50, JO: 50}, "events_default": 0}]


async def test_someone_who_left_was_in_the_room_and_someone_never_there_was_not():
    maker = RoomMaker(Account())  # type: ignore[arg-type]
    assert await maker.ever_in(ROOM, SAM) and not await maker.ever_in(ROOM, JO)
