"""A command that meets the homeserver or database away for now is tried again, not answered "something went wrong"
and lost (a second reviewer's, twenty-sixth session): a `!report` during a rate limit reaches the staff room."""

import sqlite3

import pytest

from bothy.clock import Clock
from bothy.inbound import InboundDispatcher, SetAsideNotice
from bothy.matrix.adapter import MatrixError
from bothy.matrix.events import Message
from bothy.outbox import Effects, UnitOfWork
from bothy.routing import EventRouter
from bothy.storage.alerts import AlertRepository
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sync_state import SyncStateRepository
from bots.installed import INSTALLATION
from commands.framework import Command, CommandRegistry
from commands.router import CommandRouter
from rooms.staff import StaffRoom
from tests.unit.conftest import installed_bots
from tests.unit.test_engine import shared_config
from tests.unit.test_unknown_commands import ALICE, GROUP, HOST, STAFF, Account

WENT_WRONG = INSTALLATION.templates().render("went_wrong")


def database_busy() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database is locked")
    error.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]  # as SQLite sets it
    return error


def failing_with(error: Exception) -> CommandRouter:
    async def run(ctx) -> None:
        raise error

    registry = CommandRegistry([Command("meetups", "host", "meetups", run)])
    return CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(), lambda: STAFF)


@pytest.mark.parametrize("error", [
    MatrixError("get event: rate limited", retry_after_ms=5000, code="M_LIMIT_EXCEEDED"),
    MatrixError("get event: 502", code="502"),
    database_busy(),
])
async def test_an_outage_is_raised_for_the_event_to_be_tried_again(error):
    effects = Effects(HOST)
    with pytest.raises(type(error)):
        await failing_with(error).handle(Message(GROUP, "$c", ALICE, "!meetups", Clock().ms(), "m.text", True),
                                         effects)


async def test_a_refusal_is_answered_kindly_and_changes_nothing():
    effects = Effects(HOST)
    router = failing_with(MatrixError("get event: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"))
    assert await router.handle(Message(GROUP, "$c", ALICE, "!meetups", Clock().ms(), "m.text", True), effects)
    assert effects.writes == [] and [item.content for item in effects.items] == [WENT_WRONG]


async def test_a_report_during_a_rate_limit_reaches_the_staff_room_once_it_passes(database, example_config):
    registry = installed_bots(database, example_config)
    report = next(command for command in registry.commands if command.name == "report")
    host_rooms = report.run.__self__.context.rooms
    asked: list[str] = []

    async def rate_limited_once(room_id: str, event_id: str) -> str:
        asked.append(event_id)
        if len(asked) == 1:
            raise MatrixError("get event: rate limited", retry_after_ms=5000, code="M_LIMIT_EXCEEDED")
        return "@rude:example.org"

    host_rooms.event_sender = rate_limited_once
    account = Account()
    router = CommandRouter(shared_config(), registry, account, INSTALLATION.templates(), Clock(), lambda: STAFF)
    staff = StaffRoom(STAFF)
    staff.room_id = STAFF
    sync_state = SyncStateRepository(database)
    dispatcher = InboundDispatcher(HOST, sync_state, EventRouter(account, [], router, None, None, staff, [], ()),
                                   UnitOfWork(database, Clock(), lambda: None),
                                   SetAsideNotice(INSTALLATION.templates(), "!", account.is_direct_room),
                                   retry_delay=lambda *_: 0.0)
    await dispatcher.on_batch("t1", [Message(GROUP, "$cmd", ALICE, "!report", Clock().ms(), "m.text", True,
                                             reply_to="$rude")])
    await dispatcher.drain()

    assert asked == ["$rude", "$rude"]  # asked again once the rate limit passed
    assert len(await AlertRepository(database).not_done()) == 1  # the report's alert
    bodies = [row.content.get("body", "") for row in await OutboxRepository(database).due(10**15)]
    assert WENT_WRONG["body"] not in bodies


async def test_a_mistyped_command_meeting_an_outage_is_tried_again_not_dropped():
    """Telling which bot answers a command nobody knows met a 502 and the event was dropped: no help, and
    "!mood2 I feel awful" typed in a group was not taken down (a reviewer's). A known command's does the same."""
    class MoodAccount(Account):
        user_id = "@mood:example.org"  # not the host account, which answers unknown commands

        async def joined_members(self, room_id: str) -> frozenset[str]:
            raise MatrixError("joined members: 502", code="502")

    async def mood(ctx) -> None:
        raise AssertionError("not this command")

    router = CommandRouter(shared_config(), CommandRegistry([Command("mood", "mood", "mood", mood)]), MoodAccount(),
                           INSTALLATION.templates(), Clock(), lambda: STAFF)
    with pytest.raises(MatrixError):
        await router.handle(Message(GROUP, "$typed", ALICE, "!mood2 I feel awful", Clock().ms(), "m.text", True),
                            Effects("@mood:example.org"))
