"""The mood report's chart: drawn as text whatever the room is called, and by a child process that is never left
behind."""

import asyncio
import json
import os
from pathlib import Path

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
def fake_python(tmp_path, monkeypatch):
    """Bothy's interpreter, as the child is started, replaced by a shell script of the given lines."""
    def install(lines: str) -> None:
        script = tmp_path / "python"
        script.write_text(f"#!/bin/sh\n{lines}\n")
        script.chmod(0o755)
        monkeypatch.setattr(chart.sys, "executable", str(script))
    return install


@pytest.fixture
def stuck_child(tmp_path, fake_python):
    """A child that writes its process ID and then never answers: where its ID is written."""
    pid_file = tmp_path / "pid"
    fake_python(f"echo $$ > {pid_file}\nexec sleep 600")
    return pid_file


def gone(pid_file: Path) -> bool:
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


async def test_a_child_that_cannot_start_is_a_chart_error(monkeypatch):
    monkeypatch.setattr(chart.sys, "executable", "/nonexistent/python3")
    with pytest.raises(chart.ChartError, match="cannot start"):
        await chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle")


async def test_a_failing_drawing_names_its_error_and_nothing_of_the_room(monkeypatch):
    """A lone surrogate in a room's name cannot be drawn: the log learns the error's name, not the name."""
    with pytest.raises(chart.ChartError, match=r"exit 1, [A-Za-z]+Error\)") as failed:
        await chart.draw_chart(FIGURES, DAY - 55, DAY, "Secret \ud800 group")
    assert "Secret" not in str(failed.value)


async def test_the_child_runs_bothys_own_code_not_the_working_folders(tmp_path, monkeypatch):
    """`python -m` would read a bots/mood/chart.py in the working folder first: -P reads Bothy's own."""
    planted = tmp_path / "bots" / "mood"
    planted.mkdir(parents=True)
    for folder in (tmp_path / "bots", planted):
        (folder / "__init__.py").write_text("")
    (planted / "chart.py").write_text("import sys\nsys.stdout.buffer.write(b'HIJACKED')\n")
    monkeypatch.chdir(tmp_path)
    assert (await chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle")).startswith(b"\x89PNG")


async def test_the_child_gets_none_of_bothys_secrets(tmp_path, monkeypatch, fake_python):
    monkeypatch.setenv("BOTHY_ACCESS_TOKEN", "s3cret")
    seen = tmp_path / "environment"
    fake_python(f"env > {seen}\nexit 1")
    with pytest.raises(chart.ChartError):
        await chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle")
    assert "PATH=" in seen.read_text() and "s3cret" not in seen.read_text()


async def test_a_long_room_name_is_cut_to_fit(tmp_path, fake_python):
    """64 KB of name took 14 s to draw; no phone shows more than a line of it."""
    received = tmp_path / "figures.json"
    fake_python(f"cat > {received}\nexit 1")
    with pytest.raises(chart.ChartError):
        await chart.draw_chart(FIGURES, DAY - 55, DAY, "x" * 65_536)
    title = json.loads(received.read_text())["title"]
    assert len(title) == chart.MAX_TITLE_CHARS and title.endswith("…")


def test_reports_drawn_side_by_side_in_a_second_event_loop_wait_their_turn(fake_python):
    """One child at a time, per event loop: a lock made in one loop must not break reports in the next (a restart in
    the same process, a benchmark after a test)."""
    fake_python("exit 1")

    async def two_at_once() -> list[BaseException | bytes]:
        return await asyncio.gather(*(chart.draw_chart(FIGURES, DAY - 55, DAY, "Knitting Circle") for _ in range(2)),
                                    return_exceptions=True)

    for _ in range(2):
        assert all(isinstance(outcome, chart.ChartError) for outcome in asyncio.run(two_at_once()))
