"""Members picked from a client's autocomplete ("pills"), read back as their Matrix IDs.

Element puts a picked member's display name in a message's plain `body` and their Matrix ID only in the
link target of its HTML `formatted_body`. A command naming a member needs the ID, and must never look anyone
up by a display name, so the HTML is turned back into text here with each pill replaced by the ID its link
names: the member the sender picked.

A small tokenizer rather than `html.parser`: on Python 3.11 that parser takes quadratic time on unclosed
tags (16 KiB of `<a ` costs seconds), and any member can send any HTML. This one is linear, never raises,
and reads only what a command needs: text, links, line breaks, and `<mx-reply>` (a quoted reply, someone
else's words) to leave out.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

from bothy.settings import is_user_id

HTML_FORMAT = "org.matrix.custom.html"
MAX_HTML = 16 * 1024  # longer formatted bodies are not read at all: their pills are ignored
# A tag with no '<' or '>' inside; anything else is text. Each character is scanned at most twice.
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>|<![^<>]*>")
HREF = re.compile(r"""(?:^|\s)href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`]+))""", re.IGNORECASE)
# Where a user link starts, and what its target lacks of a Matrix ID (a `matrix:` URI drops the '@').
USER_LINKS = {"https://matrix.to/#/": "", "matrix:u/": "@"}
LINE_BREAKS = frozenset({"br", "p", "div", "li", "tr", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6"})


def command_text(content: dict[str, Any]) -> str | None:
    """The message's HTML as plain text with every pill as its member's Matrix ID, or None when it has
    no pill (or no HTML Bothy will read): then the body is the command text as it is."""
    formatted = content.get("formatted_body")
    if (content.get("format") != HTML_FORMAT or not isinstance(formatted, str) or len(formatted) > MAX_HTML
            or not any(link in formatted for link in USER_LINKS)):
        return None
    text, picked = _text_with_pills(formatted)
    return text if picked else None


def user_of_link(href: str) -> str | None:
    """The Matrix ID a link names when it is a link to a user (not a room, an alias or an event), else None."""
    for prefix, sigil in USER_LINKS.items():
        if href.startswith(prefix):
            user = sigil + unquote(href[len(prefix):].split("?", 1)[0])
            if is_user_id(user):
                return user
    return None


def _text_with_pills(formatted: str) -> tuple[str, int]:
    """The text and how many pills it had; tags that never close just end where the text does."""
    parts: list[str] = []
    picked = 0
    in_reply = 0  # depth of <mx-reply>: nothing inside is the sender's own
    in_pill = 0  # depth of <a> inside a pill: its visible text is replaced by the ID
    position = 0
    for tag in TAG.finditer(formatted):
        if not (in_reply or in_pill):
            parts.append(html.unescape(formatted[position:tag.start()]))
        position = tag.end()
        closing, name, attributes = tag.group(1) == "/", (tag.group(2) or "").lower(), tag.group(3) or ""
        self_closing = attributes.rstrip().endswith("/")
        if name == "mx-reply":
            in_reply = max(0, in_reply - 1) if closing else in_reply + 1
        elif in_reply:
            continue
        elif in_pill:
            if name == "a" and not self_closing:
                in_pill += -1 if closing else 1
        elif name == "a" and not closing:
            user = _linked_user(attributes)
            if user is not None:
                parts.append(f" {user} ")
                picked += 1
                in_pill = 0 if self_closing else 1
        elif name in LINE_BREAKS:
            parts.append("\n")
    if not (in_reply or in_pill):
        parts.append(html.unescape(formatted[position:]))
    return "".join(parts), picked


def _linked_user(attributes: str) -> str | None:
    """The user an `<a>` tag's href names, its entities decoded first (`&amp;` in a query, say)."""
    href = HREF.search(attributes)
    if href is None:
        return None
    return user_of_link(html.unescape(next(value for value in href.group(1, 2, 3) if value is not None)).strip())
