"""The mood bot at scale: the daily prompt sweep to 100,000 opted-in members, and the day's aggregate with
its suppression over 1,000,000 anonymous answers in 1,000 rooms.

Bars (PRODUCT.md / issue 10): each under 2 s. The database is filled directly, then the real sweep and the
real weather run against it (the weather queues its notices too). Prints JSON.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from pathlib import Path

from bench.checkins import config
from bench.report import emit, parser
from bothy.clock import Clock
from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bothy.testing import bot_context
from bots.installed import INSTALLATION
from bots.mood.bot import MoodBot
from bots.mood.policy import ENERGIES, local_day

MEMBERS, ENTRIES, ROOMS = 100_000, 1_000_000, 1_000


async def measure_prompt_sweep(database: Database, bot: MoodBot) -> dict:
    async with database.transaction() as db:
        await db.executemany("INSERT INTO mood_prefs (user_id, prompt, explained) VALUES (?, 1, 1)",
                             [(f"@member{n}:example.org",) for n in range(MEMBERS)])
    started = time.perf_counter()
    sent = await bot.prompt_sweep()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = await bot.prompt_sweep()
    return {"prompts_queued": sent, "sweep_s": round(first, 3), "second_sweep_queued": again,
            "second_sweep_s": round(time.perf_counter() - started, 3)}


async def measure_weather(database: Database, bot: MoodBot, day: int, seed: int = 5) -> dict:
    """Voters in 1 to 3 rooms until there are a million answers (a room each), so rooms overlap."""
    rng = random.Random(seed)
    rows, entries = [], 0
    while entries < ENTRIES:
        voter = os.urandom(16)
        mood, energy = rng.randint(1, 5), rng.choice(ENERGIES)
        rooms = rng.sample(range(ROOMS), rng.choice((1, 1, 2, 3)))
        entries += len(rooms)
        rows.append((day, voter, "", mood, energy, len(rooms)))  # the answer itself, counted in no room
        rows += [(day, voter, f"!room{room}:example.org", mood, energy, len(rooms)) for room in rooms]
    async with database.transaction() as db:
        await db.executemany("INSERT INTO mood_answers (day, voter, room_id, mood, energy, spread) "
                             "VALUES (?, ?, ?, ?, ?, ?)", rows)
    started = time.perf_counter()
    shown = await bot.weather()
    elapsed = time.perf_counter() - started
    return {"answers_in_rooms": entries, "rooms_shown": shown, "weather_s": round(elapsed, 3)}


async def run() -> dict:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(Path(directory) / "bench.sqlite3")
        await database.open()
        await migrate(database, INSTALLATION.migrations)
        settings = config()
        clock = Clock()
        bot = MoodBot(bot_context(database, INSTALLATION, settings.bot_settings["mood"], clock=clock,
                                  timezone=settings.timezone))
        prompt = await measure_prompt_sweep(database, bot)
        weather = await measure_weather(database, bot, local_day(clock.ms(), settings.timezone))
        await database.close()
    bars = {"prompt sweep to 100,000 members: s < 2": {"value": prompt["sweep_s"], "pass": prompt["sweep_s"] < 2.0},
            "nobody prompted twice": {"value": prompt["second_sweep_queued"],
                                      "pass": prompt["second_sweep_queued"] == 0},
            "aggregate + suppression over 1,000,000 answers: s < 2": {"value": weather["weather_s"],
                                                                      "pass": weather["weather_s"] < 2.0}}
    return {"benchmark": "mood", "members": MEMBERS, "rooms": ROOMS, "prompt_sweep": prompt, "weather": weather,
            "bars": bars, "all_bars_pass": all(bar["pass"] for bar in bars.values())}


def main() -> None:
    arguments = parser(__doc__)
    args = arguments.parse_args()
    emit(asyncio.run(run()), args.out)


if __name__ == "__main__":
    main()
