"""Claiming a staff alert: the claim and the notices it owes commit together, with the ✅'s handling."""

from bothy.alerts import StaffAlerts
from bothy.clock import Clock
from bothy.matrix.events import Reaction
from bothy.outbox import Effects, UnitOfWork
from bothy.storage.alerts import AlertRepository
from bothy.storage.outbox import OutboxRepository
from bothy.templates import Templates
from rooms.staff import StaffRoom

BOT = "@bot:x"


async def staff_alerts(database) -> StaffAlerts:
    staff_room = StaffRoom("!staff")
    staff_room.room_id = "!staff"
    alerts = StaffAlerts(AlertRepository(database), staff_room, Templates(), frozenset({"@sam:x", "@kim:x"}),
                         remind_after_s=600, work=UnitOfWork(database, Clock(), lambda: None))

    async def tell_member(alert, peer_worker, effects):
        effects.message({"body": f"{peer_worker} will message you"}, to_user=alert.subject_user)

    alerts.on_claim("checkin_chat", tell_member)
    async with database.transaction() as db:
        await db.execute("INSERT INTO alerts (kind, account, subject_user, created_at, staff_event_id) "
                         "VALUES ('checkin_chat', ?, '@alice:x', 0, '$alert')", (BOT,))
    return alerts


def tick(sender: str, event_id: str) -> Reaction:
    return Reaction("!staff", event_id, sender, 0, "$alert", "✅")


async def claim_with(alerts: StaffAlerts, reaction: Reaction) -> Effects:
    effects = Effects(BOT)
    assert await alerts.handle_reaction(reaction, effects)
    return effects


async def owed(database) -> list[tuple[str, str]]:
    return sorted(((row.to_user or "", row.content["body"]) for row in await OutboxRepository(database).due(10**15)),
                  reverse=True)


async def test_a_claim_killed_before_its_event_committed_is_claimed_again_on_replay_with_its_notices(database):
    alerts = await staff_alerts(database)
    await claim_with(alerts, tick("@sam:x", "$tick"))  # handled, then SIGKILL before the commit
    replayed = await claim_with(alerts, tick("@sam:x", "$tick"))
    await alerts.work.commit(replayed)
    notices = await owed(database)
    assert notices[0] == ("@alice:x", "@sam:x will message you")
    assert notices[1][0] == "" and "@sam:x" in notices[1][1] and "picking this one up" in notices[1][1]
    assert (await alerts.repository.by_staff_event("$alert")).claimed_by == "@sam:x"


async def test_of_two_ticks_handled_side_by_side_only_the_first_to_commit_owes_notices(database):
    alerts = await staff_alerts(database)
    sam = await claim_with(alerts, tick("@sam:x", "$sam"))
    kim = await claim_with(alerts, tick("@kim:x", "$kim"))
    await alerts.work.commit(sam)
    await alerts.work.commit(kim)
    assert [body for _, body in await owed(database)].count("@sam:x will message you") == 1
    assert not any("@kim:x" in body for _, body in await owed(database))
    assert (await alerts.repository.by_staff_event("$alert")).claimed_by == "@sam:x"
    late = await claim_with(alerts, tick("@kim:x", "$again"))
    assert not late.items and not late.writes
