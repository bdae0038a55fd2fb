"""The contract between the engine and a bot.

A bot is a folder under `bots/` holding one `Bot` subclass. What the engine needs before the bot
exists (its settings schema, schema steps, personal-data columns, schedules, templates and command
line additions) is declared on the class; everything else the bot receives as a narrow `BotContext`.
Adding a bot is its folder plus one line in `bots/installed.py`.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from bothy.alerts import StaffAlerts
from bothy.clock import Clock
from bothy.facts import MemberFacts
from bothy.matrix.adapter import RoomSpec
from bothy.matrix.events import Membership, Message, Reaction, Receipt, Redaction
from bothy.outbox import Effects, UnitOfWork
from bothy.settings import SettingsReader
from bothy.storage.database import ReadStore
from bothy.storage.migrations import Migration
from bothy.storage.outbox import StuckSummary
from bothy.storage.personal_data import KeyedRows, PersonalColumns, PersonalData
from bothy.templates import Templates
from commands.framework import Command, CommandRegistry, UsageError

SweepRun = Callable[[], Awaitable[Any]]


class RoomInfo(Protocol):
    """The little a bot needs to know about a room (its Matrix account provides it)."""

    def is_direct_room(self, room_id: str) -> bool: ...

    def direct_room_with(self, user_id: str) -> str | None:
        """The member's DM with this account, if it has one."""
        ...

    def room_name(self, room_id: str) -> str: ...

    def canonical_alias(self, room_id: str) -> str | None: ...

    async def member_rooms(self, user_id: str) -> frozenset[str]:
        """The rooms, DMs left out, where this account and `user_id` are both joined."""
        ...

    async def joined_members(self, room_id: str) -> frozenset[str]:
        """Everyone joined to a room (asked of the homeserver, cached a minute), bots included."""
        ...

    async def resolve(self, reference: str) -> str:
        """A room alias (#name:server) or ID, as its room ID."""
        ...

    async def event_sender(self, room_id: str, event_id: str) -> str | None:
        """Who sent an event (None if the homeserver does not show it to the bot)."""
        ...

    async def may_be_someone(self, user_id: str) -> bool:
        """False for an ID that cannot be anyone Bothy may reach: a server outside `community.allowed_servers`, or an
        account its homeserver says does not exist. True when it cannot tell for now."""
        ...

    async def power_levels(self, room_id: str) -> dict[str, Any]:
        """The room's `m.room.power_levels` content, its creators among `users` above any level where the room
        version gives them a power of their own."""
        ...

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        """Give `user_id` this level in the room (None: back to the room's default)."""
        ...

    async def event_reports(self, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """The homeserver's reports after `after_id`, oldest first (needs a server admin account)."""
        ...


class RoomMaking(Protocol):
    """Rooms a bot makes and runs (`rooms/making.py`). Matrix calls: use them from sweeps, never inside a
    handler's transaction, and record each result so a rerun after a crash picks up where it stopped."""

    async def make(self, spec: RoomSpec) -> str: ...

    async def resolve(self, reference: str) -> str: ...

    async def add_to_space(self, space: str, room_id: str) -> None: ...

    async def remove_from_space(self, space: str, room_id: str) -> None: ...

    async def set_power(self, room_id: str, users: Mapping[str, int], **levels: int) -> None: ...

    async def invite(self, room_id: str, user_id: str) -> None: ...

    async def ever_in(self, room_id: str, user_id: str) -> bool:
        """Whether the room has a membership of theirs, of any kind (a leave or a kick too)."""
        ...


class SentTags(Protocol):
    async def tag_of(self, event_id: str) -> str | None:
        """The tag a bot gave a message it sent (e.g. "poll:42"), found by the sent event's ID."""
        ...


class EngineStatus(Protocol):
    async def pending_messages(self) -> int: ...

    async def stuck_messages(self) -> StuckSummary:
        """Owed rows that keep failing or have waited too long: how many, and since when."""
        ...

    async def unclaimed_alerts(self) -> int: ...


@dataclass(frozen=True)
class BotContext:
    """What a bot may use: its own settings and account, and small engine capabilities."""

    account: str  # the Matrix ID the bot speaks as
    bot_accounts: frozenset[str]  # every bot account, so bots never count each other as members
    settings: Any  # what the bot's own `read_settings` returned
    prefix: str
    timezone: ZoneInfo
    clock: Clock
    templates: Templates
    store: ReadStore
    work: UnitOfWork
    alerts: StaffAlerts
    rooms: RoomInfo
    commands: CommandRegistry
    personal_data: PersonalData
    status: EngineStatus
    sent_tags: SentTags
    room_maker: RoomMaking  # rooms made and run by this bot's account
    peer_workers: frozenset[str]  # by Matrix ID, from the config
    account_rooms: Mapping[str, RoomInfo] = field(default_factory=dict)  # every bot account's view, by Matrix ID
    facts: MemberFacts = field(default_factory=MemberFacts)  # per-member facts bots offer one another

    def render(self, template: str, **context: Any) -> dict[str, Any]:
        return self.templates.render(template, prefix=self.prefix, **context)

    async def member_named(self, user_id: str) -> str:
        """A member a peer worker names in a command: never one of Bothy's own accounts, or the bot would write to
        itself and say it had reached someone; nor one that cannot be anyone, or a mistyped ID got "I've sent" while
        the DM went to an empty room or waited for ever on a server that is not there (an end-to-end auditor's,
        thirty-third session)."""
        if user_id in self.bot_accounts or user_id == self.account:
            raise UsageError(f"{user_id} is one of Bothy's own accounts: please give the member's Matrix ID.")
        if not await self.rooms.may_be_someone(user_id):
            raise UsageError(f"I can't find anyone called {user_id}: please check the Matrix ID (Element's "
                             "autocomplete, typing @ and their name, gets it right).")
        return user_id

    def staff_back(self) -> str | None:
        """For a member asking for someone now: None while peer workers are around (or no hours are declared),
        otherwise when they next are, in words."""
        return self.alerts.when_back(self.clock.now().astimezone(self.timezone))

    def rooms_seen_by(self, account: str) -> RoomInfo:
        """Room facts as `account` sees them: a bot that reads every room may be handed a message that
        another account received, and a DM is a DM of that account."""
        return self.account_rooms.get(account, self.rooms)


SettingsLoader = Callable[[str], Any]  # config path -> this bot's settings, or None after printing problems


class Bot:
    name: ClassVar[str]
    migrations: ClassVar[tuple[Migration, ...]] = ()
    personal_columns: ClassVar[Mapping[str, PersonalColumns]] = {}  # table -> how it may name a member
    anonymous_tables: ClassVar[frozenset[str]] = frozenset()  # tables with no member in them, by design
    keyed_rows: ClassVar[Mapping[str, KeyedRows]] = {}  # anonymous tables a member's rows can be found in today
    schedules: ClassVar[Mapping[str, str]] = {}  # sweep name -> default; the config key is schedules.<name>
    templates_dir: ClassVar[Path | None] = None
    # True: `on_message` hears every message Bothy can read, in rooms and DMs its own account is not in too,
    # handed over by the account that is (effects then speak as that account).
    reads_every_room: ClassVar[bool] = False

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> Any:
        """Read and check this bot's config sections; problems go to the reader, named by key."""
        return None

    @classmethod
    def add_cli(cls, subcommands: argparse._SubParsersAction, settings: SettingsLoader) -> None:
        """Add this bot's own `bothy ...` subcommands, if it has any."""

    def __init__(self, context: BotContext):
        self.context = context

    def commands(self) -> list[Command]:
        return []

    def sweeps(self) -> Mapping[str, SweepRun]:
        """Idempotent sweeps by name; each name is one of `schedules`."""
        return {}

    async def start(self) -> None:
        """After the accounts are connected, before events flow (e.g. open a listening socket)."""

    async def stop(self) -> None:
        """At shutdown."""

    async def on_message(self, message: Message, effects: Effects) -> None:
        """A member's message that is not a known command, or one whose words are also read (KnownCommand), in
        a community room or DM (never the staff room). Never store its text."""

    async def on_reaction(self, reaction: Reaction, effects: Effects) -> bool:
        """True if this bot consumed the reaction."""
        return False

    async def on_redaction(self, redaction: Redaction, effects: Effects) -> None:
        """An event taken back in a room the bot is in (not the staff room): a reaction unclicked, say."""

    async def on_receipt(self, receipt: Receipt, effects: Effects) -> None:
        """A read receipt: reading is presence."""

    async def on_membership(self, membership: Membership, effects: Effects) -> None:
        """Someone joined, left or was removed from a room (not the staff room): e.g. forget a member who left."""
