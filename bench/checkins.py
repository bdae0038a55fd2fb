"""The check-in sweep over 100,000 members in 1,000 rooms with realistic activity.

Bar (PRODUCT.md): under 2 s, including queueing the check-ins it decides to send. The database is
filled directly (five weeks of daily counters), then the real sweep runs against it. Prints JSON.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from bench.report import emit, parser
from bothy.bots.checkin.bot import CheckinBot
from bothy.clock import Clock
from bothy.config import parse_config
from bothy.storage.checkins import DAY_MS, CheckinRepository
from bothy.storage.database import Database
from bothy.storage.migrations import migrate
from bothy.storage.outbox import OutboxRepository
from bothy.templates import Templates

ROOT = Path(__file__).resolve().parents[1]
MEMBERS, ROOMS, DAYS = 100_000, 1_000, 35


class NoRooms:
    def is_direct_room(self, room_id: str) -> bool:
        return False

    def room_name(self, room_id: str) -> str:
        return room_id


class NoAlerts:
    def on_claim(self, kind, hook) -> None:
        return None


def config():
    import yaml

    data = yaml.safe_load((ROOT / "config.example.yaml").read_text())
    data["crypto"]["pickle_key"] = "bench-only-secret"
    for bot in data["bots"].values():
        bot["password"] = "bench-only-password"
    data["checkin"]["quiet_hours"] = "00:00-00:00"
    return parse_config(data, base_dir=ROOT)


async def fill(database: Database, now_ms: int, seed: int = 3) -> dict[str, int]:
    """Members in 1-3 rooms; most active a few days a week, some gone quiet, some silent, some readers."""
    rng = random.Random(seed)
    today = now_ms // DAY_MS
    presence, activity = [], []
    kinds = {"steady": 0, "dropped": 0, "silent": 0, "listener": 0}
    for n in range(MEMBERS):
        user = f"@member{n}:example.org"
        kind = rng.choices(list(kinds), weights=(80, 6, 4, 10))[0]
        kinds[kind] += 1
        for room in rng.sample(range(ROOMS), rng.choice((1, 1, 2, 3))):
            room_id = f"!room{room}:example.org"
            last_active = None
            if kind != "listener":
                for day in range(today - DAYS, today + 1):
                    recent = day > today - 7
                    if (kind == "dropped" and recent) or (kind == "silent" and day > today - 14):
                        continue
                    if rng.random() < 0.35:
                        activity.append((user, room_id, day, rng.randint(1, 6), rng.randint(0, 4)))
                        last_active = day * DAY_MS + 43_200_000
            last_read = now_ms - rng.randint(0, 3) * DAY_MS if kind in ("listener", "steady") else None
            presence.append((user, room_id, now_ms - 60 * DAY_MS, last_active, last_read))
    async with database.transaction() as db:
        await db.executemany("INSERT OR IGNORE INTO activity VALUES (?, ?, ?, ?, ?)", activity)
        await db.executemany("INSERT OR IGNORE INTO presence VALUES (?, ?, ?, ?, ?)", presence)
    return {**kinds, "activity_rows": len(activity), "presence_rows": len(presence)}


async def run() -> dict:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(Path(directory) / "bench.sqlite3")
        await database.open()
        await migrate(database)
        clock = Clock()
        population = await fill(database, clock.ms())
        bot = CheckinBot(config(), database, CheckinRepository(database), OutboxRepository(database), NoAlerts(),
                         NoRooms(), Templates(), clock, lambda: None)
        started = time.perf_counter()
        queued = await bot.sweep()
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = await bot.sweep()
        second = time.perf_counter() - started
        await database.close()
    return {
        "benchmark": "checkin_sweep",
        "members": MEMBERS,
        "rooms": ROOMS,
        "population": population,
        "first_sweep_s": round(first, 3),
        "check_ins_queued": queued,
        "second_sweep_s": round(second, 3),
        "check_ins_queued_on_second_sweep": again,
        "bars": {"first_sweep_s < 2": {"value": round(first, 3), "pass": first < 2.0},
                 "nothing sent twice": {"value": again, "pass": again == 0}},
        "all_bars_pass": first < 2.0 and again == 0,
    }


def main() -> None:
    arguments = parser(__doc__)
    args = arguments.parse_args()
    emit(asyncio.run(run()), args.out)


if __name__ == "__main__":
    main()
