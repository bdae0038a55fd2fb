"""A room's power levels as the homeserver holds them: what a member's level is, and what an event takes."""

from __future__ import annotations

import re
from typing import Any

LEVEL_TEXT = re.compile(r"-?\d{1,15}")


def power_level(value: object) -> int | None:
    """A power level as the room holds it: a number, or (rooms before version 10) a number written as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and LEVEL_TEXT.fullmatch(value.strip()) else None


def level_of(levels: dict[str, Any], user_id: str) -> int | None:
    """A member's level in a room's power levels: their own, else `users_default` (0 unless set)."""
    users = levels.get("users")
    return power_level(users[user_id] if isinstance(users, dict) and user_id in users
                       else levels.get("users_default", 0))


def level_to_send(levels: dict[str, Any], event_type: str, default_key: str, default: int) -> int | None:
    """The level sending this event type takes: its own in `events`, else the room's `default_key` (`default` unset)."""
    events = levels.get("events")
    return power_level(events[event_type] if isinstance(events, dict) and event_type in events
                       else levels.get(default_key, default))


def may_speak(levels: dict[str, Any], user_id: str) -> bool:
    """Whether the member's level lets them post messages there (a mute puts it below); levels not understood are
    not held against them."""
    mine, needed = level_of(levels, user_id), level_to_send(levels, "m.room.message", "events_default", 0)
    return mine is None or needed is None or mine >= needed
