"""The referral bot's config section, `referral.*`, read and checked by its own schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bothy.config import ROOM_REFERENCE
from bothy.settings import SettingsReader, usable_path
from bots.referral.climate import ClimateSettings, read_climate_settings
from bots.referral.kb import has_crisis_lines, load_kb
from referral_kb import SHIPPED_KB

DAY_S = 86_400  # PRODUCT.md: at most one suggestion per member per topic per 24 h


@dataclass(frozen=True)
class ReferralSettings:
    kb_dirs: tuple[Path, ...]
    cooldown_s: int  # at most one suggestion per member per topic in this time
    crisis_cooldown_s: int  # crisis lines and the staff alert, at most once per member in this time
    keep_log_s: int  # the anonymous referral log, for reports
    bereavement_rooms: frozenset[str] = frozenset()  # room IDs and aliases where loss is the subject
    checkback_after_s: int = 16 * 3600  # a check-back after crisis lines waits this long, then a daytime sweep
    min_count: int = 5  # k: `!referrals report` shows no count below this
    climate: ClimateSettings = field(default_factory=ClimateSettings)


def read_settings(reader: SettingsReader, base_dir: Path) -> ReferralSettings:
    """The shipped knowledge base unless `kb_dirs` replaces it, plus an organisation's `extra_kb_dirs`.

    Bothy never runs without crisis lines: a set of folders with no crisis-tier topic is a config error.
    """
    def folders(key: str, default: list[str] | None) -> list[Path]:
        names = reader.get(key, list, default=default) or []
        good = [name for name in names if isinstance(name, str) and usable_path(name)]
        bad = [name for name in names if name not in good]
        if bad:
            reader.problems.append(f"{key}: every entry must be a folder path, got {bad[0]!r}")
        return [Path(d) if Path(d).is_absolute() else (base_dir / d).resolve() for d in good]

    chosen = folders("referral.kb_dirs", None)
    extra = folders("referral.extra_kb_dirs", [])
    kb_dirs = tuple([*(chosen or [SHIPPED_KB]), *extra])
    missing = {key: [str(d) for d in dirs if not d.is_dir()]
               for key, dirs in (("referral.kb_dirs", chosen), ("referral.extra_kb_dirs", extra))}
    for key, names in missing.items():
        if names:
            reader.problems.append(f"{key}: no such folder: {', '.join(names)}")
    # Which topics there are, not how they match: the bot compiles its own KB when it starts.
    kb = None if any(missing.values()) else load_kb(kb_dirs, matching=False)
    if kb is not None and not has_crisis_lines(kb):
        hint = " (leave kb_dirs unset for the ones shipped with Bothy)" if chosen else ""
        reader.problems.append(f"referral.kb_dirs: no crisis-tier topic in {', '.join(map(str, kb_dirs))}; "
                               f"Bothy never runs without crisis lines{hint}")
    bereavement_rooms = reader.get("referral.bereavement_rooms", list, default=[]) or []
    reader.check("referral.bereavement_rooms", bereavement_rooms,
                 lambda rooms: all(isinstance(r, str) and ROOM_REFERENCE.fullmatch(r) for r in rooms),
                 "every entry must be a room ID (!abc:example.org) or alias (#grief:example.org)")
    min_count = reader.get("referral.min_count", int, default=5)
    reader.check("referral.min_count", min_count, lambda k: k >= 3,
                 "must be at least 3 (smaller counts identify people)")
    cooldown_s = reader.duration("referral.cooldown", "24h")
    reader.check("referral.cooldown", cooldown_s, lambda seconds: seconds >= DAY_S,
                 "must be at least 24h (a member is sent at most one suggestion a topic a day)")
    climate = read_climate_settings(reader)
    unknown = sorted(climate.distress_topics - kb.topics.keys()) if kb is not None else []
    if kb is not None and unknown:  # a topic misspelt or renamed would count no distress in any room's climate
        reader.problems.append(f"referral.climate.distress_topics: no such topic in the knowledge base: "
                               f"{', '.join(unknown)} (topics: {', '.join(sorted(kb.topics))})")
    return ReferralSettings(
        kb_dirs=kb_dirs,
        cooldown_s=cooldown_s,
        crisis_cooldown_s=reader.duration("referral.crisis_cooldown", "1h"),
        keep_log_s=reader.duration("referral.keep_log", "365d"),
        bereavement_rooms=frozenset(r for r in bereavement_rooms if isinstance(r, str)),
        checkback_after_s=reader.duration("referral.checkback_after", "16h"),
        min_count=min_count or 5,
        climate=climate,
    )
