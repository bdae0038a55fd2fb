"""Numbered schema steps. Each runs in its own transaction and moves the recorded version.

Never edit a released step: add a new one. A database newer than this code is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosqlite

from bothy.storage.database import Database


class DatabaseTooNew(Exception):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[aiosqlite.Connection], Awaitable[None]]


async def _run_statements(db: aiosqlite.Connection, script: str) -> None:
    """Run DDL one statement at a time: executescript would commit the step's transaction early."""
    for statement in script.split(";"):
        if statement.strip():
            await db.execute(statement)


async def _foundation(db: aiosqlite.Connection) -> None:
    await _run_statements(
        db,
        """
        CREATE TABLE account_sessions (
            user_id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            access_token TEXT NOT NULL
        );
        CREATE TABLE sync_checkpoints (
            account TEXT PRIMARY KEY,
            since TEXT NOT NULL
        );
        CREATE TABLE handled_events (
            account TEXT NOT NULL,
            event_id TEXT NOT NULL,
            handled_at INTEGER NOT NULL,
            PRIMARY KEY (account, event_id)
        ) WITHOUT ROWID;
        CREATE INDEX handled_events_age ON handled_events (handled_at);
        CREATE TABLE dm_rooms (
            account TEXT NOT NULL,
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            PRIMARY KEY (account, user_id)
        );
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            account TEXT NOT NULL,
            subject_user TEXT,
            room_id TEXT,
            event_id TEXT,
            topic TEXT,
            created_at INTEGER NOT NULL,
            staff_event_id TEXT,
            claimed_by TEXT,
            claimed_at INTEGER,
            reminded_at INTEGER
        );
        CREATE INDEX alerts_staff_event ON alerts (staff_event_id);
        CREATE INDEX alerts_unclaimed ON alerts (created_at) WHERE claimed_by IS NULL;
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            txn_id TEXT NOT NULL UNIQUE,
            account TEXT NOT NULL,
            room_id TEXT,
            to_user TEXT,
            action TEXT NOT NULL CHECK (action IN ('message', 'reaction', 'redaction', 'file')),
            content TEXT NOT NULL,
            target_event_id TEXT,
            reactions TEXT,
            tag TEXT,
            alert_id INTEGER REFERENCES alerts (id) ON DELETE SET NULL,
            created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            dead INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            CHECK (room_id IS NOT NULL OR to_user IS NOT NULL)
        );
        CREATE INDEX outbox_due ON outbox (dead, next_attempt_at, id);
        CREATE TABLE pending_decryption (
            account TEXT NOT NULL,
            event_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            sender TEXT NOT NULL,
            session_id TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            PRIMARY KEY (account, event_id)
        );
        CREATE INDEX pending_decryption_session ON pending_decryption (session_id);
        CREATE TABLE sweep_runs (
            name TEXT PRIMARY KEY,
            last_run_at INTEGER NOT NULL
        );
        """
    )


async def _referrals(db: aiosqlite.Connection) -> None:
    await _run_statements(
        db,
        """
        CREATE TABLE referral_log (
            id INTEGER PRIMARY KEY,
            topic TEXT NOT NULL,
            room_id TEXT,
            at INTEGER NOT NULL
        );
        CREATE TABLE referral_cooldowns (
            user_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            PRIMARY KEY (user_id, topic)
        );
        CREATE INDEX referral_cooldowns_age ON referral_cooldowns (sent_at);
        CREATE TABLE referral_opt_outs (
            user_id TEXT PRIMARY KEY,
            since INTEGER NOT NULL
        );
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            detail TEXT
        );
        CREATE INDEX audit_log_subject ON audit_log (subject)
        """,
    )


async def _checkins(db: aiosqlite.Connection) -> None:
    await _run_statements(
        db,
        """
        CREATE TABLE activity (
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            messages INTEGER NOT NULL DEFAULT 0,
            reactions INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (user_id, room_id, day)
        ) WITHOUT ROWID;
        CREATE INDEX activity_day ON activity (day);
        CREATE TABLE presence (
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            first_seen_at INTEGER NOT NULL,
            last_active_at INTEGER,
            last_read_at INTEGER,
            PRIMARY KEY (user_id, room_id)
        ) WITHOUT ROWID;
        CREATE TABLE checkin_prefs (
            user_id TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL DEFAULT 1,
            paused_until INTEGER
        );
        CREATE TABLE checkins (
            id INTEGER PRIMARY KEY,
            user_id TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            requested_by TEXT,
            answer TEXT,
            answered_at INTEGER
        );
        CREATE INDEX checkins_user ON checkins (user_id, sent_at);
        CREATE TABLE sent_events (
            event_id TEXT PRIMARY KEY,
            tag TEXT NOT NULL,
            sent_at INTEGER NOT NULL
        );
        CREATE TABLE stress_links (
            user_id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL UNIQUE,
            token_hash TEXT NOT NULL,
            threshold INTEGER NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE stress_summary (
            user_id TEXT PRIMARY KEY REFERENCES stress_links (user_id) ON DELETE CASCADE,
            readings INTEGER NOT NULL,
            last_at INTEGER NOT NULL,
            last_level INTEGER NOT NULL,
            average REAL NOT NULL,
            above_since INTEGER,
            alerted INTEGER NOT NULL DEFAULT 0
        )
        """,
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "foundation: sessions, sync checkpoints, handled events, outbox, alerts", _foundation),
    Migration(2, "referrals: anonymous log, per-member cooldowns and opt-outs; audit log", _referrals),
    Migration(3, "check-ins: activity counters, presence, preferences, check-ins, sent events, stress", _checkins),
)
LATEST_VERSION = MIGRATIONS[-1].version


async def current_version(database: Database) -> int:
    async with database.read() as db:
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with db.execute("SELECT version FROM schema_version") as cursor:
            row = await cursor.fetchone()
    return row[0] if row else 0


async def migrate(database: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the schema to the latest version; return the versions applied."""
    version = await current_version(database)
    latest = migrations[-1].version
    if version > latest:
        raise DatabaseTooNew(
            f"the database is at schema version {version} but this Bothy knows only up to {latest}; "
            "upgrade Bothy rather than run an older one against it"
        )
    applied = []
    for step in migrations:
        if step.version <= version:
            continue
        async with database.transaction() as db:
            await step.apply(db)
            await db.execute("DELETE FROM schema_version")
            await db.execute("INSERT INTO schema_version (version) VALUES (?)", (step.version,))
        applied.append(step.version)
    return applied
