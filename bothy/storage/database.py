"""One aiosqlite connection for the whole process's writes and short reads, plus a small pool of
read-only connections for long scans.

aiosqlite serialises statements on one thread, but two tasks interleaving statements on one
connection would share a transaction; the lock makes each `transaction()` and `read()` atomic.
A sweep's big aggregate reads go through `scan()` instead: with WAL they see a consistent snapshot,
run in parallel on their own threads, and never hold up event handling.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

BUSY_TIMEOUT_MS = 5000
TRUNCATE_WAIT_MS = 200  # emptying the write-ahead log waits this long at most for a reader to finish
SCAN_CONNECTIONS = 2
# SQLite's primary result codes for a database that cannot take a write for now (another process's lock, a full
# disk, an I/O error): the write is tried again later, as when the homeserver is down, never given up on.
# (Not SQLITE_LOCKED: on Bothy's one connection that is a bug, not another process.)
UNAVAILABLE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
                         sqlite3.SQLITE_PROTOCOL})


def database_unavailable(error: BaseException) -> bool:
    """SQLite could not take the write for now (UNAVAILABLE), as opposed to a bug or bad data."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code is not None and code & 0xFF in UNAVAILABLE


async def scalar(db: aiosqlite.Connection, sql: str, parameters: tuple = ()) -> Any:
    """The one value an aggregate query returns (COUNT, MAX, ...): such a query always yields one row."""
    async with db.execute(sql, parameters) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row[0]


class ReadStore(Protocol):
    """What features get: reads only. Every write goes through the unit of work, with what it owes."""

    def read(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    def scan(self) -> AbstractAsyncContextManager[aiosqlite.Connection]: ...

    async def truncate_log(self) -> bool: ...


class Database:
    def __init__(self, path: Path):
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._scanners: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._scanner_count = 0

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(self.path, isolation_level=None)
        try:  # a file that is no database fails here: its connection's thread must not outlive the failure
            os.chmod(self.path, 0o600)  # access tokens and personal data live here
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA secure_delete=ON",  # what is deleted (an erased member) is overwritten, not left in free pages
            ):
                await connection.execute(pragma)
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def truncate_log(self) -> bool:
        """Copy the write-ahead log into the database and empty it: what was just deleted (a member erased, a
        secret destroyed) must not linger there in the file, or in a backup taken of it. False when a long read
        (a sweep's) held it: waiting for one would hold up every handler, so the caller says so and a later one
        (the next erase, the night's) empties it."""
        async with self.read() as db:
            await db.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
            try:
                async with db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                    row = await cursor.fetchone()
            finally:
                await db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return row is not None and row[0] == 0

    async def close(self) -> None:
        while not self._scanners.empty():
            await self._scanners.get_nowait().close()
        self._scanner_count = 0
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._connection is None:
            raise RuntimeError("database is not open")
        return self._connection

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction taken with BEGIN IMMEDIATE, committed on success, rolled back on error."""
        async with self._lock:
            connection = self.connection
            await connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                await connection.rollback()
                raise
            else:
                await connection.commit()

    @asynccontextmanager
    async def scan(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection of its own, for long aggregate reads that may run side by side."""
        if self._scanners.empty() and self._scanner_count < SCAN_CONNECTIONS:
            self._scanner_count += 1
            connection = await aiosqlite.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)
            await connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._scanners.put_nowait(connection)
        connection = await self._scanners.get()
        try:
            yield connection
        finally:
            self._scanners.put_nowait(connection)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads see only committed data: no other task's transaction is open meanwhile."""
        async with self._lock:
            yield self.connection
