"""Mood storage: one answer per member per day, replaced not added, and unlinkable once the key rotates."""

import hashlib
import hmac
import sqlite3

from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bots.installed import INSTALLATION
from bots.mood.storage import ENERGY_TTL_MS, NO_ROOM, MoodRepository

DAY = 740_000
ALICE, BOB = "@alice:example.org", "@bob:example.org"
GROUP, OTHER, THIRD = "!group:example.org", "!other:example.org", "!third:example.org"
CAROL = "@carol:example.org"


async def answer(database, user, day=DAY, rooms=(GROUP,), mood=None, energy=None) -> None:
    async with database.transaction() as db:
        await MoodRepository.answer(db, user, day, rooms, mood, energy)


async def all_rows(database, table: str) -> list[tuple]:
    async with database.read() as db, db.execute(f"SELECT * FROM {table}") as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_a_new_answer_the_same_day_replaces_the_old_one_and_keeps_the_other_half(database):
    repository = MoodRepository(database)
    await answer(database, ALICE, mood=2, rooms=(GROUP, OTHER))
    await answer(database, BOB, mood=4)
    await answer(database, ALICE, energy="low", rooms=(GROUP,))  # left OTHER meanwhile; mood 2 is kept
    await answer(database, ALICE, mood=3, rooms=(GROUP,))
    tallies = await repository.tallies(DAY)
    assert set(tallies) == {GROUP}
    assert tallies[GROUP].contributors == 2
    assert tallies[GROUP].moods == (0, 0, 1, 1, 0)
    assert tallies[GROUP].energies == (1, 0, 0)


async def test_no_row_names_a_member(database):
    await answer(database, ALICE, mood=1)
    for table in ("mood_answers", "mood_keys"):
        assert not any(ALICE in str(row) for row in await all_rows(database, table))


async def test_after_rotation_nothing_ties_a_row_to_anyone_even_with_the_database_and_config(database, tmp_path):
    """The attacker holds the database file (WAL included) and the config, so knows every member's ID."""
    await answer(database, ALICE, mood=1)
    await answer(database, BOB, mood=5)
    key = (await all_rows(database, "mood_keys"))[0][1]
    voters = {row[1] for row in await all_rows(database, "mood_answers")}
    assert voters == {hmac.new(key, u.encode(), hashlib.sha256).digest()[:16] for u in (ALICE, BOB)}  # today: yes

    async with database.transaction() as db:
        await MoodRepository.rotate(db, DAY + 1)
    async with database.read() as db:
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    assert await all_rows(database, "mood_keys") == []
    assert await all_rows(database, "mood_answers") == []
    raw = database.path.read_bytes() + (database.path.with_name(database.path.name + "-wal").read_bytes()
                                        if database.path.with_name(database.path.name + "-wal").exists() else b"")
    assert key not in raw  # overwritten, not merely unlinked from the table
    copy = sqlite3.connect(database.path)  # what a second reader of the file would find
    blobs = [row[0] for table in ("mood_keys", "mood_answers", "mood_days")
             for row in copy.execute(f"SELECT * FROM {table}")]
    copy.close()
    candidates = {hmac.new(blob, u.encode(), hashlib.sha256).digest()[:16]
                  for blob in blobs if isinstance(blob, bytes) for u in (ALICE, BOB)}
    assert not candidates & voters


async def test_a_day_is_frozen_once_and_keeps_only_what_was_published(database):
    repository = MoodRepository(database)
    await answer(database, ALICE, mood=1)
    published = await repository.tallies(DAY)
    async with database.transaction() as db:
        assert await MoodRepository.freeze(db, DAY, published)
        assert not await MoodRepository.freeze(db, DAY, published)  # a rerun posts nothing twice
    assert await repository.frozen(DAY)
    async with database.transaction() as db:
        await MoodRepository.rotate(db, DAY + 1)
    assert (await repository.published(GROUP, DAY))[DAY].moods == (1, 0, 0, 0, 0)


async def test_energy_is_linked_for_24_hours_only(database):
    repository = MoodRepository(database)
    async with database.transaction() as db:
        await MoodRepository.set_energy(db, ALICE, "low", 1_000)
    assert await repository.energy(ALICE, 1_000 + ENERGY_TTL_MS - 1) == "low"
    assert await repository.energy(ALICE, 1_000 + ENERGY_TTL_MS) is None
    async with database.transaction() as db:
        await MoodRepository.prune(db, DAY, DAY - 56, 1_000 + ENERGY_TTL_MS)
    assert await all_rows(database, "mood_energy") == []


async def test_sharing_off_deletes_the_shared_record(database):
    repository = MoodRepository(database)
    async with database.transaction() as db:
        await MoodRepository.set_share(db, ALICE, True)
        await MoodRepository.share_mood(db, ALICE, DAY, 2)
    assert await repository.shared_history(ALICE, DAY) == {DAY: 2}
    async with database.transaction() as db:
        await MoodRepository.set_share(db, ALICE, False)
    assert await repository.shared_history(ALICE, 0) == {}
    assert not (await repository.prefs(ALICE)).share


async def test_an_answer_from_someone_in_no_group_is_kept_but_counted_nowhere(database):
    await answer(database, ALICE, mood=3, rooms=())
    assert [row[2] for row in await all_rows(database, "mood_answers")] == [NO_ROOM]
    assert await MoodRepository(database).tallies(DAY) == {}


async def test_the_weather_finds_who_answered_in_several_rooms_without_knowing_who(database):
    repository = MoodRepository(database)
    await answer(database, ALICE, mood=2, rooms=(GROUP, OTHER))
    await answer(database, BOB, mood=4, rooms=(GROUP,))
    await answer(database, CAROL, mood=3, rooms=(OTHER, THIRD))
    await answer(database, ALICE, mood=3, rooms=(GROUP, OTHER, THIRD))  # a new answer moves her spread too
    assert await repository.answered_elsewhere(DAY) == {GROUP: 1, OTHER: 2, THIRD: 2}
    assert sorted(map(sorted, await repository.shared_contributors(DAY, [GROUP]))) == [[GROUP, OTHER, THIRD]]
    assert sorted(map(sorted, await repository.shared_contributors(DAY, [THIRD]))) == [
        [GROUP, OTHER, THIRD], [OTHER, THIRD]]
    assert await repository.shared_contributors(DAY, []) == []


async def test_answers_from_before_step_17_get_their_spread_counted(tmp_path):
    """A day's answers written before the column existed: the step counts each voter's rooms once."""
    database = Database(tmp_path / "old.sqlite3")
    await database.open()
    await migrate(database, tuple(step for step in INSTALLATION.migrations if step.version < 17))
    async with database.transaction() as db:
        await db.executemany("INSERT INTO mood_answers VALUES (?, ?, ?, ?, ?)",
                             [(DAY, b"a", NO_ROOM, 2, None), (DAY, b"a", GROUP, 2, None), (DAY, b"a", OTHER, 2, None),
                              (DAY, b"b", NO_ROOM, 4, None), (DAY, b"b", GROUP, 4, None)])
    await migrate(database, INSTALLATION.migrations)
    assert await MoodRepository(database).answered_elsewhere(DAY) == {GROUP: 1, OTHER: 1}
    await database.close()


async def test_due_prompts_are_taken_in_batches_each_member_once_a_day(database):
    members = [f"@m{n}:example.org" for n in range(5)]
    async with database.transaction() as db:
        for member in members:
            await MoodRepository.set_prompt(db, member, True)
        await MoodRepository.set_prompt(db, members[2], False)
    taken, after = [], 0
    while True:
        async with database.transaction() as db:
            batch, after = await MoodRepository.take_due_prompts(db, DAY, after, 2)
        if not batch:
            break
        taken.append(batch)
    assert taken == [members[:2], members[3:]]
    async with database.transaction() as db:
        assert (await MoodRepository.take_due_prompts(db, DAY, 0, 10))[0] == []  # nobody twice today
        assert (await MoodRepository.take_due_prompts(db, DAY + 1, 0, 10))[0] == [members[0], members[1],
                                                                                    *members[3:]]
