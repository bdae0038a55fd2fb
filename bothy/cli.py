"""`bothy` command line: run the bots, check a config, migrate the database, and the local dev set-up."""

from __future__ import annotations

import argparse
import asyncio
import functools
import signal
import sqlite3
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bothy.config import Config, ConfigError, load_config
from bothy.logs import configure_logging
from bothy.settings import is_user_id
from bots.installed import INSTALLATION

if TYPE_CHECKING:
    from bothy.storage.database import Database


def _load(path: str) -> Config | None:
    try:
        config = load_config(path, INSTALLATION.bots)
    except ConfigError as error:
        print(f"The config at {path} needs attention:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None
    return config


async def _run_until_signalled(config: Config) -> None:
    from bothy.app import Bothy

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await Bothy(config, INSTALLATION).run(stopping)


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    configure_logging(config.log_level)
    from bothy.matrix.adapter import CryptoStoreUnusable, MatrixError
    from bothy.storage.instance_lock import DatabaseInUse, holding
    from bothy.storage.migrations import DatabaseTooNew

    try:
        with holding(config.database_path):
            asyncio.run(_run_until_signalled(config))
    except DatabaseInUse:
        print(f"Bothy could not start: another Bothy is running with the database at {config.database_path} "
              "(database.path). Stop it first, or give this one a database of its own.", file=sys.stderr)
        return 2
    except (DatabaseTooNew, sqlite3.Error) as error:
        _database_problem(config, error)
        return 2
    except OSError as error:  # a folder that cannot be made (database.path, crypto.store_dir), a port in use
        print(f"Bothy could not start: {error}{_key_of_path(config, error.filename)}", file=sys.stderr)
        return 2
    except CryptoStoreUnusable as error:
        if error.wrong_key:
            print(f"Bothy could not start: crypto.pickle_key does not open the crypto store in "
                  f"{config.crypto_store_dir} (crypto.store_dir) for {error}: it must be the key the store was made "
                  f"with. {_NEW_DEVICE_HINT.format(bot=error)}", file=sys.stderr)
        else:
            print(f"Bothy could not start: the crypto store in {config.crypto_store_dir} (crypto.store_dir) for "
                  f"{error} cannot be opened ({error.reason}). If another Bothy uses that folder, stop it; if the "
                  "store is damaged, restore the folder from a backup."
                  + ("" if "locked" in error.reason else f" {_NEW_DEVICE_HINT.format(bot=error)}"), file=sys.stderr)
        return 2
    except MatrixError as error:  # refused for good at start (a wrong password, a staff room alias not found)
        if not error.permanent:
            raise
        print(f"Bothy could not start: the homeserver refused {error}. {_refusal_hint(error)}", file=sys.stderr)
        return 2
    return 0


# Where a bot's crypto store is lost, damaged or locked by a forgotten pickle key, and there is no backup.
_NEW_DEVICE_HINT = ("With no backup, `bothy db new-device --bot ID` starts {bot} afresh on a new device (what was "
                    "sent to the old one stays unreadable).")


def _refusal_hint(error: Exception) -> str:
    """Where to look, by the step the homeserver refused (each refusal's text starts with the step's name)."""
    text = str(error)
    if text.startswith(("login", "whoami")) and text.endswith((": 404", ": 405", ": M_UNRECOGNIZED")):
        return "Check homeserver.url in the config: it does not look like a Matrix homeserver's address."
    if text.startswith("keys upload"):
        return ("The bot's device keys were refused: the crypto store in crypto.store_dir may have been lost or "
                "replaced while the database kept the device. Restore that folder from a backup. "
                + _NEW_DEVICE_HINT.format(bot="the bot"))
    return "Check bots.*.password (or access_token) and staff.room in the config."


def _key_of_path(config: Config, filename: object) -> str:
    """The config key a path that could not be made or used came from, if it is one of Bothy's own."""
    if not isinstance(filename, str | bytes):
        return ""
    path = Path(filename.decode() if isinstance(filename, bytes) else filename)
    for key, configured in (("database.path", config.database_path), ("crypto.store_dir", config.crypto_store_dir)):
        if path == configured or path in configured.parents or configured in path.parents:
            return f" (check {key} in the config)"
    return ""


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    for warning in config.warnings:
        print(f"note: {warning}")
    print(f"{args.config}: OK ({len(config.accounts)} account(s), staff room {config.staff_room})")
    return 0


def cmd_db_migrate(args: argparse.Namespace) -> int:
    from bothy.storage.database import Database
    from bothy.storage.migrations import DatabaseTooNew, migrate

    config = _load(args.config)
    if config is None:
        return 2

    async def run() -> list[int]:
        database = Database(config.database_path)
        await database.open()
        try:
            return await migrate(database, INSTALLATION.migrations)
        finally:
            await database.close()

    try:
        applied = asyncio.run(run())
    except (DatabaseTooNew, sqlite3.Error, OSError) as error:
        _database_problem(config, error)
        return 2
    print(f"applied migrations {applied}" if applied else "database already up to date")
    return 0


def _database_problem(config: Config, error: Exception) -> None:
    """One line naming the database and the key that sets it, never a traceback."""
    print(f"The database at {config.database_path} (database.path) cannot be used: {error}", file=sys.stderr)


def _with_database(args: argparse.Namespace, action, alone: bool = False):
    """Run `action` on the member's data in an existing database (_in_existing_database); None if it could not."""
    config = _load(args.config)
    if config is None:
        return None
    if not is_user_id(args.user):
        print(f"{args.user!r} is not a Matrix user ID like @alice:example.org", file=sys.stderr)
        return None
    return _in_existing_database(config, lambda database: action(database, config), alone)[1]


def _in_existing_database(config: Config, action, alone: bool = False) -> tuple[bool, Any]:
    """Whether the database could be used, and what `action` gave there. Only an existing one: an export, erase or
    device change that made a new, empty database (a mistyped database.path) would report nothing stored, all
    erased, or no device, of what it never saw. `alone`: only with no Bothy running on it (the change would go
    behind its back)."""
    from bothy.storage.database import Database
    from bothy.storage.instance_lock import DatabaseInUse, holding
    from bothy.storage.migrations import DatabaseTooNew, migrate

    if not config.database_path.is_file():
        print(f"There is no database at {config.database_path} (database.path): nothing was read or changed",
              file=sys.stderr)
        return False, None
    if alone:
        try:
            with holding(config.database_path):
                return _in_existing_database(config, action)
        except DatabaseInUse:
            print(f"Bothy is running with the database at {config.database_path} (database.path): stop it first. "
                  "Nothing was changed.", file=sys.stderr)
            return False, None

    async def run():
        database = Database(config.database_path)
        await database.open()
        try:
            await migrate(database, INSTALLATION.migrations)
            return await action(database)
        finally:
            await database.close()

    try:
        return True, asyncio.run(run())
    except (DatabaseTooNew, sqlite3.Error) as error:
        _database_problem(config, error)
        return False, None


def cmd_export(args: argparse.Namespace) -> int:
    """Everything stored about one member, as JSON on standard output."""
    from bothy.storage.personal_data import export_file

    exported = _with_database(args, lambda db, config: INSTALLATION.personal_data(db).export(args.user))
    if exported is None:
        return 2
    print(export_file(args.user, exported))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase a member, unless Bothy still owes them something only the running bots can settle."""
    from bothy.clock import Clock
    from bothy.storage.erasures import Erasures
    from bothy.storage.personal_data import StillOwed

    def erase(db: Database, config: Config) -> Awaitable[dict[str, int]]:
        """Recorded, so that what the member did while Bothy was down, handled at its restart, stores nothing."""
        return INSTALLATION.personal_data(db, Erasures(db, config.pickle_key, Clock())).erase(args.user)

    try:
        deleted = _with_database(args, erase, alone=True)
    except StillOwed as owed:
        print(f"Nothing was erased: Bothy still owes {args.user} {owed}. Run this again once that is settled.",
              file=sys.stderr)
        return 1
    if deleted is None:
        return 2
    total = sum(deleted.values())
    print(f"Erased {total} row(s) about {args.user}" + (f": {deleted}" if deleted else ""))
    return 0


def cmd_db_new_device(args: argparse.Namespace) -> int:
    """Forget a bot account's stored device, so that its next start logs in as a new one with new keys: the way out
    when its crypto store is lost or cannot be opened and there is no backup. Run with Bothy stopped."""
    from bothy.matrix.adapter import device_files
    from bothy.storage.sessions import SessionRepository

    config = _load(args.config)
    if config is None:
        return 2
    account = config.accounts.get(args.bot)
    if account is None:
        print(f"{args.bot!r} is not a bot account in the config (bots.*.user_id): "
              f"{', '.join(sorted(config.accounts))}", file=sys.stderr)
        return 2

    async def forget_device(database: Any) -> str | None:
        sessions = SessionRepository(database)
        session = await sessions.get(account.user_id)
        if session is not None:
            await sessions.forget(account.user_id)
        return None if session is None else session.device_id

    found, device = _in_existing_database(config, forget_device, alone=True)
    if not found:
        return 2
    if device is None:
        print(f"No device is stored for {account.user_id}: its next start logs in afresh anyway.")
        return 0
    print(f"Forgot {account.user_id}'s device {device}: its next start logs in as a new device with new keys, and "
          "what was sent to the old one stays unreadable.")
    if account.password is None:
        keys = " and ".join(f"bots.{name}.access_token" for name in config.bots_on(account.user_id))
        print(f"Put a new access token in {keys} first: the one there belongs to the old device.")
    print(f"The old device's files, {device_files(config.crypto_store_dir, account.user_id, device)}, may be "
          "deleted; the old device stays in the account's list of sessions until it is signed out there (in "
          "Element, signed in as the bot: Settings, Sessions).")
    return 0


def _bot_settings(bot: str, config_path: str) -> Any:
    config = _load(config_path)
    return None if config is None else config.bot_settings[bot]


def cmd_dev(args: argparse.Namespace) -> int:
    from bothy.devserver.dev import run_dev
    from bothy.devserver.synapse import SynapseError

    configure_logging("INFO")
    try:
        return asyncio.run(run_dev(Path(args.data_dir), args.port))
    except SynapseError as error:
        print(f"bothy dev: {error}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bothy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default="config.yaml", help="path to the YAML config (default: config.yaml)")
        return p

    with_config(sub.add_parser("run", help="run the bots")).set_defaults(func=cmd_run)
    with_config(sub.add_parser("check-config", help="validate a config and list every problem")).set_defaults(
        func=cmd_check_config)
    db = sub.add_parser("db", help="database maintenance").add_subparsers(dest="db_command", required=True)
    with_config(db.add_parser("migrate", help="bring the database schema up to date")).set_defaults(
        func=cmd_db_migrate)
    new_device = with_config(db.add_parser("new-device", help="start a bot account on a new device when its crypto "
                                                               "store is lost (run it with Bothy stopped)"))
    new_device.add_argument("--bot", required=True, help="the bot account's Matrix ID, e.g. @guide:example.org")
    new_device.set_defaults(func=cmd_db_new_device)
    for name, func, text in (("export", cmd_export, "print everything stored about a member, as JSON"),
                             ("forget", cmd_forget, "erase everything stored about a member")):
        p = with_config(sub.add_parser(name, help=text))
        p.add_argument("--user", required=True, help="the member's Matrix ID, e.g. @alice:example.org")
        p.set_defaults(func=func)
    for bot in INSTALLATION.bots:
        bot.add_cli(sub, functools.partial(_bot_settings, bot.name))
    dev = sub.add_parser("dev", help="start a local Synapse on loopback plus the bots, with demo accounts")
    dev.add_argument("--data-dir", default="dev-data", help="where the homeserver and bot data live")
    dev.add_argument("--port", type=int, default=8008)
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
