"""Staff and member commands on a real Synapse that unit tests alone covered: `!peer` and `!done`, `!group
decline`, `!group archive`, `!referrals report`, `!audit` (admins only) and `!mood off`.

One Bothy and one set of members serve the whole file (each start costs seconds): every test makes its
own alerts, groups and answers, and finds them by what is unique to them."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiosqlite
import nio
import pytest

from bothy.storage.database import BUSY_TIMEOUT_MS
from tests.e2e.conftest import (
    BothyProcess,
    Homeserver,
    answered_help,
    ask,
    from_bot,
    make_space,
    staff_room_of,
    start_bothy,
    state,
)
from tests.e2e.member import Member
from tests.e2e.test_mood import NEVER, PROMPT

pytestmark = pytest.mark.e2e

K = 3  # referral.min_count: the smallest the config allows, so three members can reach it


@dataclass
class Community:
    process: BothyProcess
    space: str
    staff_room: str
    sam: Member  # peer worker
    bob: Member
    carol: Member
    dana: Member  # admin
    dms: dict[str, str]  # each member's DM with the bot, by name

    @property
    def bot(self) -> str:
        return self.process.bot_user_id


@pytest.fixture(scope="module")
async def community(homeserver: Homeserver) -> AsyncIterator[Community]:
    sam = await homeserver.new_member("sam")
    bob, carol, dana = await asyncio.gather(*(homeserver.new_member() for _ in range(3)))
    space = await make_space(homeserver)
    process = await start_bothy(homeserver, "staff-commands", extra={
        "staff": {"admins": [dana.user_id]},
        "community": {"space": space},
        "referral": {"min_count": K},
        "schedules": {"group_rooms": "every 1s", "mood_prompt": "every 1s", "mood_weather": NEVER},
    })
    try:
        members = {"bob": bob, "carol": carol, "dana": dana}
        dms = dict(zip(members, await asyncio.gather(*(m.open_dm(process.bot_user_id) for m in members.values())),
                       strict=True))
        yield Community(process, space, await staff_room_of(homeserver, sam), sam, bob, carol, dana, dms)
    finally:
        await process.stop()
        for member in (sam, bob, carol, dana):
            await member.stop()


async def open_alerts(community: Community) -> str:
    """`!alerts` in the staff room: its answer, whether it lists alerts or says every one is done."""
    bot, sam, staff = community.bot, community.sam, community.staff_room
    mark = sam.mark()
    await sam.send(staff, "!alerts")
    listed = await sam.wait_for(lambda m: from_bot(bot, staff)(m) and any(
        words in m.body for words in ("Alerts not yet done", "every alert is done")), after=mark)
    return listed.body


async def test_peer_raises_a_talk_alert_and_done_closes_it_telling_the_member_who(community: Community):
    bot, sam, carol, staff = community.bot, community.sam, community.carol, community.staff_room
    dm = community.dms["carol"]
    await ask(carol, dm, bot, "!peer", "let the peer support team know")
    alert = await sam.wait_for(from_bot(bot, staff, carol.user_id, "would like to talk"))
    listed = await open_alerts(community)
    [number] = re.findall(rf"^- (\d+): talk, .*nobody has it yet.*{re.escape(alert.event_id)}$", listed, re.M)

    mark = carol.mark()
    await ask(sam, staff, bot, f"!done {number}", f"Alert {number} is done ({sam.user_id})")
    told = await carol.wait_for(from_bot(bot, dm, "will message you soon"), after=mark)  # nobody had claimed it
    assert sam.user_id in told.body
    assert alert.event_id not in await open_alerts(community)
    await ask(sam, staff, bot, f"!done {number}", f"Alert {number} is already done")
    # Done, so asking again is a new request rather than "your request is with the team already".
    await ask(carol, dm, bot, "!peer", "let the peer support team know")


async def test_a_declined_group_tells_its_creator_the_reason_and_is_never_listed(community: Community):
    bot, sam, carol, staff = community.bot, community.sam, community.carol, community.staff_room
    dm = community.dms["carol"]
    await ask(carol, dm, bot, "!group new Losing a parent #bereavement", "a peer worker will have a look")
    alert = await sam.wait_for(from_bot(bot, staff, "Losing a parent", carol.user_id))
    [number] = re.findall(r"\(#(\d+)\)", alert.body)

    mark = carol.mark()
    reason = "It overlaps with a group we already run"
    await ask(sam, staff, bot, f"!group decline {number} {reason}", "Declined: I've let them know")
    told = await carol.wait_for(from_bot(bot, dm, "Losing a parent", "can't go ahead"), after=mark)
    assert f'They said: "{reason}"' in told.body
    await ask(sam, staff, bot, f"!group approve {number}", f"no group #{number} waiting")  # decided once
    assert "Losing a parent" not in await ask(carol, dm, bot, "!groups bereavement", "for bereavement")


async def test_an_archived_group_leaves_the_space_and_the_directory_goes_read_only_and_keeps_its_history(
    community: Community
):
    bot, bob, carol, sam = community.bot, community.bob, community.carol, community.sam
    dms = community.dms
    await ask(bob, dms["bob"], bot, "!group new Allotment club #gardening", "is on its way")
    room = await bob.accept_invite()
    await bob.wait_for(from_bot(bot, room, "Welcome to Allotment club"))
    said = await bob.send(room, "first post in our new group")
    assert (await state(sam, community.space, "m.space.child", room))["via"]
    assert "group join allotment-club" in await ask(carol, dms["carol"], bot, "!groups gardening", "for gardening")

    await ask(carol, dms["carol"], bot, "!group archive Allotment club", "or a peer worker can archive")  # not hers
    await ask(bob, dms["bob"], bot, "!group archive Allotment club", "Allotment club is archived")
    await bob.wait_for(from_bot(bot, room, "Allotment club is now archived", "read-only"))
    assert (await state(bob, room, "m.room.power_levels"))["events_default"] == 100
    assert await state(sam, community.space, "m.space.child", room) == {}  # an empty child: unlisted
    refused = await bob.client.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "anyone?"},
                                         ignore_unverified_devices=True)
    assert isinstance(refused, nio.RoomSendError) and refused.status_code == "M_FORBIDDEN", refused
    assert await bob.event_exists(room, said)
    assert "Allotment club" not in await ask(carol, dms["carol"], bot, "!groups gardening", "for gardening")


async def suggested_and_helped(member: Member, bot: str, dm: str, words: str, resource: str) -> None:
    """Mention something in the DM, then 👍 the suggestion it brings; the answer is counted before the thanks."""
    await member.send(dm, words)
    suggestion = await member.wait_for(from_bot(bot, dm, resource, "not for me"))
    await member.react(dm, suggestion.event_id, "👍")
    await member.wait_for(from_bot(bot, dm, "helps us know"))


async def test_the_referrals_report_counts_each_topic_and_hides_counts_under_k(community: Community):
    bot, dms = community.bot, community.dms
    debt = "I owe money on three credit cards and cannot pay"
    await asyncio.gather(*(suggested_and_helped(getattr(community, name), bot, dms[name], debt, "StepChange")
                           for name in ("bob", "carol", "dana")))
    await community.bob.send(dms["bob"], "we got an eviction notice today")
    await community.bob.wait_for(from_bot(bot, dms["bob"], "Shelter", "not for me"))

    report = await ask(community.sam, community.staff_room, bot, "!referrals report", "by topic")
    assert f"topics with fewer than {K} and counts under {K} are not shown" in report
    assert f'- Help with debt: 3 sent, 3 "this helped", fewer than {K} "not for me"' in report
    assert "Housing" not in report  # one suggestion: a topic named at all would say someone got it
    for member in (community.bob, community.carol, community.dana):
        assert member.user_id not in report


async def test_audit_shows_an_admin_who_did_what_and_refuses_a_peer_worker(community: Community):
    bot, sam, dana, staff = community.bot, community.sam, community.dana, community.staff_room
    refusal = await ask(sam, staff, bot, "!audit", "is for admins")
    assert "peer workers" not in refusal
    await ask(sam, staff, bot, f"!refer {dana.user_id} debt", f"Sent {dana.user_id} the resources")
    audit = await ask(dana, community.dms["dana"], bot, "!audit", "Staff actions in the last 7 days")
    # one line, the handler's, with the topic it sent (the router adds none for a command that audits itself)
    refer = rf"^- .*: {re.escape(sam.user_id)}, !?refer \({re.escape(dana.user_id)}\)"
    assert [line.endswith(", debt") for line in re.findall(rf"{refer}.*$", audit, re.M)] == [True], audit
    assert "!audit" not in audit  # the refused try did nothing, so there is nothing to audit


async def rewind_prompt_day(process: BothyProcess, *user_ids: str) -> None:
    """Today's prompt as if it were yesterday's, so the next sweep owes these members today's again: Bothy
    keeps real time (no clock can be given to it from outside), so a test cannot wait for tomorrow."""
    async with aiosqlite.connect(process.directory / "bothy.sqlite3", isolation_level=None) as db:
        await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        await db.executemany("UPDATE mood_prefs SET prompted_day = prompted_day - 1 WHERE user_id = ?",
                             [(user_id,) for user_id in user_ids])


async def test_mood_off_stops_the_daily_prompt(community: Community):
    bot, bob, carol, dms = community.bot, community.bob, community.carol, community.dms
    for member, name in ((bob, "bob"), (carol, "carol")):
        await ask(member, dms[name], bot, "!mood on", "short prompt")
        await member.wait_for(from_bot(bot, dms[name], PROMPT))
    await ask(bob, dms["bob"], bot, "!mood off", "no more daily mood prompts")

    mark = carol.mark()
    await rewind_prompt_day(community.process, bob.user_id, carol.user_id)
    await carol.wait_for(from_bot(bot, dms["carol"], PROMPT), after=mark)  # the new day's prompt: still on
    await community.process.sweep_ran("mood_prompt")
    await answered_help(bob, bot, dms["bob"])
    assert sum(PROMPT in m.body for m in bob.messages_in(dms["bob"])) == 1
