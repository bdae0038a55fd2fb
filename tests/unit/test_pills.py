"""A member picked from the autocomplete (a "pill") reaches a command as their Matrix ID, read from the link the
sender picked, never from the display name the plain body shows; HTML Bothy cannot read changes nothing."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bothy.clock import Clock
from bothy.matrix.events import message_from_event
from bothy.matrix.pills import MAX_HTML, command_text, user_of_link
from bothy.outbox import Effects
from bothy.settings import is_user_id
from bots.installed import INSTALLATION
from commands.framework import Command, CommandContext, CommandRegistry, Role, Text, UserId
from commands.router import CommandRouter
from tests.unit.test_engine import shared_config
from tests.unit.test_unknown_commands import HOST, Account

HTML = "org.matrix.custom.html"
ALICE, BOB, SAM = "@alice:example.org", "@bob:example.org", "@sam:example.org"
STAFF = "!staff:example.org"
PILL = f'<a href="https://matrix.to/#/{ALICE}">Alice Smith</a>'


def source(content: dict) -> dict:
    return {"type": "m.room.message", "event_id": "$e", "sender": SAM, "origin_server_ts": Clock().ms(),
            "content": content}


def element(body: str, formatted_body: str, **extra) -> dict:
    """What Element sends when a member was picked: the display name in `body`, the ID only in the link."""
    return {"msgtype": "m.text", "body": body, "format": HTML, "formatted_body": formatted_body,
            "m.mentions": {"user_ids": [ALICE]}, **extra}


def arguments(content: dict) -> list[str] | None:
    message = message_from_event(source(content), STAFF, encrypted=False, on_malformed=pytest.fail)
    assert message is not None
    return None if message.command_text is None else message.command_text.split()


@pytest.mark.parametrize(("body", "formatted_body", "expected"), [
    ("!checkin Alice Smith", f"!checkin {PILL}", ["!checkin", ALICE]),
    # The rich text editor: a non-breaking space after the pill, entities, paragraphs.
    ("!refer Alice Smith sleep & rest", f"<p>!refer {PILL}&nbsp;sleep &amp; rest</p>",
     ["!refer", ALICE, "sleep", "&", "rest"]),
    ("!refer Alice Smith\nlow mood", f"!refer {PILL}<br>low mood", ["!refer", ALICE, "low", "mood"]),
    # Percent-encoded, with routing hints.
    ("!checkin Alice", '!checkin <a href="https://matrix.to/#/%40alice%3Aexample.org?via=example.org">Alice</a>',
     ["!checkin", ALICE]),
    ("!checkin Alice", '!checkin <a href="matrix:u/alice:example.org?action=chat">Alice</a>', ["!checkin", ALICE]),
    # Tags inside the pill, and a pill written right against the command word, are still one ID.
    ("!checkin Alice", f'!checkin<a href="https://matrix.to/#/{ALICE}"><b>Al</b>ice</a>', ["!checkin", ALICE]),
    ("!mod mute Alice Bob", f'!mod mute {PILL} <a href="https://matrix.to/#/{BOB}">Bob</a>',
     ["!mod", "mute", ALICE, BOB]),
])
def test_each_pill_becomes_the_matrix_id_it_links_to(body, formatted_body, expected):
    assert arguments(element(body, formatted_body)) == expected


def test_the_display_name_is_never_read_only_the_link_the_sender_picked():
    content = element("!checkin @mallory:example.org", f'!checkin <a href="https://matrix.to/#/{ALICE}">'
                                                        "@mallory:example.org</a>")
    assert arguments(content) == ["!checkin", ALICE]


def test_a_reply_leaves_out_the_quoted_message_and_its_pills():
    content = element(
        "> <@bob:example.org> I'm worried about Alice\n\n!checkin Alice Smith",
        '<mx-reply><blockquote><a href="https://matrix.to/#/!staff:example.org/$q?via=example.org">In reply to</a> '
        f'<a href="https://matrix.to/#/{BOB}">{BOB}</a><br>I\'m worried about Alice</blockquote></mx-reply>'
        f"!checkin {PILL}",
        **{"m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}})
    assert arguments(content) == ["!checkin", ALICE]


def test_an_edit_is_read_from_its_new_content():
    content = {"msgtype": "m.text", "body": "* !checkin Alice Smith", "format": HTML,
               "formatted_body": f'* !checkin <a href="https://matrix.to/#/{BOB}">Bob</a>',
               "m.new_content": element("!checkin Alice Smith", f"!checkin {PILL}"),
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"}}
    assert arguments(content) == ["!checkin", ALICE]


@pytest.mark.parametrize("href", [
    "https://matrix.to/#/!room:example.org", "https://matrix.to/#/#staff:example.org",
    "https://matrix.to/#/!room:example.org/$event", "https://matrix.to/#/@Alice:example.org",
    "https://matrix.to/#/@alice", f"https://matrix.to/#/{ALICE}/extra", "https://matrix.to/#/%40alice%0A%3Ax.org",
    f"https://matrix.to/#/@{'a' * 250}:example.org", "http://evil.example/#/@alice:example.org",
    "matrix:r/staff:example.org", "javascript:alert(1)", "", "https://matrix.to/#/",
])
def test_links_that_are_not_to_one_valid_user_are_not_pills(href):
    assert user_of_link(href) is None
    assert arguments(element("!checkin Alice", f'!checkin <a href="{href}">Alice</a>')) is None


def test_a_link_that_is_not_a_user_keeps_its_text_beside_a_pill_that_is():
    formatted = f'!refer {PILL} <a href="https://matrix.to/#/#calm:example.org">calm room</a>'
    assert arguments(element("!refer Alice Smith calm room", formatted)) == ["!refer", ALICE, "calm", "room"]


@pytest.mark.parametrize("content", [
    {"format": HTML, "formatted_body": 7}, {"format": HTML, "formatted_body": [PILL]},
    {"format": HTML, "formatted_body": None}, {"format": ["html"], "formatted_body": PILL},
    {"formatted_body": PILL}, {"format": "text/plain", "formatted_body": PILL},
    {"format": HTML, "formatted_body": f"!checkin {PILL}\ud800"},
    {"format": HTML, "formatted_body": f"!checkin {PILL}" + " " * MAX_HTML},
    {"format": HTML, "formatted_body": f'!checkin <a href="https://matrix.to/#/{ALICE}"'},  # the tag never ends
    {"format": HTML, "formatted_body": f"<mx-reply>!checkin {PILL}"},  # an unclosed quote hides everything
])
def test_html_bothy_cannot_read_leaves_the_body_as_it_is_and_the_message_is_kept(content):
    message = message_from_event(source({"msgtype": "m.text", "body": "!checkin Alice Smith", **content}), STAFF,
                                 encrypted=False, on_malformed=pytest.fail)
    assert message is not None and message.body == "!checkin Alice Smith" and message.command_text is None


@pytest.mark.parametrize(("formatted_body", "expected"), [
    (f"!checkin {PILL[:-4]}", "!checkin  @alice:example.org "),  # the pill is never closed
    (f"</a>!checkin <a <b {PILL} </a></mx-reply> < 3", "!checkin <a <b  @alice:example.org   < 3"),
    (f'!checkin <a href="https://matrix.to/#/{ALICE}"><a href="x">Al</a>ice</a> tail', f"!checkin  {ALICE}  tail"),
    (f'!checkin <a href=https://matrix.to/#/{ALICE}>A</a> <a title="x" HREF = \'matrix:u/bob:example.org\'/>',
     f"!checkin  {ALICE}   {BOB} "),
])
def test_malformed_html_is_read_without_raising(formatted_body, expected):
    assert command_text({"format": HTML, "formatted_body": formatted_body}) == expected


def test_the_largest_html_read_takes_linear_time():
    """html.parser takes seconds over 16 KB of unclosed tags on Python 3.11: any member could send that."""
    unclosed = "<a " * ((MAX_HTML - 100) // 3)
    started = time.perf_counter()
    text = command_text({"format": HTML, "formatted_body": f"!checkin {PILL}{unclosed}"})
    assert text == f"!checkin  {ALICE} {unclosed}"
    assert time.perf_counter() - started < 0.5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([PILL, "<a ", "</a>", "<mx-reply>", "</mx-reply>", "<br/>", "&nbsp;", "<", ">",
                                 '"', "'", "href=", "matrix:u/", "https://matrix.to/#/"]) | st.text(max_size=8),
                max_size=20).map("".join))
def test_any_html_gives_text_with_a_picked_id_or_nothing(formatted_body):
    text = command_text({"format": HTML, "formatted_body": formatted_body})
    assert text is None or (isinstance(text, str) and any(is_user_id(word) for word in text.split()))


# --- through the router ----------------------------------------------------------------------------------------

async def test_checkin_with_a_pill_runs_for_the_linked_matrix_id():
    ran: list[dict] = []
    effects = await routed(element("!checkin Alice Smith", f"!checkin {PILL}"), ran)
    assert ran == [{"user": ALICE}]
    assert len(effects.writes) == 1  # the audit line (its member is taken from these params)


async def test_refer_with_a_pill_keeps_the_typed_topic():
    ran: list[dict] = []
    await routed(element("!refer Alice Smith low mood", f"!refer {PILL} low mood"), ran)
    assert ran == [{"user": ALICE, "topic": "low mood"}]


async def test_without_a_pill_a_display_name_still_gets_the_usage_reply():
    ran: list[dict] = []
    effects = await routed({"msgtype": "m.text", "body": "!checkin Alice Smith"}, ran)
    assert ran == []
    assert "Matrix ID" in effects.items[0].content["body"]


async def test_the_body_alone_decides_whether_and_which_command_it_is():
    ran: list[dict] = []
    effects = await routed(element("hello Alice Smith", f"!checkin {PILL}"), ran)
    assert (ran, effects.items) == ([], [])
    await routed(element("!refer Alice Smith", f"!checkin {PILL}"), ran)
    assert ran == []  # the body's !refer, whose topic is missing
    # Nor which command of a family: the HTML's "archive" never replaces the body's "join".
    await routed(element("!group join Alice Smith", f"!group archive {PILL}"), ran)
    assert ran == [{"name": "Alice Smith"}]


async def routed(content: dict, ran: list[dict]) -> Effects:
    async def record(ctx: CommandContext) -> None:
        ran.append(ctx.params)

    registry = CommandRegistry([
        Command("checkin", "checkin", "check in", record, params=(UserId("user"),), role=Role.PEER_WORKER),
        Command("refer", "referral", "refer", record, params=(UserId("user"), Text("topic", 100)),
                role=Role.PEER_WORKER),
        Command("group join", "host", "join", record, params=(Text("name", 100),)),
        Command("group archive", "host", "archive", record, params=(Text("room", 100),)),
    ])
    router = CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(), lambda: STAFF)
    message = message_from_event(source(content), STAFF, encrypted=False, on_malformed=pytest.fail)
    effects = Effects(HOST)
    await router.handle(message, effects)
    return effects
