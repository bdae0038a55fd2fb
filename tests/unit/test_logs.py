"""nio's own parsing logs bad events whole; none of that text may reach any log output."""

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import nio
import pytest

from bothy.logs import (
    HTTP_SERVER_LOGGERS,
    QUIET_LIBRARIES,
    WITHHELD,
    WithholdHttpContent,
    WithholdNioContent,
    configure_logging,
    withhold_nio_content,
)

CANARY = "CANARY-I-want-to-die-9c1e"


@pytest.fixture
def nio_output() -> Iterator[io.StringIO]:
    """Handlers on the root and directly on nio's event logger, as another set-up might have them."""
    withhold_nio_content()
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    direct = logging.getLogger("nio.events.misc")
    logging.getLogger().addHandler(handler)
    direct.addHandler(handler)
    yield output
    direct.removeHandler(handler)
    logging.getLogger().removeHandler(handler)


def test_a_schema_violating_event_parsed_by_nio_leaves_no_content_in_the_log(nio_output, caplog):
    event = {"type": "m.room.message", "event_id": "$e", "sender": "@a:example.org", "origin_server_ts": 1,
             "content": {"msgtype": "m.text", "body": [CANARY]}}
    assert isinstance(nio.Event.parse_event(event), nio.BadEvent)
    reaction = {**event, "type": "m.reaction", "content": {"m.relates_to": CANARY}}
    assert isinstance(nio.Event.parse_event(reaction), nio.BadEvent)
    assert CANARY not in nio_output.getvalue() + caplog.text
    assert f"WARNING nio.events.misc: nio.events.misc: {WITHHELD}" in nio_output.getvalue()


def test_a_schema_violating_sync_response_leaves_no_content_in_the_log(nio_output, caplog):
    caplog.set_level(logging.DEBUG, logger="nio")  # even nio's debug dump of the whole response
    response = nio.SyncResponse.from_dict({"next_batch": [CANARY], "rooms": {}})
    assert isinstance(response, nio.SyncError)
    assert CANARY not in nio_output.getvalue() + caplog.text
    assert WITHHELD in caplog.text


def test_nio_warnings_without_content_are_kept_as_they_are(nio_output):
    logging.getLogger("nio.client.async_client").warning("Timed out, sleeping for %ds", 3)
    assert "Timed out, sleeping for 3s" in nio_output.getvalue()


@contextmanager
def configured(level: str) -> Iterator[None]:
    """Bothy's own logging set-up, undone afterwards."""
    root = logging.getLogger()
    quieted = [logging.getLogger(name) for name in QUIET_LIBRARIES]
    saved = root.handlers[:], [(logger, logger.level) for logger in [root, *quieted]]
    try:
        configure_logging(level)
        yield
    finally:
        root.handlers[:], levels = saved
        for logger, level in levels:
            logger.setLevel(level)


def test_configure_logging_installs_the_filter_on_every_nio_logger():
    with configured("INFO"):
        names = ["nio", *(n for n in logging.Logger.manager.loggerDict if n.startswith("nio."))]
        assert "nio.events.misc" in names and "nio.responses" in names
        for name in names:
            assert sum(isinstance(f, WithholdNioContent) for f in logging.getLogger(name).filters) == 1


def test_configure_logging_installs_the_filter_on_aiohttps_server_loggers():
    with configured("INFO"):
        for name in HTTP_SERVER_LOGGERS:
            assert sum(isinstance(f, WithholdHttpContent) for f in logging.getLogger(name).filters) == 1


async def test_at_debug_no_sql_parameter_reaches_the_log(database, caplog):
    """aiosqlite logs every statement with its parameters at DEBUG, and outbox rows quote what members typed."""
    with configured("DEBUG"):
        logging.getLogger().addHandler(caplog.handler)
        async with database.read() as db, db.execute("SELECT ?", (CANARY,)) as cursor:
            assert await cursor.fetchone() == (CANARY,)
    assert CANARY not in caplog.text
