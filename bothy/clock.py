"""Time, made replaceable so policies and sweeps can be tested at any moment (DST included)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

HOUR_MS = 3_600_000


def hour_of(ms: int) -> int:
    """The start of the hour: what a stored time keeps when the moment could be matched to a member's message."""
    return ms - ms % HOUR_MS


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def ms(self) -> int:
        """Milliseconds since the epoch, the unit Matrix timestamps use."""
        return int(time.time() * 1000)


class FixedClock(Clock):
    def __init__(self, at: datetime):
        self.at = at

    def now(self) -> datetime:
        return self.at

    def ms(self) -> int:
        return int(self.at.timestamp() * 1000)
