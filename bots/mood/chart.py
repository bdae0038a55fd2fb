"""The report's chart: a room's anonymous daily mood and energy distribution over 8 weeks, as a PNG
that reads on a phone (tall, large type). Days without published figures are left as gaps.

Drawn in a child process (`python -P -m bots.mood.chart`, the figures as JSON in, the PNG out), one at a time:
matplotlib and a drawing hold about 40 MB that Bothy would otherwise keep for good after the first report (the child
holds about 80 MB for the two or three seconds it draws), and drawing would hold up the event loop, so every room's
messages, for the best part of a second. The child reads its code from where Bothy's own is, not from the working
folder (-P), and gets none of Bothy's environment but what drawing needs: settings, passwords among them, may come
from the environment."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import sysconfig
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from bots.mood.policy import ENERGIES, Tally

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MOOD_COLOURS = ("#b2182b", "#ef8a62", "#cccccc", "#67a9cf", "#2166ac")  # 1 to 5, colour-blind safe
ENERGY_COLOURS = ("#d9d9d9", "#969696", "#252525")
DRAW_TIMEOUT_S = 60  # a chart takes one to three seconds: waiting past a minute (for another's turn too) is stuck
MAX_TITLE_CHARS = 80  # a longer room name is cut: it would not fit a phone's screen, and 64 KB of one took 14 s to draw
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHILD_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
CODE_ROOT = Path(__file__).resolve().parents[2]  # where `bots` is, installed or in a checkout
# Installed, `bots` is in site-packages, which the child finds itself (set as PYTHONPATH it would come before the
# standard library); from a checkout it is given the checkout.
_INSTALLED = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
_CHILD_PATH = {} if CODE_ROOT in _INSTALLED else {"PYTHONPATH": str(CODE_ROOT)}
_drawing: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()  # one child at a time


class ChartError(RuntimeError):
    """The child process drawing the chart failed or took too long."""


async def draw_chart(days: Mapping[int, Tally], first_day: int, last_day: int, title: str) -> bytes:
    """render_chart's PNG, drawn in a child process (see above)."""
    if len(title) > MAX_TITLE_CHARS:
        title = title[:MAX_TITLE_CHARS - 1] + "…"
    figures = {"days": {str(day): [t.contributors, list(t.moods), list(t.energies)] for day, t in days.items()},
               "first_day": first_day, "last_day": last_day, "title": title}
    environment = {name: os.environ[name] for name in CHILD_ENVIRONMENT if name in os.environ} | _CHILD_PATH
    turn = _drawing.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    try:
        async with asyncio.timeout(DRAW_TIMEOUT_S), turn:
            png, said, returncode = await _draw_in_child(environment, json.dumps(figures).encode())
    except TimeoutError:
        raise ChartError(f"drawing the chart took over {DRAW_TIMEOUT_S} s") from None
    if returncode != 0 or not png.startswith(PNG_SIGNATURE):
        lines = said.decode(errors="replace").strip().splitlines()
        failure = lines[-1] if lines else ""  # the child's last line is only the name of what went wrong
        raise ChartError(f"drawing the chart failed (exit {returncode}, "
                         f"{failure if failure.isidentifier() else 'no reason given'})")
    return png


async def _draw_in_child(environment: dict[str, str], figures: bytes) -> tuple[bytes, bytes, int | None]:
    """The child's output, error output and exit code; killed and reaped however this ends (a timeout, or the report
    cancelled as Bothy stops), so that no child is left behind."""
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-m", __name__, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=environment)
    except OSError as error:  # no interpreter, no processes or files left: the words still go
        raise ChartError(f"cannot start the drawing ({error.strerror or type(error).__name__})") from None
    try:
        png, said = await child.communicate(figures)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    return png, said, child.returncode


def render_chart(days: Mapping[int, Tally], first_day: int, last_day: int, title: str) -> bytes:
    """Two stacked panels of daily shares (mood 1-5, then energy), one bar per day with figures."""
    from matplotlib.figure import Figure  # here, in the child process only (see above)
    xs = list(range(first_day, last_day + 1))
    # A bare Figure renders with Agg and keeps no global state (pyplot would).
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
    """The child process: the figures as JSON on stdin, the PNG on stdout; on failure only the error's name on stderr
    (its message, or a warning, could quote the room's name into Bothy's log)."""
    warnings.simplefilter("ignore")
    logging.disable()
    try:
        figures = json.load(sys.stdin)
        days = {int(day): Tally(contributors, tuple(moods), tuple(energies))
                for day, (contributors, moods, energies) in figures["days"].items()}
        png = render_chart(days, figures["first_day"], figures["last_day"], figures["title"])
    except Exception as error:  # any failure is reported the same way, by name
        sys.stderr.write(type(error).__name__)
        sys.exit(1)
    sys.stdout.buffer.write(png)


if __name__ == "__main__":
    main()
