import pytest

from bothy.storage.database import Database
from bothy.storage.migrations import DatabaseTooNew, Migration, current_version, migrate
from bots.installed import INSTALLATION

LATEST_VERSION = INSTALLATION.migrations[-1].version


async def test_migrations_record_their_version_and_are_idempotent(database):
    assert await current_version(database) == LATEST_VERSION
    assert await migrate(database, INSTALLATION.migrations) == []


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
