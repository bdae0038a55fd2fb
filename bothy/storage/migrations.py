"""Numbered schema steps. Each runs in its own transaction and moves the recorded version.

Never edit a released step: add a new one. A database newer than this code is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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


async def run_statements(db: aiosqlite.Connection, script: str) -> None:
    """Run DDL one statement at a time: executescript would commit the step's transaction early."""
    for statement in script.split(";"):
        if statement.strip():
            await db.execute(statement)


async def _foundation(db: aiosqlite.Connection) -> None:
    await run_statements(
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


async def _engine_owns_shared_tables(db: aiosqlite.Connection) -> None:
    """`sent_events` (the outbox writes it) and `audit_log` (any staff action) were first made by bot steps;
    the engine owns them, so it makes sure they exist whichever bots are installed."""
    await run_statements(
        db,
        """
        CREATE TABLE IF NOT EXISTS sent_events (
            event_id TEXT PRIMARY KEY,
            tag TEXT NOT NULL,
            sent_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT,
            detail TEXT
        );
        CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject)
        """,
    )


async def _outbox_attempts_and_stuck_reports(db: aiosqlite.Connection) -> None:
    """`attempted_at` is written before each send, so after a crash a row is known to have maybe gone out;
    `stuck_reported` makes the "stuck" warning once per row, across restarts; `outbox_place` lets a row
    find an earlier one to the same place cheaply (order is kept per place)."""
    await run_statements(
        db,
        """
        ALTER TABLE outbox ADD COLUMN attempted_at INTEGER;
        ALTER TABLE outbox ADD COLUMN stuck_reported INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX outbox_place ON outbox (account, room_id, to_user, id)
        """,
    )


async def _staff_erasable(db: aiosqlite.Connection) -> None:
    """A peer worker who asks to be forgotten is cleared from the rows they acted on, which stay: the audit
    log's actor becomes nullable, and a claim is marked by `claimed_at` (the claimer may be cleared)."""
    await run_statements(
        db,
        """
        CREATE TABLE audit_log_new (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            subject TEXT,
            detail TEXT
        );
        INSERT INTO audit_log_new (id, at, actor, action, subject, detail)
            SELECT id, at, actor, action, subject, detail FROM audit_log;
        DROP TABLE audit_log;
        ALTER TABLE audit_log_new RENAME TO audit_log;
        CREATE INDEX audit_log_subject ON audit_log (subject);
        CREATE INDEX audit_log_age ON audit_log (at);
        DROP INDEX alerts_unclaimed;
        CREATE INDEX alerts_unclaimed ON alerts (created_at) WHERE claimed_at IS NULL
        """,
    )


async def _alert_states(db: aiosqlite.Connection) -> None:
    """Alerts become open -> claimed -> done, and an urgent kind climbs an escalation ladder (0 nothing sent,
    1 each peer worker DMed, 2 each admin DMed) recorded in the same transaction as the DMs it owes."""
    await run_statements(
        db,
        """
        ALTER TABLE alerts ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alerts ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE alerts ADD COLUMN done_by TEXT;
        ALTER TABLE alerts ADD COLUMN done_at INTEGER;
        CREATE INDEX alerts_open ON alerts (id) WHERE done_at IS NULL
        """,
    )


async def _outbox_shared_contents(db: aiosqlite.Connection) -> None:
    """A message owed in the same words to many (a daily prompt to 100,000 members) is stored once, in
    `outbox_contents`; each of its rows keeps its own transaction ID and place, with an empty `content`
    and the `content_id`. The trigger frees the words with their last row, however that row goes
    (delivered, or erased with its member)."""
    await run_statements(
        db,
        """
        CREATE TABLE outbox_contents (
            id INTEGER PRIMARY KEY,
            content TEXT NOT NULL
        );
        ALTER TABLE outbox ADD COLUMN content_id INTEGER REFERENCES outbox_contents (id);
        CREATE INDEX outbox_content ON outbox (content_id) WHERE content_id IS NOT NULL
        """,
    )
    await db.execute(  # one statement with ';' inside, so not through run_statements
        "CREATE TRIGGER outbox_contents_release AFTER DELETE ON outbox WHEN old.content_id IS NOT NULL BEGIN "
        "DELETE FROM outbox_contents WHERE id = old.content_id "
        "AND NOT EXISTS (SELECT 1 FROM outbox WHERE content_id = old.content_id); END"
    )


async def _outbox_expiry(db: aiosqlite.Connection) -> None:
    """A reminder of something that has begun is moot: such rows carry when they stop being worth sending."""
    await run_statements(db, "ALTER TABLE outbox ADD COLUMN expires_at INTEGER")


async def _alert_numbers_never_reused(db: aiosqlite.Connection) -> None:
    """An alert's number is what `!done N` and `!mod ACTION N` act on, so it is never given again: without
    AUTOINCREMENT, SQLite gives the highest number again once its row is gone (its member erased, or retired).
    AUTOINCREMENT cannot be added to a table, so `alerts` is rebuilt, same columns in the same order. Foreign keys
    are on and cannot be turned off inside the step's transaction, and dropping the old table sets each outbox
    row's `alert_id` to NULL, so the links are kept aside and put back."""
    columns = ("id, kind, account, subject_user, room_id, event_id, topic, created_at, staff_event_id, claimed_by, "
               "claimed_at, reminded_at, urgent, escalation, done_by, done_at")
    await run_statements(
        db,
        f"""
        CREATE TEMP TABLE outbox_alert_links AS SELECT id, alert_id FROM outbox WHERE alert_id IS NOT NULL;
        CREATE TABLE alerts_numbered (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
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
            reminded_at INTEGER,
            urgent INTEGER NOT NULL DEFAULT 0,
            escalation INTEGER NOT NULL DEFAULT 0,
            done_by TEXT,
            done_at INTEGER
        );
        INSERT INTO alerts_numbered ({columns}) SELECT {columns} FROM alerts;
        DROP TABLE alerts;
        ALTER TABLE alerts_numbered RENAME TO alerts;
        CREATE INDEX alerts_staff_event ON alerts (staff_event_id);
        CREATE INDEX alerts_unclaimed ON alerts (created_at) WHERE claimed_at IS NULL;
        CREATE INDEX alerts_open ON alerts (id) WHERE done_at IS NULL;
        UPDATE outbox SET alert_id = (SELECT link.alert_id FROM temp.outbox_alert_links AS link
                                      WHERE link.id = outbox.id)
            WHERE id IN (SELECT id FROM temp.outbox_alert_links);
        DROP TABLE temp.outbox_alert_links
        """,
    )


async def _outbox_names_dm_members(db: aiosqlite.Connection) -> None:
    """A row to a member's DM names the member in `to_user` even when it goes to the room they wrote in, so
    export and erase find it: rows already queued are named here, and the index finds a DM by its room."""
    await run_statements(
        db,
        """
        CREATE INDEX dm_rooms_room ON dm_rooms (account, room_id);
        UPDATE outbox SET to_user = (SELECT user_id FROM dm_rooms AS d
                                     WHERE d.account = outbox.account AND d.room_id = outbox.room_id)
            WHERE to_user IS NULL AND EXISTS (SELECT 1 FROM dm_rooms AS d
                                             WHERE d.account = outbox.account AND d.room_id = outbox.room_id)
        """,
    )


async def _outbox_names_whom_it_is_about(db: aiosqlite.Connection) -> None:
    """A message to staff about one member (an alert, or a reply naming them) names them in `about_user`,
    so their export shows it and their erase takes it; alerts already queued are named here."""
    await run_statements(
        db,
        """
        ALTER TABLE outbox ADD COLUMN about_user TEXT;
        UPDATE outbox SET about_user = (SELECT subject_user FROM alerts WHERE alerts.id = outbox.alert_id)
            WHERE alert_id IS NOT NULL
        """,
    )


async def _outbox_urgent_first(db: aiosqlite.Connection) -> None:
    """What an emergency owes (an urgent alert, the help a member is sent with it, an escalation) is marked
    `urgent` and goes before anything else due: a daily prompt to thousands of members, or a backlog after an
    outage, must not keep it waiting. The partial index holds only urgent rows still owed, so finding them first
    costs next to nothing."""
    await run_statements(
        db,
        """
        ALTER TABLE outbox ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
        UPDATE outbox SET urgent = 1 WHERE alert_id IN (SELECT id FROM alerts WHERE urgent = 1);
        CREATE INDEX outbox_urgent_due ON outbox (id) WHERE urgent = 1 AND dead = 0
        """,
    )


async def _sent_events_in_no_order(db: aiosqlite.Connection) -> None:
    """Sent-message tags keep the hour and are stored by event ID, not in the order they were sent: a review lined
    them up by order and time with the cooldowns naming members, and so paired members with suggestions."""
    await run_statements(
        db,
        """
        CREATE TABLE sent_events_by_event (
            event_id TEXT PRIMARY KEY,
            tag TEXT NOT NULL,
            sent_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO sent_events_by_event (event_id, tag, sent_at)
            SELECT event_id, tag, sent_at - sent_at % 3600000 FROM sent_events;
        DROP TABLE sent_events;
        ALTER TABLE sent_events_by_event RENAME TO sent_events
        """,
    )


async def _checkpoints_keep_when(db: aiosqlite.Connection) -> None:
    """A checkpoint records the hour it was saved: the retention sweep keeps the handled marks of events a restart
    could replay, however long Bothy was down (an existing checkpoint counts as saved long ago until it moves)."""
    await db.execute("ALTER TABLE sync_checkpoints ADD COLUMN saved_at INTEGER NOT NULL DEFAULT 0")


async def _outbox_postponed_at(db: aiosqlite.Connection) -> None:
    """A message records when it was last postponed: one whose DM could not be opened yet (never tried, so with no
    `attempted_at`) kept being brought forward as if from before a clock step, undoing the homeserver's rate limit."""
    await db.execute("ALTER TABLE outbox ADD COLUMN postponed_at INTEGER")


async def _outbox_names_listed_members(db: aiosqlite.Connection) -> None:
    """The members a message lists besides whom it is to or about (a staff list: `!quiet`, `!alerts`, `!audit`), so
    that while it waits, or once set aside, it is theirs to export and erase too (a spec auditor's, thirty-second
    session). Gone with the message."""
    await run_statements(
        db,
        """
        CREATE TABLE outbox_names (
            row_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            PRIMARY KEY (user_id, row_id)
        ) WITHOUT ROWID;
        CREATE INDEX outbox_names_row ON outbox_names (row_id)
        """,
    )


async def _more_than_one_dm(db: aiosqlite.Connection) -> None:
    """A second DM a member opened with a bot replaced the first, which after a restart was read as a shared room
    (their words and reactions there no longer private; a robustness reviewer's, thirty-third session). Every DM is
    kept; `current` marks the one the bot writes to, one per member."""
    await run_statements(
        db,
        """
        CREATE TABLE dm_rooms_kept (
            account TEXT NOT NULL,
            user_id TEXT NOT NULL,
            room_id TEXT NOT NULL,
            current INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (account, user_id, room_id)
        ) WITHOUT ROWID;
        INSERT INTO dm_rooms_kept (account, user_id, room_id) SELECT account, user_id, room_id FROM dm_rooms;
        DROP TABLE dm_rooms;
        ALTER TABLE dm_rooms_kept RENAME TO dm_rooms;
        CREATE INDEX dm_rooms_room ON dm_rooms (account, room_id);
        CREATE UNIQUE INDEX dm_rooms_current ON dm_rooms (account, user_id) WHERE current = 1
        """,
    )


async def _alerts_shared_by_choice(db: aiosqlite.Connection) -> None:
    """An alert raised for a member's safety outlives their erase while it is open (it is never lost); one that
    shares what they chose to share (`shared`) is theirs to take back, like the choice itself (a privacy reviewer's,
    thirty-third session: an erase kept it, named, on its way and escalating)."""
    await db.execute("ALTER TABLE alerts ADD COLUMN shared INTEGER NOT NULL DEFAULT 0")


async def _erasures(db: aiosqlite.Connection) -> None:
    """Events from before a member's erase, handled after it, must not store them again (bothy/storage/erasures.py)."""
    await db.execute("CREATE TABLE erasures (member_key BLOB PRIMARY KEY, erased_at INTEGER NOT NULL) WITHOUT ROWID")


async def _claim_reactions(db: aiosqlite.Connection) -> None:
    """A ✅ clicked again in Element is redacted: the alert it claimed is open again, and escalates as one should."""
    await db.execute("ALTER TABLE alerts ADD COLUMN claim_event_id TEXT")


ENGINE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "foundation: sessions, sync checkpoints, handled events, outbox, alerts", _foundation),
    Migration(4, "engine: sent events and the audit log belong to the engine", _engine_owns_shared_tables),
    Migration(5, "engine: outbox records each attempt and each stuck report", _outbox_attempts_and_stuck_reports),
    Migration(6, "engine: staff can be erased from rows they acted on", _staff_erasable),
    Migration(13, "engine: alerts are open, claimed or done, and urgent ones escalate", _alert_states),
    Migration(18, "engine: a message owed in the same words to many is stored once", _outbox_shared_contents),
    Migration(19, "engine: a message may say when it stops being worth sending", _outbox_expiry),
    Migration(20, "engine: an alert's number is never given again", _alert_numbers_never_reused),
    Migration(21, "engine: a message to a member's DM names the member", _outbox_names_dm_members),
    Migration(22, "engine: a message to staff about a member names the member", _outbox_names_whom_it_is_about),
    Migration(24, "engine: sent-message tags keep the hour, in no order", _sent_events_in_no_order),
    Migration(25, "engine: what an emergency owes goes before everything else due", _outbox_urgent_first),
    Migration(26, "engine: a sync checkpoint records when it was saved", _checkpoints_keep_when),
    Migration(29, "engine: a message records when it was last postponed", _outbox_postponed_at),
    Migration(33, "engine: a staff list names the members it lists", _outbox_names_listed_members),
    Migration(34, "engine: a member may have more than one DM with a bot", _more_than_one_dm),
    Migration(35, "engine: an alert a member chose to share goes with their erase", _alerts_shared_by_choice),
    Migration(37, "engine: when each member was erased, under a keyed hash", _erasures),
    Migration(38, "engine: the reaction that claimed an alert, so taking it back reopens the alert", _claim_reactions),
)


def ordered_steps(*sources: Iterable[Migration]) -> tuple[Migration, ...]:
    """The engine's steps and every bot's, in one upgrade ordered by version; numbers are global and unique,
    so a database records one version whatever mix of bots wrote it."""
    steps = sorted((step for source in sources for step in source), key=lambda step: step.version)
    versions = [step.version for step in steps]
    if versions != list(range(1, len(steps) + 1)):
        raise ValueError(f"schema steps must be numbered 1, 2, 3... with no gaps or repeats; got {versions}")
    return tuple(steps)


async def current_version(database: Database) -> int:
    async with database.read() as db:
        await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        async with db.execute("SELECT version FROM schema_version") as cursor:
            row = await cursor.fetchone()
    return row[0] if row else 0


async def migrate(database: Database, migrations: tuple[Migration, ...]) -> list[int]:
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
