"""Rooms a bot makes and runs: made once per alias (a crash between creating and recording never makes
two), put in a Space, given power levels, members invited. Generic: the feature decides what and why."""

from __future__ import annotations

from collections.abc import Mapping

from bothy.matrix.adapter import MatrixAccount, MatrixError, RoomSpec

ROOM_IN_USE = "M_ROOM_IN_USE"


class RoomMaker:
    def __init__(self, account: MatrixAccount):
        self.account = account
        self._resolved: dict[str, str] = {}

    async def make(self, spec: RoomSpec) -> str:
        """The room's ID, made now or by an earlier attempt that never got to record it."""
        try:
            return await self.account.create_room(spec)
        except MatrixError as error:
            if error.code != ROOM_IN_USE:
                raise
        return await self.resolve(f"#{spec.alias_localpart}:{self.account.account.server_name}")

    async def resolve(self, reference: str) -> str:
        """A room ID for an alias or ID (aliases looked up once)."""
        if not reference.startswith("#"):
            return reference
        if reference not in self._resolved:
            self._resolved[reference] = await self.account.resolve_alias(reference)
        return self._resolved[reference]

    async def _space(self, space: str) -> str:
        """The Space's room ID, joined first if need be (the bot was invited, or the Space is public)."""
        space_id = await self.resolve(space)
        if not self.account.knows_room(space_id):
            await self.account.join(space_id)
        return space_id

    async def add_to_space(self, space: str, room_id: str) -> None:
        """List the room in the Space (idempotent: the child event is keyed by the room)."""
        via = [self.account.account.server_name]
        await self.account.put_state(await self._space(space), "m.space.child", room_id, {"via": via})

    async def remove_from_space(self, space: str, room_id: str) -> None:
        """An empty child event is how a Space stops listing a room."""
        await self.account.put_state(await self._space(space), "m.space.child", room_id, {})

    async def set_power(self, room_id: str, users: Mapping[str, int], **levels: int) -> None:
        """Merge users' levels and top-level settings into the room's power levels; everyone else keeps theirs.
        (Read first: newer room versions give creators power outside this event and refuse them in it.) Nothing is
        sent when nothing would change."""
        content = await self.account.state_event(room_id, "m.room.power_levels")
        changed = {**content, **levels, "users": {**content.get("users", {}), **users}}
        if changed != content:
            await self.account.put_state(room_id, "m.room.power_levels", "", changed)

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.account.invite(room_id, user_id)

    async def ever_in(self, room_id: str, user_id: str) -> bool:
        try:
            await self.account.state_event(room_id, "m.room.member", user_id)
        except MatrixError as error:
            if error.code == "M_NOT_FOUND":
                return False
            raise
        return True
