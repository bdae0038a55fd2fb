"""The mood bot's settings: `mood.*` and the hang-out rooms (`hangout.*`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bothy.config import ROOM_REFERENCE
from bothy.settings import SettingsReader
from bots.mood.policy import ENERGIES

DEFAULT_PROMPTS = Path(__file__).parent / "hangout_prompts.yaml"
MIN_K = 3  # smaller groups identify people, whatever the config says


@dataclass(frozen=True)
class MoodSettings:
    min_contributors: int  # k: no aggregate from fewer people
    keep_days: int  # published tallies and shared records, for the 8-week report
    hangout_rooms: dict[str, str]  # energy level -> room alias or ID
    hangout_prompts: dict[str, tuple[str, ...]]  # energy level -> prompts, taken in turn
    hangout_min_gap_s: int  # a room prompted more recently than this is left alone
    hangout_lively: int  # messages in the last hour that make a room lively enough without a prompt


def read_settings(reader: SettingsReader, base_dir: Path) -> MoodSettings:
    k = reader.get("mood.min_contributors", int, default=5)
    reader.check("mood.min_contributors", k, lambda v: v >= MIN_K,
                 f"must be at least {MIN_K} (smaller groups identify people)")
    keep_s = reader.duration("mood.keep", "8w")
    reader.check("mood.keep", keep_s, lambda v: v >= 8 * 7 * 86400, "must be at least 8w (the report's span)")
    rooms = {}
    for level in ENERGIES:
        key = f"hangout.rooms.{level}"
        room = reader.get(key, str, default=None)
        reader.check(key, room, lambda v: bool(ROOM_REFERENCE.fullmatch(v)),
                     "must be a room alias (#hang-out:example.org) or room ID (!abc:example.org)")
        reader.not_the_staff_room(key, room)  # `!hangout invite` invites members into it
        if room:
            rooms[level] = room
    lively = reader.get("hangout.lively_messages", int, default=5)
    reader.check("hangout.lively_messages", lively, lambda v: v >= 1, "must be at least 1")
    return MoodSettings(
        min_contributors=max(k or 5, MIN_K),
        keep_days=keep_s // 86400,
        hangout_rooms=rooms,
        hangout_prompts=_read_prompts(reader, base_dir),
        hangout_min_gap_s=reader.duration("hangout.min_gap", "20h"),
        hangout_lively=lively or 5,
    )


def _read_prompts(reader: SettingsReader, base_dir: Path) -> dict[str, tuple[str, ...]]:
    """An editable YAML list per energy level: ours by default, or an organisation's own file."""
    key = "hangout.prompts_file"
    path = reader.path(key, base_dir) or DEFAULT_PROMPTS
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as error:
        reader.problems.append(f"{key}: cannot read {path} ({type(error).__name__})")
        return {}
    prompts: dict[str, tuple[str, ...]] = {}
    for level in ENERGIES:
        listed = data.get(level) if isinstance(data, dict) else None
        if not isinstance(listed, list) or not listed or not all(isinstance(p, str) and p.strip() for p in listed):
            reader.problems.append(f"{key}: {path} needs a non-empty list of prompts under '{level}'")
            continue
        prompts[level] = tuple(p.strip() for p in listed)
    return prompts
