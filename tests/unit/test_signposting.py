"""The referral bot's signposting over a real database: alerts a peer worker can act on, rooms where loss is
the subject, and follow-up (the check-back after crisis lines, feedback on suggestions, the k-thresholded report)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bothy.clock import FixedClock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.staff_hours import parse_staff_hours
from bothy.storage.alerts import mark_done
from bothy.storage.outbox import OutboxRepository, OutboxRow
from bothy.testing import STAFF_ROOM, bot_context, received_reaction
from bots.installed import INSTALLATION
from bots.referral.bereavement import in_own_words
from bots.referral.bot import ReferralBot
from bots.referral.settings import ReferralSettings
from bots.referral.storage import ReferralRepository
from commands.framework import CommandContext, Role
from referral_kb import SHIPPED_KB
from tests.unit.shipped import shipped_matcher

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


async def test_crisis_lines_and_the_alert_go_before_a_suggestion_owed_earlier(database, referral, clock):
    await said(referral, "I can't pay my rent and the landlord wants me out", event_id="$rent")
    clock.at += timedelta(minutes=1)
    await said(referral, "I want to end it all", event_id="$end")
    first, second, *rest = await owed(database)
    assert first == crisis_lines([first])[0] and second.room_id == STAFF_ROOM
    assert [row.tag.split(":")[0] for row in rest] == ["suggestion"]


async def test_crisis_words_in_two_rooms_at_once_owe_one_set_of_lines_and_one_alert(database, referral):
    """A group and the member's DM are handled side by side, so both messages are read before either commits: the
    cooldown is decided again in the commit, and only the first owes the crisis lines and the alert."""
    shares = []
    for room_id, event_id in ((GROUP, "$a"), (DM, "$b")):
        effects = Effects(referral.context.account)
        now = referral.context.clock.ms()
        await referral.on_message(Message(room_id, event_id, ALICE, "I want to end my life", now, "m.text", True),
                                  effects)
        shares.append(effects)
    for effects in shares:
        await referral.context.work.commit(effects)
    [alert] = await staff_alerts(database)
    assert f"{GROUP}/$a" in alert.content["body"] and len(crisis_lines(await owed(database))) == 1


async def test_a_crisis_within_the_hour_is_raised_again_once_the_first_alert_is_done(database, referral, clock):
    """The crisis cooldown keeps repeats from flooding the member and the staff room while an alert is in hand; once a
    peer worker has marked it done, a crisis ten minutes on went unheard (a spec auditor's, thirty-first session)."""
    await said(referral, "I want to end it all", event_id="$first")
    clock.at += timedelta(minutes=5)
    await said(referral, "I really want to die", event_id="$again")
    assert len(await staff_alerts(database)) == 1 and len(crisis_lines(await owed(database))) == 1
    async with database.transaction() as db, db.execute("SELECT id FROM alerts WHERE kind = 'crisis'") as cursor:
        [(alert_id,)] = await cursor.fetchall()
        assert await mark_done(db, alert_id, "@sam:example.org", clock.ms())
    clock.at += timedelta(minutes=10)
    await said(referral, "I'm going to end my life tonight, I have the pills ready", event_id="$later")
    _, second = await staff_alerts(database)
    assert f"{GROUP}/$later" in second.content["body"] and ALICE in second.content["body"]
    assert len(crisis_lines(await owed(database))) == 2


def suggestions(rows: list[OutboxRow]) -> list[OutboxRow]:
    return [row for row in rows if row.tag and row.tag.startswith("suggestion:")]


async def test_a_topic_said_in_two_rooms_at_once_owes_one_suggestion(database, referral):
    """As for crisis lines: both messages are read before either commits, and only the first to commit owes the
    topic. The second still owes what it alone claims (housing)."""
    shares = []
    for room_id, event_id, body in ((GROUP, "$a", "the bailiffs came about my debt"),
                                    (DM, "$b", "my debt is so bad I might be homeless soon")):
        effects = Effects(referral.context.account)
        await referral.on_message(Message(room_id, event_id, ALICE, body, referral.context.clock.ms(), "m.text", True),
                                  effects)
        shares.append(effects)
    for effects in shares:
        await referral.context.work.commit(effects)
    assert len(suggestions(await owed(database))) == 2
    async with database.read() as db, db.execute("SELECT topics FROM referral_suggestions ORDER BY topics") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["debt", "housing"]


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
    # A look-alike found by the l reading, after words read shorter there ("b1ll": "bil" as is, "bl" with l).
    "b1ll " * 11 + "since his funeral I'm suicidaI",
])
async def test_in_a_bereavement_room_a_first_person_crisis_still_gets_lines_and_an_alert(database, referral, text):
    await said(referral, text, room_id=GRIEF)
    assert len(crisis_lines(await owed(database))) == 1 and len(await staff_alerts(database)) == 1


async def test_elsewhere_the_same_words_about_someone_else_are_still_a_crisis(database, referral):
    # ("my son was suicidal" is support anywhere now: worry about someone else is no crisis of the writer's.)
    await said(referral, "I keep thinking about his suicide", room_id=GROUP)
    assert len(crisis_lines(await owed(database))) == 1


def test_the_rule_explains_what_it_set_aside():
    text = "I keep thinking about his suicide and now I'm grieving"
    result = in_own_words(shipped_matcher().match(text), text)
    assert result.tier == "support" and "bereavement" in result.topics
    assert ("crisis", "about someone else, in a bereavement room") in {(s.topic, s.reason) for s in result.suppressed}


# --- follow-up -------------------------------------------------------------------------------------------

BOT = "@bot:example.org"


async def tag(database, row: OutboxRow, event_id: str) -> None:
    """The outbox delivered `row` as `event_id` (what links a later reaction to it)."""
    await OutboxRepository(database).delivered(row, DM, event_id, 0)


async def react(bot: ReferralBot, target: str, key: str, sender: str = ALICE, event_id: str = "$r") -> bool:
    effects = Effects(bot.context.account)
    consumed = await bot.on_reaction(received_reaction(DM, event_id, sender, target, key), effects)
    await bot.context.work.commit(effects)
    return consumed


def later(clock: FixedClock, **delta: float) -> None:
    clock.at += timedelta(**delta)


async def test_the_check_back_goes_once_the_day_after_crisis_lines_however_often_the_sweep_runs(
        database, referral, clock):
    await said(referral, "I want to end it all", room_id=DM)
    later(clock, hours=2)
    await said(referral, "I still want to end it all", room_id=DM)  # past the cooldown: lines again, one check-back
    assert await referral.follow_up.send_checkbacks() == 0  # not yet due
    later(clock, hours=16)
    assert await referral.follow_up.send_checkbacks() == 1
    assert await referral.follow_up.send_checkbacks() == 0  # a rerun (or a restart) sends nothing more
    checkbacks = [row for row in await owed(database) if row.tag and row.tag.startswith("checkback:")]
    assert len(checkbacks) == 1 and checkbacks[0].to_user == ALICE and checkbacks[0].reactions == ("👍", "💬")
    assert "how are you today" in checkbacks[0].content["body"]


async def test_no_check_back_for_a_member_who_turned_suggestions_off(database, referral, clock):
    async with database.transaction() as db:
        await ReferralRepository.set_opt_out(db, ALICE, True, 0)
    await said(referral, "I want to end it all", room_id=DM)
    later(clock, days=1)
    assert await referral.follow_up.send_checkbacks() == 0
    assert len(crisis_lines(await owed(database))) == 1  # crisis lines are always offered


async def check_back_delivered(bot: ReferralBot, database, clock: FixedClock) -> None:
    """Crisis lines today, and tomorrow the check-back, delivered as "$checkback"."""
    await said(bot, "I want to end it all", room_id=DM)
    later(clock, days=1)
    await bot.follow_up.send_checkbacks()
    [checkback] = [row for row in await owed(database) if row.tag and row.tag.startswith("checkback:")]
    await tag(database, checkback, "$checkback")


async def test_a_chat_request_on_the_check_back_alerts_staff_once_naming_the_member(database, referral, clock):
    await check_back_delivered(referral, database, clock)
    assert await react(referral, "$checkback", "💬", event_id="$chat1")
    assert await react(referral, "$checkback", "💬", event_id="$chat2")
    assert await react(referral, "$checkback", "👍", event_id="$ok")  # ... and again after another answer (a
    assert await react(referral, "$checkback", "💬", event_id="$chat3")  # reviewer's: each 💬 alerted)
    await react(referral, "$checkback", "💬", sender="@mallory:example.org", event_id="$other")  # not hers: ignored
    rows = await owed(database)
    chats = [row for row in rows if row.room_id == STAFF_ROOM and "would like a chat" in row.content["body"]]
    assert len(chats) == 1 and ALICE in chats[0].content["body"]
    assert {row.target_event_id for row in rows if row.action == "redaction"} == {"$chat1", "$chat2", "$ok", "$chat3"}


async def test_turning_suggestions_off_after_crisis_lines_cancels_the_check_back(database, referral, clock):
    """The opt-out was read only when the check-back was owed: `!referrals off` the same evening still got it the
    next day (a reviewer's)."""
    await said(referral, "I want to end it all", room_id=DM)
    async with database.transaction() as db:
        await ReferralRepository.set_opt_out(db, ALICE, True, clock.ms())
    later(clock, days=1)
    assert await referral.follow_up.send_checkbacks() == 0


async def test_a_chat_request_on_the_check_back_outside_staff_hours_says_when_someone_is_back(database, clock):
    """PRODUCT.md: outside staff.hours, members who ask for a chat are told honestly when someone will be back."""
    settings = ReferralSettings(kb_dirs=(SHIPPED_KB,), cooldown_s=86_400, crisis_cooldown_s=3_600, keep_log_s=86_400)
    clock.at = clock.at.replace(hour=20)
    context = bot_context(database, INSTALLATION, settings, clock=clock,
                          staff_hours=parse_staff_hours(f"09:00-17:00 {clock.at.strftime('%a').lower()}"))
    bot = ReferralBot(dataclasses.replace(context, rooms=NamedRooms()))
    await check_back_delivered(bot, database, clock)
    assert await react(bot, "$checkback", "💬", event_id="$chat")
    rows = await owed(database)
    [reply] = [row for row in rows if row.room_id == DM and "asked the peer workers" in row.content.get("body", "")]
    assert "someone will be back" in reply.content["body"] and "116 123" in reply.content["body"]
    assert any(row.room_id == STAFF_ROOM and "outside staff hours" in row.content.get("body", "") for row in rows)


async def test_suggestion_feedback_is_counted_once_per_topic_without_a_name_and_the_reaction_redacted(
        database, referral):
    await said(referral, "the bailiffs came about my debt and I might be homeless soon")
    [suggestion] = [row for row in await owed(database) if row.tag and row.tag.startswith("suggestion:")]
    assert suggestion.reactions == ("👍", "👎")
    await tag(database, suggestion, "$suggestion")
    assert await react(referral, "$suggestion", "👎", event_id="$no")
    assert await react(referral, "$suggestion", "👍", event_id="$yes")  # a change of mind is not counted twice
    assert not await react(referral, "$suggestion", "👎", sender=BOT)  # the bot's own option reaction
    async with database.read() as db, db.execute("SELECT topic, answer, answers FROM referral_feedback_counts "
                                                 "ORDER BY 1") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [("debt", "not_for_me", 1),
                                                                   ("housing", "not_for_me", 1)]
    rows = await owed(database)
    assert {row.target_event_id for row in rows if row.action == "redaction"} == {"$no", "$yes"}
    assert sum("counted it without your name" in row.content.get("body", "") for row in rows) == 1


async def test_the_report_shows_each_count_only_from_k(database, referral, clock):
    for n in range(6):  # six members each get a debt suggestion; five say it helped, one that it was not for them
        async with database.transaction() as db:
            suggestion = await ReferralRepository.record_suggestion(db, ["debt"], clock.ms())
            await ReferralRepository.record_sent(db, f"@m{n}:example.org", "debt", clock.ms())
            await ReferralRepository.record_feedback(db, suggestion, "helped" if n else "not_for_me", clock.ms())
    async with database.transaction() as db:
        await ReferralRepository.record_sent(db, ALICE, "housing", clock.ms() - 31 * 86_400_000)  # too old
        for n in range(4):  # four now: fewer than k, so the topic is not named (it would say someone got it)
            await ReferralRepository.record_sent(db, f"@m{n}:example.org", "gambling", clock.ms())
    ctx = command_context(referral)
    await referral.follow_up.report(ctx)
    body = ctx.effects.items[0].content["body"]
    assert "Help with debt: 6 sent, 5 \"this helped\", fewer than 5 \"not for me\"" in body
    assert "housing" not in body.lower() and "gambl" not in body.lower()


async def test_a_report_with_no_topic_at_k_says_so_without_saying_whether_any_was_sent(database, referral, clock):
    async with database.transaction() as db:
        await ReferralRepository.record_sent(db, ALICE, "debt", clock.ms())
    ctx = command_context(referral)
    await referral.follow_up.report(ctx)
    body = ctx.effects.items[0].content["body"]
    assert body.startswith("No topic had 5 or more suggestions in the last 30 days") and "debt" not in body.lower()


async def test_the_anonymous_records_have_no_order_to_line_up_with_the_members_cooldowns(database, clock):
    """A review joined one row per suggestion to the cooldown made in the same transaction, by row order, and so
    learnt each member's room and answer. Counts have no rows per member, and suggestion numbers are random."""
    members = [f"@m{n}:example.org" for n in range(20)]
    suggestions = []
    for n, member in enumerate(members):
        async with database.transaction() as db:
            await ReferralRepository.record_sent(db, member, "debt", clock.ms() + n)
            suggestions.append(await ReferralRepository.record_suggestion(db, ["debt"], clock.ms() + n))
    async with database.read() as db:
        counts = await db.execute_fetchall("SELECT * FROM referral_sent_counts")
        numbers = [row[0] for row in await db.execute_fetchall("SELECT id FROM referral_suggestions ORDER BY id")]
    # No room either: in an hour when one member alone got a topic, their cooldown and the count said where they
    # had written (a reviewer's, thirtieth session).
    assert [tuple(row) for row in counts] == [("debt", clock.ms() - clock.ms() % 3_600_000, 20)]
    assert numbers != suggestions  # ordered by number, they are not in the order they were made


def command_context(bot: ReferralBot) -> CommandContext:
    command = bot.context.commands.named("referrals report") or next(
        c for c in bot.commands() if c.name == "referrals report")
    return CommandContext(command, "@sam:example.org", STAFF_ROOM, "$cmd", Role.PEER_WORKER, False,
                          Effects(bot.context.account), bot.context.templates, "!")


async def test_feedback_counts_whether_or_not_the_client_adds_the_emoji_variation_selector(database, referral):
    """Element's quick reactions send 👍 with U+FE0F; the bot's own option has none: the same answer."""
    await said(referral, "the bailiffs came about my debt and I might be homeless soon")
    [suggestion] = [row for row in await owed(database) if row.tag and row.tag.startswith("suggestion:")]
    await tag(database, suggestion, "$suggestion")
    assert await react(referral, "$suggestion", "👍\ufe0f", event_id="$yes")
    async with database.read() as db, db.execute("SELECT DISTINCT answer FROM referral_feedback_counts") as cursor:
        assert [tuple(row) for row in await cursor.fetchall()] == [("helped",)]
