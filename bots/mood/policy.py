"""Pure rules for mood: which day it is, which rooms' figures may be shown, when a shared mood alerts.

No I/O here, so each rule is table-tested.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

ENERGIES = ("low", "medium", "high")
RESIDUAL_TOLERANCE = 1e-9  # room vectors are 0/1: anything left over after projecting is far above this
MAX_CHECK_CELLS = 5_000_000  # rooms x atoms in the span check (40 MB of floats); beyond it, the safe fallback
LOW_MOOD = 2  # a 1 or a 2 is a low day
VERY_LOW_MOOD = 1  # a day this low is worth a peer worker's attention at once...
LOW_DAYS = 3  # ...as are this many low days running...
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
    """The rooms whose contributors' room lists `publishable` needs: those with at least `k` contributors of
    whom fewer than `k` answered in this room alone (`elsewhere`: how many also count in another room).
    Any other room has a big atom of its own (its unit vector is in the big span), so it is never a free
    coordinate, and lists that touch only such rooms change nothing in the check."""
    return frozenset(room for room, count in contributors.items()
                     if count >= k and count - elsewhere.get(room, 0) < k)


def publishable(contributors: Mapping[str, int], shared: Iterable[Sequence[str]], k: int) -> frozenset[str]:
    """The rooms whose tallies may be posted together for one day.

    A room needs at least `k` contributors. Then no sum or difference of the posted tallies, over any
    number of rooms, may single out fewer than `k` people. Contributors with the same posted rooms form
    an *atom*; every posted tally is a sum of atoms, so anything derivable from them is a combination of
    atoms. A combination free of every atom of `k` or more people exists exactly when a small atom's
    room vector is outside the span of the big atoms' vectors (linear algebra: the small column is not
    in the big columns' span iff some weights cancel all big atoms but not it). While one is, the room
    with the fewest contributors (ties: the later ID) among those that combination uses is held back,
    and the check runs again. A pair A and B with one person more in B is the simplest case: B - A.
    `shared`: for each contributor in two or more rooms, the rooms they answered in (or only those who
    answered in an exposed room: see `exposed_rooms`; other rooms always have a big atom of their own).
    """
    published = {room for room, count in contributors.items() if count >= k}
    lists = [frozenset(rooms) for rooms in shared]
    while held_back := _held_back(published, contributors, lists, k):
        published -= held_back
    return frozenset(published)


def _held_back(published: set[str], contributors: Mapping[str, int], lists: list[frozenset[str]],
               k: int) -> set[str]:
    """The room to hold back next for the posted set to be safe; none when it is safe as it stands."""
    posted = [rooms & published for rooms in lists]
    several = Counter(room for rooms in posted if len(rooms) > 1 for room in rooms)
    alone = {room: contributors[room] - several[room] for room in published}
    # A room with `k` or more people in it alone is an atom's unit vector in the big span: only the others
    # (the free rooms) are coordinates worth keeping.
    free = sorted(room for room in published if alone[room] < k)
    if not free:
        return set()
    place = {room: i for i, room in enumerate(free)}
    atoms = Counter(rooms for rooms in posted if len(rooms) > 1 and not rooms.isdisjoint(place))
    atoms.update({frozenset((room,)): alone[room] for room in free if alone[room] > 0})
    small = sorted(sorted(rooms & place.keys()) for rooms, people in atoms.items() if people < k)
    if not small:
        return set()
    if len(free) * (len(small) + len(atoms)) > MAX_CHECK_CELLS:
        return set(free)  # too tangled to check in time: only rooms with a big atom of their own are posted

    def vectors(room_lists: list[list[str]]) -> np.ndarray:
        matrix = np.zeros((len(free), len(room_lists)))
        for column, rooms in enumerate(room_lists):
            matrix[[place[room] for room in rooms], column] = 1.0
        return matrix

    residual = vectors(small)
    big = [sorted(rooms & place.keys()) for rooms, people in atoms.items() if people >= k and rooms & place.keys()]
    if big:
        u, singular, _ = np.linalg.svd(vectors(big), full_matrices=False)
        basis = u[:, singular > singular.max() * max(len(free), len(big)) * np.finfo(float).eps]
        residual = residual - basis @ (basis.T @ residual)
    used = {free[i] for i in np.flatnonzero(np.abs(residual).max(axis=1) > RESIDUAL_TOLERANCE)}
    return {max(used, key=lambda room: (-contributors[room], room))} if used else set()


def shared_mood_alert(history: Mapping[int, int], today: int) -> bool:
    """Whether a member's shared moods (day -> 1-5) call for a peer worker: today at its lowest, low for
    `LOW_DAYS` days running up to today, or today `STEEP_FALL` points or more below an answer of the last few
    days."""
    if today not in history:
        return False
    if history[today] <= VERY_LOW_MOOD:
        return True
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
