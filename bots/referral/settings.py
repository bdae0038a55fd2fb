"""The referral bot's config section, `referral.*`, read and checked by its own schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bothy.settings import SettingsReader


@dataclass(frozen=True)
class ReferralSettings:
    kb_dirs: tuple[Path, ...]
    cooldown_s: int  # at most one suggestion per member per topic in this time
    crisis_cooldown_s: int  # crisis lines and the staff alert, at most once per member in this time


def read_settings(reader: SettingsReader, base_dir: Path) -> ReferralSettings:
    kb_dirs = reader.get("referral.kb_dirs", list, default=["./referral_kb"]) or []
    return ReferralSettings(
        kb_dirs=tuple((Path(d) if Path(d).is_absolute() else (base_dir / d).resolve())
                      for d in kb_dirs if isinstance(d, str)),
        cooldown_s=reader.duration("referral.cooldown", "24h"),
        crisis_cooldown_s=reader.duration("referral.crisis_cooldown", "1h"),
    )
