"""Groups on a real Synapse: a member starts one, the room is made in the Space with the right people,
members who share the interest are invited, the directory lists it, a sensitive group waits for a
peer worker and is never listed, and a member's first community room brings exactly one welcome DM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

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
    until_redacted,
)
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e


@pytest.fixture
async def space(homeserver: Homeserver) -> str:
    return await make_space(homeserver)


@pytest.fixture
async def groups_bothy(homeserver: Homeserver, space: str) -> AsyncIterator[BothyProcess]:
    process = await start_bothy(homeserver, "groups", extra={
        "community": {"space": space, "welcome": True}, "schedules": {"group_rooms": "every 2s"},
    })
    yield process
    await process.stop()


@pytest.fixture
async def members(homeserver: Homeserver) -> AsyncIterator[dict[str, Member]]:
    people = {name: await homeserver.new_member() for name in ("alice", "bob", "carol")}
    people["sam"] = await homeserver.new_member("sam")
    yield people
    for member in people.values():
        await member.stop()


async def test_a_member_starts_a_group_and_those_who_share_its_interest_are_invited(
    homeserver: Homeserver, groups_bothy: BothyProcess, members: dict[str, Member], space: str
):
    bot = groups_bothy.bot_user_id
    alice, bob, carol, sam = (members[n] for n in ("alice", "bob", "carol", "sam"))
    dms = {name: await member.open_dm(bot) for name, member in members.items()}
    await ask(alice, dms["alice"], bot, "!interests add Gardening", "Added: gardening")
    await ask(alice, dms["alice"], bot, "!interests invites on", "Invitations are on")
    await ask(carol, dms["carol"], bot, "!interests add walking", "Added: walking")
    await ask(carol, dms["carol"], bot, "!interests invites on", "Invitations are on")

    await ask(bob, dms["bob"], bot, "!group new Allotment club #gardening", "is on its way")
    room = await bob.wait_for_invite()
    await bob.join(room)
    await bob.wait_for(lambda m: m.room_id == room and "Welcome to Allotment club" in m.body)
    await bob.wait_for(lambda m: m.sender == bot and "Hello, and welcome" in m.body)  # his first community room
    assert (await state(bob, room, "m.room.name"))["name"] == "Allotment club"
    assert "#gardening" in (await state(bob, room, "m.room.topic"))["topic"]
    levels = await state(bob, room, "m.room.power_levels")
    assert levels["users"][bob.user_id] == 50 and levels["users"][sam.user_id] == 50
    assert (await state(bob, room, "m.room.member", sam.user_id))["membership"] in {"invite", "join"}
    assert (await state(sam, space, "m.space.child", room))["via"]
    assert await alice.wait_for_invite() == room
    await groups_bothy.sweep_ran("group_rooms")  # two sweeps later, and carol's own sync is past them:
    await answered_help(carol, bot, dms["carol"])
    assert room not in carol.invites

    listing = await ask(carol, dms["carol"], bot, "!groups gardening", "Allotment club")
    assert "!group join allotment-club" in listing
    reply = await ask(carol, dms["carol"], bot, "!group new The allotment clubs #gardening", "already")
    assert "There's already Allotment club: !group join allotment-club" in reply
    await ask(carol, dms["carol"], bot, "!group new #gardening", "Please give the group a name")

    await ask(carol, dms["carol"], bot, "!interests add grief", "Added: bereavement")
    await ask(bob, dms["bob"], bot, "!group new Losing a parent #bereavement", "a peer worker will have a look")
    assert "Losing a parent" not in await ask(carol, dms["carol"], bot, "!groups", "Groups")
    await ask(sam, dms["sam"], bot, "!group approve 2", "Approved")
    await bob.wait_for(lambda m: m.room_id == dms["bob"] and "Good news" in m.body)
    sensitive = await bob.wait_for_invite()
    await bob.join(sensitive)
    # Carol shares its interest: offered in her DM, invited only once she asks (an invitation is room state that
    # everyone there sees, and would tell them her private interest)
    await carol.wait_for(lambda m: m.room_id == dms["carol"] and "shares one of your interests" in m.body)
    assert sensitive not in carol.invites
    await ask(carol, dms["carol"], bot, "!group join losing-a-parent", "I've invited you")
    assert await carol.wait_for_invite(room_id=sensitive) == sensitive
    assert (await state(bob, sensitive, "m.room.join_rules"))["join_rule"] == "invite"
    assert (await state(bob, sensitive, "m.room.member", sam.user_id))["membership"] in {"invite", "join"}
    assert "Losing a parent" not in await ask(carol, dms["carol"], bot, "!groups", "Groups")
    token = (await homeserver.synapse.login("sam", homeserver.passwords["sam"])).access_token
    space_state = await homeserver.synapse.client_api("GET", f"/_matrix/client/v3/rooms/{quote(space)}/state", token)
    children = {e["state_key"] for e in space_state if e["type"] == "m.space.child" and e["content"]}
    assert room in children and sensitive not in children
    assert sum("Hello, and welcome" in m.body for m in bob.received) == 1  # a second room: no second welcome


async def test_in_a_group_bothy_made_it_takes_down_what_may_not_stay_there(
    homeserver: Homeserver, groups_bothy: BothyProcess, members: dict[str, Member]
):
    """An end-to-end auditor's, thirty-third session: on a homeserver whose rooms are version 12, a room's creator
    holds a power the power levels event does not list, so Bothy thought it could redact nothing in the groups it
    made: `!mood 1` and a reporter's `!report` stayed in front of everyone, and 🗑️ on the report was refused."""
    bot = groups_bothy.bot_user_id
    alice, bob, sam = members["alice"], members["bob"], members["sam"]
    staff = await staff_room_of(homeserver, sam)
    dm = await alice.open_dm(bot)
    await ask(alice, dm, bot, "!group new Sunday walkers #walking", "is on its way")
    room = await alice.wait_for_invite()
    await alice.join(room)
    await alice.wait_for(lambda m: m.room_id == room and "Welcome to Sunday walkers" in m.body)
    await ask(bob, await bob.open_dm(bot), bot, "!group join sunday-walkers", "invited you")
    await bob.join(await bob.wait_for_invite(room_id=room))
    typed = await alice.send(room, "!mood 1")
    await until_redacted(bob, room, typed)
    rude = await bob.send(room, "you are all idiots and nobody wants you here")
    reply = {"msgtype": "m.text", "body": "!report", "m.relates_to": {"m.in_reply_to": {"event_id": rude}}}
    command = await alice.send(room, "!report", reply)
    alert = await sam.wait_for(from_bot(bot, staff, bob.user_id, "reported"))
    await until_redacted(bob, room, command)
    await sam.react(staff, alert.event_id, "🗑️")
    await sam.wait_for(from_bot(bot, staff, "Removed the message"))
    await until_redacted(alice, room, rude)
