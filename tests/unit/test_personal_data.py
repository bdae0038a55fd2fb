from bothy.storage.audit import record_audit
from bothy.storage.outbox import AlertRecord, OutboxRepository, Outgoing
from bots.installed import INSTALLATION
from bots.referral.storage import ReferralRepository


async def test_every_table_is_either_personal_or_anonymous_by_design(database):
    async with database.read() as db, db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
        tables = {row[0] for row in await cursor.fetchall()}
    assert tables == set(INSTALLATION.personal_columns) | INSTALLATION.anonymous_tables


async def test_export_then_erase_covers_every_row_that_names_the_member(database):
    alice, bob = "@alice:x", "@bob:x"
    async with database.transaction() as db:
        await db.execute("INSERT INTO dm_rooms VALUES ('@bot:x', ?, '!dm')", (alice,))
        await OutboxRepository.enqueue(db, [
            Outgoing("@bot:x", "message", {"body": "hi"}, to_user=alice),
            Outgoing("@bot:x", "message", {"body": "alert"}, room_id="!staff",
                     alert=AlertRecord("chat", subject_user=alice)),
            Outgoing("@bot:x", "message", {"body": "bob"}, to_user=bob),
        ], 1)
        await ReferralRepository.record_sent(db, alice, "debt", "!group", 1)
        await ReferralRepository.set_opt_out(db, alice, True, 1)
        await record_audit(db, "@sam:x", "refer", alice, "debt", 1)
    personal = INSTALLATION.personal_data(database)
    exported = await personal.export(alice)
    assert set(exported) == {"dm_rooms", "outbox", "alerts", "referral_cooldowns", "referral_opt_outs", "audit_log"}
    assert exported["referral_cooldowns"][0]["topic"] == "debt"
    deleted = await personal.erase(alice)
    assert deleted["outbox"] == 1
    assert await personal.export(alice) == {}
    assert (await personal.export(bob))["outbox"][0]["to_user"] == bob  # others untouched
    async with database.read() as db, db.execute("SELECT topic, room_id FROM referral_log") as cursor:
        assert await cursor.fetchall() == [("debt", "!group")]  # the anonymous log stays
