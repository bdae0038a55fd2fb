"""A bot's context over a real database, for unit tests and benchmarks (maubot's testing kit is the model).

Everything is the real engine piece except the Matrix side: rooms are a fixed set of DMs, and what the
bot owes stays in the outbox table for the test to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from bothy.alerts import StaffAlerts
from bothy.clock import Clock
from bothy.facts import MemberFacts
from bothy.health import EngineHealth
from bothy.installation import Installation
from bothy.matrix.adapter import MatrixError, RoomSpec
from bothy.matrix.events import Reaction, reaction_from_event
from bothy.outbox import UnitOfWork
from bothy.plugin import BotContext
from bothy.staff_hours import StaffHours
from bothy.storage.alerts import AlertRepository
from bothy.storage.database import Database
from bothy.storage.outbox import OutboxRepository
from commands.framework import CommandRegistry
from rooms.staff import StaffRoom

STAFF_ROOM = "!staff:example.org"


class FixedRooms:
    """Room facts a test decides: which rooms are DMs, who is in which other room, what aliases mean."""

    def __init__(self, direct: frozenset[str] = frozenset(), members: Mapping[str, frozenset[str]] | None = None,
                 aliases: Mapping[str, str] | None = None, senders: dict[str, str] | None = None):
        self.direct = direct
        self.dms: dict[str, str] = {}  # member -> their DM with the account; tests fill it
        self.members = dict(members or {})  # room ID -> joined members; tests may change it
        self.aliases = dict(aliases or {})
        self.senders = senders if senders is not None else {}  # event ID -> sender
        self.levels: dict[str, dict[str, Any]] = {}  # room ID -> power levels content
        self.names: dict[str, str] = {}  # room ID -> display name; unnamed rooms show their ID
        self.reports: list[dict[str, Any]] | None = None  # the homeserver's event reports; None: not an admin
        self.nobody: set[str] = set()  # IDs that cannot be anyone (a mistyped server, no such account)

    async def member_rooms(self, user_id: str) -> frozenset[str]:
        return frozenset(room for room, members in self.members.items()
                         if user_id in members and room not in self.direct)

    async def joined_members(self, room_id: str) -> frozenset[str]:
        return self.members.get(room_id, frozenset())

    async def resolve(self, reference: str) -> str:
        return self.aliases.get(reference, reference)

    def is_direct_room(self, room_id: str) -> bool:
        return room_id in self.direct

    def direct_room_with(self, user_id: str) -> str | None:
        return self.dms.get(user_id)

    def room_name(self, room_id: str) -> str:
        return self.names.get(room_id, room_id)

    def canonical_alias(self, room_id: str) -> str | None:
        return None

    async def event_sender(self, room_id: str, event_id: str) -> str | None:
        return self.senders.get(event_id)

    async def may_be_someone(self, user_id: str) -> bool:
        return user_id not in self.nobody

    async def power_levels(self, room_id: str) -> dict[str, Any]:
        return self.levels.setdefault(room_id, {"events_default": 0, "users": {}})

    async def event_reports(self, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        if self.reports is None:
            raise MatrixError("event reports: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN")
        return [r for r in self.reports if r["id"] > after_id][:limit]

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        users = (await self.power_levels(room_id))["users"]
        if level is None:
            users.pop(user_id, None)
        else:
            users[user_id] = level


class MadeRooms:
    """Rooms made, as a test sees them: every call recorded, rooms numbered !made-1, !made-2, ... Making
    the same alias twice gives the same room, as the homeserver does."""

    def __init__(self) -> None:
        self.made: dict[str, RoomSpec] = {}  # room ID -> spec
        self.calls: list[tuple[Any, ...]] = []

    async def make(self, spec: RoomSpec) -> str:
        for room_id, made in self.made.items():
            if made.alias_localpart == spec.alias_localpart:
                return room_id
        room_id = f"!made-{len(self.made) + 1}:example.org"
        self.made[room_id] = spec
        self.calls.append(("make", room_id))
        return room_id

    async def resolve(self, reference: str) -> str:
        return reference.replace("#", "!", 1)

    async def add_to_space(self, space: str, room_id: str) -> None:
        self.calls.append(("add_to_space", space, room_id))

    async def remove_from_space(self, space: str, room_id: str) -> None:
        self.calls.append(("remove_from_space", space, room_id))

    async def set_power(self, room_id: str, users: Mapping[str, int], **levels: int) -> None:
        self.calls.append(("set_power", room_id, dict(users), levels))

    async def invite(self, room_id: str, user_id: str) -> None:
        self.calls.append(("invite", room_id, user_id))

    async def ever_in(self, room_id: str, user_id: str) -> bool:
        """Invited when the room was made, or since."""
        spec = self.made.get(room_id)
        return (spec is not None and user_id in spec.invite) or ("invite", room_id, user_id) in self.calls


def bot_context(database: Database, installation: Installation, settings: Any, *, clock: Clock | None = None,
                account: str = "@bot:example.org", direct_rooms: frozenset[str] = frozenset(),
                peer_workers: frozenset[str] = frozenset({"@sam:example.org"}),
                timezone: ZoneInfo | None = None, rooms: FixedRooms | None = None,
                facts: MemberFacts | None = None, bot_accounts: frozenset[str] = frozenset(),
                staff_hours: StaffHours | None = None) -> BotContext:
    clock = clock or Clock()
    templates = installation.templates()
    work = UnitOfWork(database, clock, lambda: None)
    staff_room = StaffRoom(STAFF_ROOM)
    staff_room.room_id = STAFF_ROOM
    alerts = StaffAlerts(AlertRepository(database), staff_room, templates, peer_workers, 1800, work,
                         hours=staff_hours)
    return BotContext(
        account=account, bot_accounts=frozenset({account}) | bot_accounts, settings=settings, prefix="!",
        timezone=timezone or ZoneInfo("Europe/London"),
        clock=clock, templates=templates, store=database, work=work, alerts=alerts,
        rooms=rooms or FixedRooms(direct_rooms), commands=CommandRegistry(),
        personal_data=installation.personal_data(database),
        status=EngineHealth(database, clock), sent_tags=OutboxRepository(database), facts=facts or MemberFacts(),
        room_maker=MadeRooms(), peer_workers=peer_workers,
    )


def received_reaction(room_id: str, event_id: str, sender: str, target_event_id: str, key: str,
                      timestamp_ms: int = 0) -> Reaction:
    """A reaction as a bot receives it: through the adapter's own conversion (which drops variation selectors)."""
    reaction = reaction_from_event({"event_id": event_id, "sender": sender, "origin_server_ts": timestamp_ms,
                                    "type": "m.reaction", "content": {"m.relates_to": {
                                        "rel_type": "m.annotation", "event_id": target_event_id, "key": key}}},
                                   room_id)
    assert reaction is not None
    return reaction
