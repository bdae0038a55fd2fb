"""The check-in bot's config sections, `checkin.*` and `stress.*`, read and checked by their own schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bothy.settings import SettingsReader

MAX_PORT = 65535
QUIET_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


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
    keep_checkins_s: int  # check-ins and their answers
    keep_presence_s: int  # a member's presence in a room after they were last seen there


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
class Settings:
    checkin: CheckinSettings
    stress: StressSettings


def read_settings(reader: SettingsReader) -> Settings:
    return Settings(_read_checkin(reader), _read_stress(reader))


def _read_checkin(reader: SettingsReader) -> CheckinSettings:
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
    min_gap_s = reader.duration("checkin.min_gap", "14d")
    silent_after_s = reader.duration("checkin.silent_after", "10d")
    keep_checkins_s = reader.duration("checkin.keep_checkins", "90d")
    reader.check("checkin.keep_checkins", keep_checkins_s, lambda v: v >= min_gap_s,
                 "must be at least checkin.min_gap (the last check-in is what keeps the gap)")
    keep_presence_s = reader.duration("checkin.keep_presence", "180d")
    reader.check("checkin.keep_presence", keep_presence_s, lambda v: v > silent_after_s,
                 "must be longer than checkin.silent_after (a long silence is noticed before it is forgotten)")
    return CheckinSettings(
        min_gap_s=min_gap_s,
        quiet_hours=quiet,
        window_s=reader.duration("checkin.window", "7d"),
        baseline_weeks=weeks or 4,
        drop_ratio=float(ratio or 0.25),
        silent_after_s=silent_after_s,
        new_member_grace_s=reader.duration("checkin.new_member_grace", "14d", allow_zero=True),
        pause_s=reader.duration("checkin.pause", "30d"),
        max_per_sweep=per_sweep or 200,
        keep_checkins_s=keep_checkins_s,
        keep_presence_s=keep_presence_s,
    )


def _read_stress(reader: SettingsReader) -> StressSettings:
    listen = reader.get("stress.listen", str, default="127.0.0.1:8787")
    host, _, port = (listen or "").rpartition(":")
    port_number = int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None  # not '²' or '٣'
    if not host or port_number is None or not 1 <= port_number <= MAX_PORT:
        reader.problems.append("stress.listen: must be host:port, e.g. 127.0.0.1:8787")
        port_number = None
    public_url = reader.get("stress.public_url", str, default=f"http://{listen}")
    reader.check("stress.public_url", public_url, lambda v: v.startswith(("http://", "https://")),
                 "must start with http:// or https://")
    if public_url and public_url.startswith("http://") and not _is_loopback(public_url):
        reader.warnings.append("stress.public_url: plain http:// sends members' webhook tokens unencrypted; "
                               "put a TLS reverse proxy in front and give its https:// address")
    threshold = reader.get("stress.threshold", int, default=70)
    reader.check("stress.threshold", threshold, lambda v: 1 <= v <= 100, "must be 1 to 100")
    return StressSettings(
        listen_host=host or "127.0.0.1",
        listen_port=port_number or 8787,
        public_url=(public_url or "").rstrip("/"),
        threshold=threshold or 70,
        sustained_s=reader.duration("stress.sustained", "30m"),
        min_interval_s=reader.duration("stress.min_interval", "10s", allow_zero=True),
        max_age_s=reader.duration("stress.max_age", "1h"),
    )


def _is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "http://[::1": not a URL at all; the webhook simply cannot be reached through it
        return False
    return host in {"localhost", "::1"} or host.startswith("127.")
