"""`bothy` command line: run the bots, check a config, migrate the database, and the local dev set-up."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from bothy.config import Config, ConfigError, load_config
from bothy.logs import configure_logging


def _load(path: str) -> Config | None:
    try:
        return load_config(path)
    except ConfigError as error:
        print(f"The config at {path} needs attention:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        return None


async def _run_until_signalled(config: Config) -> None:
    from bothy.app import Bothy

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await Bothy(config).run(stopping)


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
    configure_logging(config.log_level)
    asyncio.run(_run_until_signalled(config))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return 2
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
            return await migrate(database)
        finally:
            await database.close()

    try:
        applied = asyncio.run(run())
    except DatabaseTooNew as error:
        print(error, file=sys.stderr)
        return 2
    print(f"applied migrations {applied}" if applied else "database already up to date")
    return 0


def _kb_dirs(args: argparse.Namespace) -> list[Path] | None:
    if args.dir:
        return [Path(d) for d in args.dir]
    if Path(args.config).exists():
        config = _load(args.config)
        return None if config is None else list(config.referral_kb_dirs)
    return [Path("referral_kb")]


def cmd_kb_check(args: argparse.Namespace) -> int:
    from bothy.bots.referral.kb import load_kb

    directories = _kb_dirs(args)
    if directories is None:
        return 2
    kb = load_kb(directories)
    for problem in kb.problems:
        print(problem, file=sys.stderr)
    if kb.problems:
        print(f"{len(kb.problems)} problem(s) found", file=sys.stderr)
        return 1
    phrases = sum(len(topic.phrases) for topic in kb.topics.values())
    print(f"OK: {len(kb.topics)} topics, {phrases} phrases in {', '.join(map(str, directories))}")
    return 0


def cmd_kb_test(args: argparse.Namespace) -> int:
    """One text: a readable explanation. '-': one JSON object per line of standard input."""
    import json

    from bothy.bots.referral.kb import load_kb
    from bothy.bots.referral.matcher import Matcher

    directories = _kb_dirs(args)
    if directories is None:
        return 2
    kb = load_kb(directories)
    if kb.problems:
        print("the knowledge base has problems; run 'bothy kb check'", file=sys.stderr)
        return 1
    matcher = Matcher(kb)
    if args.text == "-":
        for line in sys.stdin:
            print(json.dumps(matcher.match(line.rstrip("\n")).as_json()), flush=True)
        return 0
    result = matcher.match(args.text)
    if not result.hits:
        print("Nothing would trigger.")
    for hit in result.hits:
        print(f"Would trigger {hit.topic} ({hit.tier}) on the phrase {hit.phrase!r}")
    for suppressed in result.suppressed:
        print(f"Not triggered: {suppressed.topic} phrase {suppressed.phrase!r}, stopped by {suppressed.reason}")
    return 0


def _with_database(args: argparse.Namespace, action):
    from bothy.storage.database import Database
    from bothy.storage.migrations import migrate

    config = _load(args.config)
    if config is None:
        return None

    async def run():
        database = Database(config.database_path)
        await database.open()
        try:
            await migrate(database)
            return await action(database)
        finally:
            await database.close()

    return asyncio.run(run())


def cmd_export(args: argparse.Namespace) -> int:
    """Everything stored about one member, as JSON on standard output."""
    import json

    from bothy.storage.personal_data import PersonalData

    exported = _with_database(args, lambda db: PersonalData(db).export(args.user))
    if exported is None:
        return 2
    print(json.dumps({"user_id": args.user, "data": exported}, indent=2))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bothy.storage.personal_data import PersonalData

    deleted = _with_database(args, lambda db: PersonalData(db).erase(args.user))
    if deleted is None:
        return 2
    total = sum(deleted.values())
    print(f"Erased {total} row(s) about {args.user}" + (f": {deleted}" if deleted else ""))
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from bothy.devserver.dev import run_dev

    configure_logging("INFO")
    return asyncio.run(run_dev(Path(args.data_dir), args.port))


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
    for name, func, text in (("export", cmd_export, "print everything stored about a member, as JSON"),
                             ("forget", cmd_forget, "erase everything stored about a member")):
        p = with_config(sub.add_parser(name, help=text))
        p.add_argument("--user", required=True, help="the member's Matrix ID, e.g. @alice:example.org")
        p.set_defaults(func=func)
    kb = sub.add_parser("kb", help="the referral knowledge base").add_subparsers(dest="kb_command", required=True)
    for name, func, text in (("check", cmd_kb_check, "validate every topic file, with file and line"),
                             ("test", cmd_kb_test, "show what a message would trigger, and why")):
        p = with_config(kb.add_parser(name, help=text))
        p.add_argument("--dir", action="append", help="a knowledge base folder (repeatable; default: from config)")
        if name == "test":
            p.add_argument("text", help="the message to try, or - to read one message per line from stdin")
        p.set_defaults(func=func)
    dev = sub.add_parser("dev", help="start a local Synapse on loopback plus the bots, with demo accounts")
    dev.add_argument("--data-dir", default="dev-data", help="where the homeserver and bot data live")
    dev.add_argument("--port", type=int, default=8008)
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
