"""How long the engine keeps its own rows, and the sweep that forgets them (bots prune their own tables).

Nothing here is needed for long: once an alert is claimed, a message sent or given up on, or an event
handled, the row only records that it happened. The ages are config (`retention.*_days`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import aiosqlite

from bothy.storage.database import Database
from bothy.storage.erasures import forget_old_erasures

log = logging.getLogger("bothy.retention")

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Retention:
    handled_events_days: int = 7  # only replays after a restart need them: counted in synced time too (below)
    alerts_days: int = 90  # counted from the claim; unclaimed alerts stay until someone picks them up
    audit_log_days: int = 365  # staff actions: a year lets a review or complaint be answered
    sent_events_days: int = 30  # a reaction to an older message is no longer an answer
    dead_outbox_days: int = 14  # messages given up on: kept to investigate, then dropped (they may hold tokens)


# A handled mark is needed while a restart could replay its event: until its age has passed on the clock and also
# since the account's sync checkpoint was saved. The clock runs on while Bothy is down; the checkpoint does not, and a
# restart after a long outage replays from it. An account that never saved one has only the clock; one taken out of
# the config keeps its last few days of marks (event IDs and hours) with its checkpoint, should it come back.
_STILL_REPLAYABLE = ("handled_at < COALESCE((SELECT saved_at FROM sync_checkpoints AS checkpoint "
                     "WHERE checkpoint.account = handled_events.account), :now) - :age AND ")

# table, age column, extra condition, the Retention field that sets the age
_RULES = (
    ("handled_events", "handled_at", _STILL_REPLAYABLE, "handled_events_days"),
    ("alerts", "claimed_at", "", "alerts_days"),
    ("audit_log", "at", "", "audit_log_days"),
    ("sent_events", "sent_at", "", "sent_events_days"),
    ("outbox", "next_attempt_at", "dead = 1 AND ", "dead_outbox_days"),  # set aside at its last attempt
)


async def prune_engine_tables(db: aiosqlite.Connection, retention: Retention, now_ms: int) -> dict[str, int]:
    """Delete the engine's rows older than their configured age; returns rows deleted per table."""
    deleted = {}
    for table, column, condition, field in _RULES:
        age = getattr(retention, field) * DAY_MS
        cursor = await db.execute(f"DELETE FROM {table} WHERE {condition}{column} < :now - :age",
                                  {"now": now_ms, "age": age})
        deleted[table] = cursor.rowcount
    deleted["erasures"] = await forget_old_erasures(db, now_ms)
    return deleted


async def forget_old_rows(database: Database, retention: Retention, now_ms: int) -> None:
    """The engine's retention sweep: one transaction, so a rerun after a crash simply deletes the rest. It then
    empties the write-ahead log, so what was deleted since the last night (by a sweep, or by a member taking something
    back) is out of the files, and out of a backup taken of them, within a day."""
    async with database.transaction() as db:
        deleted = await prune_engine_tables(db, retention, now_ms)
    log.info("retention sweep deleted %s",
             ", ".join(f"{count} from {table}" for table, count in deleted.items() if count) or "nothing")
    if not await database.truncate_log():
        log.warning("the write-ahead log was not emptied after the retention sweep: a long read held it")
