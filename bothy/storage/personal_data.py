"""Every table that can name a member, in one registry, so export and erase cannot miss one.

A member appears in a row in one of two ways. A *subject* column says the row is about them (their
settings, an alert about them, a staff action done to them): export shows the whole row and erase
deletes it. A *staff* column says they acted on someone else's row (the peer worker who claimed an
alert or whose action the audit log records): export shows only that they did it, never the other
member's ID or answers, and erase clears the column but keeps the row, which is the other member's data.
A table whose rows record something still owed *to* the member (a mute to lift) says what in `owed`: erase
refuses while such a row remains, so whoever erases settles it first and nobody is left worse off for
asking to be forgotten.

An anonymous table whose rows can still be found from a member's ID while a secret lasts (answers under a
daily key that is destroyed at midnight) registers `KeyedRows`: export shows the member's rows and erase deletes them,
found as the bot itself finds them.

The engine lists its own tables here; each bot lists its tables next to their schema steps. A table
that is in neither list fails `tests/unit/test_personal_data.py`. What a running Bothy keeps in memory about a
member (which room is their DM) is registered here too, and forgotten when their erase is committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import aiosqlite

from bothy.logs import describe_error
from bothy.storage.database import Database, scalar
from bothy.storage.erasures import Erasures

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bothy.outbox import Effects

STAFF_SUFFIX = " (your actions as staff)"


@dataclass(frozen=True)
class PersonalColumns:
    """How one table can name a member; `staff_view` is all a staff export may show of another's row."""

    subject: tuple[str, ...] = ()
    staff: tuple[str, ...] = ()
    staff_view: tuple[str, ...] = ()
    subject_view: tuple[str, ...] = ("*",)  # what a subject's export shows: the whole row, and what it refers to
    owed: str = ""  # what a subject's row still owes them ("mute(s) to lift"); erase refuses while one remains
    # An SQL condition for rows about the member that erase leaves, unlinked (subject columns cleared), because staff
    # still have to act on them: an open urgent alert, and its message while on its way to the staff room.
    spared: str = ""
    # An SQL condition for rows naming the member only in a staff column that are still theirs alone (a request
    # nobody has acted on yet): erase deletes them, where it clears the column on the rest.
    theirs_alone: str = ""
    # A table of (row_id, user_id): members a row names besides its subject columns (a staff list). Those rows are
    # theirs too: exported with them (subject_view), and deleted by their erase unless `spared`.
    named_in: str = ""

    def __post_init__(self) -> None:
        if not self.subject and not self.staff:
            raise ValueError("a personal table names at least one subject or staff column")
        if self.owed and not self.subject:
            raise ValueError("only a row about a member can owe them something")
        if self.theirs_alone and not self.staff:
            raise ValueError("rows theirs alone are named in a staff column")
        if self.staff and not set(self.staff) <= set(self.staff_view):
            raise ValueError("a staff export must at least show the staff column itself")


# The engine's tables.
ENGINE_PERSONAL_COLUMNS: dict[str, PersonalColumns] = {
    "dm_rooms": PersonalColumns(subject=("user_id",)),
    # An urgent alert still open outlives its member's erase, unlinked: staff can still claim it, and it escalates
    # until someone does; unless it shares what they chose to share, which they take back with everything else.
    "alerts": PersonalColumns(subject=("subject_user",), staff=("claimed_by", "done_by"),
                              staff_view=("kind", "claimed_by", "claimed_at", "done_by", "done_at"),
                              spared="urgent = 1 AND shared = 0 AND done_at IS NULL"),
    # A message's words stored once for many (`outbox_contents`) are shown in each of its rows' exports. A row
    # is a member's when it goes to them or tells staff about them (`about_user`); an urgent alert still on its way
    # to the staff room goes on (it is never lost), unlinked, and is deleted once sent.
    # A file on its way (an export the member asked for) is shown by name and type, not whole: each `!mydata` would
    # otherwise hold every export still waiting, escaped again, five times larger each time (a reviewer's). A message
    # to the staff room about the member is shown as that, not in its words, which may hold what others wrote (the
    # reason a reporter gave, shown to the member they reported: a reviewer's); one to a person (a peer worker's reply
    # in their DM) is theirs to read. The later `content` stands in for the row's own in the export (the last of two
    # columns of one name is the one kept, as for `to_user` and `about_user`, shown only when they are the member
    # exporting, `:member`).
    # A message naming others besides the one it is to or about (`outbox_names`: `!quiet`'s list, a note that a peer
    # worker has an alert, the DM telling a member who will be in touch) is each named person's too, shown as that.
    "outbox": PersonalColumns(subject=("to_user", "about_user"), named_in="outbox_names", subject_view=(
        "*", "CASE WHEN to_user = :member OR (about_user IS NULL AND id NOT IN (SELECT row_id FROM outbox_names)) "
        "THEN (SELECT content FROM outbox_contents WHERE id = content_id) END AS shared_content",
        "CASE WHEN action = 'file' THEN json_object('filename', json_extract(content, '$.filename'), 'mimetype', "
        "json_extract(content, '$.mimetype')) WHEN to_user = :member THEN content WHEN about_user = :member THEN "
        "json_object('message', 'to peer workers, about you: its words are not shown, as they may hold what others "
        "wrote') WHEN id IN (SELECT row_id FROM outbox_names) THEN "
        "json_object('message', 'a message that names you: its words are not shown, as it is to or about someone "
        "else too') "
        "ELSE content END AS content",
        "CASE WHEN to_user = :member THEN to_user END AS to_user",  # whom else it is to or about is not theirs
        "CASE WHEN about_user = :member THEN about_user END AS about_user"),
        spared="alert_id IN (SELECT id FROM alerts WHERE urgent = 1 AND shared = 0 AND done_at IS NULL) "
               "AND room_id IS NOT NULL AND dead = 0"),
    # After the outbox: its erase deletes the lists naming the member, and with them these rows.
    "outbox_names": PersonalColumns(subject=("user_id",)),
    "pending_decryption": PersonalColumns(subject=("sender",)),
    "audit_log": PersonalColumns(subject=("subject",), staff=("actor",), staff_view=("at", "actor", "action")),
}
# The engine's tables with no member in them, by design (so the completeness test can tell them apart).
# `outbox_contents` holds words owed alike to several people; whom they go to is in `outbox` (personal), and
# the words go with the last of those rows. `sqlite_sequence` is SQLite's own: the highest alert number given.
# `erasures` holds when each member was erased under a hash keyed outside the database (bothy/storage/erasures.py).
ENGINE_ANONYMOUS_TABLES = frozenset({"schema_version", "account_sessions", "sync_checkpoints", "handled_events",
                                     "sweep_runs", "sent_events", "outbox_contents", "sqlite_sequence", "erasures"})


class KeyedRows(Protocol):
    """Rows that hold no user ID yet are the member's while a key lasts (see the module's docstring)."""

    async def export(self, db: aiosqlite.Connection, user_id: str) -> list[dict[str, Any]]: ...

    async def erase(self, db: aiosqlite.Connection, user_id: str) -> int: ...


class StillOwed(Exception):
    """Erase found rows that record something still owed to the member: deleting them would lose it."""

    def __init__(self, owed: dict[str, int]):
        super().__init__("; ".join(f"{count} {what}" for what, count in owed.items()))
        self.owed = owed


# Columns holding a time, in milliseconds since 1970 as stored ("at", "created_at", "paused_until", "above_since").
TIME_COLUMN = re.compile(r"(?:^|_)(?:at|until|since)$")


def export_file(user_id: str, exported: Mapping[str, list[dict[str, Any]]]) -> str:
    """The export as a member reads it (`!mydata`, `bothy export`): JSON, each time as a date and time in UTC."""
    def readable(column: str, value: Any) -> Any:
        if not TIME_COLUMN.search(column) or not isinstance(value, int) or isinstance(value, bool):
            return value
        try:
            return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):  # beyond what a date can say: the number as stored
            return value

    data = {table: [{column: readable(column, value) for column, value in row.items()} for row in rows]
            for table, rows in exported.items()}
    return json.dumps({"user_id": user_id, "times": "UTC", "data": data}, indent=2, ensure_ascii=False)


def _where(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"{column} = ?" for column in columns)


class PersonalData:
    def __init__(self, database: Database, columns: Mapping[str, PersonalColumns],
                 keyed: Mapping[str, KeyedRows] | None = None, erasures: Erasures | None = None):
        self.database = database
        self.columns = columns
        self.keyed = keyed or {}
        self.erasures = erasures  # when each member was erased: events from before it store nothing of them again
        self._in_memory: list[Callable[[str], None]] = []
        self._truncating: set[asyncio.Task[bool]] = set()

    def kept_in_memory(self, forget: Callable[[str], None]) -> None:
        """Register how to forget a member from memory (an account's DMs), so it follows an erase at once
        instead of outliving it until a restart."""
        self._in_memory.append(forget)

    async def export(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every row about this member, table by table; then, under "<table> (your actions as staff)",
        what they did to other members' rows, reduced to the act itself."""
        exported: dict[str, list[dict[str, Any]]] = {}
        async with self.database.read() as db:
            for table, personal in self.columns.items():
                if personal.subject:
                    rows = await _select(db, table, ", ".join(personal.subject_view), personal.subject, user_id,
                                         named_in=personal.named_in)
                    if rows:
                        exported[table] = rows
            for table, keyed in self.keyed.items():
                if rows := await keyed.export(db, user_id):
                    exported[table] = rows
            for table, personal in self.columns.items():
                if personal.staff:
                    rows = await _select(db, table, ", ".join(personal.staff_view), personal.staff, user_id,
                                         excluding=personal.subject)
                    if rows:
                        exported[table + STAFF_SUFFIX] = rows
        return exported

    async def erase(self, user_id: str) -> dict[str, int]:
        """Erase this member in one transaction; returns rows deleted (or cleared, for staff) per table."""
        async with self.database.transaction() as db:
            changed = await self.erase_in(db, user_id)
        self._forget_in_memory(user_id)
        self._log_truncated_or_not(await self.database.truncate_log())
        return changed

    def erase_with(self, effects: Effects, user_id: str, asked_at_ms: int | None = None) -> None:
        """Erase this member in the transaction that commits `effects` (e.g. with the confirmation reply), and
        from memory and the write-ahead log once it is committed. `asked_at_ms`: when they asked, which dates it."""
        async def erase(db: aiosqlite.Connection) -> None:
            await self.erase_in(db, user_id, asked_at_ms)

        def afterwards() -> None:
            self._forget_in_memory(user_id, asked_at_ms)
            truncating = asyncio.get_running_loop().create_task(self.database.truncate_log())
            self._truncating.add(truncating)  # held until done: the loop keeps only a weak reference
            truncating.add_done_callback(self._log_truncated)

        effects.record(erase)
        effects.after_commit(afterwards)

    def _log_truncated(self, task: asyncio.Task[bool]) -> None:
        self._truncating.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning("the write-ahead log was not emptied after an erase: %s", describe_error(error))
        elif not task.cancelled():
            self._log_truncated_or_not(task.result())

    @staticmethod
    def _log_truncated_or_not(emptied: bool) -> None:
        if not emptied:  # a later erase, the night's checkpoint, or SQLite's own overwrite it in time
            log.warning("the write-ahead log was not emptied after an erase: a long read held it")

    def _forget_in_memory(self, user_id: str, asked_at_ms: int | None = None) -> None:
        for forget in self._in_memory:
            forget(user_id)
        if self.erasures is not None:
            self.erasures.remember(user_id, asked_at_ms)

    async def erase_in(self, db: aiosqlite.Connection, user_id: str,
                       asked_at_ms: int | None = None) -> dict[str, int]:
        """The rows alone, inside the caller's transaction (memory is `erase_with`'s). Rows about the
        member go; on other members' rows only the member's own ID is cleared. Raises `StillOwed`, changing
        nothing, while a row still owes the member something."""
        owed = await self._still_owed(db, user_id)
        if owed:
            raise StillOwed(owed)
        changed: dict[str, int] = {}
        for table, personal in self.columns.items():  # first, before another table's erase changes their rows
            if personal.spared:
                cleared = ", ".join(f"{column} = NULL" for column in personal.subject)
                await db.execute(f"UPDATE {table} SET {cleared} WHERE ({_where(personal.subject)}) "
                                 f"AND ({personal.spared})", (user_id,) * len(personal.subject))
        for table, personal in self.columns.items():
            if personal.subject:
                where, params = _where(personal.subject), [user_id] * len(personal.subject)
                if personal.named_in:
                    where += f" OR (id IN (SELECT row_id FROM {personal.named_in} WHERE user_id = ?)"
                    where += f" AND NOT ({personal.spared}))" if personal.spared else ")"
                    params.append(user_id)
                cursor = await db.execute(f"DELETE FROM {table} WHERE {where}", params)
                if cursor.rowcount:
                    changed[table] = cursor.rowcount
            if personal.theirs_alone:
                where = _where(personal.staff)
                cursor = await db.execute(f"DELETE FROM {table} WHERE ({where}) AND ({personal.theirs_alone})",
                                          (user_id,) * len(personal.staff))
                if cursor.rowcount:
                    changed[table] = cursor.rowcount
            for column in personal.staff:
                cursor = await db.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} = ?", (user_id,))
                if cursor.rowcount:
                    changed[table + STAFF_SUFFIX] = changed.get(table + STAFF_SUFFIX, 0) + cursor.rowcount
        for table, keyed in self.keyed.items():
            if count := await keyed.erase(db, user_id):
                changed[table] = count
        if self.erasures is not None:
            await self.erasures.record(db, user_id, asked_at_ms)
        return changed

    async def _still_owed(self, db: aiosqlite.Connection, user_id: str) -> dict[str, int]:
        """How many rows about the member still owe them something, by what they owe."""
        owed: dict[str, int] = {}
        for table, personal in self.columns.items():
            if personal.owed:
                where, params = _where(personal.subject), (user_id,) * len(personal.subject)
                if count := await scalar(db, f"SELECT COUNT(*) FROM {table} WHERE {where}", params):
                    owed[personal.owed] = count
        return owed


async def _select(db: aiosqlite.Connection, table: str, shown: str, columns: tuple[str, ...], user_id: str,
                  excluding: tuple[str, ...] = (), named_in: str = "") -> list[dict[str, Any]]:
    """Rows naming the member (`:member`) in `columns` (or in the `named_in` table); rows already exported whole (as
    their subject) are left out."""
    where = " OR ".join(f"{column} = :member" for column in columns)
    if named_in:
        where += f" OR id IN (SELECT row_id FROM {named_in} WHERE user_id = :member)"
    where = f"({where})"
    for column in excluding:
        where += f" AND {column} IS NOT :member"
    async with db.execute(f"SELECT {shown} FROM {table} WHERE {where}", {"member": user_id}) as cursor:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
