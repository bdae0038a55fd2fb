"""`!report` and moderation from the staff room.

A member replies `!report` to a message: the staff room gets a claimable alert with the room, a link and
the author's ID, never the reporter (nothing about the reporter is stored); the command is redacted and
the reporter is thanked privately. More reports of one message add to the same alert, with a count.
Peer workers act on a report alert by reaction or `!mod ACTION ID`: remove the message, mute the author in
that room for a while (undone by a sweep), send them the community guidelines, or dismiss. Every action is
audited and confirmed in the alert's thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from bothy.matrix.adapter import MatrixError
from bothy.outbox import Effects
from bothy.plugin import BotContext
from bothy.storage.alerts import Alert
from bothy.storage.audit import record_audit
from bots.host.levels import level_of, level_to_send, power_level
from commands.framework import Command, CommandContext, Duration, Integer, Note, Role, Subcommand, UsageError

log = logging.getLogger("bothy.host.reports")

KIND = "report"
MUTE_S = 3600  # a reaction mutes for an hour; `!mod mute ID 1d` chooses
REDACT_DEFAULT = 50  # the level a room asks to take down others' messages when it sets none (the Matrix spec's)
MAX_MUTE_S = 28 * 86_400
MAX_ALERT_ID = 10**12
KEEP_REPORTS_MS = 90 * 86_400_000  # a reported message's row names its author: kept as long as alerts are
REMOVE, MUTE, GUIDELINES, DISMISS = "🗑️", "🔇", "📜", "👋"

Action = Callable[[Alert, str, Effects], Awaitable[None]]


async def _forget_mute(db: aiosqlite.Connection, room_id: str, user_id: str, until: int) -> None:
    """A mute the homeserver refused: forget the level kept for it (only this attempt's, by its end time)."""
    await db.execute("DELETE FROM mutes WHERE room_id = ? AND user_id = ? AND until = ?", (room_id, user_id, until))


class Reports:
    def __init__(self, bot: str, context: BotContext):
        self.bot = bot
        self.context = context
        # One mute or unmute at a time per member and room: the unmute sweep, between reading a mute as due and
        # forgetting it, gave back the level of a mute a peer worker had just extended (a reviewer's).
        self._muting: dict[tuple[str, str], asyncio.Lock] = {}
        actions: dict[str, Action] = {REMOVE: self.remove, MUTE: self.mute, GUIDELINES: self.guidelines,
                                      DISMISS: self.dismiss}
        for key, action in actions.items():
            context.alerts.on_action(KIND, key, action)

    def commands(self) -> list[Command]:
        alert_id = Integer("id", 1, MAX_ALERT_ID)
        return [
            Command("report", self.bot, "send as a reply to a message to flag it to the peer workers, without "
                    "your name", self.report, params=(Note("note"),), private=True),
            Command("mod", self.bot, "act on a reported message: remove it, mute its author, send them the "
                    "guidelines, or dismiss the report", role=Role.PEER_WORKER, audits_itself=True, subcommands=(
                        Subcommand("remove", self._by_id(self.remove), (alert_id,)),
                        Subcommand("mute", self._mute_command, (alert_id, Duration("for", 60, MAX_MUTE_S,
                                                                                   optional=True))),
                        Subcommand("guidelines", self._by_id(self.guidelines), (alert_id,)),
                        Subcommand("dismiss", self._by_id(self.dismiss), (alert_id,)),
                    )),
        ]

    # --- reporting ---------------------------------------------------------------------------

    async def report(self, ctx: CommandContext) -> None:
        if ctx.reply_to is None or ctx.in_dm:
            raise UsageError("Please send it as a reply to the message in a group room you'd like us to look at.")
        author = await self.context.rooms_seen_by(ctx.effects.account).event_sender(ctx.room_id, ctx.reply_to)
        if author is None:
            ctx.reply("report_not_found")
            return
        await self.file(ctx.effects, ctx.room_id, ctx.reply_to, author)
        ctx.reply("report_thanks", removed=ctx.can_take_down)  # never say it is gone where it stays (a reviewer's)

    async def file(self, effects: Effects, room_id: str, event_id: str, author: str, reason: str | None = None,
                   source: str = "command") -> None:
        """One alert per reported message while it is not done; another report adds to its count, in its
        thread. `reason` is what a reporter wrote in their client's report form, if any."""
        now = self.context.clock.ms()
        async with self.context.store.read() as db, db.execute(
            "SELECT reports FROM reports WHERE event_id = ?", (event_id,)
        ) as cursor:
            row = await cursor.fetchone()
        count = (row[0] if row else 0) + 1

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO reports (event_id, room_id, author, reports, first_at, last_at, source) "
                "VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT (event_id) DO UPDATE SET reports = reports + 1, "
                "last_at = excluded.last_at", (event_id, room_id, author, now, now, source))

        effects.record(write)
        alerts = self.context.alerts

        async def reported_again(db: aiosqlite.Connection, waiting: Alert, owed: Effects) -> None:
            """Its alert is open (found as this report commits, so two side by side raise one): this goes under it."""
            async with db.execute("SELECT reports FROM reports WHERE event_id = ?", (event_id,)) as cursor:
                counted = await cursor.fetchone()
            alerts.in_thread(waiting, owed, "report_again", reports=counted[0] if counted else count, reason=reason)

        alerts.raise_unless_waiting(effects, KIND, "alert_report", subject_user=author, room_id=room_id,
                                    event_id=event_id, otherwise=reported_again,
                                    room_name=self.context.rooms_seen_by(effects.account).room_name(room_id),
                                    reports=count, reason=reason, keys=(REMOVE, MUTE, GUIDELINES, DISMISS),
                                    prefix=self.context.prefix)

    # --- moderation --------------------------------------------------------------------------

    def _by_id(self, action: Action) -> Callable[[CommandContext], Awaitable[None]]:
        async def run(ctx: CommandContext) -> None:
            await action(await self._report_alert(ctx), ctx.sender, ctx.effects)

        return run

    async def _mute_command(self, ctx: CommandContext) -> None:
        await self.mute(await self._report_alert(ctx), ctx.sender, ctx.effects, ctx.params["for"] or MUTE_S)

    async def _report_alert(self, ctx: CommandContext) -> Alert:
        alert = await self.context.alerts.repository.by_id(ctx.params["id"])
        if alert is None or alert.kind != KIND:
            raise UsageError(f"Alert {ctx.params['id']} isn't a report; {ctx.prefix}alerts lists them.")
        return alert

    async def _acted(self, alert: Alert, worker: str, effects: Effects, action: str, template: str,
                     **context: object) -> None:
        """Audit the action, confirm it in the alert's thread, and claim the alert for whoever acted."""
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await record_audit(db, worker, f"report {action}", alert.subject_user, self._detail(alert), now)

        effects.record(write)
        self.context.alerts.in_thread(alert, effects, template, worker=worker, **context)
        await self.context.alerts.claim(alert, worker, effects)

    @staticmethod
    def _detail(alert: Alert) -> str:
        """What the audit log says an action was about (never the message's words)."""
        return f"alert {alert.id} in {alert.room_id}"

    async def remove(self, alert: Alert, worker: str, effects: Effects) -> None:
        """Taken down only where the bot has the power to: elsewhere the homeserver refuses the redaction, and the
        thread must not say (nor the audit log record) that the message is gone."""
        if alert.room_id and alert.event_id:
            room_id = alert.room_id
            account, able = await self._in_the_room(alert, effects,
                                                    lambda candidate: self._may_redact(room_id, candidate))
            if not able:
                self.context.alerts.in_thread(alert, effects, "mod_failed", worker=worker, action="remove")
                return
            effects.redact(alert.room_id, alert.event_id, account=account)
        await self._acted(alert, worker, effects, "remove", "mod_removed")

    async def _in_the_room(self, alert: Alert, effects: Effects,
                           able: Callable[[str], Awaitable[bool]]) -> tuple[str, bool]:
        """The bot account to act through in the reported message's room, and whether it is `able` to act there: one
        that is in it and able if any is. The one that raised the alert there comes first, not the one answering `!mod`
        in the staff room; a report from Element's Report button came through the host account, which reads the
        homeserver's reports from every room, the ones it is not in too (a reviewer's, thirty-second session: there 🗑️
        said "Removed" of a message that stayed up)."""
        first = alert.account or effects.account
        if alert.room_id is None:
            return first, False
        present = []
        for account in dict.fromkeys([first, *sorted(self.context.bot_accounts)]):
            try:
                if account in await self.context.rooms_seen_by(account).joined_members(alert.room_id):
                    if await able(account):
                        return account, True
                    present.append(account)
            except MatrixError as error:
                if not error.permanent:
                    raise
        return (present[0], False) if present else (first, await able(first))  # (its membership unknown: asked)

    async def _may_redact(self, room_id: str, account: str) -> bool:
        """Whether `account` may take down others' messages in the room: its level against the room's `redact` (50
        unless set) and against what sending a redaction event takes (`events`, else `events_default`). Levels the
        homeserver will not show it (it is not in the room) say no; levels it cannot read for now are asked for again
        (the reaction is handled again later); levels not understood are not held against it."""
        try:
            levels = await self.context.rooms_seen_by(account).power_levels(room_id)
        except MatrixError as error:
            if not error.permanent:
                raise
            return False
        mine = level_of(levels, account)
        needed = [level for level in (power_level(levels.get("redact", REDACT_DEFAULT)),
                                      level_to_send(levels, "m.room.redaction", "events_default", 0))
                  if level is not None]  # one not understood is not held against it
        return mine is None or all(mine >= level for level in needed)

    async def _may_mute(self, room_id: str, account: str, user_id: str) -> bool:
        """Whether `account` may lower the member's level in the room: its level against what changing the levels
        takes (`events`, else `state_default`, 50 unless set) and above the member's own. Levels it cannot read or
        understand are tried, as before."""
        try:
            levels = await self.context.rooms_seen_by(account).power_levels(room_id)
        except MatrixError:
            return True
        mine, theirs = level_of(levels, account), level_of(levels, user_id)
        needed = level_to_send(levels, "m.room.power_levels", "state_default", REDACT_DEFAULT)
        return mine is None or ((needed is None or mine >= needed) and (theirs is None or mine > theirs))

    async def mute(self, alert: Alert, worker: str, effects: Effects, seconds: int = MUTE_S) -> None:
        """Below the room's `events_default`, so the author can read but not post; the level they had is kept
        to give back. Already muted (a replay, or muted again), the first level kept is the one given back."""
        if alert.room_id is None or alert.subject_user is None:
            return
        if alert.subject_user in self.context.bot_accounts:  # it would lower its own power there, for good
            self.context.alerts.in_thread(alert, effects, "mod_bot_account", worker=worker)
            return
        room_id, user_id = alert.room_id, alert.subject_user
        account, _ = await self._in_the_room(alert, effects,
                                             lambda candidate: self._may_mute(room_id, candidate, user_id))
        rooms = self.context.rooms_seen_by(account)
        until = self.context.clock.ms() + seconds * 1000
        async with self._muting.setdefault((room_id, user_id), asyncio.Lock()):
            try:
                levels = await rooms.power_levels(room_id)
                users = levels.get("users") or {}
                events_default = power_level(levels.get("events_default", 0))
                if events_default is None or not isinstance(users, dict):
                    raise MatrixError("power levels: not understood", permanent=True, code="BOTHY_ODD_POWER_LEVELS")
                previous = power_level(users.get(user_id))
                muted = events_default - 1
                # Already unable to post (muted by the room's own moderators, or by this mute before a crash): nothing
                # to lower, and nothing of theirs to give back when the time is up. Otherwise the level is recorded
                # before the homeserver changes it: killed in between, the replay finds the record already kept.
                if previous is None or previous > muted:
                    await self._keep_level(room_id, user_id, until, previous, account)
                    await rooms.set_power_level(room_id, user_id, muted)
            except MatrixError as error:
                if not error.permanent:
                    raise
                effects.record(functools.partial(_forget_mute, room_id=room_id, user_id=user_id, until=until))
                self.context.alerts.in_thread(alert, effects, "mod_failed", worker=worker, action="mute")
                return

            async def extend(db: aiosqlite.Connection) -> None:
                await db.execute("UPDATE mutes SET until = ? WHERE room_id = ? AND user_id = ?",
                                 (until, room_id, user_id))

            extended = Effects(self.context.account)  # committed under the lock, so the sweep reads it
            extended.record(extend)
            await self.context.work.commit(extended)
        await self._acted(alert, worker, effects, "mute", "mod_muted", minutes=seconds // 60)

    async def _keep_level(self, room_id: str, user_id: str, until: int, level: int | None, account: str) -> None:
        """The level to give back, and the account that can (the one in the room), in a transaction of its own; a
        mute already running keeps the one it has."""
        async def keep(db: aiosqlite.Connection) -> None:
            await db.execute("INSERT INTO mutes (room_id, user_id, until, previous_level, account) "
                             "VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO NOTHING",
                             (room_id, user_id, until, level, account))

        kept = Effects(self.context.account)
        kept.record(keep)
        await self.context.work.commit(kept)

    async def guidelines(self, alert: Alert, worker: str, effects: Effects) -> None:
        """The guidelines, once per report: sent again at each 📜 they read as a telling-off (a reviewer's)."""
        async with self.context.store.read() as db, db.execute(
            "SELECT actor FROM audit_log WHERE action = 'report guidelines' AND detail = ? LIMIT 1",
            (self._detail(alert),)
        ) as cursor:
            sent = await cursor.fetchone()
        if sent is not None:
            self.context.alerts.in_thread(alert, effects, "mod_guidelines_already", worker=sent[0])
            return
        if alert.subject_user:
            effects.message(self.context.render("community_guidelines"), to_user=alert.subject_user)
        await self._acted(alert, worker, effects, "guidelines", "mod_guidelines_sent")

    async def dismiss(self, alert: Alert, worker: str, effects: Effects) -> None:
        await self._acted(alert, worker, effects, "dismiss", "mod_dismissed")
        await self.context.alerts.close(alert, worker, effects)

    async def forget_old(self) -> None:
        """Sweep: a report row names its author; drop it once nobody has reported the message for a while."""
        before = self.context.clock.ms() - KEEP_REPORTS_MS

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM reports WHERE last_at < ?", (before,))

        effects = Effects(self.context.account)
        effects.record(write)
        await self.context.work.commit(effects)

    async def unmute_due(self) -> None:
        """Sweep: give muted authors their voice back when their time is up."""
        now = self.context.clock.ms()
        async with self.context.store.read() as db, db.execute(
            "SELECT room_id, user_id, previous_level, account FROM mutes WHERE until <= ? ORDER BY until LIMIT 100",
            (now,)
        ) as cursor:
            due = await cursor.fetchall()
        for room_id, user_id, previous, account in due:
            await self._unmute(room_id, user_id, previous, account, "unmute (time up)", due_by=now)

    async def lift_mutes(self, user_id: str) -> None:
        """Before a member is forgotten: every mute of theirs ends now. Its row is the only record of the level
        owed, so erasing it first would leave them able to read but never post again."""
        async with self.context.store.read() as db, db.execute(
            "SELECT room_id, previous_level, account FROM mutes WHERE user_id = ?", (user_id,)
        ) as cursor:
            mutes = await cursor.fetchall()
        for room_id, previous, account in mutes:
            await self._unmute(room_id, user_id, previous, account, "unmute (asked to be forgotten)", forgetting=True)

    async def _unmute(self, room_id: str, user_id: str, previous: int | None, account: str | None,
                      action: str, forgetting: bool = False, due_by: int | None = None) -> None:
        """Give the level back through the account that made the mute (the one in the room: where the host bot is not,
        another bot's account answered the report), then forget the mute and audit it as that bot's. Setting a level
        is harmless to repeat, so a crash between the homeserver call and the commit only repeats it. Refused for good
        (the bot lost its power there), the staff room is asked to do it by hand: the mute is then forgotten. With
        `due_by`, only a mute still due by then: one extended (or lifted) since it was read is left as it is."""
        async with self._muting.setdefault((room_id, user_id), asyncio.Lock()):
            if due_by is not None:
                async with self.context.store.read() as db, db.execute(
                    "SELECT 1 FROM mutes WHERE room_id = ? AND user_id = ? AND until <= ?", (room_id, user_id, due_by)
                ) as cursor:
                    if await cursor.fetchone() is None:
                        return
            await self._give_level_back(room_id, user_id, previous, account, action, forgetting)

    async def _give_level_back(self, room_id: str, user_id: str, previous: int | None, account: str | None,
                               action: str, forgetting: bool) -> None:
        if account not in self.context.bot_accounts | {self.context.account}:  # NULL, or no longer configured
            account = self.context.account
        effects = Effects(account)
        try:
            await self.context.rooms_seen_by(account).set_power_level(room_id, user_id, previous)
        except MatrixError as error:
            if not error.permanent:
                raise
            log.warning("could not unmute a member in %s (%s); the staff room is asked to", room_id, error.code)
            effects.message(self.context.render("mod_unmute_failed", member=user_id,
                                                room=self.context.rooms_seen_by(account).room_name(room_id)),
                            # Before an erase, a note about the member would be erased with them, unsent: it is
                            # what is owed to them, so it goes as staff business, kept only until it is sent.
                            room_id=self.context.alerts.staff_room.room_id, about=None if forgetting else user_id)
        now = self.context.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await db.execute("DELETE FROM mutes WHERE room_id = ? AND user_id = ?", (room_id, user_id))
            await record_audit(db, account, action, user_id, room_id, now)

        effects.record(write)
        await self.context.work.commit(effects)
