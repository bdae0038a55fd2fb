"""Pure rules for mood: which day it is, which rooms' figures may be shown, when a shared mood alerts.

No I/O here, so each rule is table-tested.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from zoneinfo import ZoneInfo

ENERGIES = ("low", "medium", "high")
LOW_MOOD = 2  # a 1 or a 2 is a low day
LOW_DAYS = 3  # this many low days running is worth a peer worker's attention...
STEEP_FALL = 3  # ...and so is a fall of this many points within FALL_WITHIN_DAYS
FALL_WITHIN_DAYS = 3


def local_day(at_ms: int, timezone: ZoneInfo) -> int:
    """The organisation's calendar day (a proleptic ordinal): keys rotate and tallies close at its midnight."""
    return datetime.fromtimestamp(at_ms / 1000, timezone).date().toordinal()


@dataclass(frozen=True)
class Tally:
    """One room's day: how many people answered, and how many chose each mood (1-5) and energy."""

    contributors: int
    moods: tuple[int, int, int, int, int]
    energies: tuple[int, int, int]

    @property
    def average(self) -> float | None:
        answered = sum(self.moods)
        return sum(n * (i + 1) for i, n in enumerate(self.moods)) / answered if answered else None


def exposed_rooms(contributors: Mapping[str, int], elsewhere: Mapping[str, int], k: int) -> frozenset[str]:
    """The rooms `publishable` must compare with others: those with at least `k` contributors of whom fewer
    than `k` answered in this room alone (`elsewhere`: how many also count in another room).

    Why no other room can be held back by a subtraction: if X - Y (X and Y share `both` people) is to
    hold fewer than `k` people, then X has fewer than `k` people outside Y, so fewer than `k` outside
    every other room. Only pairs with an exposed room need their overlap counted, from the contributors
    of exposed rooms alone; any other pair's partial count can only understate the overlap, and an
    understated overlap never holds a room back that the full count would not."""
    return frozenset(room for room, count in contributors.items()
                     if count >= k and count - elsewhere.get(room, 0) < k)


def publishable(contributors: Mapping[str, int], shared: Iterable[Sequence[str]], k: int) -> frozenset[str]:
    """The rooms whose tallies may be posted together for one day.

    A room needs at least `k` contributors. Two rooms with overlapping contributors, A and B, give away
    the answers of the people in one and not the other when their tallies are subtracted (A - B is the
    tally of A \\ B minus that of B \\ A), so each of those differences must be empty or hold at least
    `k` people; otherwise the smaller room of the pair is held back (ties: the later room ID), which
    also keeps its figures out of any later subtraction. `shared` gives, for each contributor in two or
    more rooms, the rooms they answered in (or only those who answered in an exposed room: see
    `exposed_rooms`); people in one room change no difference.
    """
    published = {room for room, count in contributors.items() if count >= k}
    overlap = Counter(pair for rooms in shared
                      for pair in combinations(sorted(room for room in rooms if room in published), 2))
    risky = sorted(pair for pair, both in overlap.items() if any(0 < contributors[room] - both < k for room in pair))
    for a, b in risky:
        if a in published and b in published:
            published.discard(max((a, b), key=lambda room: (-contributors[room], room)))
    return frozenset(published)


def shared_mood_alert(history: Mapping[int, int], today: int) -> bool:
    """Whether a member's shared moods (day -> 1-5) call for a peer worker: low for `LOW_DAYS` days
    running up to today, or today `STEEP_FALL` points or more below an answer of the last few days."""
    if today not in history:
        return False
    if all(history.get(today - back, LOW_MOOD + 1) <= LOW_MOOD for back in range(LOW_DAYS)):
        return True
    recent = [history[day] for day in range(today - FALL_WITHIN_DAYS, today) if day in history]
    return bool(recent) and max(recent) - history[today] >= STEEP_FALL


def episode_over(mood: int) -> bool:
    """A day above low ends an episode: the next low spell may alert again."""
    return mood > LOW_MOOD


@dataclass(frozen=True)
class Trend:
    """For the report's one line: on how many of the last `RECENT_DAYS` shown days the mood was below the
    average of the four weeks before them."""

    lower_days: int
    recent_days: int  # of the last RECENT_DAYS, the days with figures
    baseline: float | None  # None: no figures in the four weeks before


RECENT_DAYS = 7
BASELINE_DAYS = 28


def trend(days: Mapping[int, Tally], today: int) -> Trend:
    averages = {day: t.average for day, t in days.items() if t.average is not None}
    recent_from = today - RECENT_DAYS + 1
    before = [a for day, a in averages.items() if recent_from - BASELINE_DAYS <= day < recent_from]
    baseline = sum(before) / len(before) if before else None
    recent = [a for day, a in averages.items() if recent_from <= day <= today]
    lower = sum(a < baseline for a in recent) if baseline is not None else 0
    return Trend(lower, len(recent), baseline)
