"""Load and validate Bothy's YAML configuration.

Every problem is collected and reported at once, each naming its key, so an admin fixes the
file in one go instead of restarting once per mistake.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bothy.schedules import ScheduleError, parse_schedule

BOT_NAMES = ("host", "checkin", "mood", "referral")
PLACEHOLDER_SECRETS = {"...", "change-me", "changeme", "CHANGE-ME", "password", "secret"}
ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
MATRIX_USER_ID = re.compile(r"^@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(:\d+)?$")
ROOM_REFERENCE = re.compile(r"^[#!][^:\s]+:[A-Za-z0-9.\-]+(:\d+)?$")
DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
DURATION_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """The configuration has problems; `problems` lists each one with its key."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class BotAccount:
    user_id: str
    password: str | None
    access_token: str | None

    @property
    def server_name(self) -> str:
        return self.user_id.split(":", 1)[1]


@dataclass(frozen=True)
class CheckinSettings:
    min_gap_s: int
    quiet_hours: tuple[int, int]  # minutes after midnight, local time: [start, end)
    window_s: int
    baseline_weeks: int
    drop_ratio: float
    silent_after_s: int
    new_member_grace_s: int
    pause_s: int
    max_per_sweep: int


@dataclass(frozen=True)
class StressSettings:
    listen_host: str
    listen_port: int
    public_url: str
    threshold: int
    sustained_s: int
    min_interval_s: int
    max_age_s: int


@dataclass(frozen=True)
class Config:
    homeserver_url: str
    database_path: Path
    crypto_store_dir: Path
    pickle_key: str
    bots: Mapping[str, BotAccount]
    staff_room: str
    peer_workers: frozenset[str]
    admins: frozenset[str]
    volunteers: frozenset[str]
    allowed_servers: frozenset[str]
    timezone: ZoneInfo
    schedules: Mapping[str, str]
    command_prefix: str
    command_max_age_s: int
    undecryptable_wait_s: int
    alert_remind_after_s: int
    handled_events_retention_days: int
    mood_min_contributors: int
    referral_kb_dirs: tuple[Path, ...]
    referral_cooldown_s: int
    referral_crisis_cooldown_s: int
    templates_override_dir: Path | None
    checkin: CheckinSettings
    stress: StressSettings
    log_level: str
    source_path: Path | None = field(default=None, compare=False)

    @property
    def accounts(self) -> dict[str, BotAccount]:
        """Distinct Matrix accounts keyed by user ID: bots that share an account share a client."""
        return {account.user_id: account for account in self.bots.values()}

    def bots_on(self, user_id: str) -> tuple[str, ...]:
        return tuple(name for name, account in self.bots.items() if account.user_id == user_id)


def parse_duration(text: str) -> int:
    """'90s', '10m', '2h', '1d' or '2w' -> seconds."""
    match = DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 10m, 2h, 1d or 2w")
    return int(match.group(1)) * DURATION_SECONDS[match.group(2)]


class _Reader:
    """Walks the YAML tree, records problems by dotted key, and flags keys nobody asked for."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.problems: list[str] = []
        self.seen: set[str] = set()

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
            if node is None:
                return None
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
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
            return value
        resolved = os.environ.get(match.group(1))
        if resolved is None:
            self.problems.append(f"{key}: environment variable {match.group(1)} is not set")
        return resolved

    def check(self, key: str, value: Any, test: Callable[[Any], bool], message: str) -> None:
        if value is not None and not test(value):
            self.problems.append(f"{key}: {message}")

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


def _user_ids(reader: _Reader, key: str) -> frozenset[str]:
    values = reader.get(key, list, default=[]) or []
    good = set()
    for index, value in enumerate(values):
        if isinstance(value, str) and MATRIX_USER_ID.match(value):
            good.add(value)
        else:
            reader.problems.append(f"{key}[{index}]: {value!r} is not a Matrix user ID like @sam:example.org")
    return frozenset(good)


def _duration(reader: _Reader, key: str, default: str) -> int:
    raw = reader.get(key, (str, int), default=default)
    if isinstance(raw, int):
        return raw
    try:
        return parse_duration(raw)
    except ValueError as error:
        reader.problems.append(f"{key}: {error}")
        return 0


def _read_bots(reader: _Reader) -> dict[str, BotAccount]:
    raw = reader.get("bots", dict) or {}
    bots: dict[str, BotAccount] = {}
    for name in raw:
        if name not in BOT_NAMES:
            reader.seen.add(f"bots.{name}")
            reader.problems.append(f"bots.{name}: unknown bot (known: {', '.join(BOT_NAMES)})")
    for name in BOT_NAMES:
        if name not in raw:
            continue
        user_id = reader.get(f"bots.{name}.user_id", str)
        password = reader.get(f"bots.{name}.password", str, default=None, secret=True)
        token = reader.get(f"bots.{name}.access_token", str, default=None, secret=True)
        reader.check(f"bots.{name}.user_id", user_id, lambda v: bool(MATRIX_USER_ID.match(v)),
                     "not a Matrix user ID like @bothy:example.org")
        if not {"password", "access_token"} & set(raw[name] or {}):
            reader.problems.append(f"bots.{name}: needs a password or an access_token")
        if user_id:
            bots[name] = BotAccount(user_id=user_id, password=password, access_token=token)
    if "host" not in raw:
        reader.problems.append("bots.host: required (bots you leave out run on the host account)")
    elif "host" in bots:
        for name in BOT_NAMES:
            bots.setdefault(name, bots["host"])
    for name, account in bots.items():
        for other, other_account in bots.items():
            if other < name and other_account.user_id == account.user_id and other_account != account:
                reader.problems.append(
                    f"bots.{name}: shares {account.user_id} with bots.{other} but with different credentials"
                )
    return bots


def _read_schedules(reader: _Reader, timezone: ZoneInfo) -> dict[str, str]:
    defaults = {
        "checkin_sweep": "every 10m",
        "mood_prompt": "0 10 * * *",
        "mood_weather": "0 20 * * *",
        "retention_sweep": "0 3 * * *",
        "alert_reminders": "every 1m",
    }
    schedules = {}
    for name, default in defaults.items():
        expression = reader.get(f"schedules.{name}", str, default=default)
        try:
            parse_schedule(expression, timezone)
        except ScheduleError as error:
            reader.problems.append(f"schedules.{name}: {error}")
        schedules[name] = expression
    return schedules


QUIET_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _read_checkin(reader: _Reader) -> CheckinSettings:
    hours = reader.get("checkin.quiet_hours", str, default="21:00-09:00")
    match = QUIET_HOURS.match(hours or "")
    quiet = (0, 0)
    if not match or int(match.group(1)) > 23 or int(match.group(3)) > 23 or int(match.group(2)) > 59 \
            or int(match.group(4)) > 59:
        reader.problems.append("checkin.quiet_hours: must look like 21:00-09:00 (organisation time zone)")
    else:
        quiet = (int(match.group(1)) * 60 + int(match.group(2)), int(match.group(3)) * 60 + int(match.group(4)))
    ratio = reader.get("checkin.drop_ratio", (int, float), default=0.25)
    reader.check("checkin.drop_ratio", ratio, lambda v: 0 < v < 1, "must be between 0 and 1, e.g. 0.25")
    per_sweep = reader.get("checkin.max_per_sweep", int, default=200)
    reader.check("checkin.max_per_sweep", per_sweep, lambda v: v >= 1, "must be at least 1")
    weeks = reader.get("checkin.baseline_weeks", int, default=4)
    reader.check("checkin.baseline_weeks", weeks, lambda v: 1 <= v <= 8, "must be 1 to 8")
    return CheckinSettings(
        min_gap_s=_duration(reader, "checkin.min_gap", "14d"),
        quiet_hours=quiet,
        window_s=_duration(reader, "checkin.window", "7d"),
        baseline_weeks=weeks or 4,
        drop_ratio=float(ratio or 0.25),
        silent_after_s=_duration(reader, "checkin.silent_after", "10d"),
        new_member_grace_s=_duration(reader, "checkin.new_member_grace", "14d"),
        pause_s=_duration(reader, "checkin.pause", "30d"),
        max_per_sweep=per_sweep or 200,
    )


def _read_stress(reader: _Reader) -> StressSettings:
    listen = reader.get("stress.listen", str, default="127.0.0.1:8787")
    host, _, port = (listen or "").rpartition(":")
    if not host or not port.isdigit():
        reader.problems.append("stress.listen: must be host:port, e.g. 127.0.0.1:8787")
    public_url = reader.get("stress.public_url", str, default=f"http://{listen}")
    reader.check("stress.public_url", public_url, lambda v: v.startswith(("http://", "https://")),
                 "must start with http:// or https://")
    threshold = reader.get("stress.threshold", int, default=70)
    reader.check("stress.threshold", threshold, lambda v: 1 <= v <= 100, "must be 1 to 100")
    return StressSettings(
        listen_host=host or "127.0.0.1",
        listen_port=int(port) if port.isdigit() else 8787,
        public_url=(public_url or "").rstrip("/"),
        threshold=threshold or 70,
        sustained_s=_duration(reader, "stress.sustained", "30m"),
        min_interval_s=_duration(reader, "stress.min_interval", "10s"),
        max_age_s=_duration(reader, "stress.max_age", "1h"),
    )


def load_config(path: str | Path) -> Config:
    """Read, resolve and validate a config file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise ConfigError([f"{path}: cannot read ({error.strerror})"]) from error
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML ({error})"]) from error
    if not isinstance(data, Mapping):
        raise ConfigError([f"{path}: the top level must be a mapping of keys"])
    return parse_config(data, base_dir=path.parent, source_path=path)


def parse_config(data: Mapping[str, Any], base_dir: Path, source_path: Path | None = None) -> Config:
    reader = _Reader(data)

    def local_path(key: str, default: str) -> Path:
        value = Path(reader.get(key, str, default=default))
        return value if value.is_absolute() else (base_dir / value).resolve()

    homeserver_url = reader.get("homeserver.url", str)
    reader.check("homeserver.url", homeserver_url, lambda v: v.startswith(("http://", "https://")),
                 "must start with http:// or https://")
    database_path = local_path("database.path", "./data/bothy.sqlite3")
    crypto_store_dir = local_path("crypto.store_dir", "./data/crypto")
    pickle_key = reader.get("crypto.pickle_key", str, secret=True)
    bots = _read_bots(reader)

    staff_room = reader.get("staff.room", str)
    reader.check("staff.room", staff_room, lambda v: bool(ROOM_REFERENCE.match(v)),
                 "must be a room alias (#peer-workers:example.org) or room ID (!abc:example.org)")
    peer_workers = _user_ids(reader, "staff.peer_workers")
    admins = _user_ids(reader, "staff.admins")
    if not peer_workers and "staff.peer_workers: required" not in reader.problems:
        reader.problems.append("staff.peer_workers: list at least one peer worker to receive alerts")
    volunteers = _user_ids(reader, "community.volunteers")
    servers = reader.get("community.allowed_servers", list)
    allowed_servers = frozenset(s for s in (servers or []) if isinstance(s, str))
    if servers is not None and not allowed_servers:
        reader.problems.append("community.allowed_servers: list at least one server name")

    timezone_name = reader.get("timezone", str, default="Europe/London")
    try:
        timezone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        reader.problems.append(f"timezone: {timezone_name!r} is not an IANA time zone like Europe/London")
        timezone = ZoneInfo("UTC")
    schedules = _read_schedules(reader, timezone)

    prefix = reader.get("commands.prefix", str, default="!")
    reader.check("commands.prefix", prefix, lambda v: len(v.strip()) == len(v) and 0 < len(v) <= 3,
                 "must be 1 to 3 characters without spaces")
    command_max_age_s = _duration(reader, "commands.max_age", "10m")
    undecryptable_wait_s = _duration(reader, "crypto.undecryptable_wait", "2m")
    alert_remind_after_s = _duration(reader, "staff.remind_unclaimed_after", "30m")
    retention_days = reader.get("retention.handled_events_days", int, default=7)
    reader.check("retention.handled_events_days", retention_days, lambda v: v >= 1, "must be at least 1")

    k = reader.get("mood.min_contributors", int, default=5)
    reader.check("mood.min_contributors", k, lambda v: v >= 3, "must be at least 3 (smaller groups identify people)")

    kb_dirs = reader.get("referral.kb_dirs", list, default=["./referral_kb"]) or []
    referral_kb_dirs = tuple(
        (Path(d) if Path(d).is_absolute() else (base_dir / d).resolve()) for d in kb_dirs if isinstance(d, str)
    )
    referral_cooldown_s = _duration(reader, "referral.cooldown", "24h")
    referral_crisis_cooldown_s = _duration(reader, "referral.crisis_cooldown", "1h")
    override = reader.get("templates.override_dir", str, default=None)
    templates_override_dir = None
    if override:
        templates_override_dir = Path(override) if Path(override).is_absolute() else (base_dir / override).resolve()
    checkin = _read_checkin(reader)
    stress = _read_stress(reader)
    log_level = reader.get("logging.level", str, default="INFO")
    reader.check("logging.level", log_level, lambda v: v.upper() in {"DEBUG", "INFO", "WARNING", "ERROR"},
                 "must be DEBUG, INFO, WARNING or ERROR")

    reader.unknown_keys()
    if reader.problems:
        raise ConfigError(reader.problems)
    return Config(
        homeserver_url=homeserver_url.rstrip("/"),
        database_path=database_path,
        crypto_store_dir=crypto_store_dir,
        pickle_key=pickle_key,
        bots=bots,
        staff_room=staff_room,
        peer_workers=peer_workers,
        admins=admins,
        volunteers=volunteers,
        allowed_servers=allowed_servers,
        timezone=timezone,
        schedules=schedules,
        command_prefix=prefix,
        command_max_age_s=command_max_age_s,
        undecryptable_wait_s=undecryptable_wait_s,
        alert_remind_after_s=alert_remind_after_s,
        handled_events_retention_days=retention_days,
        mood_min_contributors=k,
        referral_kb_dirs=referral_kb_dirs,
        referral_cooldown_s=referral_cooldown_s,
        referral_crisis_cooldown_s=referral_crisis_cooldown_s,
        templates_override_dir=templates_override_dir,
        checkin=checkin,
        stress=stress,
        log_level=log_level.upper(),
        source_path=source_path,
    )
