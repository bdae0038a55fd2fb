"""The mood bot: anonymous mood and energy, the daily weather, trends for peer workers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from bothy.plugin import Bot
from bothy.settings import SettingsReader
from bots.mood import schema
from bots.mood.settings import MoodSettings, read_settings


class MoodBot(Bot):
    name = "mood"
    migrations = schema.MIGRATIONS
    personal_columns = schema.PERSONAL_COLUMNS
    anonymous_tables = schema.ANONYMOUS_TABLES
    schedules: ClassVar[Mapping[str, str]] = {"mood_prompt": "0 10 * * *", "mood_weather": "0 20 * * *"}

    @classmethod
    def read_settings(cls, reader: SettingsReader, base_dir: Path) -> MoodSettings:
        return read_settings(reader, base_dir)
