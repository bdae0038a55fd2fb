"""The host bot's config: `community.space` and `groups.*`, read and checked by its own schema."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from bothy.settings import SettingsReader
from bots.host.tags import SHIPPED_SYNONYMS, Tags

WHO_MAY_START = ("members", "volunteers")
# An alias, or a room ID (newer room versions' IDs have no server part).
SPACE_REFERENCE = re.compile(r"^(#[^:\s]+:[A-Za-z0-9.\-]+(:\d+)?|![^\s]+)$")


@dataclass(frozen=True)
class GroupSettings:
    space: str | None  # alias or room ID of the community Space; None: groups are made without one
    volunteers_only: bool  # False: any member may start a group (the point is bottom-up)
    max_new_per_week: int  # groups one member may start in seven days
    max_invites_per_week: int  # invitations to new groups one member may receive in seven days
    max_invites_per_group: int  # a new group invites at most this many members who share a tag
    encrypted: bool
    max_name_length: int
    sensitive_tags: frozenset[str]  # normalised; a group with one waits for a peer worker's approval
    dormant_after_s: int
    tags: Tags
    welcome: bool = True  # one welcome DM the first time a member joins a community room


def read_settings(reader: SettingsReader, base_dir: Path) -> GroupSettings:
    welcome = reader.get("community.welcome", bool, default=True)
    space = reader.get("community.space", str, default=None)
    reader.check("community.space", space, lambda v: bool(SPACE_REFERENCE.match(v)),
                 "must be a room alias (#community:example.org) or room ID (!abc:example.org)")
    reader.not_the_staff_room("community.space", space)  # its rooms are open to every member
    who = reader.get("groups.who_may_start", str, default="members")
    reader.check("groups.who_may_start", who, lambda v: v in WHO_MAY_START, "must be members or volunteers")
    synonyms_path = reader.path("groups.synonyms_file", base_dir) or SHIPPED_SYNONYMS
    try:
        tags = Tags.load(synonyms_path)
    except (OSError, ValueError, yaml.YAMLError) as error:
        reader.problems.append(f"groups.synonyms_file: cannot be read as a synonym list ({type(error).__name__})")
        tags = Tags({})
    sensitive = reader.get("groups.sensitive_tags", list, default=list(DEFAULT_SENSITIVE)) or []
    normalised = {tags.normalise(tag) for tag in sensitive if isinstance(tag, str)}
    if None in normalised or not all(isinstance(tag, str) for tag in sensitive):
        reader.problems.append("groups.sensitive_tags: every entry must be a tag of letters and numbers")

    def count(key: str, default: int, minimum: int, maximum: int) -> int:
        value = reader.get(key, int, default=default)
        reader.check(key, value, lambda v: minimum <= v <= maximum, f"must be from {minimum} to {maximum}")
        return value if isinstance(value, int) and minimum <= value <= maximum else default

    return GroupSettings(
        space=space if space and SPACE_REFERENCE.match(space) else None,
        volunteers_only=who == "volunteers",
        max_new_per_week=count("groups.max_new_per_week", 2, 1, 100),
        max_invites_per_week=count("groups.max_invites_per_week", 3, 0, 100),
        max_invites_per_group=count("groups.max_invites_per_group", 100, 0, 10_000),
        encrypted=bool(reader.get("groups.encrypted", bool, default=True)),
        max_name_length=count("groups.max_name_length", 50, 10, 200),
        sensitive_tags=frozenset(tag for tag in normalised if tag),
        dormant_after_s=reader.duration("groups.dormant_after", "60d"),
        tags=tags,
        welcome=welcome is not False,
    )


DEFAULT_SENSITIVE = ("bereavement", "grief", "alcohol", "drugs", "addiction", "gambling", "self-harm", "suicide",
                     "eating-disorder", "abuse", "trauma", "psychosis", "bipolar", "schizophrenia", "ptsd")
