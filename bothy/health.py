"""What `!status` reports: messages still owed (and stuck), and alerts nobody has picked up."""

from __future__ import annotations

from bothy.clock import Clock
from bothy.storage.alerts import AlertRepository
from bothy.storage.database import Database
from bothy.storage.outbox import OutboxRepository, StuckSummary


class EngineHealth:
    def __init__(self, database: Database, clock: Clock):
        self.outbox = OutboxRepository(database)
        self.alerts = AlertRepository(database)
        self.clock = clock

    async def pending_messages(self) -> int:
        return await self.outbox.pending_count()

    async def stuck_messages(self) -> StuckSummary:
        return await self.outbox.stuck_summary(self.clock.ms())

    async def unclaimed_alerts(self) -> int:
        return await self.alerts.unclaimed_count()
