"""Every table that can name a member, in one place, so export and erase cannot miss one.

A new table that stores a Matrix user ID must be added here; `tests/unit/test_personal_data.py`
fails if a table has a user-ish column that is not listed.
"""

from __future__ import annotations

from typing import Any

import aiosqlite

from bothy.storage.database import Database

# table -> columns that may hold the member's Matrix ID
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "dm_rooms": ("user_id",),
    "alerts": ("subject_user", "claimed_by"),
    "outbox": ("to_user",),
    "pending_decryption": ("sender",),
    "referral_cooldowns": ("user_id",),
    "referral_opt_outs": ("user_id",),
    "audit_log": ("actor", "subject"),
    "activity": ("user_id",),
    "presence": ("user_id",),
    "checkin_prefs": ("user_id",),
    "checkins": ("user_id", "requested_by"),
    "stress_summary": ("user_id",),
    "stress_links": ("user_id",),
}
# Tables with no member in them, by design (listed so the completeness test can tell them apart).
ANONYMOUS_TABLES = {"schema_version", "account_sessions", "sync_checkpoints", "handled_events", "sweep_runs",
                    "referral_log", "sent_events"}


class PersonalData:
    def __init__(self, database: Database):
        self.database = database

    async def export(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every stored row that names this member, table by table."""
        exported: dict[str, list[dict[str, Any]]] = {}
        async with self.database.read() as db:
            for table, columns in PERSONAL_COLUMNS.items():
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

    @staticmethod
    async def erase_in(db: aiosqlite.Connection, user_id: str) -> dict[str, int]:
        """The same, inside the caller's transaction (e.g. with the confirmation reply)."""
        deleted: dict[str, int] = {}
        for table, columns in PERSONAL_COLUMNS.items():
            where = " OR ".join(f"{column} = ?" for column in columns)
            cursor = await db.execute(f"DELETE FROM {table} WHERE {where}", (user_id,) * len(columns))
            if cursor.rowcount:
                deleted[table] = cursor.rowcount
        return deleted
