import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bothy.storage.database import BUSY_TIMEOUT_MS, Database, scalar
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.migrations import DatabaseTooNew, Migration, current_version, migrate
from bothy.storage.outbox import AlertRecord, OutboxRepository, Outgoing
from bothy.storage.sync_state import SyncStateRepository
from bots.installed import INSTALLATION

LATEST_VERSION = INSTALLATION.migrations[-1].version


async def test_migrations_record_their_version_and_are_idempotent(database):
    assert await current_version(database) == LATEST_VERSION
    assert await migrate(database, INSTALLATION.migrations) == []


async def test_rows_already_queued_to_a_members_dm_are_named_on_upgrade(tmp_path):
    database = Database(tmp_path / "x.sqlite3")
    await database.open()
    await migrate(database, tuple(step for step in INSTALLATION.migrations if step.version < 20))
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES ('@bot:x', '@alice:x', '!dm')")
        await db.executemany(
            "INSERT INTO outbox (txn_id, account, room_id, action, content, created_at, next_attempt_at) "
            "VALUES (?, ?, ?, 'message', '{}', 0, 0)", [("t1", "@bot:x", "!dm"), ("t2", "@bot:x", "!group")])
    await migrate(database, INSTALLATION.migrations)
    async with database.read() as db, db.execute("SELECT room_id, to_user FROM outbox ORDER BY id") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [("!dm", "@alice:x"), ("!group", None)]
    await database.close()


async def test_each_members_dm_is_kept_and_written_to_on_upgrade(tmp_path):
    async with database_before(tmp_path, "more than one DM") as (database, step):
        async with database.transaction() as db:
            await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES ('@bot:x', '@alice:x', '!dm')")
        assert step in await migrate(database, INSTALLATION.migrations)
        assert await DirectRoomRepository(database).get("@bot:x", "@alice:x") == "!dm"


async def test_a_database_newer_than_the_code_is_refused(database):
    async with database.transaction() as db:
        await db.execute("UPDATE schema_version SET version = ?", (LATEST_VERSION + 1,))
    with pytest.raises(DatabaseTooNew):
        await migrate(database, INSTALLATION.migrations)


async def test_a_failing_step_rolls_back_and_leaves_the_version(tmp_path):
    async def broken(db):
        await db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("step failed")

    database = Database(tmp_path / "x.sqlite3")
    await database.open()
    steps = (Migration(1, "ok", lambda db: db.execute("CREATE TABLE fine (x INTEGER)")), Migration(2, "bad", broken))
    with pytest.raises(RuntimeError):
        await migrate(database, steps)
    assert await current_version(database) == 1
    async with database.read() as db, db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'") as c:
        assert await c.fetchone() is None
    await database.close()


async def test_pragmas(database):
    async with database.read() as db:
        for pragma, expected in (("journal_mode", "wal"), ("foreign_keys", 1)):
            async with db.execute(f"PRAGMA {pragma}") as cursor:
                assert (await cursor.fetchone())[0] == expected


async def raise_alert(database: Database, subject: str) -> int:
    """An alert about `subject` as a bot raises one (with its staff-room message); its number."""
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, [Outgoing("@bot:x", "message", {"body": "alert"}, room_id="!staff",
                                                     alert=AlertRecord("report", subject_user=subject))], 1)
        return await scalar(db, "SELECT MAX(id) FROM alerts")


async def alert_in_old_schema(database: Database, subject: str) -> int:
    """`raise_alert` as the engine did before an alert's number was kept for good and its message named whom
    it is about: today's code writes columns an old database does not have yet."""
    async with database.transaction() as db:
        alert = (await db.execute("INSERT INTO alerts (kind, account, subject_user, created_at) "
                                  "VALUES ('report', '@bot:x', ?, 1)", (subject,))).lastrowid
        await db.execute("INSERT INTO outbox (txn_id, account, room_id, action, content, alert_id, created_at, "
                         "next_attempt_at) VALUES (?, '@bot:x', '!staff', 'message', '{}', ?, 1, 1)",
                         (f"t{alert}", alert))
        return alert


async def test_an_alert_number_is_never_given_again_once_its_alert_is_gone(database):
    """`!done N` and `!mod mute N` act on a number a peer worker read earlier: were the newest alert's number given
    again after its member was erased, it would name another member's alert."""
    await raise_alert(database, "@alice:x")
    bob = await raise_alert(database, "@bob:x")
    await INSTALLATION.personal_data(database).erase("@bob:x")
    assert await raise_alert(database, "@cara:x") == bob + 1


async def test_numbering_alerts_for_good_keeps_every_alert_and_its_messages(tmp_path):
    """The step that numbers alerts for good rebuilds `alerts` with foreign keys on: the alerts, their outbox links
    and indexes are kept."""
    async with database_before(tmp_path, "never given again") as (database, step):
        first, second = await alert_in_old_schema(database, "@alice:x"), await alert_in_old_schema(database, "@bob:x")
        async with database.transaction() as db:
            await db.execute("UPDATE alerts SET claimed_by = '@sam:x', claimed_at = 5, urgent = 1 WHERE id = ?",
                             (first,))
        before = await rows(database, "SELECT * FROM alerts ORDER BY id")
        links = await rows(database, "SELECT id, alert_id FROM outbox ORDER BY id")
        assert step in await migrate(database, INSTALLATION.migrations)
        after = await rows(database, "SELECT * FROM alerts ORDER BY id")
        assert [row[:len(before[0])] for row in after] == before  # later steps add columns after these
        assert await rows(database, "SELECT id, alert_id FROM outbox ORDER BY id") == links == [(1, first), (2, second)]
        assert await rows(database, "SELECT about_user FROM outbox ORDER BY id") == [("@alice:x",), ("@bob:x",)]
        indexes = await rows(database, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts'")
        assert set(indexes) == {("alerts_staff_event",), ("alerts_unclaimed",), ("alerts_open",)}
        async with database.transaction() as db:
            await db.execute("DELETE FROM outbox WHERE alert_id = ?", (second,))
            await db.execute("DELETE FROM alerts WHERE id = ?", (second,))
        assert await raise_alert(database, "@cara:x") == second + 1


async def test_the_referral_log_and_feedback_become_counts_on_upgrade(tmp_path):
    async with database_before(tmp_path, "are counts") as (database, step):
        async with database.transaction() as db:
            await db.executemany("INSERT INTO referral_log (topic, room_id, at) VALUES (?, ?, ?)",
                                 [("debt", "!g", 0), ("debt", "!g", 0), ("debt", None, 0), ("debt", "!g", 3600)])
            await db.executemany("INSERT INTO referral_feedback (topic, answer, at) VALUES (?, ?, ?)",
                                 [("debt", "helped", 0), ("debt", "helped", 0), ("debt", "not_for_me", 0)])
        assert step in await migrate(database, tuple(m for m in INSTALLATION.migrations if m.version <= step))
        assert await rows(database, "SELECT topic, room_id, at, sent FROM referral_sent_counts ORDER BY 2, 3") == [
            ("debt", "", 0, 1), ("debt", "!g", 0, 2), ("debt", "!g", 3600, 1)]
        assert await rows(database, "SELECT answer, answers FROM referral_feedback_counts ORDER BY 1") == [
            ("helped", 2), ("not_for_me", 1)]


async def test_suggestions_sent_are_counted_without_their_rooms_on_upgrade(tmp_path):
    async with database_before(tmp_path, "counted without the room") as (database, step):
        async with database.transaction() as db:
            await db.executemany("INSERT INTO referral_sent_counts (topic, room_id, at, sent) VALUES (?, ?, ?, ?)",
                                 [("debt", "", 0, 1), ("debt", "!g", 0, 2), ("debt", "!g", 3600, 1)])
        assert step in await migrate(database, INSTALLATION.migrations)
        assert await rows(database, "SELECT * FROM referral_sent_counts ORDER BY 2") == [("debt", 0, 3),
                                                                                      ("debt", 3600, 1)]


async def test_sent_events_keep_the_hour_in_no_order_on_upgrade(tmp_path):
    """A review paired members with suggestions by lining sent-message tags up with cooldowns, by order and time."""
    async with database_before(tmp_path, "keep the hour, in no order") as (database, step):
        async with database.transaction() as db:
            await db.executemany("INSERT INTO sent_events (event_id, tag, sent_at) VALUES (?, ?, ?)",
                                 [("$zz", "suggestion:7", 7_300_000), ("$aa", "suggestion:3", 7_400_000)])
        assert step in await migrate(database, INSTALLATION.migrations)
        assert await rows(database, "SELECT event_id, tag, sent_at FROM sent_events") == [
            ("$aa", "suggestion:3", 7_200_000), ("$zz", "suggestion:7", 7_200_000)]  # by event ID, not as sent
        assert await rows(database, "SELECT 1 FROM pragma_table_list WHERE name = 'sent_events' AND wr = 1") == [(1,)]



async def test_urgent_alerts_already_queued_go_first_after_the_upgrade(tmp_path):
    async with database_before(tmp_path, "goes before everything else due") as (database, step):
        async with database.transaction() as db:
            await db.executemany(
                "INSERT INTO alerts (id, kind, account, created_at, urgent) VALUES (?, ?, '@b:x', 0, ?)",
                [(1, "talk", 0), (2, "crisis", 1)])
            await db.executemany(
                "INSERT INTO outbox (id, txn_id, account, room_id, action, content, alert_id, created_at, "
                "next_attempt_at) VALUES (?, ?, '@b:x', '!staff', 'message', ?, ?, 0, 0)",
                [(1, "t1", '{"body": "talk"}', 1), (2, "t2", '{"body": "reply"}', None),
                 (3, "t3", '{"body": "crisis"}', 2)])
        assert step in await migrate(database, INSTALLATION.migrations)
        due = await OutboxRepository(database).due(now_ms=1)
        assert [row.content["body"] for row in due] == ["crisis", "talk", "reply"]


@contextlib.asynccontextmanager
async def database_before(tmp_path: Path, step_description: str) -> AsyncIterator[tuple[Database, int]]:
    """A database upgraded to just before the step whose description holds `step_description`, and that step."""
    step = next(step.version for step in INSTALLATION.migrations if step_description in step.description)
    database = Database(tmp_path / "old.sqlite3")
    await database.open()
    try:
        await migrate(database, tuple(older for older in INSTALLATION.migrations if older.version < step))
        yield database, step
    finally:
        await database.close()


async def rows(database: Database, sql: str) -> list[tuple]:
    async with database.read() as db, db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_a_handled_mark_keeps_the_hour_not_the_moment(database):
    """A review joined the reporter's `!report` event ID to the report by the exact time both were written."""
    async with database.transaction() as db:
        assert await SyncStateRepository.mark_handled(db, "@bot:x", "$report-command", 7_200_000 + 123_456)
    assert await rows(database, "SELECT handled_at FROM handled_events") == [(7_200_000,)]


async def test_emptying_the_log_says_when_a_reader_held_it(tmp_path):
    """A sweep's long read held the checkpoint for the whole busy timeout, the single connection's lock with it, and
    the log kept the erased rows without a word (a second reviewer's, thirtieth session). The connection's own busy
    timeout is back afterwards."""
    database = Database(tmp_path / "b.sqlite3")
    await database.open()
    try:
        async with database.transaction() as db:
            await db.execute("CREATE TABLE t (x TEXT)")
            await db.execute("INSERT INTO t VALUES ('erased member')")
        async with database.scan() as scan:
            await scan.execute("BEGIN")
            async with scan.execute("SELECT * FROM t") as cursor:
                await cursor.fetchall()  # a sweep's long read, its snapshot held
            async with database.transaction() as db:
                await db.execute("DELETE FROM t")
            assert await database.truncate_log() is False
            assert await scalar(database.connection, "PRAGMA busy_timeout") == BUSY_TIMEOUT_MS
            await scan.execute("COMMIT")
        assert await database.truncate_log() is True
        assert (tmp_path / "b.sqlite3-wal").stat().st_size == 0
    finally:
        await database.close()


async def test_group_invitations_survive_the_step_that_allows_private_offers(tmp_path):
    async with database_before(tmp_path, "private offers") as (database, step):
        async with database.transaction() as db:
            await db.execute("INSERT INTO group_rooms (id, name, slug, tags, creator, created_at, state, sensitive, "
                             "listed, token) VALUES (1, 'Walk', 'walk', 'walking', '@a:x', 0, 'ready', 0, 1, 't')")
            await db.execute("INSERT INTO group_invites (group_id, user_id, reason, owed_at, sent_at) "
                             "VALUES (1, '@b:x', 'interest', 5, 6)")
        assert step in await migrate(database, INSTALLATION.migrations)
        assert await rows(database, "SELECT group_id, user_id, reason, owed_at, sent_at FROM group_invites") == [
            (1, "@b:x", "interest", 5, 6)]
        async with database.transaction() as db:
            await db.execute("INSERT INTO group_invites (group_id, user_id, reason, owed_at) VALUES (1, '@c:x', "
                             "'offer', 7)")


async def test_invitations_made_unasked_keep_their_place_in_the_weekly_limit_across_the_step(tmp_path):
    async with database_before(tmp_path, "made unasked") as (database, step):
        async with database.transaction() as db:
            await db.execute("INSERT INTO group_rooms (id, name, slug, tags, creator, created_at, state, sensitive, "
                             "listed, token) VALUES (1, 'Walk', 'walk', 'walking', '@a:x', 0, 'ready', 0, 1, 't')")
            await db.executemany("INSERT INTO group_invites (group_id, user_id, reason, owed_at) VALUES (1, ?, ?, ?)",
                                 [("@b:x", "interest", 5), ("@c:x", "asked", 6), ("@d:x", "offer", 7)])
        assert step in await migrate(database, INSTALLATION.migrations)
        assert await rows(database, "SELECT user_id, offered_at FROM group_invites ORDER BY user_id") == [
            ("@b:x", 5), ("@c:x", None), ("@d:x", 7)]
