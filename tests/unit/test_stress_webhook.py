"""The stress webhook over real HTTP on loopback, with a real context over a temporary database."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bothy.clock import FixedClock
from bothy.config import parse_config
from bothy.testing import bot_context
from bots.checkin.storage import CheckinRepository, StressLink
from bots.checkin.stress import BURST, MAX_BODY_BYTES, MAX_WRONG_TOKENS_PER_MINUTE, StressWebhook, token_hash
from bots.installed import INSTALLATION
from tests.unit.test_config import ROOT, filled

ALICE = "@alice:example.org"


@pytest.fixture
async def client(database) -> AsyncIterator[TestClient]:
    settings = parse_config(filled(**{"stress.min_interval": "0s"}), ROOT, INSTALLATION.bots).bot_settings["checkin"]
    context = bot_context(database, INSTALLATION, settings)
    async with database.transaction() as db:
        await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), 0)
    webhook = StressWebhook(context, CheckinRepository(database))
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/stress/{webhook_id}", webhook.receive)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def post(client: TestClient, body: object, token: str = "secret", **kwargs) -> int:
    response = await client.post("/stress/hook", json=body, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return response.status


async def readings(database) -> int:
    async with database.read() as db, db.execute("SELECT readings FROM stress_summary") as cursor:
        row = await cursor.fetchone()
    return row[0] if row else 0


async def test_wrong_tokens_are_rate_limited_per_address(client):
    for _ in range(MAX_WRONG_TOKENS_PER_MINUTE):
        assert await post(client, {"stress": 50}, token="guess") == 401
    assert await post(client, {"stress": 50}, token="guess") == 429
    assert await post(client, {"stress": 50}) == 429  # even the right token waits out the minute


async def test_an_oversized_body_is_413_even_without_a_length(client):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * MAX_BODY_BYTES

    response = await client.post("/stress/hook", data=chunks(), headers={"Authorization": "Bearer secret"})
    assert response.status == 413


async def test_a_reading_older_than_the_newest_is_refused_and_changes_nothing(client, database):
    assert await post(client, {"stress": 50}) == 202
    assert await post(client, {"stress": 60, "at": "2000-01-01T00:00:00Z"}) == 400  # older than max_age
    async with database.transaction() as db:
        await db.execute("UPDATE stress_summary SET last_at = last_at + 60000")  # newest is a minute ahead
    assert await post(client, {"stress": 60}) == 409
    assert await readings(database) == 1


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "not a time", 7])
async def test_odd_times_get_a_clear_400(client, at):
    assert await post(client, {"stress": 50, "at": at}) == 400


async def test_json_nested_too_deep_to_decode_is_a_400(client):
    """Not a hypothesis example: hypothesis raises the recursion limit while it runs, and this needs the real one."""
    assert await post(client, None, data=b"[" * MAX_BODY_BYTES) == 400


async def test_the_time_may_be_called_timestamp_and_given_as_unix_seconds_or_milliseconds(client, database):
    """PRODUCT.md promises "an optional timestamp": automations name it so, and often send Unix time."""
    now = datetime.now(UTC)
    for when in (now.isoformat(), now.timestamp(), int(now.timestamp() * 1000)):
        assert await post(client, {"stress": 50, "timestamp": when}) == 202
    assert await post(client, {"stress": 50, "at": now.timestamp() + 1}) == 202
    assert await readings(database) == 4
    assert await post(client, {"stress": 50, "at": now.isoformat(), "timestamp": now.isoformat()}) == 400


async def test_an_erase_forgets_the_member_in_memory_too(database):
    """The webhook remembers when each member's last reading came (to refuse floods); `!forget me` clears that at
    once, so a member who erases and links a new device is not told to wait, and no ID outlives the erase."""
    settings = parse_config(filled(**{"stress.min_interval": "60s"}), ROOT, INSTALLATION.bots).bot_settings["checkin"]
    context = bot_context(database, INSTALLATION, settings)
    webhook = StressWebhook(context, CheckinRepository(database))
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/stress/{webhook_id}", webhook.receive)
    async with TestClient(TestServer(app)) as test_client:
        async with database.transaction() as db:
            await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), 0)
        for _ in range(BURST):
            assert await post(test_client, {"stress": 50}) == 202
        assert await post(test_client, {"stress": 50}) == 429  # a burst used up, within the minute
        await context.personal_data.erase(ALICE)
        async with database.transaction() as db:
            await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), 0)
        assert await post(test_client, {"stress": 50}) == 202


async def test_a_burst_of_back_dated_readings_is_taken_then_the_rate_limit_holds(database):
    """A phone back online sends what it held, each with its own time; past the burst, one per min_interval."""
    settings = parse_config(filled(**{"stress.min_interval": "60s"}), ROOT, INSTALLATION.bots).bot_settings["checkin"]
    clock = FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    context = bot_context(database, INSTALLATION, settings, clock=clock)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/stress/{webhook_id}", StressWebhook(context, CheckinRepository(database)).receive)
    async with TestClient(TestServer(app)) as test_client:
        async with database.transaction() as db:
            await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), 0)
        for minutes_ago in range(BURST, 0, -1):
            at = (clock.at - timedelta(minutes=minutes_ago)).isoformat()
            assert await post(test_client, {"stress": 80, "at": at}) == 202
        assert await post(test_client, {"stress": 80}) == 429
        clock.at += timedelta(seconds=61)  # one more reading's worth, not spent by one refused as out of order
        assert await post(test_client, {"stress": 80, "at": (clock.at - timedelta(hours=1)).isoformat()}) == 409
        assert await post(test_client, {"stress": 80}) == 202
        assert await post(test_client, {"stress": 80}) == 429
