"""Alerts that cannot be missed: open -> claimed -> done, and the escalation ladder for urgent kinds."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bothy.alerts import Escalation, StaffAlerts
from bothy.clock import FixedClock
from bothy.matrix.events import Redaction
from bothy.outbox import Effects, UnitOfWork
from bothy.storage.alerts import AlertRepository
from bothy.storage.outbox import AlertRecord, OutboxRepository
from bothy.templates import Templates
from bothy.testing import received_reaction
from rooms.staff import StaffRoom

BOT, SAM, KIM, ALI = "@bot:x", "@sam:x", "@kim:x", "@ali:x"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def setup(database, clock: FixedClock) -> StaffAlerts:
    staff_room = StaffRoom("!staff")
    staff_room.room_id = "!staff"
    return StaffAlerts(AlertRepository(database), staff_room, Templates(), frozenset({SAM, KIM, ALI}),
                       remind_after_s=1800, work=UnitOfWork(database, clock, lambda: None),
                       escalation=Escalation(600, frozenset({SAM, KIM}), frozenset({ALI})))


async def raise_one(alerts: StaffAlerts, kind: str, urgent: bool, staff_event: str = "$alert") -> int:
    effects = Effects(BOT)
    effects.message({"body": "alert"}, room_id="!staff", alert=AlertRecord(kind, "@alice:x", urgent=urgent))
    await alerts.work.commit(effects)
    async with alerts.work.database.transaction() as db:
        await db.execute("UPDATE alerts SET staff_event_id = ? WHERE staff_event_id IS NULL", (staff_event,))
        await db.execute("DELETE FROM outbox")
        (alert_id,) = await (await db.execute("SELECT MAX(id) FROM alerts")).fetchone()
    return alert_id


async def owed(database) -> list[tuple[str | None, str]]:
    return [(row.to_user, row.content["body"]) for row in await OutboxRepository(database).due(10**15)]


async def react(alerts: StaffAlerts, sender: str, key: str, event: str = "$alert") -> None:
    effects = Effects(BOT)
    assert await alerts.handle_reaction(received_reaction("!staff", f"$r{key}{sender}", sender, event, key), effects)
    await alerts.work.commit(effects)


async def test_an_alert_goes_open_claimed_done_with_who_and_when_each_audited(database):
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    alert_id = await raise_one(alerts, "chat", urgent=False)
    assert (await alerts.repository.by_id(alert_id)).state == "open"
    await react(alerts, SAM, "✅")
    claimed = await alerts.repository.by_id(alert_id)
    assert (claimed.state, claimed.claimed_by) == ("claimed", SAM)
    assert any(f"alert {alert_id}" in body for _, body in await owed(database))
    await react(alerts, KIM, "✅")  # a second claim changes nothing
    assert (await alerts.repository.by_id(alert_id)).claimed_by == SAM
    clock.at += timedelta(minutes=5)
    await react(alerts, KIM, "✔️")
    done = await alerts.repository.by_id(alert_id)
    assert done.state == "done" and done.done_at == clock.ms()
    assert await alerts.not_done() == []
    async with database.read() as db, db.execute("SELECT actor, action FROM audit_log ORDER BY id") as cursor:
        assert await cursor.fetchall() == [(SAM, "alert claimed"), (KIM, "alert done")]


async def test_closing_an_open_alert_claims_it_too_so_the_claim_hook_still_runs(database):
    alerts = await setup(database, FixedClock(START))
    told = []

    async def hook(alert, worker, effects):
        told.append(worker)
        effects.message({"body": f"{worker} will message you"}, to_user=alert.subject_user)

    alerts.on_claim("chat", hook)
    alert_id = await raise_one(alerts, "chat", urgent=False)
    effects = Effects(BOT)
    assert await alerts.close(await alerts.repository.by_id(alert_id), SAM, effects)
    await alerts.work.commit(effects)
    alert = await alerts.repository.by_id(alert_id)
    assert (alert.state, alert.claimed_by) == ("done", SAM)
    assert ("@alice:x", f"{SAM} will message you") in await owed(database)
    assert not await alerts.close(alert, KIM, Effects(BOT))  # already done


async def test_only_peer_workers_move_an_alert(database):
    alerts = await setup(database, FixedClock(START))
    alert_id = await raise_one(alerts, "chat", urgent=False)
    await react(alerts, "@stranger:x", "✅")
    assert (await alerts.repository.by_id(alert_id)).state == "open"


async def escalation_dms(database) -> list[str]:
    return sorted(user for user, _ in await owed(database) if user is not None)


async def test_an_unclaimed_urgent_alert_goes_to_each_peer_worker_then_each_admin_once_each(database):
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    clock.at += timedelta(minutes=9)
    await alerts.remind_unclaimed()
    assert await escalation_dms(database) == []
    clock.at += timedelta(minutes=2)
    await alerts.remind_unclaimed()
    await alerts.remind_unclaimed()  # a rerun (or a restart and rerun) sends nothing twice
    assert await escalation_dms(database) == [KIM, SAM]
    clock.at += timedelta(minutes=10)
    await alerts.remind_unclaimed()
    await alerts.remind_unclaimed()
    assert await escalation_dms(database) == [ALI, KIM, SAM]
    clock.at += timedelta(hours=2)
    await alerts.remind_unclaimed()
    assert await escalation_dms(database) == [ALI, KIM, SAM]
    assert not any("gentle nudge" in body for _, body in await owed(database))  # urgent: no ordinary reminder


async def test_escalation_dms_go_before_the_note_under_the_alert_and_other_rows(database):
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    earlier = Effects(BOT)
    earlier.message({"body": "a reply queued earlier"}, room_id="!group")
    await alerts.work.commit(earlier)
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    assert [user for user, _ in await owed(database)] == [KIM, SAM, None, None]
    assert [body for _, body in await owed(database)][2] == "a reply queued earlier"


async def test_a_claim_stops_the_ladder(database):
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    await react(alerts, KIM, "✅")
    clock.at += timedelta(minutes=30)
    await alerts.remind_unclaimed()
    assert ALI not in await escalation_dms(database)


async def test_a_claim_taken_back_opens_the_alert_again_and_the_ladder_goes_on(database):
    """An end-to-end auditor's, thirty-third session: a ✅ clicked by mistake and clicked again (Element redacts it)
    left the alert claimed, so a crisis alert never escalated. Only the peer worker's own ✅ takes the claim back."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    alert_id = await raise_one(alerts, "crisis", urgent=True)
    await react(alerts, SAM, "✅")
    for sender, redacts in ((KIM, f"$r✅{SAM}"), (SAM, "$something-else")):  # not theirs; not the claim
        effects = Effects(BOT)
        await alerts.handle_redaction(Redaction("!staff", "$undo", sender, redacts), effects)
        await alerts.work.commit(effects)
        assert (await alerts.repository.by_id(alert_id)).claimed_by == SAM
    effects = Effects(BOT)
    await alerts.handle_redaction(Redaction("!staff", "$undo", SAM, f"$r✅{SAM}"), effects)
    await alerts.work.commit(effects)
    assert (await alerts.repository.by_id(alert_id)).state == "open"
    assert any("took their ✅ back" in body for _, body in await owed(database))
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    assert await escalation_dms(database) == [KIM, SAM]


async def test_an_ordinary_alert_is_reminded_once_in_the_staff_room_and_never_escalated(database):
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "chat", urgent=False)
    clock.at += timedelta(minutes=31)
    await alerts.remind_unclaimed()
    clock.at += timedelta(hours=3)
    await alerts.remind_unclaimed()
    bodies = await owed(database)
    assert [body for _, body in bodies if "gentle nudge" in body] and len(bodies) == 1
    assert await escalation_dms(database) == []


async def test_an_alert_claimed_while_the_reminder_sweep_runs_gets_no_nudge_after_the_claim(database):
    """An alert claimed between the reminder sweep's read and its commit gets no nudge under the claim (a reviewer's,
    twenty-ninth session, as the four below)."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "chat", urgent=False)
    clock.at += timedelta(minutes=31)
    read = alerts.repository.unclaimed_unreminded

    async def read_then_claimed(before):
        found = await read(before)
        await react(alerts, SAM, "✅")  # a peer worker's ✅ commits while the sweep is between read and commit
        return found

    alerts.repository.unclaimed_unreminded = read_then_claimed
    await alerts.remind_unclaimed()
    assert (await alerts.repository.by_id(1)).state == "claimed"
    assert not any("gentle nudge" in body for _, body in await owed(database))


async def test_escalation_dms_not_yet_sent_when_the_alert_is_claimed_do_not_say_nobody_has_it(database):
    """Escalation DMs wait in the outbox (a DM still being opened, a rate limit, an outage). Once a peer worker has
    claimed the alert, DMs telling every peer worker (then admin) that nobody has picked it up should not go."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()  # DMs queued; not delivered yet
    await react(alerts, KIM, "✅")
    pending = [(user, body) for user, body in await owed(database) if user is not None]
    assert not [body for _, body in pending if "nobody has picked it up" in body], pending


async def test_an_urgent_alert_raised_while_the_clock_ran_ahead_still_escalates_after_the_clock_is_put_right(database):
    """A clock stepped back (NTP after a VM resume) leaves `created_at` in the future: the ladder waits for the clock to
    catch up, hours after the 10 minutes promised."""
    clock = FixedClock(START + timedelta(hours=6))  # the clock runs six hours fast when the crisis alert is raised
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    clock.at = START + timedelta(minutes=30)  # put right; the alert has in truth waited half an hour
    await alerts.remind_unclaimed()
    await alerts.remind_unclaimed()
    assert sorted(user for user, _ in await owed(database) if user is not None) == [KIM, SAM]
    clock.at += timedelta(minutes=10)  # the ladder goes on from there: the admins a step later
    await alerts.remind_unclaimed()
    assert sorted(user for user, _ in await owed(database) if user is not None) == ["@ali:x", KIM, SAM]


async def test_an_escalation_for_an_alert_that_never_reached_the_staff_room_can_be_acted_on(database):
    """The staff room refuses the bot (removed, power raised, room upgraded): the alert row waits, and the ladder is
    the fallback. The DM said the alert "has waited in the staff room" and linked only to the room: nothing there to
    ✅. It gives the alert's number, and the commands that work in the DM."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    effects = Effects(BOT)
    effects.message({"body": "crisis alert"}, room_id="!staff", alert=AlertRecord("crisis", "@alice:x", urgent=True))
    await alerts.work.commit(effects)  # queued; the staff room refuses it, so it never gets a staff event
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    dm = next(body for user, body in await owed(database) if user == SAM)
    assert "has waited 11 minutes in the staff room" not in dm  # it never got there
    assert "couldn't reach the staff room" in dm and "!alerts" in dm and "!done 1" in dm, dm


MOOD_TEMPLATES = Path(__file__).resolve().parents[2] / "bots" / "mood" / "templates"


async def setup_with_mood_templates(database, clock: FixedClock) -> StaffAlerts:
    """As `setup`, with the templates a bot's withdrawal note lives in."""
    alerts = await setup(database, clock)
    alerts.templates = Templates([MOOD_TEMPLATES])
    return alerts


async def test_a_withdrawn_alert_gets_no_nudge_saying_nobody_has_picked_it_up(database):
    """A second reviewer's, twenty-ninth session (as the two below): done but never claimed, it was nudged."""
    clock = FixedClock(START)
    alerts = await setup_with_mood_templates(database, clock)
    alert_id = await raise_one(alerts, "mood_shared", urgent=False)
    effects = Effects(BOT)
    alerts.withdraw("mood_shared", "@alice:x", effects, "mood_share_withdrawn")
    await alerts.work.commit(effects)
    assert (await alerts.repository.by_id(alert_id)).state == "done"
    async with database.transaction() as db:
        await db.execute("DELETE FROM outbox")
    clock.at += timedelta(minutes=31)
    await alerts.remind_unclaimed()
    bodies = [body for _, body in await owed(database)]
    assert not any("gentle nudge" in body for body in bodies), bodies


async def test_a_withdrawn_alert_is_not_counted_unclaimed_nor_claimable(database):
    clock = FixedClock(START)
    alerts = await setup_with_mood_templates(database, clock)
    await raise_one(alerts, "mood_shared", urgent=False)
    effects = Effects(BOT)
    alerts.withdraw("mood_shared", "@alice:x", effects, "mood_share_withdrawn")
    await alerts.work.commit(effects)
    assert await alerts.repository.unclaimed_count() == 0
    assert await alerts.repository.not_done() == []


async def test_an_alert_raised_while_the_sweep_runs_is_not_taken_for_one_from_the_future(database):
    """Normal operation, clock never changed: the sweep reads `now`, then an alert commits a millisecond later. It is
    'from the future' to the sweep and is dated back past its escalation delay: escalated at once."""
    clock = FixedClock(START)
    alerts = await setup_with_mood_templates(database, clock)
    bring_back = alerts.repository.bring_back_from_the_future

    async def alert_meanwhile(now_ms, *args):
        clock.at += timedelta(milliseconds=5)
        await raise_one(alerts, "crisis", urgent=True)
        return await bring_back(now_ms, *args)

    alerts.repository.bring_back_from_the_future = alert_meanwhile
    await alerts.remind_unclaimed()
    alerts.repository.bring_back_from_the_future = bring_back
    await alerts.remind_unclaimed()  # the next minute's sweep, a few ms later
    dms = [user for user, _ in await owed(database) if user is not None]
    assert dms == [], f"escalated to {dms} within milliseconds of being raised"


async def test_a_claim_withdraws_an_escalation_dm_tried_once_in_an_outage(database):
    """Only DMs never tried were withdrawn: one that met a 502 or a rate limit went out later saying nobody had picked
    the alert up, after a peer worker had (a reviewer's, thirtieth session)."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    await raise_one(alerts, "crisis", urgent=True)
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    repository = OutboxRepository(database)
    for row in await repository.due(clock.ms()):
        if row.to_user is not None:
            await repository.attempting(row, clock.ms())
            await repository.postpone(row, clock.ms(), clock.ms() + 20_000, "502")
    await react(alerts, KIM, "✅")
    assert not [body for user, body in await owed(database) if user is not None and "nobody has picked" in body]


async def test_with_no_admins_in_the_config_the_last_step_says_so_not_that_it_went_to_none(database):
    """The second step with no admins configured said it had sent the alert "by DM to each admin (0)" (a spec auditor's
    note, thirty-second session)."""
    clock = FixedClock(START)
    alerts = await setup(database, clock)
    alerts.escalation = Escalation(600, frozenset({SAM, KIM}), frozenset())
    await raise_one(alerts, "crisis", urgent=True)
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    clock.at += timedelta(minutes=11)
    await alerts.remind_unclaimed()
    notes = [body for user, body in await owed(database) if user is None]
    assert any("sent it by DM to each peer worker (2)" in note for note in notes)
    assert any("the config names no admins to send it to by DM" in note for note in notes)
    assert not any("(0)" in note for note in notes)
