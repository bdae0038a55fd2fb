"""Room climate: a pure policy (table tests), and the counting that names and quotes nobody."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from bothy.clock import FixedClock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.storage.outbox import OutboxRepository
from bothy.testing import STAFF_ROOM, bot_context
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.climate_policy import HOUR_MS, Baseline, ClimateThresholds, baseline_of, is_jump, new_episode

T = ClimateThresholds(min_people=3, ratio=3.0, margin=2, baseline_hours=100, calm_hours=6)


@pytest.mark.parametrize(("people", "mean", "jump"), [
    (2, 0.0, False),   # never fewer than three people
    (3, 0.0, True),    # three where there are usually none
    (3, 0.5, True),
    (3, 1.2, False),   # under three times the usual
    (4, 1.2, True),
    (5, 2.0, False),   # three times the usual, but not two above it... (5 < 6)
    (6, 2.0, True),
    (10, 4.0, False),  # a busy room's busy hour
])
def test_a_jump_is_well_above_the_room_s_own_usual_with_enough_people(people, mean, jump):
    assert is_jump(people, Baseline(mean, 0), T) is jump


@pytest.mark.parametrize(("last", "hour", "new"), [
    (None, 50, True),  # the first jump ever
    (49, 50, False),   # the same evening
    (44, 50, False),   # six hours of calm is not yet over
    (43, 50, True),    # more than six: a new episode
])
def test_one_notice_per_episode(last, hour, new):
    assert new_episode(last, hour, T) is new


def test_the_baseline_counts_the_quiet_hours_too():
    assert baseline_of([2, 1], 4) == Baseline(0.75, 2)
    assert baseline_of([], 100) == Baseline(0.0, 0)
    assert baseline_of([1] * 5, 100).usual_most == 0  # one person in 5 hours of 100: usually none


GROUP = "!tea:example.org"
NOW = datetime(2026, 3, 2, 19, 30, tzinfo=UTC)


async def say(bot: ReferralBot, sender: str, body: str, at: datetime) -> Effects:
    effects = Effects(bot.context.account)
    await bot.on_message(Message(GROUP, f"${sender}{at.timestamp()}", sender, body, int(at.timestamp() * 1000),
                                 "m.text", encrypted=True), effects)
    await bot.context.work.commit(effects)
    return effects


async def notices(database) -> list:
    return [row for row in await OutboxRepository(database).due(10**15)
            if row.room_id == STAFF_ROOM and "last hour" in row.content["body"]]


async def test_three_people_in_distress_give_one_notice_naming_nobody(database, example_config):
    clock = FixedClock(NOW)
    bot = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"], clock=clock))
    people = [f"@m{i}:example.org" for i in range(5)]
    await say(bot, people[0], "I feel so alone tonight", NOW)
    await say(bot, people[0], "really depressed", NOW)  # the same person counts once
    await say(bot, people[1], "having panic attacks again", NOW)
    assert await notices(database) == []
    await say(bot, people[2], "feeling so alone", NOW)
    [notice] = await notices(database)
    body = json.dumps(notice.content)
    assert "distress from 3 people" in notice.content["body"] and "usually none" in notice.content["body"]
    assert "evening" in notice.content["body"]
    assert not any(p in body for p in people) and "alone" not in body and "panic" not in body
    await say(bot, people[3], "so anxious", NOW)
    clock.at += timedelta(hours=1)
    for person in people[:3]:
        await say(bot, person, "feel so lonely", clock.at)
    assert len(await notices(database)) == 1  # the same episode
    async with database.read() as db, db.execute("SELECT room_id, category, hour, people FROM climate_hours") as c:
        rows = await c.fetchall()
    assert sorted(rows) == [(GROUP, "distress", NOW.timestamp() * 1000 // HOUR_MS, 4),
                            (GROUP, "distress", NOW.timestamp() * 1000 // HOUR_MS + 1, 3)]


async def test_hostility_is_counted_and_never_dms_anyone(database, example_config):
    bot = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"],
                                  clock=FixedClock(NOW)))
    for i in range(3):
        effects = await say(bot, f"@h{i}:example.org", "honestly you are pathetic", NOW)
        assert not [item for item in effects.items if item.to_user]
    [notice] = await notices(database)
    assert "hostile messages from 3 people" in notice.content["body"]


async def test_a_handler_run_again_after_a_failed_commit_still_counts_the_member(database, example_config):
    bot = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"],
                                  clock=FixedClock(NOW)))
    lost = Effects(bot.context.account)  # handled, then its transaction never committed (a crash or a retry)
    await bot.on_message(Message(GROUP, "$lost", "@m0:example.org", "I feel so alone tonight",
                                 int(NOW.timestamp() * 1000), "m.text", encrypted=True), lost)
    await say(bot, "@m0:example.org", "I feel so alone tonight", NOW)
    async with database.read() as db, db.execute("SELECT people FROM climate_hours") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [(1,)]
