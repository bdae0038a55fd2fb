"""The host bot's reads over the read-only store, and its writes as static functions run inside a unit of work."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from bothy.storage.database import ReadStore, scalar
from bots.host.tags import slug

MAX_INTERESTS = 30  # per member: more is no longer a profile but a list of everything


class InterestRepository:
    def __init__(self, store: ReadStore):
        self.store = store

    async def of(self, user_id: str) -> tuple[list[str], bool]:
        """The member's tags, alphabetically, and whether they want invitations."""
        async with self.store.read() as db:
            async with db.execute("SELECT tag FROM interests WHERE user_id = ? ORDER BY tag",
                                  (user_id,)) as cursor:
                tags = [row[0] for row in await cursor.fetchall()]
            async with db.execute("SELECT invites FROM interest_invites WHERE user_id = ?", (user_id,)) as cursor:
                row = await cursor.fetchone()
        return tags, bool(row and row[0])

    @staticmethod
    async def add(db: aiosqlite.Connection, user_id: str, tags: list[str], now_ms: int) -> None:
        """At most MAX_INTERESTS, counted as they are written: two adds side by side (from a DM and a group) each
        read room for theirs."""
        for tag in tags:
            await db.execute("INSERT OR IGNORE INTO interests (user_id, tag, added_at) SELECT ?, ?, ? "
                             "WHERE (SELECT COUNT(*) FROM interests WHERE user_id = ?) < ?",
                             (user_id, tag, now_ms, user_id, MAX_INTERESTS))

    @staticmethod
    async def remove(db: aiosqlite.Connection, user_id: str, tags: list[str]) -> None:
        await db.executemany("DELETE FROM interests WHERE user_id = ? AND tag = ?", [(user_id, tag) for tag in tags])

    @staticmethod
    async def set_invites(db: aiosqlite.Connection, user_id: str, invites: bool) -> None:
        """Off withdraws interest invitations still owed (the homeserver was busy when they were due): the reply
        promises none."""
        await db.execute("INSERT INTO interest_invites (user_id, invites) VALUES (?, ?) "
                         "ON CONFLICT (user_id) DO UPDATE SET invites = excluded.invites", (user_id, int(invites)))
        if not invites:
            await db.execute("DELETE FROM group_invites WHERE user_id = ? AND reason IN ('interest', 'offer') "
                             "AND sent_at IS NULL",
                             (user_id,))


WEEK_MS = 7 * 86_400_000


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    slug: str
    tags: tuple[str, ...]
    creator: str | None
    created_at: int
    state: str  # pending (waits for approval), building, ready, declined, archiving, archived
    sensitive: bool
    listed: bool
    token: str  # makes the room's alias, so making the room twice finds the first
    room_id: str | None
    last_active_at: int | None


GROUP_COLUMNS = ("id, name, slug, tags, creator, created_at, state, sensitive, listed, token, room_id, "
                 "last_active_at")


def _group(row: aiosqlite.Row | tuple) -> Group:
    return Group(row[0], row[1], row[2], tuple(row[3].split()), row[4], row[5], row[6], bool(row[7]), bool(row[8]),
                 row[9], row[10], row[11])


@dataclass(frozen=True)
class OwedInvite:
    group_id: int
    room_id: str
    user_id: str
    reason: str  # interest, asked, or offer (a sensitive group's, made privately: see GroupRooms._send_invites)
    name: str


class GroupRepository:
    def __init__(self, store: ReadStore):
        self.store = store

    async def _groups(self, where: str, parameters: tuple = ()) -> list[Group]:
        async with self.store.read() as db, db.execute(
            f"SELECT {GROUP_COLUMNS} FROM group_rooms WHERE {where} ORDER BY name COLLATE NOCASE, id", parameters
        ) as cursor:
            return [_group(row) for row in await cursor.fetchall()]

    async def by_id(self, group_id: int) -> Group | None:
        found = await self._groups("id = ?", (group_id,))
        return found[0] if found else None

    async def by_room(self, room_id: str) -> Group | None:
        found = await self._groups("room_id = ?", (room_id,))
        return found[0] if found else None

    async def named(self) -> list[Group]:
        """Every group whose name is taken: all but declined ones (an archived group keeps its name), but a group on a
        sensitive subject takes no name: refusing one like it would tell another member it exists (a reviewer's)."""
        return await self._groups("sensitive = 0 AND state != 'declined'")

    async def listed(self) -> list[Group]:
        return await self._groups("listed = 1 AND state = 'ready'")

    async def offered_to(self, user_id: str) -> list[Group]:
        """Unlisted groups this member was privately offered (a sensitive group sharing their interest), taken up or
        not: only once the offer has gone, for until then they have not been told of it."""
        return await self._groups("state = 'ready' AND listed = 0 AND id IN (SELECT group_id FROM group_invites "
                                  "WHERE user_id = ? AND (reason = 'asked' OR (reason = 'offer' AND sent_at IS NOT NULL"
                                  ")))", (user_id,))

    async def created_by(self, user_id: str) -> list[Group]:
        return await self._groups("creator = ?", (user_id,))

    async def in_state(self, state: str) -> list[Group]:
        return await self._groups("state = ?", (state,))

    async def dormant(self, quiet_since_ms: int) -> list[Group]:
        """Ready groups with no message since then, not yet asked about."""
        return await self._groups("state = 'ready' AND dormant_asked_at IS NULL "
                                  "AND COALESCE(last_active_at, created_at) < ?", (quiet_since_ms,))

    async def building_since(self, group: Group) -> int:
        """When the group's building began: a sensitive group's at its approval (the line `!group approve` audited),
        any other's when it was recorded."""
        if not group.sensitive:
            return group.created_at
        async with self.store.read() as db:
            approved = await scalar(db, "SELECT MAX(at) FROM audit_log WHERE action = 'group approve' AND detail = ?",
                                    (str(group.id),))
        return approved if approved is not None else group.created_at

    async def started_since(self, user_id: str, since_ms: int) -> int:
        async with self.store.read() as db:
            return await scalar(db, "SELECT COUNT(*) FROM group_rooms WHERE creator = ? AND created_at >= ?",
                                (user_id, since_ms))

    async def matching_members(self, tags: tuple[str, ...], exclude: frozenset[str], since_ms: int,
                               per_week: int, limit: int) -> list[str]:
        """Members with invitations on who share a tag and have had fewer than `per_week` interest
        invitations since `since_ms`: those sharing most tags first."""
        if not tags or per_week <= 0 or limit <= 0:
            return []
        marks = ", ".join("?" for _ in tags)
        async with self.store.scan() as db, db.execute(
            f"""
            SELECT i.user_id FROM interests i
            JOIN interest_invites p ON p.user_id = i.user_id AND p.invites = 1
            WHERE i.tag IN ({marks})
              AND (SELECT COUNT(*) FROM group_invites g WHERE g.user_id = i.user_id AND g.offered_at >= ?) < ?
            GROUP BY i.user_id
            ORDER BY COUNT(*) DESC, i.user_id
            """, (*tags, since_ms, per_week),
        ) as cursor:
            chosen = []
            async for row in cursor:
                if row[0] not in exclude:
                    chosen.append(row[0])
                    if len(chosen) >= limit:
                        break
            return chosen

    async def owed_invites(self, limit: int) -> list[OwedInvite]:
        async with self.store.read() as db, db.execute(
            "SELECT i.group_id, g.room_id, i.user_id, i.reason, g.name FROM group_invites i "
            "JOIN group_rooms g ON g.id = i.group_id "
            "WHERE i.sent_at IS NULL AND g.room_id IS NOT NULL AND g.state = 'ready' ORDER BY i.owed_at LIMIT ?",
            (limit,),
        ) as cursor:
            return [OwedInvite(*row) for row in await cursor.fetchall()]

    @staticmethod
    async def propose(db: aiosqlite.Connection, name: str, tags: list[str], creator: str, now_ms: int,
                      sensitive: bool, token: str) -> int:
        """A new group: waiting for approval when sensitive (and never listed), otherwise to be built."""
        cursor = await db.execute(
            "INSERT INTO group_rooms (name, slug, tags, creator, created_at, state, sensitive, listed, token) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, slug(name), " ".join(tags), creator, now_ms, "pending" if sensitive else "building",
             int(sensitive), int(not sensitive), token),
        )
        return int(cursor.lastrowid or 0)

    @staticmethod
    async def move(db: aiosqlite.Connection, group_id: int, before: str, after: str) -> bool:
        """Move a group from one state to the next; False if it was not in `before` (someone got there first)."""
        cursor = await db.execute("UPDATE group_rooms SET state = ? WHERE id = ? AND state = ?",
                                  (after, group_id, before))
        return cursor.rowcount == 1

    @staticmethod
    async def give_up(db: aiosqlite.Connection, group_id: int) -> bool:
        """A group that could not be built goes, if it is still being built (False if it was built, or given up,
        meanwhile): its name is free again and it no longer counts against its creator's weekly limit. Nothing else
        needs the row; it names the creator, and may name something sensitive."""
        cursor = await db.execute("DELETE FROM group_rooms WHERE id = ? AND state = 'building'", (group_id,))
        return cursor.rowcount == 1

    @staticmethod
    async def set_room(db: aiosqlite.Connection, group_id: int, room_id: str) -> None:
        await db.execute("UPDATE group_rooms SET room_id = ? WHERE id = ?", (room_id, group_id))

    @staticmethod
    async def unlist(db: aiosqlite.Connection, group_id: int) -> None:
        await db.execute("UPDATE group_rooms SET listed = 0 WHERE id = ?", (group_id,))

    @staticmethod
    async def asked_about_dormancy(db: aiosqlite.Connection, group_id: int, now_ms: int) -> bool:
        cursor = await db.execute("UPDATE group_rooms SET dormant_asked_at = ? WHERE id = ? AND "
                                  "dormant_asked_at IS NULL", (now_ms, group_id))
        return cursor.rowcount == 1

    @staticmethod
    async def touch(db: aiosqlite.Connection, room_id: str, now_ms: int, coarse_ms: int) -> None:
        """A message in a group: note when, at most once per `coarse_ms` (one indexed UPDATE, no read)."""
        await db.execute("UPDATE group_rooms SET last_active_at = ?, dormant_asked_at = NULL WHERE room_id = ? "
                         "AND COALESCE(last_active_at, 0) < ?", (now_ms, room_id, now_ms - coarse_ms))

    @staticmethod
    async def owe_invites(db: aiosqlite.Connection, group_id: int, user_ids: list[str], reason: str,
                          now_ms: int) -> None:
        """Invitations to send; asking again (say, after declining an invitation, or taking up an offer) owes a fresh
        one, and an approach made unasked keeps its place in the weekly limit (`offered_at`)."""
        offered_at = None if reason == "asked" else now_ms
        await db.executemany(
            "INSERT INTO group_invites (group_id, user_id, reason, owed_at, offered_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (group_id, user_id) DO UPDATE SET sent_at = NULL, owed_at = excluded.owed_at, "
            "reason = excluded.reason WHERE excluded.reason = 'asked'",
            [(group_id, user_id, reason, now_ms, offered_at) for user_id in user_ids],
        )

    @staticmethod
    async def forget_old(db: aiosqlite.Connection, before_ms: int) -> None:
        """Invitations owed, and groups declined, before then (a declined group names its creator and may name
        something sensitive; nothing needs it once the weekly limit no longer looks back that far)."""
        await db.execute("DELETE FROM group_invites WHERE owed_at < ?", (before_ms,))
        await db.execute("DELETE FROM group_rooms WHERE state = 'declined' AND created_at < ?", (before_ms,))

    @staticmethod
    async def invite_sent(db: aiosqlite.Connection, group_id: int, user_id: str, reason: str, now_ms: int) -> bool:
        """Mark it sent, only if it is still owed as it was read, for a group still open: False if, since, the member
        turned invitations off or took an offer up, or the group closed (then what the sweep made of it is not sent)."""
        cursor = await db.execute(
            "UPDATE group_invites SET sent_at = ? WHERE group_id = ? AND user_id = ? AND reason = ? "
            "AND sent_at IS NULL AND EXISTS (SELECT 1 FROM group_rooms WHERE id = ? AND state = 'ready')",
            (now_ms, group_id, user_id, reason, group_id))
        return cursor.rowcount == 1


async def welcome_once(db: aiosqlite.Connection, user_id: str, now_ms: int) -> bool:
    """True only the first time for this member: the row is the promise never to welcome them again."""
    cursor = await db.execute("INSERT OR IGNORE INTO welcomed (user_id, welcomed_at) VALUES (?, ?)", (user_id, now_ms))
    return cursor.rowcount == 1
