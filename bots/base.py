"""What every bot may offer the engine. Bots receive their dependencies through their constructors."""

from __future__ import annotations

from typing import Protocol

from bothy.commands.framework import Command
from bothy.matrix.events import Message, Reaction, Receipt
from bothy.outbox import Effects
from bothy.scheduling import Sweep


class RoomInfo(Protocol):
    """The little a bot needs to know about a room (a Matrix account provides it)."""

    def is_direct_room(self, room_id: str) -> bool: ...

    def room_name(self, room_id: str) -> str: ...


class Bot:
    name: str = ""

    def commands(self) -> list[Command]:
        return []

    def sweeps(self) -> list[Sweep]:
        return []

    async def on_message(self, message: Message, effects: Effects) -> None:
        """A member's non-command message in a community room or DM (never the staff room). Never store its text."""

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        """True if this bot consumed the reaction."""
        return False

    async def on_receipt(self, receipt: Receipt) -> None:
        """A read receipt: reading is presence."""
