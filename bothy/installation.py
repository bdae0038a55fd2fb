"""What the installed bots add up to before any of them runs: one schema upgrade, one personal-data
registry and one template search path, for `bothy run` and the admin commands alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bothy.plugin import Bot
from bothy.storage.database import Database
from bothy.storage.erasures import Erasures
from bothy.storage.migrations import ENGINE_MIGRATIONS, Migration, ordered_steps
from bothy.storage.personal_data import (
    ENGINE_ANONYMOUS_TABLES,
    ENGINE_PERSONAL_COLUMNS,
    KeyedRows,
    PersonalColumns,
    PersonalData,
)
from bothy.templates import Templates


class Installation:
    def __init__(self, bots: Sequence[type[Bot]]):
        self.bots = tuple(bots)
        names = [bot.name for bot in self.bots]
        if len(set(names)) != len(names):
            raise ValueError(f"two bots share a name: {names}")
        self.migrations: tuple[Migration, ...] = ordered_steps(ENGINE_MIGRATIONS, *(b.migrations for b in bots))
        self.personal_columns: Mapping[str, PersonalColumns] = _merged(
            [ENGINE_PERSONAL_COLUMNS, *(bot.personal_columns for bot in bots)])
        self.anonymous_tables = ENGINE_ANONYMOUS_TABLES.union(*(bot.anonymous_tables for bot in bots))
        self.keyed_rows: dict[str, KeyedRows] = {table: rows for bot in bots for table, rows in bot.keyed_rows.items()}
        if not set(self.keyed_rows) <= self.anonymous_tables:
            raise ValueError("keyed rows must be in tables declared anonymous (they hold no user ID)")

    def personal_data(self, database: Database, erasures: Erasures | None = None) -> PersonalData:
        return PersonalData(database, self.personal_columns, self.keyed_rows, erasures)

    def templates(self, override_dir: Path | None = None) -> Templates:
        """An organisation's overrides first, then each bot's own folder, then the engine's."""
        return Templates([bot.templates_dir for bot in self.bots if bot.templates_dir], override_dir)


def _merged(registries: list[Mapping[str, PersonalColumns]]) -> dict[str, PersonalColumns]:
    merged: dict[str, PersonalColumns] = {}
    for registry in registries:
        for table, columns in registry.items():
            if table in merged:
                raise ValueError(f"table {table} is claimed by two owners")
            merged[table] = columns
    return merged
