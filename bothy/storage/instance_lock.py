"""One Bothy per database: a lock beside it, held while Bothy runs. A second Bothy on the same database would answer
every command twice and send what is owed twice; `bothy db new-device` beside a running Bothy changed its device
behind its back, to be found only at the next restart (an operations reviewer's, thirty-second session), and
`bothy forget` would erase a member the running bots still hold in memory. The operating system lets go of the lock
when the process ends, however it ends (a SIGKILL included), so a crash never leaves Bothy unable to start."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DatabaseInUse(Exception):
    """Another process (a running Bothy) holds the database's lock."""


def lock_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".lock")


@contextmanager
def holding(database_path: Path) -> Iterator[None]:
    """Hold the database's lock for the block, or raise DatabaseInUse at once if another process holds it."""
    path = lock_path(database_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(str(path)) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
