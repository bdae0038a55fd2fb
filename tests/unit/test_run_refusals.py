"""`bothy run` refusing to start says which config key to look at, in one line, and leaves nothing running behind."""

from __future__ import annotations

import asyncio
import errno
import json
import threading
from pathlib import Path

import nio
import pytest
import yaml

import bothy.cli
from bothy.cli import main
from bothy.config import load_config
from bothy.matrix.adapter import CryptoStoreUnusable, MatrixError, StateSafeClient, _store_dir
from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bothy.storage.sessions import Session, SessionRepository
from bots.installed import INSTALLATION
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
    (MatrixError("whoami: 404", permanent=True, code="404"), "homeserver.url"),
    (CryptoStoreUnusable("@guide:example.org", wrong_key=True), "crypto.pickle_key"),
    (CryptoStoreUnusable("@guide:example.org", wrong_key=False), "crypto.store_dir"),
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


DEVICE = "DEVICE1"


def prepared(tmp_path, store) -> str:
    """A config whose accounts logged in before (a session in the database) and whose crypto stores `store` makes."""
    path = config_at(tmp_path)
    config = load_config(path, INSTALLATION.bots)

    async def sessions() -> None:
        database = Database(config.database_path)
        await database.open()
        try:
            await migrate(database, INSTALLATION.migrations)
            for user_id in config.accounts:
                await SessionRepository(database).save(Session(user_id, DEVICE, "token"))
        finally:
            await database.close()

    asyncio.run(sessions())
    for user_id in config.accounts:
        folder = _store_dir(config.crypto_store_dir, user_id)
        folder.mkdir(parents=True, exist_ok=True)
        store(user_id, folder)
    return path


def made_with_another_key(user_id, folder) -> None:
    client = nio.AsyncClient("http://127.0.0.1:9", user_id, store_path=str(folder),
                             config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False,
                                                          pickle_key="another-key"))
    client.restore_login(user_id, DEVICE, "token")


def damaged(user_id, folder) -> None:
    """A crypto store file that is no database: a restore that went wrong, a disk that filled, a file replaced."""
    (folder / f"{user_id}_{DEVICE}.db").write_bytes(b"not a database " * 500)


@pytest.mark.parametrize(("store", "key"), [(made_with_another_key, "crypto.pickle_key"),
                                            (damaged, "crypto.store_dir")])
def test_a_crypto_store_that_does_not_open_is_a_refusal_naming_a_key(tmp_path, capsys, monkeypatch, store, key):
    """Through the real start-up: a store made with another key, or damaged (peewee's error, a traceback before a
    second reviewer's finding, thirty-first session)."""

    async def whoami(self):  # never reached when the store does not open; guards against a hang if it is
        raise AssertionError("the crypto store opened")

    monkeypatch.setattr(StateSafeClient, "whoami", whoami)
    path = prepared(tmp_path, store)
    try:
        code = main(["run", "--config", path])
    except Exception as error:  # what the operator gets: a traceback, exit status 1
        pytest.fail(f"`bothy run` ended in a traceback: {type(error).__module__}.{type(error).__name__}")
    said = capsys.readouterr().err
    assert code == 2 and key in said and "Traceback" not in said


class NotMatrix:
    """What a web server that is no Matrix homeserver answers nio: 404 and an HTML page."""
    status = 404
    content_type = "text/html"
    content_disposition = None

    async def json(self):
        raise json.JSONDecodeError("not JSON", "<html>", 0)

    async def text(self):
        return "<html>Not Found</html>"


def test_a_homeserver_url_that_is_no_matrix_server_names_homeserver_url_after_a_restart_too(
    tmp_path, capsys, monkeypatch
):
    """An account that logged in before (every restart after the first) checks its stored token with whoami: a wrong
    homeserver.url (a typo, a moved server) refused there was told to check bots.*.password and staff.room (a second
    reviewer's, thirty-first session)."""
    async def send(self, method, path, *args, **kwargs):
        return NotMatrix()

    monkeypatch.setattr(StateSafeClient, "send", send)
    path = prepared(tmp_path, lambda user_id, folder: None)  # a session stored; nio makes a fresh crypto store
    code = main(["run", "--config", path])
    said = capsys.readouterr().err
    assert code == 2 and "whoami: 404" in said
    assert "homeserver.url" in said, said


def stored_devices(path: str) -> dict[str, str]:
    config = load_config(path, INSTALLATION.bots)

    async def read() -> dict[str, str]:
        database = Database(config.database_path)
        await database.open()
        try:
            return {user_id: session.device_id for user_id in config.accounts
                    if (session := await SessionRepository(database).get(user_id)) is not None}
        finally:
            await database.close()

    return asyncio.run(read())


def test_new_device_forgets_only_that_accounts_device_and_says_what_follows(tmp_path, capsys):
    path = prepared(tmp_path, damaged)
    accounts = sorted(stored_devices(path))
    assert main(["db", "new-device", "--config", path, "--bot", accounts[0]]) == 0
    said = capsys.readouterr().out
    assert f"Forgot {accounts[0]}'s device {DEVICE}" in said and f"{accounts[0]}_{DEVICE}.*" in said
    assert "access token" not in said  # it has a password: the next start logs in with it
    assert sorted(stored_devices(path)) == accounts[1:]
    assert main(["db", "new-device", "--config", path, "--bot", accounts[0]]) == 0
    assert "No device is stored" in capsys.readouterr().out


def test_new_device_of_an_account_with_a_token_asks_for_a_new_token(tmp_path, capsys):
    """The stored device is the token's: a start with the same token would find the old device again."""
    path = prepared(tmp_path, damaged)
    config = yaml.safe_load(Path(path).read_text())
    first = sorted(config["bots"])[0]
    config["bots"][first] = {"user_id": config["bots"][first]["user_id"], "access_token": "a-real-token"}
    Path(path).write_text(yaml.safe_dump(config))
    assert main(["db", "new-device", "--config", path, "--bot", config["bots"][first]["user_id"]]) == 0
    assert f"new access token in bots.{first}.access_token" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["not a bot", "no database"])
def test_new_device_changes_nothing_when_it_cannot_be_done(tmp_path, capsys, case):
    path = prepared(tmp_path, damaged)
    before = stored_devices(path)
    bot = "@someone:example.org" if case == "not a bot" else sorted(before)[0]
    if case == "no database":
        config = yaml.safe_load(Path(path).read_text())
        config["database"]["path"] = str(tmp_path / "elsewhere.sqlite3")
        Path(path).write_text(yaml.safe_dump(config))
    assert main(["db", "new-device", "--config", path, "--bot", bot]) == 2
    said = capsys.readouterr().err
    assert ("is not a bot account in the config" in said) if case == "not a bot" else ("There is no database" in said)
    assert not (tmp_path / "elsewhere.sqlite3").exists()
    if case == "not a bot":
        assert stored_devices(path) == before


@pytest.mark.parametrize("command", [["db", "new-device", "--bot", "@bothy:example.org"],
                                     ["forget", "--user", "@alice:example.org"], ["run"]])
def test_nothing_that_would_go_behind_a_running_bothys_back_runs_beside_it(tmp_path, capsys, monkeypatch, command):
    """`bothy db new-device` beside a running Bothy changed its device behind its back, found only at its next restart
    (an operations reviewer's, thirty-second session); `bothy forget` would erase a member the running bots hold in
    memory; a second Bothy would answer everything twice. The database's lock says one runs."""
    from bothy.storage.instance_lock import holding

    path = prepared(tmp_path, damaged)
    config = load_config(path, INSTALLATION.bots)
    before = stored_devices(path)

    async def ran(config) -> None:
        raise AssertionError("a second Bothy started")

    monkeypatch.setattr(bothy.cli, "_run_until_signalled", ran)
    if command[-1] == "@bothy:example.org":
        command[-1] = sorted(before)[0]
    with holding(config.database_path):  # a running Bothy
        assert main([*command[:2], "--config", path, *command[2:]] if command[0] == "db"
                    else [command[0], "--config", path, *command[1:]]) == 2
    said = capsys.readouterr().err
    assert "running with the database" in said and "Traceback" not in said
    assert stored_devices(path) == before
