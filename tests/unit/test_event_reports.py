"""Element's Report button: each homeserver report forwarded once, across restarts, never naming the reporter."""

import dataclasses
import json
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from bothy.clock import FixedClock
from bothy.config import BotAccount
from bothy.matrix.adapter import MatrixAccount
from bothy.outbox import Effects
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.outbox import OutboxRepository
from bothy.storage.sessions import SessionRepository
from bothy.testing import STAFF_ROOM, FixedRooms, bot_context, received_reaction
from bots.host.bot import HostBot
from bots.host.reports import MUTE, REMOVE
from bots.installed import INSTALLATION
from rooms.dm import DirectRooms
from tests.unit.test_config import settings_of
from tests.unit.test_reports import SAM, NotInTheRoom, delivered

REPORTER, AUTHOR, GROUP = "@alice:example.org", "@bob:example.org", "!group:example.org"


def report(report_id: int, event_id: str, reason: str | None = "rude") -> dict:
    return {"id": report_id, "room_id": GROUP, "event_id": event_id, "sender": AUTHOR, "user_id": REPORTER,
            "reason": reason, "score": -100, "received_ts": 0}


def host(database, rooms: FixedRooms, clock: FixedClock | None = None) -> HostBot:
    return HostBot(dataclasses.replace(bot_context(database, INSTALLATION, settings_of("host"), clock=clock),
                                       rooms=rooms))


async def staff_messages(database) -> list:
    return [row for row in await OutboxRepository(database).due(10**15) if row.room_id == STAFF_ROOM]


async def test_each_report_is_forwarded_once_across_restarts_without_the_reporter(database):
    rooms = FixedRooms()
    rooms.reports = [report(1, "$a"), report(2, "$a", reason=None), report(3, "$b")]
    bot = host(database, rooms)
    await bot.start()
    await bot.homeserver_reports.poll()
    await bot.homeserver_reports.poll()
    restarted = host(database, rooms)
    await restarted.start()
    await restarted.homeserver_reports.poll()
    sent = await staff_messages(database)
    assert len([row for row in sent if row.alert_id is not None]) == 2  # two messages reported; $a twice
    assert all(REPORTER not in json.dumps(row.content) for row in sent)
    assert "What the reporter wrote: rude" in sent[0].content["body"] and AUTHOR in sent[0].content["body"]
    rooms.reports.append(report(4, "$c"))
    await restarted.homeserver_reports.poll()
    assert len([row for row in await staff_messages(database) if row.alert_id is not None]) == 3


async def test_without_admin_rights_it_says_so_once_and_never_polls(database, caplog):
    bot = host(database, FixedRooms())
    with caplog.at_level(logging.WARNING):
        await bot.start()
        await bot.homeserver_reports.poll()
    assert [r.message for r in caplog.records].count(next(r.message for r in caplog.records
                                                          if "not a server admin" in r.message)) == 1
    assert await staff_messages(database) == []


async def test_rights_granted_while_running_are_noticed_within_the_hour_and_lost_ones_said_once(database, caplog):
    clock = FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    rooms = FixedRooms()
    bot = host(database, rooms, clock)
    await bot.start()
    rooms.reports = [report(1, "$a")]  # the admin makes the account a server admin
    await bot.homeserver_reports.poll()
    assert await staff_messages(database) == []  # not checked again yet
    clock.at += timedelta(hours=1)
    await bot.homeserver_reports.poll()
    assert len(await staff_messages(database)) == 1
    rooms.reports = None  # and takes the rights away again
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            await bot.homeserver_reports.poll()
            clock.at += timedelta(hours=1)
    assert len([r for r in caplog.records if "not a server admin" in r.message]) == 1


class OffsetPagedSynapse:
    """Synapse's event reports API as it is: `from` is an offset into the list (oldest first with dir=f), not a
    report ID; IDs start at 2 and an admin may delete reports, which shifts every later one down."""

    def __init__(self) -> None:
        self.reports: list[dict] = []
        self.next_id = 2

    def add(self) -> int:
        self.reports.append(report(self.next_id, f"$e{self.next_id}"))
        self.next_id += 1
        return self.next_id - 1

    async def get_json(self, method: str, path: str, what: str, headers=None) -> dict:
        query = dict(part.split("=") for part in path.split("?", 1)[1].split("&"))
        ordered = self.reports if query.get("dir", "f") == "f" else self.reports[::-1]
        start, limit = int(query.get("from", 0)), int(query.get("limit", 100))
        return {"event_reports": ordered[start:start + limit], "total": len(ordered)}


async def test_the_account_finds_every_report_after_the_last_one_however_synapse_numbers_them(database, tmp_path):
    synapse = OffsetPagedSynapse()
    account = MatrixAccount(BotAccount("@host:example.org", "pw", None), "http://127.0.0.1:9", tmp_path, "key",
                            SessionRepository(database), DirectRooms(DirectRoomRepository(database)), frozenset())
    account._get_json = synapse.get_json
    try:
        seen, forwarded = 0, []
        for _ in range(5):  # one report between polls, as a quiet community makes them
            synapse.add()
            for found in await account.event_reports(seen):
                forwarded.append(found["id"])
                seen = found["id"]
        assert forwarded == [2, 3, 4, 5, 6]
        for _ in range(250):
            synapse.add()
        synapse.reports = [r for r in synapse.reports if not 10 <= r["id"] < 170]  # an admin tidies up
        while found_now := await account.event_reports(seen):
            forwarded.extend(r["id"] for r in found_now)
            seen = found_now[-1]["id"]
        assert forwarded == [2, 3, 4, 5, 6, *range(7, 10), *range(170, 257)]
    finally:
        await account.close()


async def test_a_poll_that_finds_nothing_new_costs_a_few_requests_not_one_per_deleted_hundred(database, tmp_path):
    """A reviewer's, twenty-ninth session (as the next): 20,000 reports forwarded and then deleted made every
    minutely poll walk back 201 pages."""
    synapse = OffsetPagedSynapse()
    account = MatrixAccount(BotAccount("@host:example.org", "pw", None), "http://127.0.0.1:9", tmp_path, "key",
                            SessionRepository(database), DirectRooms(DirectRoomRepository(database)), frozenset())
    calls = []

    async def counted(*args, **kwargs):
        calls.append(args[1])
        return await synapse.get_json(*args, **kwargs)

    account._get_json = counted
    try:
        for _ in range(20_000):
            synapse.add()
        seen = synapse.reports[-1]["id"]  # every one forwarded over the years
        synapse.reports = synapse.reports[-5:]  # the admin tidies up the old ones (or purges their rooms)
        calls.clear()
        assert await account.event_reports(seen) == []  # the minutely poll: nothing new
        assert len(calls) <= 3, f"{len(calls)} admin API requests for one poll, every minute"
        synapse.reports = []  # every one deleted
        calls.clear()
        assert await account.event_reports(seen) == [] and len(calls) == 1
        new = synapse.add()
        assert [r["id"] for r in await account.event_reports(seen)] == [new]
    finally:
        await account.close()


async def test_one_malformed_report_does_not_stop_every_later_report_being_forwarded(database, tmp_path):
    """A report entry the bot cannot read (no integer ID; or a row Synapse itself skips, whose content JSON it cannot
    parse) makes a full page look short, and a short page all already seen is taken for the end of the list."""
    synapse = OffsetPagedSynapse()
    account = MatrixAccount(BotAccount("@host:example.org", "pw", None), "http://127.0.0.1:9", tmp_path, "key",
                            SessionRepository(database), DirectRooms(DirectRoomRepository(database)), frozenset())
    account._get_json = synapse.get_json
    try:
        for _ in range(300):
            synapse.add()
        seen = synapse.reports[-1]["id"]  # 301: all forwarded
        synapse.reports[250] = {**synapse.reports[250], "id": str(synapse.reports[250]["id"])}  # malformed
        del synapse.reports[10]  # an admin deletes one old report
        new = synapse.add()
        found = await account.event_reports(seen)
        assert [r["id"] for r in found] == [new]
    finally:
        await account.close()


class Growing(OffsetPagedSynapse):
    """Reports arrive between the requests of one poll too."""

    def __init__(self, rng):
        super().__init__()
        self.rng = rng
        self.malformed = set()
        self.growing = True

    async def get_json(self, method, path, what, headers=None):
        answer = await super().get_json(method, path, what, headers)
        answer["event_reports"] = [r for r in answer["event_reports"] if r["id"] not in self.malformed]
        if self.growing and self.rng.random() < 0.3:
            for _ in range(self.rng.randint(1, 120)):
                self.add()
        return answer


async def test_paging_with_rows_synapse_itself_skips_forwards_every_other_report(database, tmp_path):
    """A second reviewer's, twenty-ninth session: Synapse leaves a report it cannot parse out of its page, and a
    page one short was taken for the end of the list, for good."""
    account = MatrixAccount(BotAccount("@host:example.org", "pw", None), "http://127.0.0.1:9", tmp_path, "key",
                            SessionRepository(database), DirectRooms(DirectRoomRepository(database)), frozenset())
    try:
        for seed in range(40):
            rng = random.Random(seed)
            synapse = Growing(rng)
            account._get_json = synapse.get_json
            seen, forwarded, history = 0, [], []
            for _ in range(40):
                action = rng.random()
                if action < 0.4:
                    for _ in range(rng.randint(1, 250)):
                        synapse.add()
                elif action < 0.55 and synapse.reports:  # an admin deletes some (old or new)
                    for _ in range(rng.randint(1, 150)):
                        if synapse.reports:
                            del synapse.reports[rng.randrange(len(synapse.reports))]
                elif action < 0.6 and synapse.reports:
                    synapse.malformed.add(rng.choice(synapse.reports)["id"])
                history.extend(r["id"] for r in synapse.reports)
                found = [r["id"] for r in await account.event_reports(seen)]
                assert found == sorted(set(found)) and all(i > seen for i in found), (seed, found, seen)
                forwarded.extend(found)
                seen = max([seen, *found])
            synapse.growing = False
            for _ in range(2000):  # quiet now: every poll catches up
                found = [r["id"] for r in await account.event_reports(seen)]
                forwarded.extend(found)
                seen = max([seen, *found])
            still_there = {r["id"] for r in synapse.reports if r["id"] not in synapse.malformed}
            missed = sorted(still_there - set(forwarded))
            assert not missed, (seed, missed[:10])
            assert len(forwarded) == len(set(forwarded)), seed
    finally:
        await account.close()


class Skipping(OffsetPagedSynapse):
    """Synapse leaves out of a page a report whose content JSON it cannot parse (it logs "Unable to parse json from
    event_reports" and `continue`s): the page is one short, though `total` counts it and the list goes on."""

    def __init__(self, unparsable: int):
        super().__init__()
        self.unparsable = unparsable

    async def get_json(self, method, path, what, headers=None):
        answer = await super().get_json(method, path, what, headers)
        answer["event_reports"] = [r for r in answer["event_reports"] if r["id"] != self.unparsable]
        return answer


async def test_the_reported_member_s_export_shows_the_alert_about_them_but_not_the_reporter_s_words(database):
    """The alert's row waiting in the outbox is about the author, and their `!mydata` showed it whole: the reason
    the reporter wrote, which may say who they are (a reviewer's, thirtieth session)."""
    rooms = FixedRooms()
    rooms.reports = [report(1, "$a", reason="Alice from the Tuesday walk here, he knows where I live")]
    bot = host(database, rooms)
    await bot.start()
    await bot.homeserver_reports.poll()
    [row] = (await INSTALLATION.personal_data(database).export(AUTHOR))["outbox"]
    assert "Tuesday walk" not in json.dumps(row) and "about you" in row["content"]


async def test_a_peer_workers_export_shows_what_was_written_to_them(database):
    """A reply to a peer worker about a member (`!checkin @alice` answered in their DM) is in both exports: the words
    are the peer worker's to read (a second reviewer's, thirtieth session)."""
    from bothy.clock import Clock
    from bothy.outbox import Effects

    effects = Effects("@bot:example.org")
    effects.message({"msgtype": "m.notice", "body": "I've sent @bob:example.org a gentle check-in."},
                    to_user=REPORTER, about=AUTHOR)
    async with database.transaction() as db:
        await OutboxRepository.enqueue(db, effects.items, Clock().ms())
    [row] = (await INSTALLATION.personal_data(database).export(REPORTER))["outbox"]
    assert "gentle check-in" in json.dumps(row) and "about you" not in json.dumps(row)



@pytest.mark.parametrize("guide_in_the_room", [True, False])
async def test_removing_a_message_reported_with_elements_button_acts_through_a_bot_account_in_its_room(
    database, guide_in_the_room
):
    """The host account reads the homeserver's reports from every room, the ones it is not in as well: there 🗑️ was
    refused for good, while the thread said "Removed" and the audit log recorded it (a reviewer's, thirty-second
    session). It acts through a bot account that is in the room; with none there, it says a moderator must."""
    guide = "@guide:example.org"
    host_rooms = NotInTheRoom()
    host_rooms.reports = [report(1, "$rude")]
    guide_rooms = FixedRooms(members={GROUP: frozenset({guide, AUTHOR})} if guide_in_the_room else {})
    guide_rooms.levels[GROUP] = {"events_default": 0, "users": {guide: 50}}
    context = bot_context(database, INSTALLATION, settings_of("host"), bot_accounts=frozenset({guide}))
    bot = HostBot(dataclasses.replace(context, rooms=host_rooms,
                                      account_rooms={context.account: host_rooms, guide: guide_rooms}))
    await bot.start()
    await bot.homeserver_reports.poll()
    await delivered(database)
    effects = Effects(bot.context.account)
    assert await bot.context.alerts.handle_reaction(received_reaction(STAFF_ROOM, "$r", SAM, "$alert", REMOVE),
                                                    effects)
    await bot.context.work.commit(effects)
    rows = await OutboxRepository(database).due(10**15)
    thread = " ".join(row.content.get("body", "") for row in rows if row.room_id == STAFF_ROOM)
    redactions = [(row.account, row.target_event_id) for row in rows if row.action == "redaction"]
    async with database.read() as db:
        audited = [row[0] async for row in await db.execute("SELECT action FROM audit_log")]
    if guide_in_the_room:
        assert redactions == [(guide, "$rude")] and "Removed" in thread and "report remove" in audited
    else:
        assert redactions == [] and "Removed" not in thread and "report remove" not in audited


@pytest.mark.parametrize("key", [REMOVE, MUTE])
async def test_moderation_acts_through_the_bot_account_in_the_room_that_has_the_power(database, key):
    """With the host account not in the group, the first bot account in it was taken, at level 0: the thread said a
    moderator must act, though another bot account there could have (a second reviewer's, thirty-second session)."""
    checkin, guide = "@checkin:example.org", "@guide:example.org"
    host_rooms = NotInTheRoom()
    host_rooms.reports = [report(1, "$rude")]
    members = {GROUP: frozenset({checkin, guide, AUTHOR})}
    checkin_rooms, guide_rooms = FixedRooms(members=members), FixedRooms(members=members)
    for rooms in (checkin_rooms, guide_rooms):  # each account's own view of the same levels
        rooms.levels[GROUP] = {"events_default": 0, "users": {guide: 100, checkin: 0}}
    context = bot_context(database, INSTALLATION, settings_of("host"), bot_accounts=frozenset({checkin, guide}))
    bot = HostBot(dataclasses.replace(context, rooms=host_rooms, account_rooms={
        context.account: host_rooms, checkin: checkin_rooms, guide: guide_rooms}))
    await bot.start()
    await bot.homeserver_reports.poll()
    await delivered(database)
    effects = Effects(bot.context.account)
    assert await bot.context.alerts.handle_reaction(received_reaction(STAFF_ROOM, "$r", SAM, "$alert", key), effects)
    await bot.context.work.commit(effects)
    if key == REMOVE:
        rows = await OutboxRepository(database).due(10**15)
        assert [(row.account, row.target_event_id) for row in rows if row.action == "redaction"] == [(guide, "$rude")]
    else:
        assert guide_rooms.levels[GROUP]["users"][AUTHOR] == -1 and AUTHOR not in checkin_rooms.levels[GROUP]["users"]
