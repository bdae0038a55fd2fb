"""The mood report's chart: drawn as text whatever the room is called, and by a child process that is never left
behind."""

import asyncio
import os

import pytest

from bots.mood import chart
from bots.mood.policy import Tally

DAY = 700_000
FIGURES = {DAY: Tally(5, (0, 1, 2, 1, 1), (1, 2, 2))}


def test_a_room_name_is_drawn_as_text_not_as_maths():
    """matplotlib reads "$...$" in a title as maths: a room called "$5 a week \\frac{ or $6" must not break it."""
    assert chart.render_chart(FIGURES, DAY - 55, DAY, "$5 a week \\frac{ or $6").startswith(b"\x89PNG")


async def test_the_child_process_draws_the_png():
    assert (await chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle")).startswith(b"\x89PNG")


@pytest.fixture
def stuck_child(tmp_path, monkeypatch):
    """A "python" that writes its process ID and then never answers: where its ID is written."""
    pid_file = tmp_path / "pid"
    script = tmp_path / "stuck"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    script.chmod(0o755)
    monkeypatch.setattr(chart.sys, "executable", str(script))
    return pid_file


def gone(pid_file) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_drawing_that_takes_too_long_is_a_chart_error_and_its_child_is_killed(stuck_child, monkeypatch):
    monkeypatch.setattr(chart, "DRAW_TIMEOUT_S", 1)
    with pytest.raises(chart.ChartError, match="took over"):
        await chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle")
    assert gone(stuck_child)


async def test_a_report_cancelled_while_drawing_leaves_no_child_behind(stuck_child):
    """Bothy stopping mid-report: the child is killed and reaped, not left waiting on its input."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle"), 1)
    assert gone(stuck_child)

