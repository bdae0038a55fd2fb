"""When each member was erased, kept a while under a keyed hash. An event from before an erase may be handled after
it: another room's queue was behind, a sync was replayed after an outage, or `bothy forget` ran while Bothy was down
and the events of that time came in at its restart. Handled as usual, it stored the member again (a privacy
reviewer's, thirty-third session); now the engine lets it through only to what reads every room for a cry for help.

The hash is keyed with the crypto store's pickle key, which lives in the config and not the database: the database
alone cannot tell whether a given Matrix ID was ever erased. Kept KEEP_MS, a month: longer than any replay but a
very long outage's."""

from __future__ import annotations

import hashlib
import hmac

import aiosqlite

from bothy.clock import Clock
from bothy.storage.database import Database

KEEP_MS = 30 * 86_400_000


class Erasures:
    def __init__(self, database: Database, secret: str, clock: Clock):
        self.database = database
        self.clock = clock
        self._key = hashlib.sha256(b"bothy erasures\0" + secret.encode()).digest()
        self._erased_at: dict[bytes, int] = {}  # this process's view: loaded at start, kept up to date by erases

    def _member_key(self, user_id: str) -> bytes:
        return hmac.new(self._key, user_id.encode(), hashlib.sha256).digest()

    async def load(self) -> None:
        async with self.database.read() as db:
            rows = await db.execute_fetchall("SELECT member_key, erased_at FROM erasures WHERE erased_at >= ?",
                                             (self.clock.ms() - KEEP_MS,))
        self._erased_at = {bytes(key): at for key, at in rows}

    def _dated(self, asked_at_ms: int | None) -> int:
        """When the member asked (`!forget me confirm` as sent: a backlog must not make what they did after it look
        older), else now; never later than now, whatever a server's clock or a message claims."""
        now = self.clock.ms()
        return now if asked_at_ms is None else min(asked_at_ms, now)

    async def record(self, db: aiosqlite.Connection, user_id: str, asked_at_ms: int | None = None) -> None:
        """Inside the erase's transaction; `remember` once it is committed."""
        await db.execute("INSERT OR REPLACE INTO erasures (member_key, erased_at) VALUES (?, ?)",
                         (self._member_key(user_id), self._dated(asked_at_ms)))

    def remember(self, user_id: str, asked_at_ms: int | None = None) -> None:
        self._erased_at[self._member_key(user_id)] = self._dated(asked_at_ms)

    def from_before_erasure(self, user_id: str, at_ms: int) -> bool:
        if not self._erased_at:
            return False
        erased_at = self._erased_at.get(self._member_key(user_id))
        # Dated by a clock since set back, it must not silence the member until that time comes round again.
        return erased_at is not None and at_ms < min(erased_at, self.clock.ms())


async def forget_old_erasures(db: aiosqlite.Connection, now_ms: int) -> int:
    """A month old, or dated a month ahead by a clock since set back (which would otherwise never age)."""
    cursor = await db.execute("DELETE FROM erasures WHERE erased_at < :now - :keep OR erased_at > :now + :keep",
                              {"now": now_ms, "keep": KEEP_MS})
    return cursor.rowcount
