"""The report's chart: a room's anonymous daily mood and energy distribution over 8 weeks, as a PNG
that reads on a phone (tall, large type). Days without published figures are left as gaps.

Drawn in a child process (`python -m bots.mood.chart`, the figures as JSON in, the PNG out): matplotlib and a
drawing hold about 40 MB that Bothy would otherwise keep for good after the first report, and drawing would hold up
the event loop, so every room's messages, for the best part of a second."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from bots.mood.policy import ENERGIES, Tally

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MOOD_COLOURS = ("#b2182b", "#ef8a62", "#cccccc", "#67a9cf", "#2166ac")  # 1 to 5, colour-blind safe
ENERGY_COLOURS = ("#d9d9d9", "#969696", "#252525")
DRAW_TIMEOUT_S = 60


class ChartError(RuntimeError):
    """The child process drawing the chart failed or took too long."""


async def draw_chart(days: Mapping[int, Tally], first_day: int, last_day: int, title: str) -> bytes:
    """render_chart's PNG, drawn in a child process (see above)."""
    figures = {"days": {str(day): [t.contributors, list(t.moods), list(t.energies)] for day, t in days.items()},
               "first_day": first_day, "last_day": last_day, "title": title}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bots.mood.chart", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        png, _ = await asyncio.wait_for(child.communicate(json.dumps(figures).encode()), DRAW_TIMEOUT_S)
    except TimeoutError:
        raise ChartError(f"drawing the chart took over {DRAW_TIMEOUT_S} s") from None
    finally:  # timed out, or the report cancelled (Bothy stopping): no child is left behind
        if child.returncode is None:
            child.kill()
            await child.wait()
    if child.returncode != 0 or not png:
        raise ChartError(f"drawing the chart failed (exit {child.returncode})")
    return png


def render_chart(days: Mapping[int, Tally], first_day: int, last_day: int, title: str) -> bytes:
    """Two stacked panels of daily shares (mood 1-5, then energy), one bar per day with figures."""
    from matplotlib.figure import Figure  # here, in the child process only (see above)
    xs = list(range(first_day, last_day + 1))
    # A bare Figure renders with Agg and keeps no global state (pyplot would), so sweeps may draw side by side.
    figure = Figure(figsize=(6, 7.5), dpi=120)
    mood_axis, energy_axis = figure.subplots(2, 1, sharex=True)
    _stack(mood_axis, xs, days, lambda t: t.moods, MOOD_COLOURS, [f"mood {n}" for n in range(1, 6)])
    _stack(energy_axis, xs, days, lambda t: t.energies, ENERGY_COLOURS, [f"{e} energy" for e in ENERGIES])
    mood_axis.set_title(f"{title}: last 8 weeks", fontsize=14, parse_math=False)  # a room named "$5 a $" is text
    ticks = xs[::7]
    energy_axis.set_xticks(ticks, [date.fromordinal(day).strftime("%d %b") for day in ticks], rotation=45,
                           fontsize=11)
    energy_axis.set_xlabel("gaps: too few answers to show", fontsize=11)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def _stack(axis: Axes, xs: list[int], days: Mapping[int, Tally], counts_of: Callable[[Tally], Sequence[int]],
           colours: Sequence[str], labels: Sequence[str]) -> None:
    bottoms = [0.0] * len(xs)
    for index, (colour, label) in enumerate(zip(colours, labels, strict=True)):
        shares = []
        for day in xs:
            counts = counts_of(days[day]) if day in days else ()
            shares.append(counts[index] / sum(counts) if counts and sum(counts) else 0.0)
        axis.bar(xs, shares, bottom=bottoms, color=colour, label=label, width=0.85)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    axis.set_ylim(0, 1)
    axis.set_yticks([0, 0.5, 1], ["0", "half", "all"], fontsize=11)
    axis.legend(loc="upper left", bbox_to_anchor=(1, 1), fontsize=9, frameon=False)


def main() -> None:
    """The child process: the figures as JSON on stdin, the PNG on stdout."""
    figures = json.load(sys.stdin)
    days = {int(day): Tally(contributors, tuple(moods), tuple(energies))
            for day, (contributors, moods, energies) in figures["days"].items()}
    sys.stdout.buffer.write(render_chart(days, figures["first_day"], figures["last_day"], figures["title"]))


if __name__ == "__main__":
    main()
