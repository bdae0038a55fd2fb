"""Referral state: an anonymous log (topic, group room, time), per-member cooldowns and opt-outs, check-backs
owed after crisis lines, and anonymous feedback on suggestions. No message text, ever.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import aiosqlite

from bothy.clock import hour_of
from bothy.storage.database import ReadStore

SUGGESTION_IDS = 2**53  # random suggestion numbers, exact in any JSON reader


@dataclass(frozen=True)
class Checkback:
    id: int
    user_id: str
    answer: str | None


@dataclass(frozen=True)
class TopicCounts:
    topic: str
    sent: int
    helped: int
    not_for_me: int


class ReferralRepository:
    """Reads here; writes are static, run inside the caller's unit of work."""

    def __init__(self, database: ReadStore):
        self.database = database

    async def last_sent(self, user_id: str, topic: str) -> int | None:
        async with self.database.read() as db, db.execute(
            "SELECT sent_at FROM referral_cooldowns WHERE user_id = ? AND topic = ?", (user_id, topic)
        ) as cursor:
            row = await cursor.fetchone()
        return row[0] if row else None

    async def opted_out(self, user_id: str) -> bool:
        async with self.database.read() as db, db.execute(
            "SELECT 1 FROM referral_opt_outs WHERE user_id = ?", (user_id,)
        ) as cursor:
            return await cursor.fetchone() is not None

    @staticmethod
    async def record_sent(db: aiosqlite.Connection, user_id: str, topic: str, now_ms: int) -> None:
        """The cooldown names the member; the count does not, nor the room, and its time is the hour, not the
        moment: an exact time could be matched to the message."""
        await db.execute(
            "INSERT INTO referral_cooldowns (user_id, topic, sent_at) VALUES (?, ?, ?) "
            "ON CONFLICT (user_id, topic) DO UPDATE SET sent_at = excluded.sent_at",
            (user_id, topic, now_ms),
        )
        await db.execute("INSERT INTO referral_sent_counts (topic, at, sent) VALUES (?, ?, 1) "
                         "ON CONFLICT DO UPDATE SET sent = sent + 1", (topic, hour_of(now_ms)))

    @staticmethod
    async def claim(db: aiosqlite.Connection, user_id: str, topic: str, now_ms: int, cooldown_ms: int) -> bool:
        """Record the topic as sent now, unless it was sent to the member within the cooldown; True if recorded.
        Inside the transaction that owes the message, so of two handled side by side only one sends it."""
        async with db.execute("SELECT 1 FROM referral_cooldowns WHERE user_id = ? AND topic = ? AND sent_at > ?",
                              (user_id, topic, now_ms - cooldown_ms)) as cursor:
            if await cursor.fetchone() is not None:
                return False
        await ReferralRepository.record_sent(db, user_id, topic, now_ms)
        return True

    @staticmethod
    async def set_opt_out(db: aiosqlite.Connection, user_id: str, opted_out: bool, now_ms: int) -> None:
        if opted_out:  # ... and a check-back still owed is owed no more
            await db.execute("INSERT OR IGNORE INTO referral_opt_outs (user_id, since) VALUES (?, ?)",
                             (user_id, now_ms))
            await db.execute("DELETE FROM referral_checkbacks WHERE user_id = ? AND sent_at IS NULL", (user_id,))
        else:
            await db.execute("DELETE FROM referral_opt_outs WHERE user_id = ?", (user_id,))

    @staticmethod
    async def prune_cooldowns(db: aiosqlite.Connection, older_than_ms: int) -> None:
        await db.execute("DELETE FROM referral_cooldowns WHERE sent_at < ?", (older_than_ms,))

    @staticmethod
    async def prune_log(db: aiosqlite.Connection, older_than_ms: int) -> None:
        """The anonymous counts and suggestions behind reports, kept alike."""
        await db.execute("DELETE FROM referral_sent_counts WHERE at < ?", (older_than_ms,))
        await db.execute("DELETE FROM referral_suggestions WHERE at < ?", (older_than_ms,))
        await db.execute("DELETE FROM referral_feedback_counts WHERE at < ?", (older_than_ms,))

    # --- follow-up: check-backs after crisis lines ----------------------------------------------

    @staticmethod
    async def owe_checkback(db: aiosqlite.Connection, user_id: str, due_at_ms: int) -> None:
        """One check-back per member at a time: crisis lines sent again before it goes out add none; and none for
        a member who turned suggestions off, read in this transaction."""
        await db.execute(
            "INSERT INTO referral_checkbacks (user_id, due_at) SELECT ?, ? WHERE NOT EXISTS "
            "(SELECT 1 FROM referral_checkbacks WHERE user_id = ? AND sent_at IS NULL) "
            "AND NOT EXISTS (SELECT 1 FROM referral_opt_outs WHERE user_id = ?)",
            (user_id, due_at_ms, user_id, user_id),
        )

    async def due_checkbacks(self, now_ms: int) -> list[Checkback]:
        async with self.database.read() as db, db.execute(
            "SELECT id, user_id, answer FROM referral_checkbacks WHERE sent_at IS NULL AND due_at <= ? ORDER BY id",
            (now_ms,),
        ) as cursor:
            return [Checkback(*row) for row in await cursor.fetchall()]

    @staticmethod
    async def mark_checkback_sent(db: aiosqlite.Connection, checkback_id: int, now_ms: int) -> bool:
        """True only for the one transaction that sends it: a rerun or a second sweep finds it sent."""
        cursor = await db.execute("UPDATE referral_checkbacks SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                                  (now_ms, checkback_id))
        return cursor.rowcount == 1

    async def checkback(self, checkback_id: int) -> Checkback | None:
        async with self.database.read() as db, db.execute(
            "SELECT id, user_id, answer FROM referral_checkbacks WHERE id = ?", (checkback_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Checkback(*row) if row else None

    @staticmethod
    async def answer_checkback(db: aiosqlite.Connection, checkback_id: int, answer: str, now_ms: int) -> None:
        await db.execute("UPDATE referral_checkbacks SET answer = ?, answered_at = ? WHERE id = ?",
                         (answer, now_ms, checkback_id))

    # --- anonymous feedback on suggestions --------------------------------------------------------

    @staticmethod
    async def record_suggestion(db: aiosqlite.Connection, topics: list[str], now_ms: int) -> int:
        """A suggestion's topics and hour, never whom it went to, under a random number: its feedback stays
        anonymous, and the number's order says nothing of when it was made."""
        while True:
            suggestion_id = secrets.randbelow(SUGGESTION_IDS) + 1
            cursor = await db.execute("INSERT OR IGNORE INTO referral_suggestions (id, topics, at) VALUES (?, ?, ?)",
                                      (suggestion_id, ",".join(topics), hour_of(now_ms)))
            if cursor.rowcount == 1:
                return suggestion_id

    @staticmethod
    async def record_feedback(db: aiosqlite.Connection, suggestion_id: int, answer: str, now_ms: int) -> bool:
        """The first answer to a suggestion counts once for each of its topics (True); later ones change nothing."""
        async with db.execute("UPDATE referral_suggestions SET answered = 1 WHERE id = ? AND answered = 0 "
                              "RETURNING topics", (suggestion_id,)) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return False
        await db.executemany("INSERT INTO referral_feedback_counts (topic, answer, at, answers) VALUES (?, ?, ?, 1) "
                             "ON CONFLICT DO UPDATE SET answers = answers + 1",
                             [(topic, answer, hour_of(now_ms)) for topic in row[0].split(",")])
        return True

    async def counts_since(self, since_ms: int) -> dict[str, TopicCounts]:
        """Per topic: suggestions sent (the log), and answers "helped" and "not for me"."""
        async with self.database.read() as db:
            async with db.execute("SELECT topic, SUM(sent) FROM referral_sent_counts WHERE at >= ? GROUP BY topic",
                                  (since_ms,)) as cursor:
                sent: dict[str, int] = {topic: count for topic, count in await cursor.fetchall()}
            async with db.execute("SELECT topic, answer, SUM(answers) FROM referral_feedback_counts WHERE at >= ? "
                                  "GROUP BY topic, answer", (since_ms,)) as cursor:
                answers = {(topic, answer): count for topic, answer, count in await cursor.fetchall()}
        topics = set(sent) | {topic for topic, _ in answers}
        return {topic: TopicCounts(topic, sent.get(topic, 0), answers.get((topic, "helped"), 0),
                                   answers.get((topic, "not_for_me"), 0)) for topic in topics}

    @staticmethod
    async def prune_checkbacks(db: aiosqlite.Connection, sent_before_ms: int) -> None:
        await db.execute("DELETE FROM referral_checkbacks WHERE sent_at < ?", (sent_before_ms,))
