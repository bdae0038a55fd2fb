"""Room climate, the pure part: is this hour a jump well above the room's own baseline, and is it a new
episode or the same one still going? Counts only: how many distinct people, never who or what."""

from __future__ import annotations

from dataclasses import dataclass

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class ClimateThresholds:
    min_people: int = 3  # never a notice about fewer distinct people than this
    ratio: float = 3.0  # this hour must be at least `ratio` times the room's usual hour...
    margin: int = 2  # ...and at least `margin` people above it
    baseline_hours: int = 14 * 24  # the room's usual, over the hours before this one
    calm_hours: int = 6  # an episode ends after this many hours without a jump


@dataclass(frozen=True)
class Baseline:
    mean: float
    usual_most: int  # the 90th percentile hour: "usually 0 or 1"


def baseline_of(hourly: list[int], hours: int) -> Baseline:
    """`hourly`: the counts of the hours that had any (the rest of the `hours` had none)."""
    counts = sorted([0] * max(0, hours - len(hourly)) + list(hourly))
    if not counts:
        return Baseline(0.0, 0)
    return Baseline(sum(counts) / len(counts), counts[min(len(counts) - 1, int(len(counts) * 0.9))])


def is_jump(people: int, baseline: Baseline, thresholds: ClimateThresholds) -> bool:
    return (people >= thresholds.min_people and people >= thresholds.ratio * baseline.mean
            and people >= baseline.mean + thresholds.margin)


def new_episode(last_jump_hour: int | None, hour: int, thresholds: ClimateThresholds) -> bool:
    """A jump starts a new episode (and earns a notice) unless the last jump was within `calm_hours`."""
    return last_jump_hour is None or hour - last_jump_hour > thresholds.calm_hours
