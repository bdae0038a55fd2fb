"""A member's commands are paced: a flood from a script or a stuck key is told once to wait, then not answered,
while its words are still read like any message; peer workers are never paced."""

from datetime import UTC, datetime, timedelta

from bothy.clock import FixedClock
from bothy.matrix.events import Message
from bothy.outbox import Effects
from bots.installed import INSTALLATION
from commands.framework import Command, CommandRegistry
from commands.pace import COMMANDS_PER_WINDOW, CommandPace, Pace
from commands.router import CommandRouter
from tests.unit.test_engine import shared_config
from tests.unit.test_unknown_commands import ALICE, DM, GROUP, HOST, STAFF, Account

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SAM = "@sam:example.org"  # a peer worker in the shared config


def test_the_first_over_the_pace_is_told_and_the_rest_are_quiet_until_the_window_passes():
    pace = CommandPace(limit=3, window_ms=60_000)
    assert [pace.admit(ALICE, f"$e{at}", at) for at in (0, 1, 2, 3, 4)] == [Pace.GO] * 3 + [Pace.SLOW_DOWN,
                                                                                          Pace.QUIET]
    assert pace.admit("@bob:example.org", "$b", 5) is Pace.GO  # each member their own pace
    assert pace.admit(ALICE, "$f0", 60_000) is Pace.GO  # the first of the three is a minute old
    assert pace.admit(ALICE, "$f1", 60_001) is Pace.GO
    assert pace.admit(ALICE, "$f2", 60_002) is Pace.GO
    assert pace.admit(ALICE, "$f3", 60_003) is Pace.SLOW_DOWN  # over again, and told a minute ago: told again
    assert pace.admit(ALICE, "$f4", 60_004) is Pace.QUIET
    assert pace.admit(ALICE, "$g", 120_000) is Pace.GO


def test_a_clock_set_back_does_not_keep_a_member_paced():
    """A robustness reviewer's, thirty-third session: set back an hour just after a member reached the pace, the
    clock kept every command of theirs unanswered for that hour."""
    pace = CommandPace(limit=3, window_ms=60_000)
    hour = 3_600_000
    assert [pace.admit(ALICE, f"$e{n}", hour + n) for n in range(4)] == [Pace.GO] * 3 + [Pace.SLOW_DOWN]
    assert pace.admit(ALICE, "$after", 1_000) is Pace.GO


def test_an_event_handled_again_gets_the_same_answer():
    """A command handled again after a failure (the homeserver away, the database busy) is not a command more, and
    a telling lost with its failed handling is given again."""
    pace = CommandPace(limit=2, window_ms=60_000)
    assert [pace.admit(ALICE, "$one", at) for at in range(10)] == [Pace.GO] * 10
    assert pace.admit(ALICE, "$two", 10) is Pace.GO
    assert pace.admit(ALICE, "$three", 11) is Pace.SLOW_DOWN
    assert pace.admit(ALICE, "$three", 12) is Pace.SLOW_DOWN
    assert pace.admit(ALICE, "$four", 13) is Pace.QUIET


def test_members_quiet_for_a_window_are_forgotten_once_many_are_tracked():
    pace = CommandPace(limit=2, window_ms=1_000, max_tracked=3)
    for member in range(3):
        pace.admit(f"@m{member}:x", "$e", 0)
    pace.admit("@new:x", "$e", 5_000)  # the three others are quiet a window on: forgotten
    assert len(pace._recent) == 1


def test_a_crowd_active_at_once_is_forgotten_together_not_scanned_for_each_newcomer():
    pace = CommandPace(limit=2, window_ms=99, max_tracked=100)  # a newcomer each ms: one goes quiet as one comes
    scans = 0
    forget = pace._forget_quiet

    def counted(now_ms: int) -> None:
        nonlocal scans
        scans += 1
        forget(now_ms)

    pace._forget_quiet = counted  # type: ignore[method-assign]
    for member in range(1_000):
        assert pace.admit(f"@m{member}:x", "$e", member) is Pace.GO
    assert scans <= 1_000 // 50  # not one per newcomer once the room is full


async def test_a_flood_of_commands_is_paced_but_peer_workers_are_not():
    ran = []

    async def noted(ctx) -> None:
        ran.append(ctx.sender)

    clock = FixedClock(NOW)
    registry = CommandRegistry([Command("help", "host", "help", noted), Command("mood", "mood", "mood", noted),
                                Command("talk", "host", "talk", noted, always_answered=True)])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), clock, lambda: STAFF)
    told = []
    for sender in (ALICE, SAM):
        for number in range(COMMANDS_PER_WINDOW + 5):
            effects = Effects(HOST)
            typed = Message(DM, f"$typed{number}", sender, "!help", clock.ms(), "m.text", encrypted=True)
            assert await router.handle(typed, effects)
            told += [item.content["body"] for item in effects.items if "lot of commands" in item.content["body"]]
            clock.at += timedelta(milliseconds=100)
    assert ran.count(ALICE) == COMMANDS_PER_WINDOW and ran.count(SAM) == COMMANDS_PER_WINDOW + 5
    assert len(told) == 1 and "116 123" in told[0]
    unknown = Effects(HOST)  # an unknown command is paced too: it would be answered with help
    await router.handle(Message(DM, "$unknown", ALICE, "!helpp", clock.ms(), "m.text", encrypted=True), unknown)
    assert unknown.items == []
    in_a_group = Effects(HOST)  # ... and typed in a group, it is still taken down: it may say something personal
    await router.handle(Message(GROUP, "$mistyped", ALICE, "!mood2 awful", clock.ms(), "m.text", encrypted=True),
                        in_a_group)
    assert [item.action for item in in_a_group.items] == ["redaction"]
    talk = Effects(HOST)  # a way to reach a person is never paced
    await router.handle(Message(DM, "$talk", ALICE, "!talk", clock.ms(), "m.text", encrypted=True), talk)
    assert ran.count(ALICE) == COMMANDS_PER_WINDOW + 1
