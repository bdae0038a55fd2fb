"""Room climate: per group room and hour, how many distinct people wrote something matching a distress
topic or hostility, never who or what. When a room's hour jumps well above its own baseline with at least
`min_people` involved, the staff room gets one notice per episode, naming and quoting nobody.

Privacy: the database holds integers per room, hour and category, nothing that names a member. Telling
people apart within the hour needs something, so the current hour's members are kept in memory only, as
hashes salted with a random value that is thrown away when the hour turns. A restart mid-hour forgets them,
so someone who writes both before and after it may be counted twice in that one hour: an overcount we
accept rather than store member IDs.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from dataclasses import dataclass, field

import aiosqlite

from bothy.matrix.events import Message
from bothy.outbox import Effects
from bothy.plugin import BotContext
from bothy.settings import SettingsReader
from bots.referral.climate_policy import HOUR_MS, ClimateThresholds, baseline_of, is_jump, new_episode
from bots.referral.kb import Topic

KIND = "room_climate"
MAX_BASELINE_DAYS = 90  # referral.climate.baseline: a season is as long as a usual needs
MAX_RATIO = 100  # referral.climate.ratio: higher (or .inf) would mean no jump is ever seen
DISTRESS, HOSTILITY = "distress", "hostility"


@dataclass(frozen=True)
class ClimateSettings:
    thresholds: ClimateThresholds = field(default_factory=ClimateThresholds)
    distress_topics: frozenset[str] = field(default_factory=lambda: frozenset({"crisis", "mental-health-support"}))


def read_climate_settings(reader: SettingsReader) -> ClimateSettings:
    """`referral.climate.*`."""
    default = ClimateThresholds()
    min_people = reader.get("referral.climate.min_people", int, default=default.min_people)
    reader.check("referral.climate.min_people", min_people, lambda v: v >= 3, "must be at least 3")
    ratio = reader.get("referral.climate.ratio", (int, float), default=default.ratio)
    reader.check("referral.climate.ratio", ratio, lambda v: 1 <= v <= MAX_RATIO, f"must be from 1 to {MAX_RATIO}")
    margin = reader.get("referral.climate.margin", int, default=default.margin)
    reader.check("referral.climate.margin", margin, lambda v: v >= 1, "must be at least 1")
    topics = reader.get("referral.climate.distress_topics", list, default=sorted(ClimateSettings().distress_topics))
    reader.check("referral.climate.distress_topics", topics, lambda names: all(isinstance(n, str) for n in names),
                 "every entry must be a topic's id, like crisis")
    baseline_s = reader.duration("referral.climate.baseline", "14d")
    # Each counted message sorts a room's hours over the baseline: years of them would cost seconds a message.
    reader.check("referral.climate.baseline", baseline_s, lambda v: v <= MAX_BASELINE_DAYS * 86_400,
                 f"must be at most {MAX_BASELINE_DAYS}d")
    # The climate is counted by the hour: "90m" would quietly have meant an hour.
    calm_s = reader.duration("referral.climate.calm_after", "6h")
    for key, seconds in (("referral.climate.baseline", baseline_s), ("referral.climate.calm_after", calm_s)):
        reader.check(key, seconds, lambda v: v % 3600 == 0, "must be whole hours, like 6h (it is counted by the hour)")
    return ClimateSettings(
        ClimateThresholds(
            min_people=max(3, min_people or default.min_people), ratio=float(ratio or default.ratio),
            margin=margin or default.margin,
            baseline_hours=min(baseline_s, MAX_BASELINE_DAYS * 86_400) // 3600 or 1,
            calm_hours=calm_s // 3600 or 1,
        ),
        frozenset(topic for topic in topics or () if isinstance(topic, str)),
    )


async def _mark_seen(db: aiosqlite.Connection, seen: set[bytes], member: bytes) -> None:
    """Marked as the count is written, so a handler that fails and is run again still counts the member."""
    seen.add(member)


def part_of_day(at: dt.datetime) -> str:
    return "morning" if 5 <= at.hour < 12 else "afternoon" if at.hour < 17 else "evening" if at.hour < 22 \
        else "night"


class RoomClimate:
    def __init__(self, context: BotContext, settings: ClimateSettings):
        self.context = context
        self.settings = settings
        self._hour: int | None = None
        self._salt = b""
        self._seen: dict[tuple[str, str], set[bytes]] = {}  # (room, category) -> salted hashes, this hour only

    def categories(self, topics: list[Topic]) -> set[str]:
        found = set()
        for topic in topics:
            if topic.tier == "signal":
                found.add(HOSTILITY)
            elif topic.id in self.settings.distress_topics:
                found.add(DISTRESS)
        return found

    async def count(self, message: Message, topics: list[Topic], effects: Effects, room_name: str) -> None:
        """Count the author once per room, category and hour; on a jump that starts an episode, tell staff."""
        now_hour = self.context.clock.ms() // HOUR_MS
        hour = message.timestamp_ms // HOUR_MS
        if hour != now_hour:
            return  # a message from an earlier hour (replayed after a restart) is not today's climate
        if hour != self._hour:
            self._hour, self._salt, self._seen = hour, os.urandom(16), {}
        member = hashlib.sha256(self._salt + message.sender.encode()).digest()
        for category in sorted(self.categories(topics)):
            seen = self._seen.setdefault((message.room_id, category), set())
            if member in seen:
                continue
            effects.record(functools.partial(_mark_seen, seen=seen, member=member))
            await self._counted(message.room_id, category, hour, effects, room_name)

    async def _counted(self, room_id: str, category: str, hour: int, effects: Effects, room_name: str) -> None:
        thresholds = self.settings.thresholds
        async with self.context.store.read() as db:
            async with db.execute(
                "SELECT hour, people FROM climate_hours WHERE room_id = ? AND category = ? AND hour >= ?",
                (room_id, category, hour - thresholds.baseline_hours),
            ) as cursor:
                rows: dict[int, int] = {row[0]: row[1] for row in await cursor.fetchall()}
            async with db.execute("SELECT last_jump_hour FROM climate_episodes WHERE room_id = ? AND category = ?",
                                  (room_id, category)) as cursor:
                episode = await cursor.fetchone()
        people = rows.pop(hour, 0) + 1
        jump = is_jump(people, baseline := baseline_of(list(rows.values()), thresholds.baseline_hours), thresholds)

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO climate_hours (room_id, category, hour, people) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (room_id, category, hour) DO UPDATE SET people = people + 1", (room_id, category, hour))
            if jump:
                await db.execute(
                    "INSERT INTO climate_episodes (room_id, category, last_jump_hour) VALUES (?, ?, ?) "
                    "ON CONFLICT (room_id, category) DO UPDATE SET last_jump_hour = excluded.last_jump_hour",
                    (room_id, category, hour))

        effects.record(write)
        if jump and new_episode(episode[0] if episode else None, hour, thresholds):
            local = self.context.clock.now().astimezone(self.context.timezone)
            self.context.alerts.raise_alert(effects, KIND, "alert_room_climate", room_id=room_id,
                                            room_name=room_name, category=category, people=people,
                                            usual=baseline.usual_most, part_of_day=part_of_day(local))

    async def prune(self, db: aiosqlite.Connection) -> None:
        """Hours older than the baseline are no longer needed; nor are episodes long over."""
        oldest = self.context.clock.ms() // HOUR_MS - self.settings.thresholds.baseline_hours - 1
        await db.execute("DELETE FROM climate_hours WHERE hour < ?", (oldest,))
        await db.execute("DELETE FROM climate_episodes WHERE last_jump_hour < ?", (oldest,))
