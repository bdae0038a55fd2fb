"""Reading settings from the YAML tree: the engine's sections and each bot's own.

Every problem is recorded against its dotted key and reported together, so an admin fixes the file
in one go. Bots read their sections through the same reader, with the same helpers, so their errors
look like the engine's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PLACEHOLDER_SECRETS = {"...", "change-me", "changeme", "CHANGE-ME", "password", "secret"}
ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MATRIX_USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
MAX_USER_ID_LENGTH = 255  # the Matrix spec's limit
DURATION = re.compile(r"^\s*(\d{1,9})\s*(s|m|h|d|w)\s*$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION_S = 3650 * 86400  # ten years: longer is no setting anyone means


def is_user_id(text: str) -> bool:
    """A well-formed Matrix user ID, exactly as given: IDs are not case-folded, so a capital is refused, not guessed."""
    return len(text) <= MAX_USER_ID_LENGTH and MATRIX_USER_ID.fullmatch(text) is not None


def parse_duration(text: str) -> int:
    """'90s', '10m', '2h', '1d' or '2w' -> seconds."""
    match = DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 2h, 1d or 2w")
    return int(match.group(1)) * DURATION_SECONDS[match.group(2)]


def usable_path(text: str) -> bool:
    """Whether the OS can take `text` as a path: no NUL byte, and nothing the file system encoding can't write."""
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


class SettingsReader:
    """Walks the YAML tree, records problems by dotted key, and flags keys nobody asked for."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.problems: list[str] = []
        self.warnings: list[str] = []  # allowed, but an admin should know (e.g. a public http:// address)
        self.seen: set[str] = set()
        self.staff_room: str | None = None  # `staff.room` as written, once the engine has read it

    def not_the_staff_room(self, key: str, room: str | None) -> None:
        """A room a bot opens to members (`key`) must not be the staff room as `staff.room` writes it: its alerts name
        members. (The same room under another alias, or by its ID, cannot be told before start-up.)"""
        if room is not None and self.staff_room is not None and room.strip() == self.staff_room.strip():
            self.problems.append(f"{key}: is the staff room (staff.room), whose alerts name members; give a room of "
                                 "its own")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., secret: bool = False) -> Any:
        self.seen.add(key)
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is ...:
                    self.problems.append(f"{key}: required")
                return None if default is ... else default
            node = node[part]
        if node is None and default is not ...:
            return default
        if isinstance(node, str):
            node = self._resolve_env(key, node)
            if node is None:  # the problem is noted; the default keeps later checks from tripping over None
                return None if default is ... else default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # YAML reads yes, no, on and off as booleans, and a bool is an int to Python: never a number or duration here.
        if not isinstance(node, kind) or (isinstance(node, bool) and bool not in kinds):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.problems.append(f"{key}: expected {expected}, got {type(node).__name__}")
            return None if default is ... else default
        if secret and isinstance(node, str) and node.strip() in PLACEHOLDER_SECRETS:
            self.problems.append(f"{key}: still the example value; set a real secret (or ${{ENV_VAR}})")
            return None
        return node

    def _resolve_env(self, key: str, value: str) -> str | None:
        match = ENV_REFERENCE.match(value.strip())
        if not match:
            if "${" in value:  # "${DATA}/bothy.sqlite3" would be taken as it is written, a folder named "${DATA}"
                self.problems.append(f"{key}: ${{ENV_VAR}} works only as the whole value")
                return None
            return value
        resolved = os.environ.get(match.group(1))
        if resolved is None:
            self.problems.append(f"{key}: environment variable {match.group(1)} is not set")
        return resolved

    def path(self, key: str, base_dir: Path, default: str | None = None) -> Path | None:
        """A file or folder path, relative ones from the config's folder; None (with a problem) if the OS
        could not take it, or when unset with no default."""
        text = self.get(key, str, default=default)
        if text is None:
            return None
        if not usable_path(text):
            self.problems.append(f"{key}: not a usable path (a NUL or an unencodable character)")
            return None
        value = Path(text)
        return value if value.is_absolute() else (base_dir / value).resolve()

    def check(self, key: str, value: Any, test: Callable[[Any], bool], message: str) -> None:
        if value is not None and not test(value):
            self.problems.append(f"{key}: {message}")

    def duration(self, key: str, default: str, allow_zero: bool = False) -> int:
        """A duration in seconds. Zero is refused unless it has a meaning (it would mean 'never' or 'always')."""
        raw = self.get(key, (str, int), default=default)
        if isinstance(raw, int):  # a number alone is meant in some unit nobody wrote: "14" for a fortnight's gap
            if raw != 0:
                self.problems.append(f"{key}: needs its unit, like {raw}s, {raw}m, {raw}h, {raw}d or {raw}w")
                return parse_duration(default)
            seconds = 0
        else:
            try:
                seconds = parse_duration(raw)
            except ValueError as error:
                self.problems.append(f"{key}: {error}")
                return parse_duration(default)
        if seconds < 0 or (seconds == 0 and not allow_zero):
            self.problems.append(f"{key}: must be longer than zero, e.g. {default}")
            return parse_duration(default)
        if seconds > MAX_DURATION_S:  # no setting means that long, and sweeps' arithmetic overflows SQLite's integers
            self.problems.append(f"{key}: must be at most {MAX_DURATION_S // 86400}d")
            return parse_duration(default)
        return seconds

    def user_ids(self, key: str) -> frozenset[str]:
        values = self.get(key, list, default=[]) or []
        good = set()
        for index, value in enumerate(values):
            if isinstance(value, str) and is_user_id(value):
                good.add(value)
            else:
                self.problems.append(f"{key}[{index}]: {value!r} is not a Matrix user ID like @sam:example.org")
        return frozenset(good)

    def unknown_keys(self) -> None:
        def walk(node: Any, prefix: str) -> None:
            if not isinstance(node, Mapping):
                return
            for name, child in node.items():
                key = f"{prefix}{name}"
                if key in self.seen:
                    continue
                if any(seen.startswith(key + ".") for seen in self.seen):
                    walk(child, key + ".")
                else:
                    self.problems.append(f"{key}: unknown key")

        walk(self.data, "")
