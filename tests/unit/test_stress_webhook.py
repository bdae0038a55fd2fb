"""The stress webhook over real HTTP on loopback, with a real context over a temporary database."""

import asyncio
import gzip
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from bothy.clock import FixedClock
from bothy.config import parse_config
from bothy.logs import withhold_http_content
from bothy.plugin import BotContext
from bothy.testing import bot_context
from bots.checkin import stress
from bots.checkin.storage import CheckinRepository, StressLink
from bots.checkin.stress import BURST, MAX_BODY_BYTES, MAX_WRONG_TOKENS_PER_MINUTE, StressWebhook, token_hash
from bots.installed import INSTALLATION
from tests.unit.test_config import ROOT, filled

ALICE = "@alice:example.org"


def settings(**more: str):
    return parse_config(filled(**{"stress.min_interval": "0s", **more}), ROOT, INSTALLATION.bots).bot_settings[
        "checkin"]


async def raw(client: TestClient, data: bytes, then: bytes = b"", between=None) -> bytes:
    """The status line answering what a device sends, byte for byte; `between` runs once the handler has the headers
    and waits for the rest."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(data)
    await writer.drain()
    if between is not None:
        await asyncio.sleep(0.2)  # fault timing: the handler is waiting for the body it was promised
        await between()
        writer.write(then)
    status_line = await reader.readline()  # (not the rest: after a refusal aiohttp lingers over the unread body)
    writer.close()
    return status_line


async def link_alice(database) -> None:
    async with database.transaction() as db:
        await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), 0)


@asynccontextmanager
async def served(database, context: BotContext) -> AsyncIterator[TestClient]:
    """The webhook's handler over real HTTP on loopback, with Alice's device linked."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/stress/{webhook_id}", StressWebhook(context, CheckinRepository(database)).receive)
    await link_alice(database)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.fixture
async def client(database) -> AsyncIterator[TestClient]:
    async with served(database, bot_context(database, INSTALLATION, settings())) as test_client:
        yield test_client


async def post(client: TestClient, body: object, token: str = "secret", **kwargs) -> int:
    response = await client.post("/stress/hook", json=body, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return response.status


async def readings(database) -> int:
    async with database.read() as db, db.execute("SELECT readings FROM stress_summary") as cursor:
        row = await cursor.fetchone()
    return row[0] if row else 0


async def test_wrong_tokens_are_rate_limited_per_address_but_a_right_one_never_is(client):
    """Behind the reverse proxy every device comes from one address: a stranger's guesses must not lock members out
    (a reviewer's)."""
    for _ in range(MAX_WRONG_TOKENS_PER_MINUTE):
        assert await post(client, {"stress": 50}, token="guess") == 401
    assert await post(client, {"stress": 50}, token="guess") == 429
    assert await post(client, {"stress": 50}) == 202


async def test_the_bearer_scheme_is_read_in_any_case_and_a_token_that_is_not_utf8_is_only_wrong(client):
    response = await client.post("/stress/hook", json={"stress": 50}, headers={"Authorization": "bearer secret"})
    assert response.status == 202
    answer = await raw(client, b"POST /stress/hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer caf\xe9\r\n"
                               b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert answer.startswith(b"HTTP/1.1 401")  # was a 500: the token could not be hashed


@pytest.mark.parametrize("relink", [False, True])
async def test_a_reading_in_flight_when_the_member_unlinks_or_relinks_is_refused(client, database, relink):
    """The token was right when the request came, and revoked while its body was read: nothing is recorded (it was
    saved under the new link, or failed as a 500 with no link at all, a reviewer's)."""
    async def unlink_or_relink():
        async with database.transaction() as db:
            await CheckinRepository.unlink_stress(db, ALICE)
            if relink:
                await CheckinRepository.link_stress(db, StressLink(ALICE, "new", token_hash("new-secret"), 70), 0)

    answer = await raw(client, b"POST /stress/hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                               b"Content-Length: 14\r\nConnection: close\r\n\r\n{\"stress\"",
                       then=b": 99}", between=unlink_or_relink)
    assert answer.startswith(b"HTTP/1.1 401")
    assert await readings(database) == 0


async def test_a_body_that_never_arrives_is_given_up_on(client, monkeypatch):
    monkeypatch.setattr(stress, "BODY_TIMEOUT_S", 0.2)
    answer = await raw(client, b"POST /stress/hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                               b"Content-Length: 14\r\nConnection: close\r\n\r\n{\"stress\"")
    assert answer.startswith(b"HTTP/1.1 408")


def test_counting_wrong_tokens_from_many_addresses_stays_cheap(database):
    """Rebuilt at every refusal, the count cost the square of the addresses in a minute: 20,000 took 11 s."""
    webhook = StressWebhook(bot_context(database, INSTALLATION, settings()), CheckinRepository(database))
    started = time.perf_counter()
    for index in range(20_000):
        webhook._count_refusal(f"2001:db8::{index:x}")
    assert time.perf_counter() - started < 1


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
    context = bot_context(database, INSTALLATION, settings(**{"stress.min_interval": "60s"}))
    async with served(database, context) as test_client:
        for _ in range(BURST):
            assert await post(test_client, {"stress": 50}) == 202
        assert await post(test_client, {"stress": 50}) == 429  # a burst used up, within the minute
        await context.personal_data.erase(ALICE)
        await link_alice(database)
        assert await post(test_client, {"stress": 50}) == 202


async def test_a_burst_of_back_dated_readings_is_taken_then_the_rate_limit_holds(database):
    """A phone back online sends what it held, each with its own time; past the burst, one per min_interval."""
    clock = FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    context = bot_context(database, INSTALLATION, settings(**{"stress.min_interval": "60s"}), clock=clock)
    async with served(database, context) as test_client:
        for minutes_ago in range(BURST, 0, -1):
            at = (clock.at - timedelta(minutes=minutes_ago)).isoformat()
            assert await post(test_client, {"stress": 80, "at": at}) == 202
        assert await post(test_client, {"stress": 80}) == 429
        clock.at += timedelta(seconds=61)  # one more reading's worth, not spent by one refused as out of order
        assert await post(test_client, {"stress": 80, "at": (clock.at - timedelta(hours=1)).isoformat()}) == 409
        assert await post(test_client, {"stress": 80}) == 202
        assert await post(test_client, {"stress": 80}) == 429


async def test_a_reading_from_a_clock_a_little_ahead_does_not_hold_the_next_ones_back(database):
    """Dated minutes ahead (within the tolerance), it was the newest, and every live reading until then was refused
    as out of order (a reviewer's)."""
    clock = FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC))
    async with served(database, bot_context(database, INSTALLATION, settings(), clock=clock)) as test_client:
        assert await post(test_client, {"stress": 60, "at": (clock.at + timedelta(minutes=4)).isoformat()}) == 202
        assert await post(test_client, {"stress": 70}) == 202
        assert await readings(database) == 2


@asynccontextmanager
async def started(database) -> AsyncIterator[str]:
    """The webhook as Bothy runs it: StressWebhook.start() on a port of its own."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = StressWebhook(bot_context(database, INSTALLATION, settings(**{"stress.listen": f"127.0.0.1:{port}"})),
                            CheckinRepository(database))
    await link_alice(database)
    await webhook.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await webhook.stop()


@pytest.fixture
async def listening(database) -> AsyncIterator[str]:
    async with started(database) as url:
        yield url


async def test_a_compressed_body_is_not_inflated(listening):
    """aiohttp inflated gzip bodies even after a 401: a 1 MB bomb held the event loop for seconds (a reviewer's)."""
    async with ClientSession() as session, session.post(
            f"{listening}/stress/hook", data=gzip.compress(b'{"stress": 50}'),
            headers={"Authorization": "Bearer secret", "Content-Encoding": "gzip"}) as response:
        assert response.status == 400


async def test_malformed_http_never_logs_the_token_or_the_body(listening, debug_logs):
    """aiohttp's server quotes the request line or header it cannot parse at ERROR (a reviewer's)."""
    withhold_http_content()  # as configure_logging does (tests/unit/test_logs.py)
    host, port = listening.removeprefix("http://").split(":")
    for request in (b"POST /stress/hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\x01\r\n"
                    b"Content-Length: 2\r\n\r\n{}",
                    b"POST /stress/hook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n{\"stress\": 93}\r\n"):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(request)
        assert b" 400 " in await reader.readline()
        writer.close()
    assert "secret" not in debug_logs.text and "93" not in debug_logs.text and "/stress/hook" not in debug_logs.text
    assert "aiohttp.server" in debug_logs.text  # it was logged, without what it quoted


async def test_headers_that_trickle_in_are_cut_off_as_an_idle_connection_is(database, monkeypatch):
    """Slowloris: a request whose headers never end must not hold a connection (and a file) for ever. aiohttp starts
    its keep-alive clock when a connection opens and stops it only once a whole request is read."""
    monkeypatch.setattr(stress, "KEEPALIVE_S", 1)
    async with started(database) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"POST /stress/hook HTTP/1.1\r\nHost: x\r\n")
        opened = time.monotonic()
        answer = None
        while answer is None and time.monotonic() - opened < 10:
            writer.write(b"X-Slow: 1\r\n")  # one more header line every fifth of a second, never the blank line
            try:
                answer = await asyncio.wait_for(reader.read(100), 0.2)
            except TimeoutError:
                continue
            except ConnectionError:
                answer = b""
        writer.close()
        assert answer == b"" and time.monotonic() - opened < 5  # closed unanswered, about a second in


async def linked_and_unlinking(database, high_minutes: int):
    """A check-in bot whose member has linked a device and sent high readings for `high_minutes`, and the effects of
    their `!stress unlink`, handled and not yet committed."""
    from bothy.outbox import Effects
    from bots.checkin.bot import CheckinBot
    from commands.framework import CommandContext, Role

    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    settings = parse_config(filled(**{"stress.min_interval": "0s"}), ROOT, INSTALLATION.bots).bot_settings["checkin"]
    bot = CheckinBot(bot_context(database, INSTALLATION, settings, clock=clock, direct_rooms=frozenset({"!dm"})))
    async with database.transaction() as db:
        await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash("secret"), 70), clock.ms())
    link = await bot.repository.stress_link(user_id=ALICE)
    for minutes in range(0, high_minutes, 5):
        await bot.webhook._record(link, 90, clock.ms() + minutes * 60_000)
    command = next(c for c in bot.commands() if c.name == "stress")
    run, params = command.parse(["unlink"])
    effects = Effects(bot.context.account)
    await run(CommandContext(command=command, sender=ALICE, room_id="!dm", event_id="$unlink", role=Role.MEMBER,
                             in_dm=True, effects=effects, templates=bot.context.templates, prefix="!", params=params))
    return bot, link, clock, effects


async def test_unlinking_withdraws_the_open_stress_alert(database):
    """"Nothing more will be shared", said `!stress unlink`, while the urgent alert built on the link went on naming
    the member and escalating to every peer worker, then every admin (a reviewer's, thirtieth session)."""
    bot, _, clock, effects = await linked_and_unlinking(database, 45)  # longer than `stress.sustained`
    [alert] = await bot.context.alerts.not_done()
    assert (alert.kind, alert.subject_user, alert.urgent) == ("stress", ALICE, True)
    await bot.context.work.commit(effects)
    clock.at += timedelta(hours=1)
    await bot.context.alerts.remind_unclaimed()
    assert await bot.context.alerts.not_done() == []
    withdrawn = await bot.context.alerts.repository.by_id(alert.id)
    assert (withdrawn.subject_user, withdrawn.escalation) == (None, 0)


async def test_an_erase_takes_the_open_stress_alert_as_unlinking_does(database):
    """A privacy reviewer's, thirty-third session: `!forget me` took the link, the member's consent, but spared the
    urgent alert built on it (as a crisis alert is spared), so it went on naming them and escalating."""
    bot, _, clock, _ = await linked_and_unlinking(database, 45)
    assert [alert.kind for alert in await bot.context.alerts.not_done()] == ["stress"]
    await bot.context.personal_data.erase(ALICE)
    async with database.read() as db:
        rows = await db.execute_fetchall("SELECT o.room_id FROM outbox AS o LEFT JOIN outbox_contents AS c "
                                         "ON c.id = o.content_id WHERE COALESCE(c.content, o.content) LIKE ?",
                                         (f"%{ALICE}%",))
    clock.at += timedelta(hours=1)
    await bot.context.alerts.remind_unclaimed()
    assert rows == [] and await bot.context.alerts.not_done() == []


async def test_an_alert_raised_while_unlink_is_handled_goes_with_the_link(database):
    """The open alerts were read before the unlink's transaction: one a reading raised in between stayed open, naming
    the member and escalating, with the link gone (a second reviewer's, thirtieth session)."""
    bot, link, clock, effects = await linked_and_unlinking(database, 20)  # high, not yet for long enough
    await bot.webhook._record(link, 90, clock.ms() + 45 * 60_000)  # before the unlink commits: an alert
    assert len(await bot.context.alerts.not_done()) == 1
    await bot.context.work.commit(effects)
    clock.at += timedelta(hours=1)
    await bot.context.alerts.remind_unclaimed()
    assert await bot.context.alerts.not_done() == []
