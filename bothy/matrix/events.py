"""Bothy's own view of incoming Matrix events, independent of nio, plus the pure rules that shape them.

Handlers only ever see these: edits already resolved to their new content, reply fallbacks (someone
else's quoted words) stripped, a file's caption as its text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from bothy.matrix.pills import command_text

TEXT_MSGTYPES = frozenset({"m.text", "m.emote", "m.notice"})
# Since spec v1.10 the `body` of these is a caption when a `filename` is present and differs from it.
CAPTIONED_MSGTYPES = frozenset({"m.image", "m.file", "m.video", "m.audio"})
# What a member types can be a command; a caption is not typed as one, and a notice must never be answered.
COMMAND_MSGTYPES = frozenset({"m.text", "m.emote"})
# The marks of a real reply fallback: the body's first line names who is quoted ("> <@alice:example.org> hi",
# "> * <@alice:example.org> waves" for an emote), or the HTML carries the quote in <mx-reply>.
FALLBACK_FIRST_LINE = re.compile(r"> (?:\* )?<@[^\s>]+>")
MX_REPLY = re.compile(r"<mx-reply[\s>]", re.IGNORECASE)
# Canonical JSON's integer range: nothing outside it is a real timestamp (past 2**63 SQLite overflows).
MAX_SAFE_INTEGER = 2**53 - 1
# What an event ID or type may look like in a log line: printable ASCII, no spaces, bounded.
LOGGABLE = re.compile(r"[\x21-\x7e]{1,255}")

T = TypeVar("T")
# Told the name of the field that made an event impossible to understand (never its value).
MalformedHandler = Callable[[str], None]


@dataclass(frozen=True)
class Message:
    room_id: str
    event_id: str
    sender: str
    body: str  # in memory only: never stored, never logged
    timestamp_ms: int
    msgtype: str
    encrypted: bool
    replaces: str | None = None  # set when this is an edit of that event
    reply_to: str | None = None
    # The text with each member picked from the autocomplete as their Matrix ID, when the message has such a
    # pill (else None): for the command router only. In memory only, like `body`.
    command_text: str | None = None
    # Sent before its sender was erased, handled after (bothy/storage/erasures.py): read for a cry for help only.
    sender_forgotten: bool = False


@dataclass(frozen=True)
class Reaction:
    room_id: str
    event_id: str
    sender: str
    timestamp_ms: int
    target_event_id: str
    key: str


@dataclass(frozen=True)
class Redaction:
    """An event taken back: a reaction clicked again in Element is redacted, and so is a deleted message."""

    room_id: str
    event_id: str
    sender: str
    redacts: str


@dataclass(frozen=True)
class Receipt:
    room_id: str
    user_id: str
    event_id: str
    timestamp_ms: int


@dataclass(frozen=True)
class Membership:
    """Someone's membership of a room changed: `user_id` is whose (the state key), not who changed it."""

    room_id: str
    user_id: str
    membership: str  # join, leave (also a kick), ban, invite or knock
    previous: str | None = None  # the membership before, when the homeserver says: join -> join is a profile change
    timestamp_ms: int | None = None  # when, if the event says so in a form that reads as a time


@dataclass(frozen=True)
class Undecryptable:
    room_id: str
    event_id: str
    sender: str
    timestamp_ms: int
    session_id: str


@dataclass(frozen=True)
class RoomKeyArrived:
    session_id: str


InboundEvent = Message | Reaction | Redaction | Receipt | Membership | Undecryptable | RoomKeyArrived


def has_reply_fallback(content: dict[str, Any], body: str) -> bool:
    """Whether a reply's body starts with a fallback. Clients following spec v1.13 send none, and then a
    member's own leading '>' lines (a quote they chose, or '>:(') are their words, not someone else's."""
    html = content.get("formatted_body")  # read leniently: HTML of the wrong type never drops the message
    return FALLBACK_FIRST_LINE.match(body) is not None or (isinstance(html, str) and MX_REPLY.search(html) is not None)


def strip_reply_fallback(body: str) -> str:
    """Drop the leading '> quoted' lines Element adds to replies: they are someone else's words."""
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index == 0:
        return body
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def message_from_event(
    source: dict[str, Any], room_id: str, encrypted: bool, on_malformed: MalformedHandler | None = None
) -> Message | None:
    """A room message as handlers should see it, or None when it is not a text-like message. A photo, video,
    voice note or file is one too, with its caption as its text, or no text at all: sharing one is taking part.

    Total over any JSON: one event with a field of the wrong type must not stop the sync loop, so
    such an event is None too, and `on_malformed` hears which field (never its value).
    """
    return _understood(lambda: _message(source, room_id, encrypted), on_malformed)


def _message(source: Any, room_id: str, encrypted: bool) -> Message | None:
    event_id, sender, timestamp_ms = _envelope(source)
    content = _required_object(source, "content")
    relates = _object(content, "m.relates_to") or {}
    replaces = None
    if _text(relates, "rel_type") == "m.replace":
        replaces = _required_text(relates, "event_id")
        content = _required_object(content, "m.new_content")
    body = _text(content, "body")
    msgtype = _text(content, "msgtype")
    if body is None or msgtype is None:
        return None
    if msgtype in CAPTIONED_MSGTYPES and not _captioned(content, msgtype, body):
        body = ""  # a photo or file shared without words is still taking part; its file name is nobody's words
    elif msgtype not in TEXT_MSGTYPES and msgtype not in CAPTIONED_MSGTYPES:
        return None
    in_reply_to = _object(relates, "m.in_reply_to")
    reply_to = _text(in_reply_to, "event_id") if in_reply_to is not None else None
    if reply_to and replaces is None and has_reply_fallback(content, body):
        body = strip_reply_fallback(body)
    if relates.get("is_falling_back") is True:
        reply_to = None  # a plain message in a thread: "in reply to" the thread's last post only for old clients
    picked = command_text(content)  # an optional extra: HTML Bothy cannot read never drops the message
    return Message(room_id=room_id, event_id=event_id, sender=sender, body=body, timestamp_ms=timestamp_ms,
                   msgtype=msgtype, encrypted=encrypted, replaces=replaces, reply_to=reply_to or None,
                   command_text=picked if picked is not None and _encodable(picked) else None)


def _captioned(content: dict[str, Any], msgtype: str, body: str) -> bool:
    """A photo, video, voice note or file whose body is words the member wrote (spec v1.10), not its file name:
    'the bridge I'm going to jump from tonight' under a photo must be read like any message."""
    if msgtype not in CAPTIONED_MSGTYPES or not body:
        return False
    filename = _text(content, "filename")
    return bool(filename) and filename != body


def reaction_from_event(
    source: dict[str, Any], room_id: str, on_malformed: MalformedHandler | None = None
) -> Reaction | None:
    """An `m.annotation` reaction, or None; total like `message_from_event`."""
    return _understood(lambda: _reaction(source, room_id), on_malformed)


def _reaction(source: Any, room_id: str) -> Reaction | None:
    event_id, sender, timestamp_ms = _envelope(source)
    relates = _object(_required_object(source, "content"), "m.relates_to")
    if relates is None or _text(relates, "rel_type") != "m.annotation":
        return None
    return Reaction(room_id=room_id, event_id=event_id, sender=sender, timestamp_ms=timestamp_ms,
                    target_event_id=_required_text(relates, "event_id"),
                    key=reaction_key(_required_text(relates, "key")))


def redaction_from_event(
    source: dict[str, Any], room_id: str, on_malformed: MalformedHandler | None = None
) -> Redaction | None:
    """An `m.room.redaction`, or None; total like `message_from_event`."""
    return _understood(lambda: _redaction(source, room_id), on_malformed)


def _redaction(source: Any, room_id: str) -> Redaction:
    event_id, sender, _ = _envelope(source)
    # Room version 11 moved `redacts` into the content; earlier versions have it beside it.
    content = _object(source, "content") or {}
    redacts = _text(content, "redacts") or _required_text(source, "redacts")
    return Redaction(room_id=room_id, event_id=event_id, sender=sender, redacts=redacts)


# Variation selectors (emoji style U+FE0F, text style U+FE0E) and skin tones (U+1F3FB to U+1F3FF): dropped from keys.
_KEY_DECORATIONS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def reaction_key(key: str) -> str:
    """Clients send some emoji with and some without a variation selector, and a member's own 👍 or 👋 often in their
    skin tone (Element X, phone keyboards): a reaction's key is kept without either, so every listener compares plain
    keys, and 👍🏽 answers as 👍 does (a spec auditor's, thirty-second session)."""
    return _KEY_DECORATIONS.sub("", key)


def undecryptable_from_event(
    source: dict[str, Any], room_id: str, on_malformed: MalformedHandler | None = None
) -> Undecryptable | None:
    """An encrypted event Bothy has no key for yet, or None when its fields are of the wrong type."""
    return _understood(lambda: _undecryptable(source, room_id), on_malformed)


def _undecryptable(source: Any, room_id: str) -> Undecryptable:
    event_id, sender, timestamp_ms = _envelope(source)
    return Undecryptable(room_id, event_id, sender, timestamp_ms,
                         _required_text(_required_object(source, "content"), "session_id"))


def membership_from_event(
    source: dict[str, Any], room_id: str, on_malformed: MalformedHandler | None = None
) -> Membership | None:
    """An `m.room.member` change, or None; total like `message_from_event`."""
    return _understood(lambda: _membership(source, room_id), on_malformed)


def _membership(source: Any, room_id: str) -> Membership:
    if not isinstance(source, dict):
        raise _Malformed("event")
    previous = (source.get("unsigned") or {}).get("prev_content") if isinstance(source.get("unsigned"), dict) else None
    before = previous.get("membership") if isinstance(previous, dict) else None  # a hint only: odd values are None
    at = source.get("origin_server_ts")
    return Membership(room_id, _required_text(source, "state_key"),
                      _required_text(_required_object(source, "content"), "membership"),
                      before if isinstance(before, str) else None,
                      at if isinstance(at, int) and not isinstance(at, bool) else None)


def receipt_from(room_id: str, user_id: Any, event_id: Any, timestamp_ms: Any) -> Receipt | None:
    """A read receipt, or None when a field has the wrong type: nio's schema checks only the entries
    keyed by a well-formed user ID, so anything else arrives unchecked."""
    values = {"user_id": user_id, "event_id": event_id, "ts": timestamp_ms}
    try:
        return Receipt(room_id, _required_text(values, "user_id"), _required_text(values, "event_id"),
                       _timestamp(values, "ts"))
    except _Malformed:
        return None


def loggable(value: Any) -> str:
    """An event ID or type as it may appear in a log line: a malformed event could carry any text
    there, and logs must never hold message content."""
    if isinstance(value, str) and LOGGABLE.fullmatch(value):
        return value
    return "<unloggable>"


def _understood(parse: Callable[[], T | None], on_malformed: MalformedHandler | None) -> T | None:
    try:
        return parse()
    except _Malformed as error:
        if on_malformed is not None:
            on_malformed(error.field)
        return None


class _Malformed(Exception):
    """A field Bothy reads is present with the wrong JSON type (or a required one is missing or empty)."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


def _envelope(source: Any) -> tuple[str, str, int]:
    if not isinstance(source, dict):
        raise _Malformed("event")
    return _required_text(source, "event_id"), _required_text(source, "sender"), _timestamp(source, "origin_server_ts")


def _text(mapping: dict[str, Any], key: str) -> str | None:
    """The string at `key`, None when absent or null. Lone surrogates count as the wrong type: such a
    string cannot be encoded to be stored or sent."""
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _encodable(value):
        raise _Malformed(key)
    return value


def _required_text(mapping: dict[str, Any], key: str) -> str:
    value = _text(mapping, key)
    if not value:
        raise _Malformed(key)
    return value


def _object(mapping: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Malformed(key)
    return value


def _required_object(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    value = _object(mapping, key)
    if value is None:
        raise _Malformed(key)
    return value


def _timestamp(mapping: dict[str, Any], key: str) -> int:
    value = mapping.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SAFE_INTEGER:
        raise _Malformed(key)
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def invite_allowed(inviter: str, allowed_servers: frozenset[str]) -> bool:
    """Invites are accepted only from people on the community's own servers."""
    return server_of(inviter) in allowed_servers


def in_thread(content: dict[str, Any], root_event_id: str) -> dict[str, Any]:
    """The same message as a reply in the thread under `root_event_id` (clients without threads show a reply)."""
    return {**content, "m.relates_to": {"rel_type": "m.thread", "event_id": root_event_id,
                                        "is_falling_back": True, "m.in_reply_to": {"event_id": root_event_id}}}
