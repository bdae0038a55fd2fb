"""The audit log: who did what to whom, and when (never message text). Staff actions write it in the
same transaction as the action itself."""

from __future__ import annotations

import aiosqlite


async def record_audit(db: aiosqlite.Connection, actor: str, action: str, subject: str | None, detail: str | None,
                       now_ms: int) -> None:
    await db.execute("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                     (now_ms, actor, action, subject, detail))
