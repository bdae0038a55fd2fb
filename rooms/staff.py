"""The staff room: where alerts land and staff commands are answered."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bothy.matrix.adapter import MatrixAccount, MatrixError, RoomFacts

log = logging.getLogger("bothy.staff")


class StaffRoom:
    def __init__(self, reference: str, trusted: frozenset[str] = frozenset()):
        self.reference = reference
        self.trusted = trusted  # peer workers, admins and the bot accounts: the only people alerts may reach
        self.room_id: str | None = None

    async def connect(self, accounts: Iterable[MatrixAccount]) -> None:
        """Resolve the alias once, have every bot account join (each must have been invited), and say
        loudly if the room is not private: alerts name members who may be in crisis."""
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
        try:
            facts = await accounts[0].room_facts(self.room_id)
        except MatrixError as error:
            log.warning("could not check who is in the staff room (%s)", error)
            return
        for problem in staff_room_problems(facts, self.trusted):
            log.warning("the staff room %s %s", self.reference, problem)


def staff_room_problems(facts: RoomFacts, trusted: frozenset[str]) -> list[str]:
    """What makes a staff room unsafe for alerts; members outside the config are counted, never named."""
    problems = []
    if facts.join_rule != "invite":
        problems.append(f"is not invite-only (join rule {facts.join_rule or 'unknown'}): make it invite-only")
    if not facts.encrypted:
        problems.append("is not encrypted: turn on encryption in its settings")
    outsiders = facts.members - trusted
    if outsiders:
        problems.append(f"has {len(outsiders)} member(s) who are not peer workers, admins or bots: "
                        "alerts name members, so remove them or add them to staff.peer_workers")
    return problems


def matrix_to(room_id: str, event_id: str | None = None) -> str:
    """A matrix.to link: works in every client and never quotes the message itself."""
    return f"https://matrix.to/#/{room_id}/{event_id}" if event_id else f"https://matrix.to/#/{room_id}"
