"""Bothy's own view of incoming Matrix events, independent of nio, plus the pure rules that shape them.

Handlers only ever see these: edits already resolved to their new content, reply fallbacks (someone
else's quoted words) stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REPLY_FALLBACK_HTML = re.compile(r"^<mx-reply>.*?</mx-reply>", re.DOTALL)


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


@dataclass(frozen=True)
class Reaction:
    room_id: str
    event_id: str
    sender: str
    timestamp_ms: int
    target_event_id: str
    key: str


@dataclass(frozen=True)
class Receipt:
    room_id: str
    user_id: str
    event_id: str
    timestamp_ms: int


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


InboundEvent = Message | Reaction | Receipt | Undecryptable | RoomKeyArrived


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
    source: dict[str, Any], room_id: str, encrypted: bool
) -> Message | None:
    """A room message as handlers should see it, or None when it is not a text-like message."""
    content = source.get("content") or {}
    relates = content.get("m.relates_to") or {}
    replaces = None
    if relates.get("rel_type") == "m.replace" and isinstance(content.get("m.new_content"), dict):
        replaces = relates.get("event_id")
        content = content["m.new_content"]
    body = content.get("body")
    msgtype = content.get("msgtype")
    if not isinstance(body, str) or msgtype not in {"m.text", "m.emote", "m.notice"}:
        return None
    reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
    if reply_to and replaces is None:
        body = strip_reply_fallback(body)
    return Message(
        room_id=room_id,
        event_id=source.get("event_id", ""),
        sender=source.get("sender", ""),
        body=body,
        timestamp_ms=int(source.get("origin_server_ts") or 0),
        msgtype=msgtype,
        encrypted=encrypted,
        replaces=replaces,
        reply_to=reply_to,
    )


def reaction_from_event(source: dict[str, Any], room_id: str) -> Reaction | None:
    relates = (source.get("content") or {}).get("m.relates_to") or {}
    if relates.get("rel_type") != "m.annotation" or not relates.get("event_id") or not relates.get("key"):
        return None
    return Reaction(
        room_id=room_id,
        event_id=source.get("event_id", ""),
        sender=source.get("sender", ""),
        timestamp_ms=int(source.get("origin_server_ts") or 0),
        target_event_id=relates["event_id"],
        key=relates["key"],
    )


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def invite_allowed(inviter: str, allowed_servers: frozenset[str]) -> bool:
    """Invites are accepted only from people on the community's own servers."""
    return server_of(inviter) in allowed_servers


def in_thread(content: dict[str, Any], root_event_id: str) -> dict[str, Any]:
    """The same message as a reply in the thread under `root_event_id` (clients without threads show a reply)."""
    return {**content, "m.relates_to": {"rel_type": "m.thread", "event_id": root_event_id,
                                        "is_falling_back": True, "m.in_reply_to": {"event_id": root_event_id}}}
