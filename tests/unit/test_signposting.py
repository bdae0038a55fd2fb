"""The referral bot's signposting over a real database: alerts a peer worker can act on."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bothy.clock import FixedClock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.storage.outbox import OutboxRepository, OutboxRow
from bothy.testing import STAFF_ROOM, bot_context
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.settings import ReferralSettings
from referral_kb import SHIPPED_KB

ALICE = "@alice:example.org"
GROUP, DM = "!group:example.org", "!dm:example.org"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class NamedRooms:
    """Room facts: one DM, and group rooms with their own names (never made up from members' names)."""

    def is_direct_room(self, room_id: str) -> bool:
        return room_id == DM

    def room_name(self, room_id: str) -> str:
        return {GROUP: "Tuesday walkers"}.get(room_id, "a room without a name")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)  # tests move `clock.at` on


@pytest.fixture
def referral(database, clock) -> ReferralBot:
    settings = ReferralSettings(kb_dirs=(SHIPPED_KB,), cooldown_s=86_400, crisis_cooldown_s=3_600,
                                keep_log_s=365 * 86_400)
    context = bot_context(database, INSTALLATION, settings, clock=clock)
    return ReferralBot(dataclasses.replace(context, rooms=NamedRooms()))


async def said(bot: ReferralBot, body: str, room_id: str = GROUP, event_id: str = "$m") -> None:
    effects = Effects(bot.context.account)
    await bot.on_message(Message(room_id, event_id, ALICE, body, bot.context.clock.ms(), "m.text", True), effects)
    await bot.context.work.commit(effects)


async def owed(database) -> list[OutboxRow]:
    return await OutboxRepository(database).due(10**15)


async def staff_alerts(database) -> list[OutboxRow]:
    return [row for row in await owed(database) if row.room_id == STAFF_ROOM]


async def test_a_crisis_alert_names_member_room_and_kind_links_the_message_and_never_quotes_it(database, referral):
    secret = "marker-5f2c"
    await said(referral, f"honestly I just want to die {secret}", event_id="$cry")
    [alert] = await staff_alerts(database)
    for body in (alert.content["body"], alert.content["formatted_body"]):
        assert ALICE in body and "Tuesday walkers" in body
        assert "crisis" in body and "Urgent help" in body  # the kind of match: tier and topic
        assert f"https://matrix.to/#/{GROUP}/$cry" in body
        assert secret not in body and "want to die" not in body


async def test_a_crisis_alert_from_a_dm_names_the_member_and_no_link_staff_cannot_open(database, referral):
    await said(referral, "I want to end it all", room_id=DM)
    [alert] = await staff_alerts(database)
    assert ALICE in alert.content["body"] and "privately" in alert.content["body"]
    assert "matrix.to" not in alert.content["body"] and DM not in alert.content["formatted_body"]
