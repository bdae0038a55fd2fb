"""Every command the installed bots register has a generated usage line, and `!help COMMAND` explains it
to those who may use it and is no different from an unknown name for those who may not."""

import pytest

from bothy.outbox import Effects
from bots.installed import INSTALLATION
from commands.framework import Command, CommandContext, CommandRegistry, Role, UsageError, parse_invocation

USAGE = {
    "help": "!help [COMMAND]",
    "mydata": "!mydata",
    "forget": "!forget me [confirm]",
    "status": "!status",
    "interests": "!interests",
    "interests add": "!interests add TAGS",
    "interests remove": "!interests remove TAGS",
    "interests invites": "!interests invites on|off",
    "groups": "!groups [INTEREST]",
    "group new": "!group new NAME #TAG…",
    "group join": "!group join NAME",
    "group archive": "!group archive [ROOM]",
    "meetups": "!meetups",
    "meetup add": "!meetup add WHEN | WHERE",
    "meetup going": "!meetup going ID",
    "meetup not": "!meetup not going ID",
    "meetup cancel": "!meetup cancel ID",
    "group approve": "!group approve ID",
    "group decline": "!group decline ID REASON",
    "talk": "!talk",
    "alerts": "!alerts",
    "done": "!done ID",
    "report": "!report",
    "mod": "!mod remove ID|mute ID [FOR]|guidelines ID|dismiss ID",
    "audit": "!audit [DAYS]",
    "checkins": "!checkins on|off|pause DURATION",
    "checkin": "!checkin @USER",
    "quiet": "!quiet [DAYS]",
    "stress": "!stress link|unlink|threshold LEVEL",
    "resources": "!resources [TOPIC]",
    "referrals": "!referrals on|off",
    "refer": "!refer @USER TOPIC",
    "referrals report": "!referrals report",
    "mood": "!mood 1-5|on|off",
    "energy": "!energy low|medium|high",
    "mood share": "!mood share on|off",
    "mood report": "!mood report [ROOM]",
    "hangout": "!hangout",
    "hangout invite": "!hangout invite",
}

# One set of templates, as a running Bothy has: a fresh set per command compiles each template again.
TEMPLATES = INSTALLATION.templates()


async def send(registry: CommandRegistry, role: Role, body: str, encrypted: bool = True, in_dm: bool = True) -> Effects:
    """What a command owes, sent in a DM (or a group) by someone with `role` (the router's checks are tested end to
    end)."""
    command, args = registry.find(parse_invocation(body, "!"))
    run, params = command.parse(args)
    effects = Effects("@bothy:example.org")
    await run(CommandContext(command=command, sender="@alice:example.org",
                             room_id="!dm:example.org" if in_dm else "!group:example.org", event_id="$e",
                             role=role, in_dm=in_dm, effects=effects, templates=TEMPLATES, prefix="!",
                             params=params, encrypted=encrypted))
    return effects


async def ask_help(registry: CommandRegistry, role: Role, *words: str) -> str:
    """The plain-text reply to `!help WORDS`."""
    [reply] = (await send(registry, role, " ".join(["!help", *words]))).items
    return reply.content["body"]


async def test_every_registered_command_has_its_generated_usage_line(registry):
    assert {c.name: c.usage_line("!") for c in registry.commands} == USAGE


def commands_by_role() -> list[tuple[str, Role]]:
    return [(name, role) for name in USAGE for role in Role]


@pytest.mark.parametrize(("name", "role"), commands_by_role())
async def test_help_for_one_command(read_only_registry, name, role):
    command: Command = read_only_registry.named(name)
    reply = await ask_help(read_only_registry, role, *name.upper().split())
    if command.role <= role:
        assert reply.startswith(f"{USAGE[name]}: {command.summary}.")
        assert "116 123" in reply
    else:
        unknown = await ask_help(read_only_registry, role, "nosuch")
        assert reply == unknown.replace('"nosuch"', f'"{name.upper()}"')
        assert USAGE[name] not in reply


async def test_help_accepts_the_prefix_and_aliases_and_lists_everything_otherwise(registry):
    assert (await ask_help(registry, Role.MEMBER, "!checkins")).startswith(USAGE["checkins"])
    assert (await ask_help(registry, Role.MEMBER, "commands")).startswith(USAGE["help"])
    everything = await ask_help(registry, Role.MEMBER)
    assert "!checkins on|off|pause DURATION" in everything and "!status" not in everything
    assert "don't have a command" not in everything


async def test_help_lists_group_new_only_to_those_who_may_start_groups(database):
    """`!help` lists the commands this person may use: with `groups.who_may_start: volunteers`, "!group new" is
    refused to members (kindly, by its handler), so their list leaves it out (a reviewer's, twenty-ninth session)."""
    from bothy.config import parse_config
    from tests.unit.conftest import installed_bots
    from tests.unit.test_config import ROOT, filled

    config = parse_config(filled(**{"groups.who_may_start": "volunteers"}), ROOT, INSTALLATION.bots)
    registry = installed_bots(database, config)
    assert USAGE["group new"] not in await ask_help(registry, Role.MEMBER)
    assert USAGE["group new"] in await ask_help(registry, Role.VOLUNTEER)
    refused = (await send(registry, Role.MEMBER, "!group new Allotment club #gardening")).items
    assert "volunteer" in refused[0].content["body"]


@pytest.mark.parametrize("body", [
    "!help", "!help mood report", "!mydata", "!forget me", "!forget me confirm", "!status", "!checkins on",
    "!checkins off", "!checkins pause 2w", "!checkin @bob:example.org", "!quiet", "!quiet 14", "!stress link",
    "!stress unlink", "!resources", "!resources housing", "!referrals on", "!refer @bob:example.org debt",
])
async def test_every_handler_reads_the_arguments_it_declared(registry, body):
    effects = await send(registry, Role.ADMIN, body)
    assert any(item.action == "message" for item in effects.items)


async def test_a_handler_may_still_refuse_with_a_usage_problem_of_its_own(registry):
    with pytest.raises(UsageError, match="haven't linked a device"):
        await send(registry, Role.MEMBER, "!stress threshold 50")


@pytest.mark.parametrize("body", ["!checkin @bot:example.org", "!refer @bot:example.org housing"])
async def test_a_peer_worker_naming_one_of_bothys_own_accounts_is_told_so(registry, body):
    """An autocomplete slip: `!refer` to a bot account queued a DM from the bot to itself and said it had gone (a
    spec auditor's, thirty-third session); `!checkin` already refused."""
    with pytest.raises(UsageError, match="one of Bothy's own accounts"):
        await send(registry, Role.PEER_WORKER, body)


@pytest.mark.parametrize("body", ["!checkin @nosuch:example.org", "!refer @alice:exmaple.org housing"])
async def test_a_peer_worker_naming_someone_who_cannot_be_anyone_is_asked_to_check_the_id(registry, body):
    """A mistyped ID got "I've sent" while the DM went to an empty room, or waited for ever on a server that is not
    there (an end-to-end auditor's, thirty-third session)."""
    with pytest.raises(UsageError, match="please check the Matrix ID"):
        await send(registry, Role.PEER_WORKER, body)


async def test_a_stress_link_is_sent_only_in_an_encrypted_dm(registry, database):
    """Its token is a secret: whoever holds it can post readings that raise alerts naming the member (a spec
    auditor's, thirty-third session: it went as plain text into a DM `!mydata` would not use)."""
    for encrypted, in_dm in ((False, True), (True, False)):  # typed in a group, it would go to whatever DM she has
        [told] = (await send(registry, Role.MEMBER, "!stress link", encrypted=encrypted, in_dm=in_dm)).items
        assert "only send it in a private, encrypted chat" in told.content["body"]
        assert "Token" not in told.content["body"]
    async with database.read() as db:
        assert await db.execute_fetchall("SELECT * FROM stress_links") == []
    linked = (await send(registry, Role.MEMBER, "!stress link")).items
    assert [("Token" in item.content["body"]) for item in linked] == [True]


async def test_the_data_file_is_sent_only_in_an_encrypted_dm(registry):
    sent = await send(registry, Role.MEMBER, "!mydata")
    assert [item.action for item in sent.items] == ["file", "message"]
    told, file, explained = (await send(registry, Role.MEMBER, "!mydata", encrypted=False)).items
    assert told.room_id is not None and "new encrypted chat" in told.content["body"]
    # to the member, not to this room: the outbox finds their DM unencrypted and opens an encrypted one for it
    assert (file.action, file.room_id, file.to_user) == ("file", None, "@alice:example.org")
    assert (explained.room_id, explained.to_user) == (None, "@alice:example.org")
    assert "everything Bothy stores" in explained.content["body"]

