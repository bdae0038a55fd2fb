"""Backoff through outages: short enough that Bothy notices the homeserver is back within 20 s, long enough
that it never hammers it; refusals keep their hourly cap, and an event in hand outlasts a long outage."""

import pytest

from bothy.inbound import MAX_TRANSIENT_ATTEMPTS
from bothy.matrix import adapter
from bothy.matrix.adapter import BACKOFF_CAP_S, backoff_delay
from bothy.outbox import REFUSED_BACKOFF_CAP_S


@pytest.fixture
def jitter(monkeypatch):
    """Pin the random jitter factor (0.5 to 1.0) to one end."""
    def pin(factor: float) -> None:
        monkeypatch.setattr(adapter.random, "uniform", lambda low, high: factor)
    return pin


def test_outage_backoff_is_capped_at_20_seconds(jitter):
    assert BACKOFF_CAP_S == 20.0
    jitter(1.0)
    assert [backoff_delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 16, 20]
    assert max(backoff_delay(n) for n in range(1, 200)) == 20  # no overflow, however long the outage


def test_the_cap_still_keeps_requests_well_under_one_a_second(jitter):
    """The fastest schedule (least jitter) over a one-minute outage: a handful of tries, not hundreds."""
    jitter(0.5)
    elapsed, tries = 0.0, 0
    while elapsed < 60:
        tries += 1
        elapsed += backoff_delay(tries)
    assert tries < 20
    assert backoff_delay(100) == 10  # never below half the cap


def test_refusals_keep_their_hourly_cap(jitter):
    jitter(1.0)
    assert backoff_delay(30, cap_s=REFUSED_BACKOFF_CAP_S) == 3600


def test_the_server_asking_for_longer_wins_over_the_cap(jitter):
    jitter(1.0)
    assert backoff_delay(10, retry_after_ms=45_000) == 45


def test_an_event_in_hand_is_retried_through_more_than_a_minute_and_a_half_of_outage(jitter):
    """Counted transient failures (the homeserver answers syncs but fails the event's requests) set an event
    aside only after MAX_TRANSIENT_ATTEMPTS; with the shortest delays those still span well over a minute,
    so a blip is ridden out. (While sync fails too, nothing is counted: `test_inbound.py`.)"""
    jitter(0.5)
    assert sum(backoff_delay(n) for n in range(1, MAX_TRANSIENT_ATTEMPTS)) > 90
