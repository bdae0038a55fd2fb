"""The referral bot's signposting over a real database: alerts a peer worker can act on, and rooms where loss
is the subject."""

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
from bots.referral.bereavement import in_own_words
from bots.referral.bot import ReferralBot
from bots.referral.kb import load_kb
from bots.referral.matcher import Matcher
from bots.referral.settings import ReferralSettings
from referral_kb import SHIPPED_KB

ALICE = "@alice:example.org"
GROUP, DM, GRIEF = "!group:example.org", "!dm:example.org", "!grief:example.org"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class NamedRooms:
    """Room facts: one DM, and group rooms with their own names (never made up from members' names)."""

    def is_direct_room(self, room_id: str) -> bool:
        return room_id == DM

    def room_name(self, room_id: str) -> str:
        return {GROUP: "Tuesday walkers"}.get(room_id, "a room without a name")

    def canonical_alias(self, room_id: str) -> str | None:
        return {GRIEF: "#losing-someone:example.org"}.get(room_id)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)  # tests move `clock.at` on


@pytest.fixture
def referral(database, clock) -> ReferralBot:
    settings = ReferralSettings(kb_dirs=(SHIPPED_KB,), cooldown_s=86_400, crisis_cooldown_s=3_600,
                                keep_log_s=365 * 86_400, bereavement_rooms=frozenset({"#losing-someone:example.org"}))
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


def crisis_lines(rows: list[OutboxRow]) -> list[OutboxRow]:
    return [row for row in rows if row.to_user == ALICE and "who you can reach" in row.content["body"]]


@pytest.mark.parametrize("text", [
    "it's a year today since dad's suicide and it still doesn't feel real",
    "my son was suicidal for months before he died",
    "she took an overdose and we never got to say goodbye",
    "I keep thinking about his suicide",
])
async def test_in_a_bereavement_room_talk_of_someone_else_s_death_is_not_the_member_s_crisis(database, referral, text):
    await said(referral, text, room_id=GRIEF)
    rows = await owed(database)
    assert crisis_lines(rows) == [] and await staff_alerts(database) == []


@pytest.mark.parametrize("text", [
    "since mum died I feel suicidal most nights",
    "honestly I want to die too",
    "I miss him so much, I want to end my life",
    "losing her makes me suicidal",
])
async def test_in_a_bereavement_room_a_first_person_crisis_still_gets_lines_and_an_alert(database, referral, text):
    await said(referral, text, room_id=GRIEF)
    assert len(crisis_lines(await owed(database))) == 1 and len(await staff_alerts(database)) == 1


async def test_elsewhere_the_same_words_about_someone_else_are_still_a_crisis(database, referral):
    await said(referral, "it's a year today since dad's suicide", room_id=GROUP)
    assert len(crisis_lines(await owed(database))) == 1


def test_the_rule_explains_what_it_set_aside():
    text = "my brother was suicidal and now I'm grieving"
    result = in_own_words(Matcher(load_kb((SHIPPED_KB,))).match(text), text)
    assert result.tier == "support" and "bereavement" in result.topics
    assert ("crisis", "suicidal", "about someone else, in a bereavement room") in {
        (s.topic, s.phrase, s.reason) for s in result.suppressed}
