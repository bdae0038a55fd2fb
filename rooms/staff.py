"""The staff room: where alerts land and staff commands are answered."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bothy.matrix.adapter import MatrixAccount, MatrixError

log = logging.getLogger("bothy.staff")


class StaffRoom:
    def __init__(self, reference: str):
        self.reference = reference
        self.room_id: str | None = None

    async def connect(self, accounts: Iterable[MatrixAccount]) -> None:
        """Resolve the alias once and have every bot account join (each must have been invited)."""
        accounts = list(accounts)
        if self.reference.startswith("#"):
            self.room_id = await accounts[0].resolve_alias(self.reference)
        else:
            self.room_id = self.reference
        for account in accounts:
            if account.knows_room(self.room_id):
                continue
            try:
                await account.join(self.room_id)
            except MatrixError as error:
                log.error("%s cannot join the staff room %s (%s): invite it there", account.user_id,
                          self.reference, error)


def matrix_to(room_id: str, event_id: str | None = None) -> str:
    """A matrix.to link: works in every client and never quotes the message itself."""
    return f"https://matrix.to/#/{room_id}/{event_id}" if event_id else f"https://matrix.to/#/{room_id}"
