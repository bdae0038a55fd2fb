"""A member exports and erases what Bothy stores about them, from their DM."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from urllib.parse import quote

import nio
import pytest
from nio.crypto.attachments import decrypt_attachment

from tests.e2e.conftest import BothyProcess, Homeserver, start_bothy
from tests.e2e.member import Member, Received

pytestmark = pytest.mark.e2e


async def download(member: Member, message: Received) -> dict:
    file = message.content["file"]  # an encrypted DM: the file is encrypted too
    response = await member.client.download(mxc=file["url"])
    assert isinstance(response, nio.DownloadResponse), response
    plain = decrypt_attachment(response.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"])
    return json.loads(plain)


async def test_mydata_typed_in_a_plain_dm_comes_in_a_new_encrypted_one(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    bot = bothy.bot_user_id
    plain = await alice.open_dm(bot, encrypted=False)
    await alice.send(plain, "!mydata")
    await alice.wait_for(lambda m: m.room_id == plain and "new encrypted chat" in m.body)
    fresh = await alice.accept_invite()
    file = await alice.wait_for(lambda m: m.room_id == fresh and m.content.get("msgtype") == "m.file")
    assert fresh != plain and (await download(alice, file))["user_id"] == alice.user_id  # encrypted: a key to use
    assert not any(m.content.get("msgtype") == "m.file" for m in alice.messages_in(plain))


async def test_mydata_sends_a_file_and_forget_me_erases_after_confirmation(
    homeserver: Homeserver, bothy: BothyProcess, alice: Member
):
    bot = bothy.bot_user_id
    room = await alice.open_dm(bot)
    await alice.send(room, "!referrals off")
    await alice.wait_for(lambda m: m.sender == bot and "won't send you suggestions" in m.body)
    await alice.send(room, "!mydata")
    file = await alice.wait_for(lambda m: m.room_id == room and m.content.get("msgtype") == "m.file")
    exported = await download(alice, file)
    assert exported["user_id"] == alice.user_id
    assert exported["data"]["referral_opt_outs"][0]["user_id"] == alice.user_id

    await alice.send(room, "!forget me")
    await alice.wait_for(lambda m: m.sender == bot and "forget me confirm" in m.body)
    log_offset = len(bothy.log())
    await alice.send(room, "!forget me confirm")
    await alice.wait_for(lambda m: m.sender == bot and "has been erased" in m.body and "leave this chat" in m.body)
    # The record that this room is her DM went with the rest, and once that reply has gone the bot leaves the room:
    # staying, it would take what she writes there for a group's talk. The keys to what she wrote there go from the
    # crypto store: with it and the pickle key, her words could be read back from the homeserver (a reviewer's).
    await alice.wait_left(room, bot)
    await bothy.wait_for_log("forgot the keys of a room it left", offset=log_offset)
    assert room_keys(bothy, room) == 0
    mark = alice.mark()
    group = await alice.create_room(invite=[bot], name="allotment")
    await alice.send(group, "!mydata")  # a private command in a group: the bot opens a fresh DM for the answer
    fresh = await alice.accept_invite()
    after = await alice.wait_for(lambda m: m.room_id == fresh and m.content.get("msgtype") == "m.file", after=mark)
    remembered = (await download(alice, after))["data"]  # joining the group is all it may know of her now
    assert fresh != room and not {"referral_opt_outs", "dm_rooms", "outbox"} & set(remembered)

    # The bot opened the fresh DM, so its `m.direct` on the homeserver lists it; erased again, it no longer does.
    assert (await bot_direct_rooms(homeserver, bothy)).get(alice.user_id) == [fresh]
    log_offset = len(bothy.log())
    # Asked and confirmed in the group, both answered in her DM: the last reply once opened a new DM after the erase,
    # and the record of it outlived the erase (a reviewer's).
    await alice.send(group, "!forget me")
    await alice.wait_for(lambda m: m.room_id == fresh and "forget me confirm" in m.body)
    await alice.send(group, "!forget me confirm")
    await alice.wait_for(lambda m: m.room_id == fresh and "has been erased" in m.body and "leave this chat" in m.body)
    await alice.wait_left(fresh, bot)
    await bothy.wait_for_log("an erased member's DMs are gone from m.direct", offset=log_offset)
    assert alice.user_id not in await bot_direct_rooms(homeserver, bothy)
    with sqlite3.connect(bothy.directory / "bothy.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM dm_rooms WHERE user_id = ?", (alice.user_id,)).fetchone() == (0,)


async def test_an_admins_forget_leaves_the_bots_m_direct_on_its_next_start(homeserver: Homeserver, alice: Member):
    """`bothy forget --user` cannot reach a running bot's homeserver data; the account drops the member from its
    `m.direct` when it next starts."""
    process = await start_bothy(homeserver, "forget-cli")
    try:
        bot = process.bot_user_id
        room = await alice.open_dm(bot)
        await alice.send(room, "!forget me")  # her own DM is forgotten, so the bot opens the next one itself
        await alice.wait_for(lambda m: m.sender == bot and "forget me confirm" in m.body)
        await alice.send(room, "!forget me confirm")
        await alice.wait_for(lambda m: m.sender == bot and "has been erased" in m.body)
        await alice.wait_left(room, bot)
        group = await alice.create_room(invite=[bot], name="walking")
        await alice.send(group, "!mydata")
        fresh = await alice.accept_invite()
        await alice.wait_for(lambda m: m.room_id == fresh and m.content.get("msgtype") == "m.file")
        assert (await bot_direct_rooms(homeserver, process)).get(alice.user_id) == [fresh]

        await process.stop()
        forget = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bothy", "forget", "--user", alice.user_id, "--config", str(process.config_path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        assert await forget.wait() == 0
        log_offset = len(process.log())
        await process.start()
        await process.wait_for_log("m.direct no longer lists members Bothy has forgotten", offset=log_offset)
        assert alice.user_id not in await bot_direct_rooms(homeserver, process)
    finally:
        await process.stop()


def room_keys(bothy: BothyProcess, room_id: str) -> int:
    """How many keys to a room's messages the bots' crypto stores hold."""
    count = 0
    for store in (bothy.directory / "crypto").glob("*/*.db"):
        with sqlite3.connect(store) as db:
            count += db.execute("SELECT COUNT(*) FROM megolminboundsessions WHERE room_id = ?",
                                (room_id,)).fetchone()[0]
    return count


async def bot_direct_rooms(homeserver: Homeserver, bothy: BothyProcess) -> dict:
    with sqlite3.connect(bothy.directory / "bothy.sqlite3") as db:
        (token,) = db.execute("SELECT access_token FROM account_sessions WHERE user_id = ?",
                              (bothy.bot_user_id,)).fetchone()
    path = f"/_matrix/client/v3/user/{quote(bothy.bot_user_id)}/account_data/m.direct"
    return await homeserver.synapse.client_api("GET", path, token)
