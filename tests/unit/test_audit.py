"""The audit: every staff command by name and the member it names (never its other words), and `!audit`
listing who did what, when."""

import json
from datetime import UTC, datetime

from bothy.clock import FixedClock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.storage.audit import record_audit
from bothy.testing import STAFF_ROOM, bot_context
from bots.host.bot import HostBot
from bots.installed import INSTALLATION
from commands.framework import Command, CommandContext, CommandRegistry, Role, Text, UserId
from commands.router import CommandRouter
from tests.unit.test_config import settings_of
from tests.unit.test_engine import shared_config
from tests.unit.test_unknown_commands import HOST, Account

SAM, ALICE = "@sam:example.org", "@alice:example.org"


async def noop(ctx) -> None:
    return None


async def test_staff_commands_are_audited_by_name_and_member_never_their_words(database):
    registry = CommandRegistry([
        Command("refer", "host", "refer", noop, params=(UserId("user"), Text("topic", 80)), role=Role.PEER_WORKER),
        Command("help", "host", "help", noop),
        # its handler writes its own line (none here): the router adds none, so an action is one line
        Command("approve", "host", "approve", noop, params=(UserId("user"),), role=Role.PEER_WORKER,
                audits_itself=True),
    ])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), FixedClock(
        datetime(2026, 3, 2, tzinfo=UTC)), lambda: STAFF_ROOM)
    for sender, body in ((SAM, "!refer @alice:example.org my secret words"), (ALICE, "!help"),
                         (SAM, "!approve @alice:example.org")):
        effects = Effects(HOST)
        message = Message(STAFF_ROOM, "$e", sender, body, FixedClock(datetime(2026, 3, 2, tzinfo=UTC)).ms(),
                          "m.text", encrypted=True)
        assert await router.handle(message, effects)
        async with database.transaction() as db:
            for write in effects.writes:
                await write(db)
    async with database.read() as db, db.execute("SELECT actor, action, subject, detail FROM audit_log") as cursor:
        assert await cursor.fetchall() == [(SAM, "!refer", ALICE, None)]


async def test_audit_lists_who_did_what_and_when_newest_first(database):
    clock = FixedClock(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    bot = HostBot(bot_context(database, INSTALLATION, settings_of("host"), clock=clock))
    async with database.transaction() as db:
        await record_audit(db, SAM, "report remove", ALICE, "alert 3 in !group", clock.ms() - 3_600_000)
        await record_audit(db, SAM, "alert claimed", ALICE, "alert 3 (report)", clock.ms() - 7_200_000)
        await record_audit(db, SAM, "!quiet", None, None, clock.ms() - 30 * 86_400_000)
    command = next(c for c in bot.commands() if c.name == "audit")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender="@ali:example.org", room_id=STAFF_ROOM, event_id="$a",
                                     role=Role.ADMIN, in_dm=False, effects=effects, templates=bot.context.templates,
                                     prefix="!", params={"days": 7}))
    body = effects.items[0].content["body"]
    assert body.index("report remove") < body.index("alert claimed") and "!quiet" not in body
    assert "Mon 09 Mar 11:00" in body and "(@alice:example.org)" in body


async def test_a_busy_audit_stays_one_sendable_message(database):
    """The staff room is encrypted and Matrix refuses events over 64 KiB: a refused answer would hold back
    every alert after it. Long (but ordinary) Matrix IDs on every line still fit."""
    clock = FixedClock(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    bot = HostBot(bot_context(database, INSTALLATION, settings_of("host"), clock=clock))
    server = "peer-support.community-network.example.org.uk"
    async with database.transaction() as db:
        for number in range(300):
            await record_audit(db, f"@firstname.lastname{number}:{server}", "report mute",
                               f"@another.member{number}:{server}", f"alert {number} in !AbCdEfGhIjKlMnOpQr:{server}",
                               clock.ms() - number * 60_000)
    command = next(c for c in bot.commands() if c.name == "audit")
    effects = Effects(bot.context.account)
    await command.run(CommandContext(command=command, sender="@ali:example.org", room_id=STAFF_ROOM, event_id="$a",
                                     role=Role.ADMIN, in_dm=False, effects=effects, templates=bot.context.templates,
                                     prefix="!", params={"days": 7}))
    [answer] = effects.items
    assert len(json.dumps(answer.content, ensure_ascii=False).encode()) < 40_000
    assert "the latest" in answer.content["body"]


async def test_a_peer_worker_asking_for_the_audit_is_told_it_is_for_admins():
    """The refusal names the role the command needs: telling a peer worker `!audit` "is for peer workers"
    would leave them wondering why it refused them."""
    registry = CommandRegistry([Command("audit", "host", "audit", noop, role=Role.ADMIN)])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), FixedClock(
        datetime(2026, 3, 2, tzinfo=UTC)), lambda: STAFF_ROOM)
    effects = Effects(HOST)
    message = Message(STAFF_ROOM, "$e", SAM, "!audit", FixedClock(datetime(2026, 3, 2, tzinfo=UTC)).ms(),
                      "m.text", encrypted=True)
    assert await router.handle(message, effects)
    [refusal] = effects.items
    for text in (refusal.content["body"], refusal.content["formatted_body"]):
        assert "is for admins" in text and "peer workers" not in text
