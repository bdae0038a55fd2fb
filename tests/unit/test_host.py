"""The host bot's data rights: erasing needs a fresh request and a confirmation, and nothing else does it."""

from datetime import UTC, datetime, timedelta

from bothy.clock import FixedClock
from bothy.outbox import Effects
from bothy.testing import bot_context
from bots.checkin.storage import CheckinRepository
from bots.host.bot import CONFIRM_WITHIN_MS, HostBot
from bots.installed import INSTALLATION
from commands.framework import CommandContext, Role, parse_invocation

ALICE = "@alice:example.org"


async def forget(bot: HostBot, *words: str) -> str:
    """Run `!forget WORDS` in Alice's DM and commit it as the dispatcher would; the reply's text."""
    command = bot.commands()[2]
    run, params = command.parse(list(parse_invocation(" ".join(["!forget", *words]), "!").raw_args[1:]))
    effects = Effects(bot.context.account)
    await run(CommandContext(command=command, sender=ALICE, room_id="!dm", event_id="$e", role=Role.MEMBER,
                             in_dm=True, effects=effects, templates=bot.context.templates, prefix="!",
                             params=params))
    await bot.context.work.commit(effects)
    return effects.items[-1].content["body"]


async def alice_has_settings(database) -> bool:
    async with database.read() as db, db.execute("SELECT 1 FROM checkin_prefs WHERE user_id = ?", (ALICE,)) as c:
        return await c.fetchone() is not None


async def test_confirming_erases_only_soon_after_asking(database, example_config):
    clock = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    bot = HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"], clock=clock))
    async with database.transaction() as db:
        await CheckinRepository.set_preference(db, ALICE, False, None)

    assert "Nothing has been erased" in await forget(bot, "me", "confirm")  # never asked
    assert await alice_has_settings(database)

    asked = await forget(bot, "me")
    assert "forget me confirm within 10 minutes" in asked
    # Her `!checkins off` goes with the rest: she is told, with how to say it again (a reviewer's).
    assert "check-ins and suggestions on" in asked and "!checkins off" in asked
    clock.at += timedelta(milliseconds=CONFIRM_WITHIN_MS + 1000)
    assert "Nothing has been erased" in await forget(bot, "me", "confirm")  # asked too long ago
    assert await alice_has_settings(database)

    await forget(bot, "me")
    clock.at += timedelta(minutes=2)
    assert "erased" in await forget(bot, "me", "confirm")
    assert not await alice_has_settings(database)
    # Confirmed again (the first reply was slow): not "Nothing has been erased" of an erase done (a reviewer's)
    again = await forget(bot, "me", "confirm")
    assert "nothing stored about you now" in again and "Nothing has been erased" not in again
    assert await INSTALLATION.personal_data(database).export(ALICE) == {}  # the request itself is gone too


async def test_unconfirmed_requests_are_dropped_once_they_expire(database, example_config):
    clock = FixedClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    bot = HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"], clock=clock))
    await forget(bot, "me")
    await bot.expire_erasure_requests()
    assert "erasure_requests" in await INSTALLATION.personal_data(database).export(ALICE)
    clock.at += timedelta(milliseconds=CONFIRM_WITHIN_MS + 1000)
    await bot.expire_erasure_requests()
    assert await INSTALLATION.personal_data(database).export(ALICE) == {}


async def test_confirmed_in_a_group_the_reply_goes_into_the_dm_it_was_asked_in(database, example_config):
    """Sent to the member, the reply opened a new DM after the erase, and the record of it stayed (a reviewer's)."""
    bot = HostBot(bot_context(database, INSTALLATION, example_config.bot_settings["host"]))
    bot.context.rooms.dms[ALICE] = "!alice-dm"  # type: ignore[attr-defined]
    command = bot.commands()[2]
    for words in (["me"], ["me", "confirm"]):
        run, params = command.parse(words)
        effects = Effects(bot.context.account)
        await run(CommandContext(command=command, sender=ALICE, room_id="!group", event_id="$e", role=Role.MEMBER,
                                 in_dm=False, effects=effects, templates=bot.context.templates, prefix="!",
                                 params=params))
        await bot.context.work.commit(effects)
    done = effects.items[-1]
    assert "erased" in done.content["body"] and "leave this chat" in done.content["body"]
    assert (done.room_id, done.to_user) == ("!alice-dm", None)
    assert await INSTALLATION.personal_data(database).export(ALICE) == {}


async def test_confirmed_in_a_group_another_account_answers_into_its_own_dm(database, example_config):
    """In a group the host account is not in, another bot account answers: the reply went into the host account's
    DM, a room the answering account is not in, refused and retried for ever (a second reviewer's, thirtieth)."""
    from dataclasses import replace

    from bothy.testing import FixedRooms

    mood = "@mood:example.org"
    context = bot_context(database, INSTALLATION, example_config.bot_settings["host"], bot_accounts=frozenset({mood}))
    context.rooms.dms[ALICE] = "!host-dm"  # type: ignore[attr-defined]
    mood_rooms = FixedRooms()
    mood_rooms.dms[ALICE] = "!mood-dm"
    bot = HostBot(replace(context, account_rooms={mood: mood_rooms, context.account: context.rooms}))
    command = bot.commands()[2]
    for words in (["me"], ["me", "confirm"]):
        run, params = command.parse(words)
        effects = Effects(mood)
        await run(CommandContext(command=command, sender=ALICE, room_id="!group", event_id="$e", role=Role.MEMBER,
                                 in_dm=False, effects=effects, templates=bot.context.templates, prefix="!",
                                 params=params))
        await bot.context.work.commit(effects)
    done = effects.items[-1]
    assert "erased" in done.content["body"] and (done.account, done.room_id) == (mood, "!mood-dm")


async def test_confirmed_in_a_group_by_an_account_with_no_dm_never_opens_one(database, example_config):
    """The answering account has no DM with her: sent to her, the reply opened one after the erase, recorded and never
    left (a reviewer's, thirty-first session). It goes from the account that has one, or else into the group, where
    she typed the command for all to see."""
    from dataclasses import replace

    from bothy.testing import FixedRooms

    mood = "@mood:example.org"
    for host_dm in ("!host-dm", None):
        context = bot_context(database, INSTALLATION, example_config.bot_settings["host"],
                              bot_accounts=frozenset({mood}))
        if host_dm is not None:
            context.rooms.dms[ALICE] = host_dm  # type: ignore[attr-defined]
        bot = HostBot(replace(context, account_rooms={mood: FixedRooms(), context.account: context.rooms}))
        command = bot.commands()[2]
        for words in (["me"], ["me", "confirm"]):
            run, params = command.parse(words)
            effects = Effects(mood)
            await run(CommandContext(command=command, sender=ALICE, room_id="!group", event_id="$e",
                                     role=Role.MEMBER, in_dm=False, effects=effects, templates=bot.context.templates,
                                     prefix="!", params=params))
            await bot.context.work.commit(effects)
        done = effects.items[-1]
        assert "erased" in done.content["body"] and done.to_user is None
        if host_dm is not None:
            assert (done.account, done.room_id) == (context.account, host_dm)
        else:
            assert (done.account, done.room_id) == (mood, "!group")
            assert "leave this chat" not in done.content["body"]
