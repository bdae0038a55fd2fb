import asyncio
import json
from itertools import pairwise

import pytest
import yaml

from bothy.cli import main
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.storage.alerts import AlertRepository, claim
from bothy.storage.audit import record_audit
from bothy.storage.database import scalar
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.outbox import AlertRecord, OutboxRepository, Outgoing
from bothy.storage.personal_data import StillOwed
from bothy.testing import STAFF_ROOM, bot_context
from bots.checkin.bot import CheckinBot
from bots.checkin.storage import CheckinRepository
from bots.host.bot import HostBot
from bots.installed import INSTALLATION
from bots.referral.bot import ReferralBot
from bots.referral.storage import ReferralRepository
from commands.framework import CommandContext, Role
from tests.unit.conftest import migrated_database
from tests.unit.test_checkin_bot import DAY_MS, GROUP, checkin_bot, handle
from tests.unit.test_config import filled, settings_of


async def test_every_table_is_either_personal_or_anonymous_by_design(database):
    async with database.read() as db, db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        tables = {row[0] for row in await cursor.fetchall()}
    assert tables == set(INSTALLATION.personal_columns) | INSTALLATION.anonymous_tables


async def test_export_then_erase_covers_every_row_that_names_the_member(database):
    alice, bob = "@alice:x", "@bob:x"
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES ('@bot:x', ?, '!dm')", (alice,))
        await OutboxRepository.enqueue(db, [
            Outgoing("@bot:x", "message", {"body": "hi"}, to_user=alice),
            Outgoing("@bot:x", "message", {"body": "alert"}, room_id="!staff",
                     alert=AlertRecord("chat", subject_user=alice)),
            Outgoing("@bot:x", "message", {"body": "bob"}, to_user=bob),
        ], 1)
        await ReferralRepository.record_sent(db, alice, "debt", 1)
        await ReferralRepository.set_opt_out(db, alice, True, 1)
        await record_audit(db, "@sam:x", "refer", alice, "debt", 1)
    personal = INSTALLATION.personal_data(database)
    exported = await personal.export(alice)
    assert set(exported) == {"dm_rooms", "outbox", "alerts", "referral_cooldowns", "referral_opt_outs", "audit_log"}
    assert exported["referral_cooldowns"][0]["topic"] == "debt"
    deleted = await personal.erase(alice)
    assert deleted["outbox"] == 2  # the message to her, and the (not urgent) alert about her
    assert await personal.export(alice) == {}
    assert (await personal.export(bob))["outbox"][0]["to_user"] == bob  # others untouched
    async with database.read() as db, db.execute("SELECT topic, sent FROM referral_sent_counts") as cursor:
        assert await cursor.fetchall() == [("debt", 1)]  # the anonymous count stays


ALICE, SAM = "@alice:example.org", "@sam:example.org"
BOB, CARA = "@bob:example.org", "@cara:example.org"


async def test_a_crisis_alert_from_a_group_message_is_the_author_s_to_export_and_erase(database, example_config):
    bot = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"]))
    effects = Effects(bot.context.account)
    await bot.on_message(Message("!group:example.org", "$m", ALICE, "I want to die", 1, "m.text", True), effects)
    await bot.context.work.commit(effects)
    personal = INSTALLATION.personal_data(database)
    exported = await personal.export(ALICE)
    assert [(a["kind"], a["room_id"], a["event_id"]) for a in exported["alerts"]] == [
        ("crisis", "!group:example.org", "$m")]
    await personal.erase(ALICE)
    assert await personal.export(ALICE) == {}
    async with database.read() as db, db.execute("SELECT kind, subject_user, urgent FROM alerts") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [("crisis", None, 1)]  # open: kept, unlinked


async def test_a_peer_worker_gets_and_erases_only_their_own_part_of_members_rows(database):
    """Sam asked for Alice's check-in, claimed her chat alert and referred her: Sam's export says so without
    naming Alice or her answer, and Sam's erasure clears Sam from those rows but leaves them Alice's."""
    async with database.transaction() as db:
        (checkin_id,) = await CheckinRepository.add_checkins(db, [ALICE], 1000, requested_by=SAM)
        await CheckinRepository.answer(db, checkin_id, "chat", 2000)
        await OutboxRepository.enqueue(db, [Outgoing("@bot:x", "message", {"body": "alert"}, room_id="!staff",
                                                     alert=AlertRecord("checkin_chat", subject_user=ALICE))], 2000)
        await record_audit(db, SAM, "refer", ALICE, "debt", 3000)
        await CheckinRepository.set_preference(db, SAM, False, None)  # Sam's own row, as a member
    async with database.transaction() as db:
        (alert_id,) = await (await db.execute("SELECT id FROM alerts")).fetchone()
        assert await claim(db, alert_id, SAM, 2500)
    personal = INSTALLATION.personal_data(database)

    exported = await personal.export(SAM)
    assert ALICE not in json.dumps(exported) and "answer" not in json.dumps(exported)
    assert exported == {
        "checkin_prefs": [{"user_id": SAM, "enabled": 0, "paused_until": None}],
        "alerts (your actions as staff)": [{"kind": "checkin_chat", "claimed_by": SAM, "claimed_at": 2500,
                                            "done_by": None, "done_at": None}],
        "audit_log (your actions as staff)": [{"at": 3000, "actor": SAM, "action": "refer"}],
        "checkins (your actions as staff)": [{"requested_by": SAM, "sent_at": 1000}],
    }

    await personal.erase(SAM)
    assert await personal.export(SAM) == {}
    kept = await personal.export(ALICE)
    assert kept["checkins"][0]["answer"] == "chat" and kept["checkins"][0]["requested_by"] is None
    assert kept["alerts"][0]["claimed_by"] is None and kept["audit_log"][0]["actor"] is None
    assert await AlertRepository(database).unclaimed_count() == 0  # still claimed: nobody is reminded of it again


async def test_the_export_shows_words_owed_to_the_member_that_are_stored_once_for_many(database):
    effects = Effects("@bot:x")
    effects.messages({"body": "How's today?"}, to_users=["@alice:x", "@bob:x"])
    async with database.transaction() as db:
        await effects.commit(db, 1)
    [row] = (await INSTALLATION.personal_data(database).export("@alice:x"))["outbox"]
    assert "How's today?" in json.dumps(row)


async def test_erase_refuses_while_a_row_still_owes_the_member_something(database):
    """A mute row is the only record of the level to give back. Erasing it would leave the member muted for good,
    so erase changes nothing while one remains (`bothy forget` says why; `!forget me` lifts mutes first)."""
    async with database.transaction() as db:
        await db.execute("INSERT INTO mutes (room_id, user_id, until, previous_level) VALUES ('!g:x', ?, 1, 0)",
                         (ALICE,))
        await CheckinRepository.set_preference(db, ALICE, False, None)
    personal = INSTALLATION.personal_data(database)
    before = await personal.export(ALICE)
    with pytest.raises(StillOwed, match="1 mute"):
        await personal.erase(ALICE)
    assert await personal.export(ALICE) == before and set(before) == {"mutes", "checkin_prefs"}


def test_the_admin_command_erases_nothing_while_a_mute_is_owed(tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(filled(**{"database.path": str(tmp_path / "bothy.sqlite3")})))

    async def mute_alice() -> None:
        async with migrated_database(tmp_path) as database, database.transaction() as db:
            await db.execute("INSERT INTO mutes (room_id, user_id, until, previous_level) VALUES ('!g:x', ?, 1, 0)",
                             (ALICE,))

    async def alice_s_tables() -> set[str]:
        async with migrated_database(tmp_path) as database:
            return set(await INSTALLATION.personal_data(database).export(ALICE))

    asyncio.run(mute_alice())
    assert main(["forget", "--config", str(config), "--user", ALICE]) == 1
    error = capsys.readouterr().err
    assert "Nothing was erased" in error and "owes @alice:example.org 1 mute(s) to lift" in error
    assert asyncio.run(alice_s_tables()) == {"mutes"}


async def test_replies_in_the_members_dm_are_theirs_to_export_and_erase(database):
    """Replies to what a member typed in their DM go to that room by its ID: `!mydata`'s file (the whole export)
    used to stay queued after `!forget me confirm`, and `!mydata` did not show such rows."""
    dm = "!dm:example.org"
    bot = HostBot(bot_context(database, INSTALLATION, settings_of("host"), direct_rooms=frozenset({dm})))
    await DirectRoomRepository(database).save(bot.context.account, ALICE, dm)  # as the adapter records a DM
    async with database.transaction() as db:
        await db.execute("INSERT INTO interests (user_id, tag, added_at) VALUES (?, ?, 0)", (ALICE, "grief"))
    command = next(c for c in bot.commands() if c.name == "mydata")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=ALICE, room_id=dm, event_id="$c", role=Role.MEMBER,
                                     in_dm=True, effects=effects, templates=bot.context.templates, prefix="!"))
    await bot.context.work.commit(effects)
    rows = await OutboxRepository(database).due(10**15)
    assert [(r.action, r.room_id, r.to_user) for r in rows] == [("file", dm, ALICE), ("message", dm, ALICE)]
    exported = await bot.context.personal_data.export(ALICE)
    assert [row["action"] for row in exported["outbox"]] == ["file", "message"]
    await bot.context.personal_data.erase(ALICE)
    assert await OutboxRepository(database).due(10**15) == []


async def test_an_export_still_on_its_way_is_named_in_the_next_not_copied_into_it(database):
    """Each `!mydata` held every earlier export still queued, escaped again: five times larger each time, 185 MB by
    the tenth, and the event loop held for seconds (a reviewer's)."""
    dm = "!dm:example.org"
    bot = HostBot(bot_context(database, INSTALLATION, settings_of("host"), direct_rooms=frozenset({dm})))
    await DirectRoomRepository(database).save(bot.context.account, ALICE, dm)
    command = next(c for c in bot.commands() if c.name == "mydata")
    sizes = []
    for number in range(6):  # none of them sent yet: an outage, a slow upload
        effects = Effects(bot.context.account)
        await command.run(CommandContext(command=command, sender=ALICE, room_id=dm, event_id=f"$c{number}",
                                         role=Role.MEMBER, in_dm=True, effects=effects,
                                         templates=bot.context.templates, prefix="!"))
        await bot.context.work.commit(effects)
        sizes.append(len(effects.items[0].content["text"]))
    files = [row for row in json.loads(effects.items[0].content["text"])["data"]["outbox"] if row["action"] == "file"]
    assert [json.loads(row["content"]) for row in files] == [
        {"filename": "bothy-my-data.json", "mimetype": "application/json"}] * 5
    growth = [later - earlier for earlier, later in pairwise(sizes[1:])]
    assert max(growth) - min(growth) < 20  # each a queued file and message larger (row numbers grow a digit)


async def test_a_room_that_is_no_ones_dm_names_no_one(database):
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms (account, user_id, room_id) VALUES ('@bot:x', ?, '!dm')", (ALICE,))
        await OutboxRepository.enqueue(db, [Outgoing("@other:x", "message", {"body": "a"}, room_id="!dm"),
                                            Outgoing("@bot:x", "message", {"body": "b"}, room_id="!group"),
                                            Outgoing("@bot:x", "message", {"body": "c"}, room_id="!dm")], 1)
    rows = await OutboxRepository(database).due(10**15)
    assert [(r.account, r.room_id, r.to_user) for r in rows] == [
        ("@other:x", "!dm", None), ("@bot:x", "!group", None), ("@bot:x", "!dm", ALICE)]


async def test_messages_to_staff_about_a_member_are_theirs_to_export_and_erase(database, example_config):
    """A crisis alert still queued for the staff room, its thread notes, and "I've sent @alice a gentle
    check-in" owed to Sam all name Alice: they are in her export, and the erase takes all but the alert, which is
    still owed to the staff room and goes on unlinked. (A review found them left in the outbox after `!forget me`,
    outside `!mydata`.)"""
    referral = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"]))
    effects = Effects(referral.context.account)
    await referral.on_message(Message("!group:example.org", "$m", ALICE, "I want to die", 1, "m.text", True),
                              effects)
    await referral.context.work.commit(effects)
    (alert,) = await referral.context.alerts.not_done()
    effects = Effects(referral.context.account)
    referral.context.alerts.in_thread(alert, effects, "alert_reminder", minutes=30, link="https://matrix.to/")
    await referral.context.work.commit(effects)
    checkin = CheckinBot(bot_context(database, INSTALLATION, settings_of("checkin")))
    command = next(c for c in checkin.commands() if c.name == "checkin")
    effects = Effects(checkin.context.account)
    await command.run(CommandContext(command=command, sender=SAM, room_id=STAFF_ROOM, event_id="$c",
                                     role=Role.PEER_WORKER, in_dm=False, effects=effects,
                                     templates=checkin.context.templates, prefix="!", params={"user": ALICE}))
    await checkin.context.work.commit(effects)
    personal = INSTALLATION.personal_data(database)

    staff_rows = [row for row in (await personal.export(ALICE))["outbox"] if row["room_id"] == STAFF_ROOM]
    assert len(staff_rows) == 3 and all(row["about_user"] == ALICE for row in staff_rows)
    await personal.erase(ALICE)
    assert await personal.export(ALICE) == {}
    async with database.read() as db:
        left = await db.execute_fetchall("SELECT o.room_id, o.to_user, o.about_user, o.content, c.content FROM outbox "
                                         "AS o LEFT JOIN outbox_contents AS c ON c.id = o.content_id")
    naming = [row for row in left if ALICE in json.dumps(list(row))]
    assert [(room, to_user, about) for room, to_user, about, *_ in naming] == [(STAFF_ROOM, None, None)]
    assert "may need support now" in naming[0][3]  # the crisis alert itself, deleted once it is sent


async def test_a_crisis_alert_from_a_dm_keeps_no_room_once_its_member_is_erased(database, example_config):
    """The urgent alert outlives the erase, unlinked: a DM's room and event IDs would name the member as surely."""
    dm = "!dm-alice:example.org"
    referral = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"],
                                       direct_rooms=frozenset({dm})))
    effects = Effects(referral.context.account)
    await referral.on_message(Message(dm, "$m", ALICE, "I want to die", 1, "m.text", True), effects)
    await referral.context.work.commit(effects)
    await INSTALLATION.personal_data(database).erase(ALICE)
    async with database.read() as db:
        alerts = await db.execute_fetchall("SELECT kind, subject_user, room_id, event_id FROM alerts")
        staff = await db.execute_fetchall("SELECT about_user, alert_id FROM outbox WHERE room_id = ?", (STAFF_ROOM,))
    assert [tuple(row) for row in alerts] == [("crisis", None, None, None)]
    assert [tuple(row) for row in staff] == [(None, 1)]  # still on its way, still claimable
    async with database.read() as db:
        everything = await db.execute_fetchall("SELECT * FROM alerts")
    assert dm not in json.dumps([list(row) for row in everything])


async def test_an_urgent_alert_closed_before_it_was_sent_goes_with_the_erase(database, example_config):
    """Only what staff still have to act on outlives an erase (a reviewer's find: a closed one was still posted)."""
    referral = ReferralBot(bot_context(database, INSTALLATION, example_config.bot_settings["referral"]))
    effects = Effects(referral.context.account)
    await referral.on_message(Message("!group:example.org", "$m", ALICE, "I want to die", 1, "m.text", True), effects)
    await referral.context.work.commit(effects)
    (alert,) = await referral.context.alerts.not_done()
    closing = Effects(referral.context.account)
    assert await referral.context.alerts.close(alert, SAM, closing)
    await referral.context.work.commit(closing)
    await INSTALLATION.personal_data(database).erase(ALICE)
    async with database.read() as db:
        left = await db.execute_fetchall("SELECT o.content, c.content FROM outbox AS o "
                                         "LEFT JOIN outbox_contents AS c ON c.id = o.content_id")
        alerts = await db.execute_fetchall("SELECT id FROM alerts")
    assert ALICE not in json.dumps([list(row) for row in left]) and not list(alerts)


def test_the_admin_commands_name_a_database_they_cannot_use_and_create_none(tmp_path, capsys):
    """With database.path mistyped, `bothy export` made a new, empty database and printed no data, and `bothy forget`
    reported 0 rows erased: an admin answering a data-rights request would believe it. A newer schema, or a user ID
    that is none, ended in a traceback or was taken as given (a reviewer's)."""
    missing = tmp_path / "typo.sqlite3"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(filled(**{"database.path": str(missing)})))
    for command in ("export", "forget"):
        assert main([command, "--config", str(config), "--user", ALICE]) == 2
        assert "There is no database at" in capsys.readouterr().err and not missing.exists()

    async def newer_schema() -> None:
        async with migrated_database(tmp_path) as database, database.transaction() as db:
            await db.execute("UPDATE schema_version SET version = 999")

    asyncio.run(newer_schema())
    config.write_text(yaml.safe_dump(filled(**{"database.path": str(tmp_path / "bothy.sqlite3")})))
    assert main(["export", "--config", str(config), "--user", ALICE]) == 2
    assert "(database.path) cannot be used: the database is at schema version 999" in capsys.readouterr().err
    assert main(["forget", "--config", str(config), "--user", "alice"]) == 2
    assert "is not a Matrix user ID" in capsys.readouterr().err


def test_db_migrate_names_a_database_path_it_cannot_make_in_one_line(tmp_path, capsys):
    """`database.path` under a regular file: check-config said OK, then `bothy db migrate` showed a traceback (a
    reviewer's, twenty-ninth session)."""
    (tmp_path / "a-file").write_text("not a folder")
    config = tmp_path / "bothy.yaml"
    config.write_text(yaml.safe_dump(filled(**{"database.path": str(tmp_path / "a-file" / "bothy.sqlite3")})))
    assert main(["db", "migrate", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert "(database.path) cannot be used" in error and "Traceback" not in error


def test_the_export_file_says_times_as_dates_a_member_can_read():
    """Milliseconds since 1970 meant nothing to a member reading their `!mydata` (a reviewer's)."""
    from bothy.storage.personal_data import export_file

    exported = {"checkin_prefs": [{"user_id": "@alice:example.org", "enabled": 1, "paused_until": 1_796_000_000_000,
                                   "set_at": 1_795_000_000_000, "day": 20_500, "far_at": 10 ** 20}]}
    row = json.loads(export_file("@alice:example.org", exported))["data"]["checkin_prefs"][0]
    assert row == {"user_id": "@alice:example.org", "enabled": 1, "paused_until": "2026-11-30T00:53:20+00:00",
                   "set_at": "2026-11-18T11:06:40+00:00", "day": 20_500, "far_at": 10 ** 20}


async def test_an_erased_member_is_gone_from_the_files_a_backup_would_copy(tmp_path):
    """Deleted rows stayed in the write-ahead log (and, where SQLite is built without secure delete, in the file's
    free pages), so a backup taken after `!forget me` or `bothy forget` still held them (a reviewer's, thirtieth)."""
    from tests.unit.conftest import migrated_database

    alice, interest = "@alice-7f3e:example.org", "sober-october-9c1d"
    async with migrated_database(tmp_path) as database:
        assert await scalar(database.connection, "PRAGMA secure_delete") == 1
        async with database.transaction() as db:
            await db.execute("INSERT INTO interests (user_id, tag, added_at) VALUES (?, ?, 1)", (alice, interest))
        for n in range(20):  # ordinary traffic afterwards
            async with database.transaction() as db:
                await db.execute("INSERT INTO handled_events VALUES ('@bot:x', ?, 0)", (f"$e{n}",))
        await INSTALLATION.personal_data(database).erase(alice)
        files = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("bothy.sqlite3"))
        assert interest.encode() not in files and alice.encode() not in files



async def quiet_list(bot: CheckinBot) -> None:
    """A peer worker's `!quiet` in the staff room, its reply waiting in the outbox."""
    command = next(c for c in bot.commands() if c.name == "quiet")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender=SAM, room_id=STAFF_ROOM, event_id="$q",
                                     role=Role.PEER_WORKER, in_dm=False, in_staff_room=True, effects=effects,
                                     templates=bot.context.templates, prefix="!", params={"days": None}))
    await bot.context.work.commit(effects)


async def test_a_staff_list_naming_a_member_is_theirs_to_export_and_erase_while_it_is_stored(database, example_config):
    """`!quiet`'s reply names each quiet member with their signals; waiting in the outbox (an outage, a rate limit) or
    set aside after its last try, it was no one's: `!mydata` left it out and `!forget me` left it there, to be sent
    after the erase (a spec auditor's, thirty-second session). Each member it lists sees that it exists, not its
    words (which name the others); an erase takes it away; delivered, nothing of it is left."""
    bot = checkin_bot(database, example_config)
    long_ago = bot.context.clock.ms() - 30 * DAY_MS
    for number, member in enumerate((BOB, CARA)):
        await handle(bot, Message(GROUP, f"$m{number}", member, "hello", long_ago, "m.text", True))
    await quiet_list(bot)
    [waiting] = [row for row in await OutboxRepository(database).due(10**15) if row.room_id == STAFF_ROOM]
    assert BOB in json.dumps(waiting.content) and CARA in json.dumps(waiting.content)
    for member, other in ((BOB, CARA), (CARA, BOB)):
        exported = await bot.context.personal_data.export(member)
        assert [json.loads(row["content"]) for row in exported["outbox"]] == [
            {"message": "a message that names you: its words are not shown, as it is to or about someone else too"}]
        assert other not in json.dumps(exported)
    await bot.context.personal_data.erase(BOB)
    assert [row for row in await OutboxRepository(database).due(10**15) if row.room_id == STAFF_ROOM] == []

    await quiet_list(bot)  # Cara alone now: delivered, nothing is left of it
    [waiting] = [row for row in await OutboxRepository(database).due(10**15) if row.room_id == STAFF_ROOM]
    await OutboxRepository(database).delivered(waiting, STAFF_ROOM, "$sent", bot.context.clock.ms())
    assert "outbox" not in await bot.context.personal_data.export(CARA)
    async with database.read() as db:
        assert await scalar(db, "SELECT COUNT(*) FROM outbox_names") == 0


async def test_what_names_the_peer_worker_who_has_an_alert_is_theirs_to_export_and_erase(database, example_config):
    """A privacy reviewer's, thirty-third session: the note under an alert ("@sam is picking this up") and the DM
    telling the member who will be in touch name the peer worker, yet while they waited (an outage, a rate limit;
    set aside, kept two weeks) they were neither in the peer worker's export nor taken by their erase."""
    bot = checkin_bot(database, example_config)
    effects = Effects(bot.context.account)
    bot.context.alerts.raise_alert(effects, "checkin_chat", "alert_chat", subject_user=ALICE, outside_hours=False)
    await bot.context.work.commit(effects)
    async with database.transaction() as db:  # the alert reached the staff room
        await db.execute("UPDATE alerts SET staff_event_id = '$alert'")
        await db.execute("DELETE FROM outbox")
    [alert] = await bot.context.alerts.not_done()
    claimed = Effects(bot.context.account)
    await bot.context.alerts.claim(alert, SAM, claimed)
    await bot.context.work.commit(claimed)

    async def naming_sam() -> list[tuple[str | None, str | None]]:
        return [(row.room_id, row.to_user) for row in await OutboxRepository(database).due(10**15)
                if SAM in json.dumps(row.content)]

    assert await naming_sam() == [(STAFF_ROOM, None), (None, ALICE)]
    exported = await bot.context.personal_data.export(SAM)
    assert [json.loads(row["content"]) for row in exported["outbox"]] == [
        {"message": "a message that names you: its words are not shown, as it is to or about someone else too"}] * 2
    assert ALICE not in json.dumps(exported["outbox"])
    assert "peer support team will message you" in json.dumps(await bot.context.personal_data.export(ALICE))
    await bot.context.personal_data.erase(SAM)
    assert await naming_sam() == []
