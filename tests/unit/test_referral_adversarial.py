"""Messages built to be slow: matching must stay linear in the message and bounded in size.

Time limits here are far above the real cost (milliseconds) so a busy machine does not fail them,
and far below what the quadratic code took (seconds).
"""

import time
from collections.abc import Callable

import pytest

from bothy.bots.referral.normalise import MAX_CHARS, normalise


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


@pytest.mark.parametrize("text", [
    "k1 " + "1" * 65_536,  # a run of stand-in characters with no letter: each position used to rescan it
    "k1 " + "1@" * 32_768,
    "a" + "!" * 65_536,
])
def test_normalise_is_linear_on_runs_of_stand_ins(text):
    assert seconds(lambda: normalise(text)) < 1.0


def test_normalise_reads_at_most_max_chars():
    assert normalise("x" * MAX_CHARS + " tail") == " x "
    # "ﬁ" folds to two letters: the folded text is cut back too, not just the input.
    assert len(normalise("ﬁ" * MAX_CHARS)) <= MAX_CHARS + 2
