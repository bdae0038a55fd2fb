"""Resident memory with 1,000 rooms and 10,000 members.

Builds Bothy's real in-memory pieces (a Matrix account with E2EE on, the knowledge base and its
matcher, the templates, the database, the date and calendar libraries a meetup loads, a mood report's chart drawn
in a child process as Bothy draws it) and hands the
account one sync response that puts it in 1,000 encrypted rooms whose full member lists (10,000
distinct members, about 30 per room) are loaded: the worst case, as if Bothy had sent into every
room. Bar (PRODUCT.md): under 200 MB RSS. Prints JSON.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nio

from bench.report import emit, parser
from bothy.config import BotAccount
from bothy.matrix.adapter import MatrixAccount
from bothy.storage.database import Database
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.migrations import migrate
from bothy.storage.sessions import SessionRepository
from bots.host.meetup_times import calendar_file, parse_plan
from bots.installed import INSTALLATION
from bots.mood.chart import draw_chart
from bots.mood.policy import Tally
from bots.referral.bot import ReloadingKnowledgeBase
from rooms.dm import DirectRooms

ROOT = Path(__file__).resolve().parents[1]
ROOMS, MEMBERS, PER_ROOM = 1_000, 10_000, 30
BOT = "@bothy:example.org"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def sync_response() -> nio.SyncResponse:
    """Every member in three rooms, every room with 30 members and the bot."""
    rooms = {}
    for n in range(ROOMS):
        room_id = f"!room{n}:example.org"
        members = [BOT, *(f"@member{(n * PER_ROOM + i) % MEMBERS}:example.org" for i in range(PER_ROOM))]
        state = [
            {"type": "m.room.create", "state_key": "", "sender": members[1], "event_id": f"$c{n}",
             "origin_server_ts": 1, "content": {"creator": members[1], "room_version": "10"}},
            {"type": "m.room.encryption", "state_key": "", "sender": members[1], "event_id": f"$e{n}",
             "origin_server_ts": 1, "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
            {"type": "m.room.name", "state_key": "", "sender": members[1], "event_id": f"$n{n}",
             "origin_server_ts": 1, "content": {"name": f"Group {n}"}},
            *({"type": "m.room.member", "state_key": user, "sender": user, "event_id": f"$m{n}-{i}",
               "origin_server_ts": 1, "content": {"membership": "join", "displayname": f"Member {i}"}}
              for i, user in enumerate(members)),
        ]
        rooms[room_id] = {"state": {"events": state}, "timeline": {"events": [], "limited": False},
                          "ephemeral": {"events": []}, "account_data": {"events": []},
                          "summary": {"m.joined_member_count": len(members)}}
    return nio.SyncResponse.from_dict({"next_batch": "s1", "rooms": {"join": rooms, "invite": {}, "leave": {}},
                                       "to_device": {"events": []}, "presence": {"events": []},
                                       "device_one_time_keys_count": {}, "device_lists": {"changed": [], "left": []}})


async def run() -> dict:
    before = rss_mb()
    with tempfile.TemporaryDirectory() as directory:
        database = Database(Path(directory) / "bothy.sqlite3")
        await database.open()
        await migrate(database, INSTALLATION.migrations)
        account = MatrixAccount(BotAccount(BOT, "unused", None), "http://127.0.0.1:9", Path(directory) / "crypto",
                                "bench-pickle-key", SessionRepository(database),
                                DirectRooms(DirectRoomRepository(database)), frozenset({"example.org"}))
        account.client.restore_login(BOT, "BENCHDEVICE", "unused-token")  # local only: no request is made
        knowledge = ReloadingKnowledgeBase((ROOT / "referral_kb",))
        INSTALLATION.templates().render("help", prefix="!", commands=[], staff_commands=[], unknown=None)
        # A meetup loads the date parser and the calendar library, which stay loaded once used.
        now = datetime.now(UTC)
        plan = parse_plan("next Tuesday 7pm | online", now, ZoneInfo("Europe/London"))
        calendar_file("bench", "Meetup", plan.starts, plan.place, now)
        # A mood report's chart: drawn by a child process, so matplotlib's 40 MB never stay in Bothy's.
        today = now.date().toordinal()
        await draw_chart({today: Tally(9, (1, 2, 3, 2, 1), (2, 3, 4))}, today - 55, today, "Bench")
        engine = rss_mb()
        response = sync_response()
        await account.client.receive_response(response)
        del response
        loaded = rss_mb()
        rooms, members = len(account.client.rooms), len({u for r in account.client.rooms.values() for u in r.users})
        assert knowledge.current().matcher.match("I want to die").topics == ["crisis"]
        await account.close()
        await database.close()
    return {
        "benchmark": "memory", "rooms": rooms, "distinct_members": members, "memberships": rooms * (PER_ROOM + 1),
        "rss_mb": {"python_and_imports": round(before, 1), "engine_ready": round(engine, 1),
                   "with_rooms_loaded": round(loaded, 1)},
        "bars": {"rss_mb with 1,000 rooms and 10,000 members < 200": {"value": round(loaded, 1),
                                                                     "pass": loaded < 200}},
        "all_bars_pass": loaded < 200,
    }


def main() -> None:
    args = parser(__doc__).parse_args()
    emit(asyncio.run(run()), args.out)


if __name__ == "__main__":
    main()
