"""When each scheduled sweep last ran, so runs missed while Bothy was down happen once on start."""

from __future__ import annotations

from bothy.storage.database import Database


class SweepRunRepository:
    def __init__(self, database: Database):
        self.database = database

    async def last_run_ms(self, name: str) -> int | None:
        async with self.database.read() as db, db.execute(
            "SELECT last_run_at FROM sweep_runs WHERE name = ?", (name,)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def record(self, name: str, at_ms: int) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO sweep_runs (name, last_run_at) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET last_run_at = excluded.last_run_at",
                (name, at_ms),
            )
