from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bots.installed import INSTALLATION


@pytest.fixture
async def database(tmp_path) -> AsyncIterator[Database]:
    """A temporary database built through the real migrations."""
    db = Database(tmp_path / "bothy.sqlite3")
    await db.open()
    await migrate(db, INSTALLATION.migrations)
    yield db
    await db.close()


@pytest.fixture(scope="session")
def example_config():
    """config.example.yaml, parsed, with its placeholders filled: the settings each bot gets by default."""
    import yaml

    from bothy.config import parse_config

    root = Path(__file__).resolve().parents[2]
    data = yaml.safe_load((root / "config.example.yaml").read_text())
    data["crypto"]["pickle_key"] = "test-only-secret"
    for bot in data["bots"].values():
        bot["password"] = "test-only-password"
    return parse_config(data, root, INSTALLATION.bots)
