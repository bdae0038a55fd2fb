import dataclasses
import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bothy.config import Config
from bothy.logs import QUIET_LIBRARIES, quiet_libraries
from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bothy.testing import FixedRooms, bot_context
from bots.installed import INSTALLATION
from bots.referral import bot as referral_bot
from bots.referral import settings as referral_settings
from commands.framework import CommandRegistry
from tests.unit.shipped import load_kb_once, matcher_once


@pytest.fixture(scope="session", autouse=True)
def shipped_kb_built_once() -> Iterator[None]:
    """Every parsed config and every referral bot on the shipped knowledge base share one loaded KB and matcher
    (tests/unit/shipped.py): building them in each test's setup was about a third of the unit suite's time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(referral_settings, "load_kb", load_kb_once)
        patch.setattr(referral_bot, "load_kb", load_kb_once)
        patch.setattr(referral_bot, "Matcher", matcher_once)
        yield


@asynccontextmanager
async def migrated_database(folder: Path) -> AsyncIterator[Database]:
    """A database in this folder built through the real migrations, closed afterwards."""
    db = Database(folder / "bothy.sqlite3")
    await db.open()
    await migrate(db, INSTALLATION.migrations)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture(scope="session")
async def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database file built through the real migrations once for the session, closed (so all in the one file)."""
    folder = tmp_path_factory.mktemp("migrated")
    async with migrated_database(folder):
        pass
    return folder / "bothy.sqlite3"


@pytest.fixture
async def database(tmp_path: Path, migrated_file: Path) -> AsyncIterator[Database]:
    """A temporary database built through the real migrations: a copy of the session's, which migrate() then finds
    up to date. Migrating each test's own from nothing took a tenth of a second, some 250 times."""
    shutil.copyfile(migrated_file, tmp_path / "bothy.sqlite3")
    async with migrated_database(tmp_path) as db:
        yield db


@pytest.fixture(scope="session")
def example_config():
    """config.example.yaml, parsed, with its placeholders filled: the settings each bot gets by default."""
    from bothy.config import parse_config
    from tests.unit.test_config import ROOT, filled

    return parse_config(filled(), ROOT, INSTALLATION.bots)


def installed_bots(database: Database, config: Config) -> CommandRegistry:
    """The real bots over this database, sharing one registry as `bothy run` does."""
    rooms = FixedRooms()
    rooms.nobody.update({"@nosuch:example.org", "@alice:exmaple.org"})  # no such account; a server mistyped
    base = bot_context(database, INSTALLATION, None, rooms=rooms)
    for bot_class in INSTALLATION.bots:
        bot = bot_class(dataclasses.replace(base, settings=config.bot_settings[bot_class.name]))
        for command in bot.commands():
            base.commands.add(command)
    return base.commands


@pytest.fixture
async def registry(database, example_config) -> CommandRegistry:
    """The real bots over a temporary database of the test's own."""
    return installed_bots(database, example_config)


@pytest.fixture(scope="module")
async def read_only_registry(tmp_path_factory, example_config) -> AsyncIterator[CommandRegistry]:
    """The real bots, built once for a module whose tests only read (help): building the referral bot's matcher
    takes most of a second, which 150 tests need not pay each."""
    async with migrated_database(tmp_path_factory.mktemp("read-only")) as db:
        yield installed_bots(db, example_config)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG but the libraries Bothy keeps quiet, as a deployment at `logging.level: DEBUG` runs."""
    saved = [(logging.getLogger(name), logging.getLogger(name).level) for name in QUIET_LIBRARIES]
    quiet_libraries("DEBUG")
    caplog.set_level(logging.DEBUG)
    yield caplog
    for logger, level in saved:
        logger.setLevel(level)
