"""Interest matching for a new group over 100,000 members with 10 tags each.

Bar (issue 11): under 1 s to find who to invite for a new group. The database is filled directly
(1,000,000 interest rows over 500 tags, popular ones far more common, half the members with invitations
on, a tenth already at their weekly limit), then the real query runs for a group on the most popular tag
and two others: with the default cap (`groups.max_invites_per_group`), and uncapped (every match) as the
worst case. The whole `group_rooms` sweep that makes the group and owes its invitations is timed too. A
baseline reads every row and matches in Python, in the same run. Prints JSON.
"""

from __future__ import annotations

import asyncio
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
from bots.host.bot import HostBot
from bots.host.storage import WEEK_MS, GroupRepository
from bots.installed import INSTALLATION

MEMBERS, TAGS_EACH, VOCABULARY = 100_000, 10, 500
GROUP_TAGS = ("tag0", "tag7", "tag42")  # the most popular tag, a common one, a middling one


async def fill(database: Database, now_ms: int, seed: int = 11) -> dict[str, int]:
    rng = random.Random(seed)
    vocabulary = [f"tag{n}" for n in range(VOCABULARY)]
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]  # Zipf-like: a few tags are everyone's
    interests, prefs, invites = [], [], []
    for n in range(MEMBERS):
        user = f"@member{n}:example.org"
        chosen: set[str] = set()
        while len(chosen) < TAGS_EACH:
            chosen.update(rng.choices(vocabulary, weights, k=TAGS_EACH - len(chosen)))
        interests.extend((user, tag, now_ms) for tag in chosen)
        prefs.append((user, int(rng.random() < 0.5)))
        if rng.random() < 0.1:
            invites.extend((group, user, "interest", now_ms - 86_400_000) for group in (1, 2, 3))
    async with database.transaction() as db:
        await db.executemany("INSERT INTO interests VALUES (?, ?, ?)", interests)
        await db.executemany("INSERT INTO interest_invites VALUES (?, ?)", prefs)
        for group in (1, 2, 3):
            await GroupRepository.propose(db, f"Earlier {group}", ["tag1"], "@someone:example.org", now_ms, False,
                                          f"token{group}")
        await db.executemany("INSERT INTO group_invites (group_id, user_id, reason, owed_at) VALUES (?, ?, ?, ?)",
                             invites)
        await db.execute("UPDATE group_rooms SET state = 'ready'")
    return {"interest_rows": len(interests), "members_at_weekly_limit": len(invites) // 3}


async def baseline(database: Database, since_ms: int, per_week: int) -> int:
    """Read every interest and invitation, match in Python: what the indexed query replaces."""
    async with database.read() as db:
        async with db.execute("SELECT user_id, tag FROM interests") as cursor:
            rows = await cursor.fetchall()
        async with db.execute("SELECT user_id FROM interest_invites WHERE invites = 1") as cursor:
            opted = {row[0] for row in await cursor.fetchall()}
        async with db.execute("SELECT user_id, COUNT(*) FROM group_invites WHERE owed_at >= ? GROUP BY user_id",
                              (since_ms,)) as cursor:
            invited = dict(await cursor.fetchall())
    wanted = set(GROUP_TAGS)
    return len({user for user, tag in rows if tag in wanted and user in opted and invited.get(user, 0) < per_week})


async def timed(work) -> tuple[float, object]:
    started = time.perf_counter()
    result = await work
    return round(time.perf_counter() - started, 3), result


async def run() -> dict:
    with tempfile.TemporaryDirectory() as directory:
        database = Database(Path(directory) / "bench.sqlite3")
        await database.open()
        await migrate(database, INSTALLATION.migrations)
        clock = Clock()
        now = clock.ms()
        population = await fill(database, now)
        settings = config().bot_settings["host"]
        bot = HostBot(bot_context(database, INSTALLATION, settings, clock=clock))
        repository = bot.group_rooms.repository
        since, per_week = now - WEEK_MS, settings.max_invites_per_week
        capped_s, capped = await timed(repository.matching_members(
            GROUP_TAGS, frozenset(), since, per_week, settings.max_invites_per_group))
        uncapped_s, uncapped = await timed(repository.matching_members(GROUP_TAGS, frozenset(), since, per_week,
                                                                       MEMBERS))
        baseline_s, expected = await timed(baseline(database, since, per_week))
        async with database.transaction() as db:
            await GroupRepository.propose(db, "Bench club", list(GROUP_TAGS), "@bob:example.org", now, False, "bench")
        sweep_s, _ = await timed(bot.group_rooms.sweep())
        await database.close()
    assert isinstance(capped, list) and isinstance(uncapped, list)
    slowest = max(capped_s, uncapped_s)
    bars = {"matching for a new group < 1 s (uncapped worst case)": {"value": slowest, "pass": slowest < 1.0},
            "the query finds exactly the members the baseline does": {"value": len(uncapped),
                                                                        "pass": len(uncapped) == expected}}
    return {"benchmark": "group_matching", "members": MEMBERS, "tags_each": TAGS_EACH, "vocabulary": VOCABULARY,
            "population": population, "group_tags": GROUP_TAGS,
            "capped": {"seconds": capped_s, "invited": len(capped), "cap": settings.max_invites_per_group},
            "uncapped": {"seconds": uncapped_s, "matches": len(uncapped)},
            "baseline_read_everything_s": baseline_s, "whole_sweep_making_the_group_s": sweep_s,
            "bars": bars, "all_bars_pass": all(bar["pass"] for bar in bars.values())}


def main() -> None:
    arguments = parser(__doc__)
    emit(asyncio.run(run()), arguments.parse_args().out)


if __name__ == "__main__":
    main()
