"""The reliability bar, measured by the end-to-end fault tests against a real Synapse on loopback.

Bar (PRODUCT.md): killed with SIGKILL mid-sweep or mid-send and restarted, nothing is sent twice and nothing
owed is lost; a homeserver restart or a 429 storm delays delivery but loses nothing; events that arrived while
Bothy was down are processed after it restarts (old commands get a "sorry, I was away" reply).

The tests assert exactly-once delivery themselves; this runs them one file at a time (each starts its own
Synapse) and reports, as JSON, whether each held and the figures they print: the campaign's seed and size,
connection attempts during a minute-long outage, and how long recovery took. The baseline is the bar itself:
zero lost and zero doubled. Prints JSON.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from bench.report import emit, parser

ROOT = Path(__file__).resolve().parent.parent
# (file, the tests in it that measure the bar): each file runs in its own pytest, one Synapse at a time.
RUNS = (
    ("tests/e2e/test_fault_campaign.py", ()),
    ("tests/e2e/test_resilience.py", ("test_a_homeserver_outage_delays_answers_but_loses_none",
                                      "test_a_429_storm_delays_answers_but_loses_none_and_doubles_none",
                                      "test_events_beyond_one_sync_page_that_arrived_while_away_are_still_handled")),
    ("tests/e2e/test_foundation.py", ("test_sigkill_during_a_burst_then_restart_answers_every_command_exactly_once",
                                      "test_a_command_older_than_max_age_gets_sorry_i_was_away_and_no_action")),
)
FIGURES = {  # what the tests print -> (JSON key, conversion)
    r"fault campaign seed (\d+)": ("seed", int),
    r"(\d+) SIGKILLs over (\d+)s": ("sigkills", int),
    r"; (\d+) commands, ": ("commands_under_kills", int),
    r"(\d+) crisis messages": ("crisis_messages_under_kills", int),
    r"(\d+) members owed a check-in": ("checkins_under_kills", int),
    r"outage ([\d.]+)s:": ("outage_s", float),
    r"(\d+) connection attempts": ("connection_attempts_in_outage", int),
    r"recovered ([\d.]+)s after": ("recovered_after_outage_s", float),
}


def run_file(path: str, tests: tuple[str, ...]) -> tuple[dict[str, object], str]:
    """One e2e file's verdict per test, and what it printed."""
    selection = [f"{path}::{test}" for test in tests] or [path]
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-s", "-rA", "-p", "no:cacheprovider", *selection],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    verdicts = {name: verdict for verdict, name in re.findall(r"^(PASSED|FAILED|ERROR) \S+::(\S+)", done.stdout,
                                                              re.MULTILINE)}
    results = {"seconds": round(time.monotonic() - began, 1), "tests": verdicts, "exit_code": done.returncode}
    return results, done.stdout


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    runs, printed = {}, ""
    for path, tests in RUNS:
        runs[path], output = run_file(path, tests)
        printed += output
    figures = {}
    for pattern, (key, convert) in FIGURES.items():
        found = re.search(pattern, printed)
        if found:
            figures[key] = convert(found.group(1))
    held = all(run["exit_code"] == 0 for run in runs.values())
    emit({"bar": "nothing sent twice, nothing owed lost, across SIGKILLs, an outage, a 429 storm and downtime",
          "baseline": "zero lost and zero doubled (the tests assert it)", "held": held, "figures": figures,
          "runs": runs}, args.out)
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
