"""The mood bot. Its account logs in and its settings are checked today; prompts, anonymous answers,
the daily weather and trends are built in this folder next."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from bothy.plugin import Bot
from bothy.settings import SettingsReader


@dataclass(frozen=True)
class MoodSettings:
    min_contributors: int  # k: no aggregate from fewer people


class MoodBot(Bot):
    name = "mood"
    schedules: ClassVar[Mapping[str, str]] = {"mood_prompt": "0 10 * * *", "mood_weather": "0 20 * * *"}

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> Any:
        k = reader.get("mood.min_contributors", int, default=5)
        reader.check("mood.min_contributors", k, lambda v: v >= 3,
                     "must be at least 3 (smaller groups identify people)")
        return MoodSettings(min_contributors=k)
