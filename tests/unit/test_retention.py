"""Retention: every owner forgets its old rows at the configured age, and keeps what is still needed."""

from datetime import UTC, datetime

import pytest

from bothy.clock import Clock, FixedClock
from bothy.config import ConfigError, parse_config
from bothy.storage.audit import record_audit
from bothy.storage.outbox import AlertRecord, OutboxRepository, Outgoing
from bothy.storage.retention import Retention, forget_old_rows, prune_engine_tables
from bothy.storage.sync_state import SyncStateRepository
from bothy.testing import bot_context
from bots.checkin.bot import CheckinBot
from bots.checkin.storage import CheckinRepository
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.storage import ReferralRepository
from tests.unit.conftest import migrated_database

NOW = datetime(2026, 3, 2, 12, 34, 56, 789000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000


async def count(database, sql: str) -> int:
    async with database.read() as db, db.execute(sql) as cursor:
        return (await cursor.fetchone())[0]


async def test_the_engine_forgets_its_rows_at_their_ages_and_keeps_what_is_pending(database):
    old, recent = NOW_MS - 400 * DAY_MS, NOW_MS - DAY_MS
    async with database.transaction() as db:
        for at in (old, recent):
            await record_audit(db, "@sam:x", "refer", "@alice:x", "debt", at)
            await db.execute("INSERT INTO sent_events VALUES (?, 'checkin:1', ?)", (f"$sent{at}", at))
            await db.execute("INSERT INTO handled_events VALUES ('@bot:x', ?, ?)", (f"$in{at}", at))
            await OutboxRepository.enqueue(db, [
                Outgoing("@bot:x", "message", {"body": "claimed"}, room_id="!staff", alert=AlertRecord("chat")),
                Outgoing("@bot:x", "message", {"body": "unclaimed"}, room_id="!staff", alert=AlertRecord("chat")),
                Outgoing("@bot:x", "message", {"body": "dead"}, to_user="@alice:x"),
                Outgoing("@bot:x", "message", {"body": "waiting"}, to_user="@alice:x"),
            ], at)
            await db.execute("UPDATE alerts SET claimed_by = '@sam:x', claimed_at = ? WHERE id IN "
                             "(SELECT MIN(id) FROM alerts WHERE created_at = ?)", (at, at))
            await db.execute("UPDATE outbox SET dead = 1 WHERE content LIKE '%dead%' AND created_at = ?", (at,))

    async with database.transaction() as db:
        deleted = await prune_engine_tables(db, Retention(), NOW_MS)

    assert deleted == {"handled_events": 1, "alerts": 1, "audit_log": 1, "sent_events": 1, "outbox": 1, "erasures": 0}
    assert await count(database, "SELECT COUNT(*) FROM alerts WHERE claimed_at IS NULL") == 2  # still to pick up
    assert await count(database, "SELECT COUNT(*) FROM outbox WHERE dead = 0") == 6  # still to send
    assert await count(database, "SELECT COUNT(*) FROM outbox WHERE dead = 1") == 1  # the recent one


async def test_handled_marks_a_restart_could_replay_outlive_an_outage_longer_than_their_age(database):
    """Down for 30 days, then started: the sweep must not drop the marks of events handled after the last saved
    checkpoint, or the replay from it would alert staff about the same crisis message again (a review's)."""
    down_since = NOW_MS - 30 * DAY_MS
    sync_state = SyncStateRepository(database)
    await sync_state.save_checkpoint("@bot:x", "t1", down_since - DAY_MS)
    await sync_state.save_checkpoint("@other:x", "t1", NOW_MS)
    async with database.transaction() as db:
        for account in ("@bot:x", "@other:x", "@gone:x"):  # @gone:x is no longer synced: the clock alone counts
            await SyncStateRepository.mark_handled(db, account, "$before", down_since - 9 * DAY_MS)
            await SyncStateRepository.mark_handled(db, account, "$after", down_since)

    async with database.transaction() as db:
        assert (await prune_engine_tables(db, Retention(), NOW_MS))["handled_events"] == 5

    async with database.read() as db, db.execute("SELECT account, event_id FROM handled_events") as cursor:
        assert await cursor.fetchall() == [("@bot:x", "$after")]


async def test_the_check_in_bot_forgets_old_check_ins_and_presence_where_nobody_has_been_seen(database,
                                                                                            example_config):
    bot = CheckinBot(bot_context(database, INSTALLATION, example_config.bot_settings["checkin"],
                                 clock=FixedClock(NOW)))
    async with database.transaction() as db:
        await CheckinRepository.add_checkins(db, ["@old:x"], NOW_MS - 91 * DAY_MS)
        await CheckinRepository.add_checkins(db, ["@recent:x"], NOW_MS - 89 * DAY_MS)
        await CheckinRepository.count_activity(db, "@gone:x", "!g", "message", NOW_MS - 200 * DAY_MS)
        await CheckinRepository.count_activity(db, "@reader:x", "!g", "message", NOW_MS - 200 * DAY_MS)
        await CheckinRepository.saw_reading(db, "@reader:x", "!g", NOW_MS - DAY_MS)
    await bot.prune()
    async with database.read() as db:
        async with db.execute("SELECT user_id FROM checkins") as cursor:
            assert await cursor.fetchall() == [("@recent:x",)]
        async with db.execute("SELECT user_id FROM presence") as cursor:
            assert await cursor.fetchall() == [("@reader:x",)]  # still reading: still here
    assert await count(database, "SELECT COUNT(*) FROM activity") == 0  # older than any baseline


async def test_the_referral_log_keeps_the_hour_not_the_moment_and_is_forgotten_after_a_year(database,
                                                                                        example_config):
    bot = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"],
                                  clock=FixedClock(NOW)))
    async with database.transaction() as db:
        await ReferralRepository.record_sent(db, "@alice:x", "debt", NOW_MS)
        await ReferralRepository.record_sent(db, "@bob:x", "debt", NOW_MS - 366 * DAY_MS)
    await bot.prune_log()
    async with database.read() as db, db.execute("SELECT at FROM referral_sent_counts") as cursor:
        assert await cursor.fetchall() == [(int(NOW.replace(minute=0, second=0, microsecond=0).timestamp() * 1000),)]
    assert await count(database, "SELECT sent_at FROM referral_cooldowns WHERE user_id = '@alice:x'") == NOW_MS


def test_retention_ages_are_config_with_defaults(example_config):
    assert example_config.retention == Retention()
    settings = example_config.bot_settings
    assert (settings["checkin"].checkin.keep_checkins_s, settings["referral"].keep_log_s) == (90 * 86400, 365 * 86400)
    data = {"homeserver": {"url": "http://hs"}, "crypto": {"pickle_key": "k"},
            "bots": {"host": {"user_id": "@b:x", "password": "p"}}, "staff": {"room": "!s:x", "peer_workers": ["@s:x"]},
            "retention": {"audit_log_days": 0}, "checkin": {"min_gap": "14d", "keep_checkins": "7d"}}
    with pytest.raises(ConfigError) as error:
        parse_config(data, example_config.database_path.parent, INSTALLATION.bots)
    assert {p.split(":")[0] for p in error.value.problems} >= {"retention.audit_log_days", "checkin.keep_checkins"}


async def test_the_nightly_sweep_leaves_nothing_deleted_since_the_last_in_the_files(tmp_path):
    """A privacy reviewer's, thirty-third session: only an erase and the mood key's rotation emptied the write-ahead
    log, so an interest a member took back (or a row a sweep deleted) stayed readable in the files, and in a backup of
    them, for as long as SQLite left it there."""
    from bots.host.storage import InterestRepository

    interest = "sober-october-9c1d"
    async with migrated_database(tmp_path) as database:
        async with database.transaction() as db:
            await InterestRepository.add(db, "@alice:x", [interest], 1)
        async with database.transaction() as db:  # `!interests remove sober-october-9c1d`
            await InterestRepository.remove(db, "@alice:x", [interest])
        await forget_old_rows(database, Retention(), Clock().ms())
        files = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("bothy.sqlite3"))
        assert interest.encode() not in files
