"""`bothy run` refusing to start says which config key to look at, in one line, and leaves nothing running behind."""

from __future__ import annotations

import errno
import threading

import pytest
import yaml

import bothy.cli
from bothy.cli import main
from bothy.matrix.adapter import CryptoStoreLocked, MatrixError
from tests.unit.test_config import filled


def config_at(tmp_path, **changes) -> str:
    path = tmp_path / "bothy.yaml"
    path.write_text(yaml.safe_dump(filled(**{"database.path": str(tmp_path / "data" / "bothy.sqlite3"),
                                             "crypto.store_dir": str(tmp_path / "data" / "crypto"), **changes})))
    return str(path)


def test_a_database_path_that_is_no_database_is_named_and_nothing_is_left_running(tmp_path, capsys):
    """The file's connection was opened and never closed when a pragma failed: its worker thread (not a daemon) kept
    the process alive after the message, so under systemd Bothy looked up and did nothing (a reviewer's, thirty-first
    session)."""
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, " * 200)
    assert main(["run", "--config", config_at(tmp_path, **{"database.path": str(garbage)})]) == 2
    assert "(database.path) cannot be used" in capsys.readouterr().err
    workers = [thread for thread in threading.enumerate() if "_connection_worker_thread" in thread.name]
    for worker in workers:
        worker.join(timeout=5)
    assert not any(worker.is_alive() for worker in workers)


@pytest.mark.parametrize(("error", "key"), [
    (MatrixError("login: 404", permanent=True, code="404"), "homeserver.url"),
    (MatrixError("login: M_UNRECOGNIZED", permanent=True, code="M_UNRECOGNIZED"), "homeserver.url"),
    (MatrixError("keys upload: M_UNKNOWN", permanent=True, code="M_UNKNOWN"), "crypto.store_dir"),
    (MatrixError("login: M_FORBIDDEN", permanent=True, code="M_FORBIDDEN"), "bots.*.password"),
    (CryptoStoreLocked("@guide:example.org"), "crypto.pickle_key"),
    (OSError(errno.EEXIST, "File exists", "DATA"), "database.path"),
    (OSError(errno.ENOTDIR, "Not a directory", "CRYPTO"), "crypto.store_dir"),
])
def test_a_refusal_at_start_names_the_key_to_look_at(tmp_path, capsys, monkeypatch, error, key):
    """Every refusal at start said "Check bots.*.password ... and staff.room": a homeserver.url that is no Matrix
    server, a lost crypto store, a wrong pickle key (a traceback) and a path that is a file named no key at all (an
    operations reviewer's, thirty-first session)."""
    if isinstance(error, OSError):
        error.filename = str(tmp_path / "data" / ("crypto" if error.filename == "CRYPTO" else "bothy.sqlite3"))

    async def refused(config) -> None:
        raise error

    monkeypatch.setattr(bothy.cli, "_run_until_signalled", refused)
    assert main(["run", "--config", config_at(tmp_path)]) == 2
    said = capsys.readouterr().err
    assert key in said and "Traceback" not in said and len(said.strip().splitlines()) == 1
