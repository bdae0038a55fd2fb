"""Which rooms' mood figures may be shown together, and when a shared mood reaches a peer worker."""

import random
from collections import Counter
from itertools import product

import pytest

from bots.mood.policy import Tally, exposed_rooms, publishable, shared_mood_alert, trend

K = 5


def voters(*rooms_each: str) -> list[frozenset[str]]:
    """One entry per contributor: the rooms they answered in ("AB" is rooms A and B)."""
    return [frozenset(rooms) for rooms in rooms_each]


def shown(people: list[frozenset[str]], k: int = K) -> frozenset[str]:
    counts = Counter(room for rooms in people for room in rooms)
    return publishable(counts, [sorted(rooms) for rooms in people if len(rooms) > 1], k)


@pytest.mark.parametrize(("people", "expected"), [
    (voters(*"AAAA"), ""),  # under k: never shown
    (voters(*"AAAAA"), "A"),  # exactly k
    (voters(*"AAAAA", *"BBBBB"), "AB"),  # disjoint rooms are independent
    (voters(*["AB"] * 5), "AB"),  # the same people in both: A - B is zero, nothing to learn
    (voters(*["AB"] * 5, "B"), "B"),  # B - A would be one person's answer: the smaller room is held back
    (voters(*["AB"] * 5, "B", "A"), "A"),  # A - B = one person minus another: held back too (tie: later ID)
    (voters(*["AB"] * 5, *"BBBBB"), "AB"),  # B - A is five people: as safe as any room of five
    (voters(*["AB"] * 5, *"BBBB"), "B"),  # four: not safe
    (voters(*["AB"] * 2, *"AAAAA", *"BBBBB"), "AB"),  # small overlap, big differences
    (voters(*["ABC"] * 5, "C"), "C"),  # C is one person more than A and than B: both smaller rooms held back
    (voters(*["CA"] * 5, *["CB"] * 5, "C"), "AC"),  # everyone's room C, minus A, minus B: the one in no group
    (voters(*["AC"] * 5, *["BC"] * 5, "ABC"), "AC"),  # A + B - C: the one person in all three
])
def test_suppression(people, expected):
    assert shown(people) == frozenset(expected)


def tally(moods: list[int]) -> tuple[int, ...]:
    return tuple(moods.count(n) for n in range(1, 6))


def test_the_subtraction_guarded_against_reveals_one_persons_answer_and_is_never_possible():
    """Five people are in both rooms and one more only in B: B's tally minus A's is that person's mood."""
    both, alone = [4, 4, 3, 5, 4], 1
    room_a, room_b = tally(both), tally([*both, alone])
    assert tuple(b - a for a, b in zip(room_a, room_b, strict=True)) == tally([alone])  # the leak
    assert shown(voters(*["AB"] * 5, "B")) == {"B"}  # so A's figures are never posted beside B's


def test_k_is_never_below_what_the_config_allows():
    assert shown(voters(*"AAA"), k=3) == {"A"}
    assert shown(voters(*"AA"), k=3) == frozenset()


@pytest.mark.parametrize("seed", range(40))
def test_comparing_only_exposed_rooms_holds_back_exactly_what_comparing_every_pair_does(seed):
    """The weather compares only rooms where fewer than k people answered in that room alone, from only
    their contributors' room lists: on random overlapping rooms that must change nothing."""
    rng = random.Random(seed)
    rooms = "ABCDEFG"[:rng.randint(2, 7)]
    people = [frozenset(rng.sample(rooms, min(len(rooms), rng.choice((1, 1, 2, 2, 3)))))
              for _ in range(rng.randint(5, 40))]  # about half the seeds hold a room back
    counts = Counter(room for rooms_of in people for room in rooms_of)
    elsewhere = Counter(room for rooms_of in people if len(rooms_of) > 1 for room in rooms_of)
    exposed = exposed_rooms(counts, elsewhere, K)
    pruned = publishable(counts, [sorted(r) for r in people if len(r) > 1 and r & exposed], K)
    assert pruned == shown(people)


def revealing_combination(people: list[frozenset[str]], posted: frozenset[str], k: int = K) -> tuple | None:
    """Weights of -1, 0 or 1 on the posted rooms whose weighted sum of tallies counts fewer than `k` people,
    none of them twice (the subtractions a reader of the weather could do), if there is one."""
    rooms = sorted(posted)
    for weights in product((-1, 0, 1), repeat=len(rooms)):
        weight = dict(zip(rooms, weights, strict=True))
        counted = [sum(weight[r] for r in person & posted) for person in people]
        if all(w in (-1, 0, 1) for w in counted) and 0 < sum(map(abs, counted)) < k:
            return weights
    return None


@pytest.mark.parametrize("seed", range(300))
def test_no_sum_or_difference_of_posted_rooms_singles_out_fewer_than_k_people(seed):
    """Communities as they are: nearly everyone in an everyone's room Z, and most in one group or two (the
    pairwise rule alone let one in fourteen of these through)."""
    rng = random.Random(seed)
    groups = "ABC"[:rng.randint(2, 3)]
    people = [frozenset(rng.sample(groups, rng.choice((1, 1, 1, 2)))) | ({"Z"} if rng.random() < 0.9 else set())
              for _ in range(rng.randint(6, 20))]
    posted = shown(people)
    assert revealing_combination(people, posted) is None, (sorted(posted), people)


def test_a_room_is_exposed_when_fewer_than_k_of_its_people_answered_nowhere_else():
    assert exposed_rooms({"A": 9, "B": 9, "C": 4}, {"A": 5, "B": 4, "C": 4}, K) == {"A"}


DAY = 1000


@pytest.mark.parametrize(("history", "alert"), [
    ({DAY: 2}, False),
    ({DAY: 1}, True),  # the lowest answer alerts at once
    ({DAY - 2: 2, DAY - 1: 2, DAY: 2}, True),  # low three days running
    ({DAY - 3: 2, DAY - 1: 2, DAY: 2}, False),  # a day without an answer breaks the run
    ({DAY - 2: 2, DAY - 1: 3, DAY: 2}, False),
    ({DAY - 1: 5, DAY: 2}, True),  # a steep fall
    ({DAY - 3: 5, DAY: 2}, True),  # within three days
    ({DAY - 4: 5, DAY: 2}, False),
    ({DAY - 1: 4, DAY: 2}, False),
    ({DAY - 1: 2, DAY - 2: 2}, False),  # nothing today
])
def test_shared_mood_alert(history, alert):
    assert shared_mood_alert(history, DAY) is alert


def test_trend_counts_recent_days_below_the_four_weeks_before():
    def day_of(mood: int) -> Tally:
        return Tally(5, tuple(5 if n == mood else 0 for n in range(1, 6)), (0, 0, 0))  # type: ignore[arg-type]

    days = {DAY - 20: day_of(4), DAY - 10: day_of(3), DAY - 3: day_of(2), DAY - 1: day_of(4), DAY: day_of(3)}
    result = trend(days, DAY)
    assert (result.lower_days, result.recent_days, result.baseline) == (2, 3, 3.5)
    assert trend({}, DAY).baseline is None


def test_too_tangled_to_check_in_time_posts_only_rooms_with_enough_people_of_their_own(monkeypatch):
    monkeypatch.setattr("bots.mood.policy.MAX_CHECK_CELLS", 0)
    people = voters(*["CA"] * 5, *["CB"] * 5, "C", *"DDDDD", *["AD"] * 2)
    assert shown(people) == frozenset("D")
    assert revealing_combination(people, frozenset("D")) is None
