"""Every table that can name a member, in one registry, so export and erase cannot miss one.

The engine lists its own tables here; each bot lists its tables next to their schema steps. A table
that is in neither list fails `tests/unit/test_personal_data.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiosqlite

from bothy.storage.database import Database

# The engine's tables: table -> columns that may hold the member's Matrix ID.
ENGINE_PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "dm_rooms": ("user_id",),
    "alerts": ("subject_user", "claimed_by"),
    "outbox": ("to_user",),
    "pending_decryption": ("sender",),
    "audit_log": ("actor", "subject"),
}
# The engine's tables with no member in them, by design (so the completeness test can tell them apart).
ENGINE_ANONYMOUS_TABLES = frozenset({"schema_version", "account_sessions", "sync_checkpoints", "handled_events",
                                     "sweep_runs", "sent_events"})


class PersonalData:
    def __init__(self, database: Database, columns: Mapping[str, tuple[str, ...]]):
        self.database = database
        self.columns = columns

    async def export(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every stored row that names this member, table by table."""
        exported: dict[str, list[dict[str, Any]]] = {}
        async with self.database.read() as db:
            for table, columns in self.columns.items():
                where = " OR ".join(f"{column} = ?" for column in columns)
                async with db.execute(f"SELECT * FROM {table} WHERE {where}", (user_id,) * len(columns)) as cursor:
                    names = [d[0] for d in cursor.description]
                    rows = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
                if rows:
                    exported[table] = rows
        return exported

    async def erase(self, user_id: str) -> dict[str, int]:
        """Delete every row that names this member, in one transaction; returns rows deleted per table."""
        async with self.database.transaction() as db:
            return await self.erase_in(db, user_id)

    async def erase_in(self, db: aiosqlite.Connection, user_id: str) -> dict[str, int]:
        """The same, inside the caller's transaction (e.g. with the confirmation reply)."""
        deleted: dict[str, int] = {}
        for table, columns in self.columns.items():
            where = " OR ".join(f"{column} = ?" for column in columns)
            cursor = await db.execute(f"DELETE FROM {table} WHERE {where}", (user_id,) * len(columns))
            if cursor.rowcount:
                deleted[table] = cursor.rowcount
        return deleted
