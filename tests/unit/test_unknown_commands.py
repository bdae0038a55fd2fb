"""An unknown command is an ordinary message that also gets kind usage help, never in front of a group."""

from bothy.clock import Clock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bots.installed import INSTALLATION
from commands.framework import Command, CommandRegistry, Integer, Role, UserId
from commands.router import CommandRouter
from tests.unit.test_engine import shared_config

HOST, ALICE = "@bothy:example.org", "@alice:example.org"
GROUP, DM, STAFF = "!group:example.org", "!dm:example.org", "!staff:example.org"


class Account:
    """The host bot's account, alone with Alice in each room; it may redact in the group when `power` says so."""

    user_id = HOST

    def __init__(self, power: bool = True):
        self.power = power
        self.senders: dict[str, str] = {"$typed": ALICE}  # event ID -> who sent it

    async def event_sender(self, room_id: str, event_id: str) -> str | None:
        return self.senders.get(event_id)

    async def joined_members(self, room_id: str) -> frozenset[str]:
        return frozenset({HOST, ALICE})

    def is_direct_room(self, room_id: str) -> bool:
        return room_id == DM

    def can_redact_others(self, room_id: str) -> bool:
        return self.power

    def is_encrypted(self, room_id: str) -> bool:
        return True


async def noop(ctx) -> None:
    return None


def router(account: Account) -> CommandRouter:
    registry = CommandRegistry([Command("help", "host", "help", noop),
                                Command("mood", "mood", "mood", noop, params=(Integer("score", 1, 5, optional=True),),
                                        private=True)])
    return CommandRouter(shared_config(), registry, account, INSTALLATION.templates(), Clock(), lambda: STAFF)


def message(room_id: str, body: str) -> Message:
    return Message(room_id, "$typed", ALICE, body, Clock().ms(), "m.text", encrypted=True)


async def handled(body: str, room_id: str = GROUP, power: bool = True) -> tuple[bool, Effects]:
    effects = Effects(HOST)
    known = await router(Account(power)).handle(message(room_id, body), effects)
    return known, effects


async def test_an_unknown_command_in_a_group_is_answered_by_dm_and_redacted():
    known, effects = await handled("!moood 2")
    assert not known  # so it is matched like any message
    reply, redaction = effects.items
    assert (reply.room_id, reply.to_user) == (None, ALICE)
    assert "don't know the command" in reply.content["body"]
    assert (redaction.action, redaction.room_id, redaction.target_event_id) == ("redaction", GROUP, "$typed")


async def test_a_mistyped_private_command_stays_private_even_where_the_bot_cannot_redact():
    known, effects = await handled("!mood2 awful", power=False)
    assert not known
    assert [(item.action, item.room_id, item.to_user) for item in effects.items] == [("message", None, ALICE)]


async def test_in_a_dm_or_the_staff_room_an_unknown_command_is_answered_in_place():
    for room_id in (DM, STAFF):
        known, effects = await handled("!hlep", room_id)
        assert not known
        assert [(item.action, item.room_id) for item in effects.items] == [("message", room_id)]


async def test_exclamation_marks_are_emphasis_not_a_command():
    known, effects = await handled("!!! honestly I can't do this anymore, I want to die")
    assert not known
    assert effects.items == []


async def test_in_a_group_words_that_only_start_with_the_prefix_are_neither_answered_nor_taken_down():
    """Someone's news ("!Congratulations on the new job") was redacted from the group and its writer sent usage help
    (a spec auditor's, thirty-second session): only a word that looks like a try at a command is one."""
    for body in ("!Congratulations on the new job", "!good news everyone", "!x", "!Hell yes, I told my boss",
                 "!Moor walk on Sunday, who's in?", "!hwlp"):  # a short word with a key changed is a word too
        known, effects = await handled(body)
        assert not known and effects.items == [], body
    for body in ("!hlep", "!mood2 awful", "!helpme", "!moood", "!mpod 1", "!miod 2"):  # "mpod 1": a thumb's slip
        known, effects = await handled(body)
        assert [item.action for item in effects.items] == ["message", "redaction"], body
    known, effects = await handled("!Congratulations on the new job", DM)  # in a DM it is said to the bot
    assert [(item.action, item.room_id) for item in effects.items] == [("message", DM)]


async def test_a_known_command_is_still_a_command_and_not_matched():
    known, _ = await handled("!help")
    assert known


async def test_a_private_command_of_staff_business_is_answered_in_the_staff_room_and_a_members_own_by_dm():
    """The staff room is where staff commands are answered (PRODUCT.md), "!group archive ROOM" among them; a peer
    worker's own "!mood 1" typed there goes by DM, as from a group: their colleagues read the staff room."""

    async def answer(ctx) -> None:
        ctx.reply("staff_place_only", usage="!x")
        ctx.reply_file("mine.json", "application/json", "{}")

    registry = CommandRegistry([Command("archive", "host", "archive", answer, private=True, staff_business=True),
                                Command("mine", "host", "mine", answer, private=True)])
    for body, room_id, in_place in (("!archive", GROUP, False), ("!archive", STAFF, True), ("!archive", DM, True),
                                    ("!mine", GROUP, False), ("!mine", STAFF, False), ("!mine", DM, True)):
        effects = Effects(HOST)
        known = await CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(),
                                    lambda: STAFF).handle(message(room_id, body), effects)
        assert known
        reply, file, *rest = effects.items
        assert (reply.room_id, reply.to_user) == ((room_id, None) if in_place else (None, ALICE)), (body, room_id)
        assert (file.room_id, file.to_user) == ((room_id, None) if in_place else (None, ALICE)), (body, room_id)
        assert [item.action for item in rest] == ([] if in_place else ["redaction"]), (body, room_id)


async def test_a_members_staff_command_in_a_group_is_refused_in_private_not_in_front_of_the_group():
    """"Sorry, !checkin is for peer workers" stayed in the group the command was taken down from (a reviewer's)."""
    registry = CommandRegistry([Command("checkin", "host", "check in", noop, params=(UserId("user"),),
                                        role=Role.PEER_WORKER)])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(), lambda: STAFF)
    effects = Effects(HOST)
    body = "!checkin @bob:example.org"
    assert await router.handle(Message(GROUP, "$typed", ALICE, body, Clock().ms(), "m.text", encrypted=True), effects)
    actions = [(item.action, item.room_id, item.to_user) for item in effects.items]
    # the command itself is taken down from the group...
    assert ("redaction", GROUP, None) in actions
    # ...so its answer must not be left in the group either (unknown commands and a staff member's are DMed)
    assert ("message", GROUP, None) not in actions, actions
    assert ("message", None, ALICE) in actions


async def test_an_edit_into_a_private_command_is_not_run_taken_down_in_a_group_and_said_so_in_a_dm():
    """"ugh" edited into "!mood 1" (or "!mood 11" corrected): the edit is rightly not run again, but its words, her
    mood, stayed in front of the group (a reviewer's, twenty-ninth session). In a DM, `!mood 6` corrected to `!mood 4`
    recorded nothing and said nothing, so the member believed it noted (a spec auditor's, thirty-third session)."""
    ran = []

    async def mood(ctx) -> None:
        ran.append(ctx)

    registry = CommandRegistry([Command("mood", "host", "mood", mood, params=(Integer("score", 1, 5),),
                                        private=True)])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(), lambda: STAFF)
    effects = Effects(HOST)
    edit = Message(GROUP, "$edit", ALICE, "!mood 1", Clock().ms(), "m.text", encrypted=True, replaces="$typed")
    assert await router.handle(edit, effects)
    assert sorted(item.target_event_id for item in effects.items if item.action == "redaction") == ["$edit", "$typed"]
    assert ran == [] and not [item for item in effects.items if item.action == "message"]
    in_dm = Effects(HOST)
    await router.handle(Message(DM, "$edit2", ALICE, "!mood 4", Clock().ms(), "m.text", encrypted=True,
                                replaces="$typed2"), in_dm)
    [said] = [item for item in in_dm.items if item.action == "message"]
    assert ran == [] and said.room_id == DM and "send it again as a new message" in said.content["body"]


async def test_an_edit_takes_down_only_its_own_sender_s_message_and_emphasis_is_left():
    """Clients ignore an edit from anyone but the sender: one from Mallory naming Alice's post (or a bot's) must not
    get it taken down; and "!!! so proud" edited in is emphasis (a second reviewer's)."""
    registry = CommandRegistry([Command("mood", "host", "mood", noop, params=(Integer("score", 1, 5),),
                                        private=True)])
    account = Account()
    router = CommandRouter(shared_config(), registry, account, INSTALLATION.templates(), Clock(), lambda: STAFF)
    mallory = "@mallory:example.org"
    for body in ("!mood 1", "!moodd"):
        effects = Effects(HOST)
        await router.handle(Message(GROUP, "$edit", mallory, body, Clock().ms(), "m.text", encrypted=True,
                                    replaces="$typed"), effects)
        assert [item.target_event_id for item in effects.items if item.action == "redaction"] == ["$edit"]
    for body in ("!!! so proud of you all", "!Congratulations on the new job"):  # emphasis, someone's news
        effects = Effects(HOST)
        await router.handle(Message(GROUP, "$edit2", ALICE, body, Clock().ms(), "m.text", encrypted=True,
                                    replaces="$typed"), effects)
        assert effects.items == [], body
