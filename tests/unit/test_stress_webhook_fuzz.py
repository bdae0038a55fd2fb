"""Property-based fuzzing of the stress webhook over real HTTP: whatever a device or a stranger sends, the answer
is one of the webhook's own statuses (never a 500), and neither the token, the path nor the body reaches the log.

JSON nested too deep to decode is tested in test_stress_webhook.py: hypothesis raises the recursion limit while
it runs, so no example here can reach that depth."""

import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bothy.clock import Clock, FixedClock
from bothy.testing import bot_context
from bots.checkin.storage import CheckinRepository, StressLink
from bots.checkin.stress import MAX_BODY_BYTES, StressWebhook, token_hash
from bots.installed import INSTALLATION

# The server, database and webhook are built once per test and shared by every example, as in a running Bothy.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ALICE = "@alice:example.org"
TOKEN = "tk-6b1d0e7f52a94c3f8e21"  # the linked device's token: it may be sent, but never logged
ANSWERS = {202, 400, 401, 409, 413, 429}

T = TypeVar("T")


def mostly(usual: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` three times in four."""
    return st.sampled_from([usual] * 3 + [other]).flatmap(lambda chosen: chosen)


TEXT = st.text(max_size=20)  # any code point: json.dumps escapes lone surrogates
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


@dataclass(frozen=True)
class Ago:
    """An "at" this many seconds before the moment the request is sent, written in one of a few ways."""

    seconds: int
    form: str

    def written(self, now: datetime) -> str:
        at = now - timedelta(seconds=self.seconds)
        return {"z": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "offset": at.astimezone().isoformat(),
                "naive": at.replace(tzinfo=None).isoformat(), "date": at.date().isoformat()}[self.form]


AGO = st.builds(Ago, st.integers(-3600, 7200), st.sampled_from(["z", "offset", "naive", "date"]))
ODD_TIMES = st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T10:00:00Z", "NaN",
                             "", "T", "24:00", "2026-11-25T10:00:00+99:00", "+275760-09-13"])
AT = mostly(AGO, ODD_TIMES | JSON)
ODD_LEVELS = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0, 100.49, 2**63]) | JSON
LEVEL = mostly(st.integers(-5, 105) | st.floats(-5, 105), ODD_LEVELS)
ANY_READING = st.fixed_dictionaries({}, optional={"stress": JSON, "at": JSON}) | st.dictionaries(TEXT, JSON, max_size=3)
READING = mostly(st.fixed_dictionaries({"stress": LEVEL}, optional={"at": AT}), ANY_READING)
# Arrays nested as deep as the size limit allows, closed or not.
DEPTH = st.integers(1, MAX_BODY_BYTES) | st.just(MAX_BODY_BYTES)
NESTED = st.builds(lambda depth, closer: b"[" * depth + closer * depth, DEPTH, st.sampled_from([b"", b"]"]))


@dataclass(frozen=True)
class Sent:
    path: str
    headers: dict[str, str]
    body: object  # a reading to send as JSON (NaN and Infinity as their literals), or raw bytes


HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40)
# Framing and connection headers are the HTTP layer's business (a false length, an Expect), not the webhook's.
HTTP_LAYER = {"content-length", "transfer-encoding", "content-encoding", "expect", "connection", "upgrade", "host"}
HEADER_NAME = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"), min_size=1,
                      max_size=12).filter(lambda name: name.lower() not in HTTP_LAYER)


@st.composite
def sent(draw: st.DrawFn, canary: str) -> Sent:
    """Mostly the linked webhook with its token, so readings get through to validation; otherwise anything."""
    hook = draw(mostly(st.just("hook"), st.sampled_from([canary, "hook/", "HOOK", "hook%00"]) | TEXT))
    # Braces are refused by aiohttp's router (404) before the webhook sees them; "." and ".." are not a name.
    hook = hook.replace("{", "").replace("}", "")
    if hook in {"", ".", ".."}:
        hook = "hook"
    path = "/stress/" + quote(hook, safe="")
    token = draw(mostly(st.just(TOKEN), st.sampled_from([canary, "", f"{TOKEN} {canary}"]) | HEADER_TEXT))
    authorization = draw(mostly(st.just(f"Bearer {token}"), st.sampled_from([token, f"bearer {token}"])))
    headers = {"Authorization": authorization, **draw(st.dictionaries(HEADER_NAME, HEADER_TEXT, max_size=2))}
    odd = st.sampled_from([b" " * (MAX_BODY_BYTES + 1), canary.encode() * 100, b"NaN", b"-Infinity", b"1e999",
                           b'{"stress": 1' + b"0" * 1000 + b"}"])
    body = draw(st.one_of(READING, READING, JSON.map(lambda value: [canary, value]), st.binary(max_size=64), NESTED,
                          odd))
    return Sent(path, headers, body)


@dataclass
class Webhook:
    client: TestClient
    clock: FixedClock  # a minute later at every example, so no rate limit from one example decides the next


@pytest.fixture
async def webhook(database, example_config) -> AsyncIterator[Webhook]:
    clock = FixedClock(Clock().now())
    context = bot_context(database, INSTALLATION, example_config.bot_settings["checkin"], clock=clock)
    async with database.transaction() as db:
        await CheckinRepository.link_stress(db, StressLink(ALICE, "hook", token_hash(TOKEN), 70), 0)
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/stress/{webhook_id}", StressWebhook(context, CheckinRepository(database)).receive)
    async with TestClient(TestServer(app, access_log=None)) as client:  # as StressWebhook.start runs it
        yield Webhook(client, clock)


def encoded(body: object, now: datetime) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, dict) and isinstance(body.get("at"), Ago):
        body = {**body, "at": body["at"].written(now)}
    return json.dumps(body).encode()


@FUZZ
@given(st.data())
async def test_whatever_is_posted_the_answer_is_the_webhooks_own_and_nothing_is_logged(webhook, debug_logs, data):
    canary = f"fz{data.draw(st.uuids()).hex}"
    request = data.draw(sent(canary))
    debug_logs.clear()
    webhook.clock.at += timedelta(minutes=1)
    body = encoded(request.body, webhook.clock.at)

    response = await webhook.client.post(request.path, data=body, headers=request.headers)

    assert response.status in ANSWERS
    assert canary not in debug_logs.text and TOKEN not in debug_logs.text

