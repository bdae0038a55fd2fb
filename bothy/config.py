"""Load and validate Bothy's YAML configuration.

Every problem is collected and reported at once, each naming its key, so an admin fixes the
file in one go instead of restarting once per mistake.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bothy.matrix.events import server_of
from bothy.schedules import ScheduleError, parse_schedule
from bothy.settings import MAX_DURATION_S, SettingsReader, is_user_id
from bothy.staff_hours import StaffHours, StaffHoursError, parse_staff_hours
from bothy.storage.retention import Retention

if TYPE_CHECKING:
    from bothy.plugin import Bot

# An alias always names its server; a room ID does up to room version 11, not from version 12 on.
_SERVER = r"[A-Za-z0-9.\-]+(:\d+)?"
ROOM_REFERENCE = re.compile(rf"^(#[^:\s]+:{_SERVER}|![^:\s]+(:{_SERVER})?)$")
MIN_PICKLE_KEY = 16
# The engine's own sweeps; each bot declares its own next to its code.
ENGINE_SCHEDULES = {"retention_sweep": "0 3 * * *", "alert_reminders": "every 1m", "undecryptable": "every 15s"}


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
    retention: Retention
    templates_override_dir: Path | None
    log_level: str
    bot_names: tuple[str, ...]  # in registration order: the order that decides who answers a command
    bot_settings: Mapping[str, Any]  # bot name -> what its read_settings returned
    alert_escalate_after_s: int = 600  # an urgent alert unclaimed this long is DMed to each peer worker
    staff_hours: StaffHours | None = None  # when peer workers are around; None: not declared
    warnings: tuple[str, ...] = ()  # allowed but worth an admin's attention; logged at start
    source_path: Path | None = field(default=None, compare=False)

    @property
    def accounts(self) -> dict[str, BotAccount]:
        """Distinct Matrix accounts keyed by user ID: bots that share an account share a client."""
        return {account.user_id: account for account in self.bots.values()}

    def bots_on(self, user_id: str) -> tuple[str, ...]:
        return tuple(name for name, account in self.bots.items() if account.user_id == user_id)


def _read_bots(reader: SettingsReader, names: Sequence[str]) -> dict[str, BotAccount]:
    raw = reader.get("bots", dict) or {}
    bots: dict[str, BotAccount] = {}
    for name in raw:
        if name not in names:
            reader.seen.add(f"bots.{name}")
            reader.problems.append(f"bots.{name}: unknown bot (known: {', '.join(names)})")
    for name in names:
        if name not in raw:
            continue
        user_id = reader.get(f"bots.{name}.user_id", str)
        password = reader.get(f"bots.{name}.password", str, default=None, secret=True)
        token = reader.get(f"bots.{name}.access_token", str, default=None, secret=True)
        reader.check(f"bots.{name}.user_id", user_id, is_user_id,
                     "not a Matrix user ID like @bothy:example.org")
        credentials = raw[name] if isinstance(raw[name], Mapping) else {}
        if not {"password", "access_token"} & set(credentials):
            reader.problems.append(f"bots.{name}: needs a password or an access_token")
        if user_id:
            bots[name] = BotAccount(user_id=user_id, password=password, access_token=token)
    if names[0] not in raw:
        reader.problems.append(f"bots.{names[0]}: required (bots you leave out run on its account)")
    elif names[0] in bots:
        for name in names:
            bots.setdefault(name, bots[names[0]])
    for name, account in bots.items():
        for other, other_account in bots.items():
            if other < name and other_account.user_id == account.user_id and other_account != account:
                reader.problems.append(
                    f"bots.{name}: shares {account.user_id} with bots.{other} but with different credentials"
                )
    return bots


def _read_schedules(reader: SettingsReader, timezone: ZoneInfo, defaults: Mapping[str, str]) -> dict[str, str]:
    schedules = {}
    for name, default in defaults.items():
        expression = reader.get(f"schedules.{name}", str, default=default)
        try:
            parse_schedule(expression, timezone)
        except ScheduleError as error:
            reader.problems.append(f"schedules.{name}: {error}")
        schedules[name] = expression
    return schedules


def _read_retention(reader: SettingsReader) -> Retention:
    """`retention.<table>_days` for each engine table, defaults as documented on `Retention`."""
    defaults = Retention()
    days = {}
    for name in defaults.__dataclass_fields__:
        value = reader.get(f"retention.{name}", int, default=getattr(defaults, name))
        reader.check(f"retention.{name}", value, lambda v: 1 <= v <= MAX_DURATION_S // 86400,
                     f"must be from 1 to {MAX_DURATION_S // 86400}")
        days[name] = value if isinstance(value, int) else getattr(defaults, name)
    return Retention(**days)


class _NoRepeatedKeys(yaml.SafeLoader):
    """YAML keeps the last of two equal keys without a word: a second `peer_workers:` under `staff:` dropped the first
    list's peer workers from every alert. A key said twice is a problem, with its line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *defaults" may come more than once, and merge
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"{key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path, bots: Sequence[type[Bot]]) -> Config:
    """Read, resolve and validate a config file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_NoRepeatedKeys) or {}
    except OSError as error:
        raise ConfigError([f"{path}: cannot read ({error.strerror})"]) from error
    except UnicodeDecodeError as error:
        raise ConfigError([f"{path}: not UTF-8 text (byte {error.start})"]) from error
    except RecursionError as error:
        raise ConfigError([f"{path}: nested too deep to read"]) from error
    except yaml.YAMLError as error:
        raise ConfigError([f"{path}: not valid YAML ({error})"]) from error
    if not isinstance(data, Mapping):
        raise ConfigError([f"{path}: the top level must be a mapping of keys"])
    return parse_config(data, path.parent, bots, source_path=path)


def parse_config(data: Mapping[str, Any], base_dir: Path, bots: Sequence[type[Bot]],
                 source_path: Path | None = None) -> Config:
    """Validate the engine's sections and each bot's own; raise ConfigError listing every problem."""
    reader = SettingsReader(data)

    def local_path(key: str, default: str) -> Path:
        return reader.path(key, base_dir, default) or (base_dir / default).resolve()

    homeserver_url = reader.get("homeserver.url", str)
    reader.check("homeserver.url", homeserver_url, lambda v: v.startswith(("http://", "https://")),
                 "must start with http:// or https://")
    database_path = local_path("database.path", "./data/bothy.sqlite3")
    crypto_store_dir = local_path("crypto.store_dir", "./data/crypto")
    pickle_key = reader.get("crypto.pickle_key", str, secret=True)
    reader.check("crypto.pickle_key", pickle_key, lambda v: len(v) >= MIN_PICKLE_KEY,
                 f"must be at least {MIN_PICKLE_KEY} characters: it encrypts the store of the bots' keys")
    names = tuple(bot.name for bot in bots)
    accounts = _read_bots(reader, names)

    staff_room = reader.get("staff.room", str)
    reader.check("staff.room", staff_room, lambda v: bool(ROOM_REFERENCE.fullmatch(v)),
                 "must be a room alias (#peer-workers:example.org) or room ID (!abc:example.org)")
    reader.staff_room = staff_room
    peer_workers = reader.user_ids("staff.peer_workers")
    admins = reader.user_ids("staff.admins")
    if not peer_workers and "staff.peer_workers: required" not in reader.problems:
        reader.problems.append("staff.peer_workers: list at least one peer worker to receive alerts")
    volunteers = reader.user_ids("community.volunteers")
    servers = reader.get("community.allowed_servers", list)
    reader.check("community.allowed_servers", servers, lambda names: all(isinstance(n, str) for n in names),
                 "every entry must be a server name, like example.org")
    allowed_servers = frozenset(s for s in (servers or []) if isinstance(s, str))
    if servers is not None and not allowed_servers:
        reader.problems.append("community.allowed_servers: list at least one server name")
    # The server name is what follows the ":" in a user ID, not the host name: mixed up, every invite from a
    # member or peer worker would be ignored (a reviewer's).
    own = sorted({server_of(person) for person in (*(a.user_id for a in accounts.values()), *peer_workers)}
                 - allowed_servers - {""})
    if allowed_servers and own:
        reader.warnings.append(f"community.allowed_servers: leaves out {', '.join(own)}, the server of the bots or "
                               "peer workers: invites from there will be ignored (the server name follows the ':' "
                               "in a user ID)")

    timezone_name = reader.get("timezone", str, default="Europe/London")
    try:
        timezone = ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder of zones, not a zone
        reader.problems.append(f"timezone: {timezone_name!r} is not an IANA time zone like Europe/London")
        timezone = ZoneInfo("UTC")
    defaults = dict(ENGINE_SCHEDULES)
    for bot in bots:
        defaults.update(bot.schedules)
    schedules = _read_schedules(reader, timezone, defaults)

    prefix = reader.get("commands.prefix", str, default="!")
    reader.check("commands.prefix", prefix, lambda v: len(v.strip()) == len(v) and 0 < len(v) <= 3,
                 "must be 1 to 3 characters without spaces")
    command_max_age_s = reader.duration("commands.max_age", "10m", allow_zero=True)  # 0: every command is stale
    undecryptable_wait_s = reader.duration("crypto.undecryptable_wait", "2m")
    alert_remind_after_s = reader.duration("staff.remind_unclaimed_after", "30m")
    alert_escalate_after_s = reader.duration("staff.escalate_after", "10m")
    staff_hours = None
    hours = reader.get("staff.hours", str, default=None)
    if hours is not None:
        try:
            staff_hours = parse_staff_hours(hours)
        except StaffHoursError as error:
            reader.problems.append(f"staff.hours: {error}")
    retention = _read_retention(reader)

    templates_override_dir = reader.path("templates.override_dir", base_dir)
    if templates_override_dir is not None and not templates_override_dir.is_dir():
        reader.problems.append(f"templates.override_dir: no such folder: {templates_override_dir}")
    bot_settings = {bot.name: bot.read_settings(reader, base_dir) for bot in bots}
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
        bots=accounts,
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
        alert_escalate_after_s=alert_escalate_after_s,
        staff_hours=staff_hours,
        retention=retention,
        templates_override_dir=templates_override_dir,
        log_level=log_level.upper(),
        bot_names=names,
        bot_settings=bot_settings,
        warnings=tuple(reader.warnings),
        source_path=source_path,
    )
