"""The composition root: builds storage, the Matrix accounts, the engine and the installed bots, and runs
them. It only wires; routing lives in `bothy/routing.py`, features in `bots/`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging

from bothy.alerts import Escalation, StaffAlerts
from bothy.clock import Clock
from bothy.config import Config
from bothy.facts import MemberFacts
from bothy.health import EngineHealth
from bothy.inbound import InboundDispatcher, SetAsideNotice
from bothy.installation import Installation
from bothy.late_decryption import HandleNow, LateDecryption
from bothy.logs import describe_error
from bothy.matrix.adapter import MatrixAccount, MatrixError, backoff_delay
from bothy.outbox import OutboxDispatcher, UnitOfWork
from bothy.plugin import Bot, BotContext
from bothy.routing import EventRouter
from bothy.scheduling import Sweep, SweepScheduler
from bothy.storage.alerts import AlertRepository
from bothy.storage.database import Database
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.erasures import Erasures
from bothy.storage.migrations import migrate
from bothy.storage.outbox import OutboxRepository
from bothy.storage.retention import forget_old_rows
from bothy.storage.sessions import SessionRepository
from bothy.storage.sweep_runs import SweepRunRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates
from commands.framework import CommandRegistry
from commands.pace import CommandPace
from commands.router import CommandRouter
from rooms.dm import DirectRooms
from rooms.making import RoomMaker
from rooms.staff import StaffRoom

log = logging.getLogger("bothy")

DRAIN_TIMEOUT_S = 10.0


class Bothy:
    def __init__(self, config: Config, installation: Installation, clock: Clock | None = None):
        self.config = config
        self.installation = installation
        self.clock = clock or Clock()
        self.database = Database(config.database_path)

    async def run(self, stopping: asyncio.Event) -> None:
        config, database = self.config, self.database
        for warning in config.warnings:
            log.warning("config: %s", warning)
        await database.open()
        try:
            await migrate(database, self.installation.migrations)
            templates = self.installation.templates(config.templates_override_dir)
            sync_state = SyncStateRepository(database)
            direct_rooms = DirectRooms(DirectRoomRepository(database))
            accounts = {
                user_id: MatrixAccount(account, config.homeserver_url, config.crypto_store_dir, config.pickle_key,
                                       SessionRepository(database), direct_rooms, config.allowed_servers)
                for user_id, account in config.accounts.items()
            }
            try:
                await self._serve(accounts, templates, sync_state, direct_rooms, stopping)
            finally:
                for account in accounts.values():
                    await account.close()
        finally:
            await database.close()

    async def _serve(self, accounts: dict[str, MatrixAccount], templates: Templates,
                     sync_state: SyncStateRepository, direct_rooms: DirectRooms,
                     stopping: asyncio.Event) -> None:
        config, clock, database = self.config, self.clock, self.database
        for account in accounts.values():
            await _until_done(account.login, stopping, f"log in {account.user_id}")
        outbox_repository, alert_repository = OutboxRepository(database), AlertRepository(database)
        outbox = OutboxDispatcher(outbox_repository, accounts, direct_rooms, clock, templates)
        for user_id, account in accounts.items():  # before the staff room is joined: invited back while down
            account.on_joined = functools.partial(outbox.joined, user_id)
        staff_room = StaffRoom(config.staff_room, config.peer_workers | config.admins | frozenset(accounts))
        await _until_done(lambda: staff_room.connect(accounts.values()), stopping, "reach the staff room")
        if stopping.is_set():
            return

        work = UnitOfWork(database, clock, outbox.wake)
        alerts = StaffAlerts(alert_repository, staff_room, templates, config.peer_workers | config.admins,
                             config.alert_remind_after_s, work,
                             Escalation(config.alert_escalate_after_s, config.peer_workers, config.admins),
                             config.staff_hours, config.command_prefix)
        late = LateDecryption(sync_state, templates, config.undecryptable_wait_s, work)
        registry = CommandRegistry()
        health = EngineHealth(database, clock)
        erasures = Erasures(database, config.pickle_key, clock)
        await erasures.load()
        personal_data = self.installation.personal_data(database, erasures)
        for account in accounts.values():
            personal_data.kept_in_memory(account.forget_member)
        facts = MemberFacts()
        makers = {user_id: RoomMaker(account) for user_id, account in accounts.items()}

        def context_for(bot: type[Bot]) -> BotContext:
            account = config.bots[bot.name].user_id
            return BotContext(
                account=account, bot_accounts=frozenset(accounts), settings=config.bot_settings[bot.name],
                prefix=config.command_prefix, timezone=config.timezone, clock=clock, templates=templates,
                store=database, work=work, alerts=alerts, rooms=accounts[account], commands=registry,
                personal_data=personal_data, status=health, sent_tags=outbox_repository, room_maker=makers[account],
                peer_workers=config.peer_workers, account_rooms=accounts, facts=facts,
            )

        bots = [bot(context_for(bot)) for bot in self.installation.bots]
        for bot in bots:
            for command in bot.commands():
                registry.add(command)

        readers: dict[str, HandleNow] = {}  # each account's way to handle an event decrypted late
        scheduler = SweepScheduler(SweepRunRepository(database), config.timezone, clock)
        engine_sweeps = {
            "alert_reminders": alerts.remind_unclaimed,
            "undecryptable": lambda: late.give_up_sweep(accounts, readers),
            "retention_sweep": lambda: forget_old_rows(database, config.retention, clock.ms()),
        }
        for bot_sweeps in (engine_sweeps, *(bot.sweeps() for bot in bots)):
            for name, run in bot_sweeps.items():
                scheduler.add(Sweep(name, config.schedules[name], run))

        dispatchers = []
        tasks = [asyncio.create_task(outbox.run(stopping), name="outbox")]
        account_order = tuple(dict.fromkeys(config.bots[name].user_id for name in config.bot_names))
        pace = CommandPace()
        for user_id, account in accounts.items():
            hosted = [bot for bot in bots if config.bots[bot.name].user_id == user_id]
            guests = [bot for bot in bots if bot.reads_every_room and bot.context.account != user_id]
            router = CommandRouter(config, registry, account, templates, clock, lambda: staff_room.room_id, pace)
            events = EventRouter(account, hosted, router, alerts, late, staff_room, guests, account_order, erasures)
            notice = SetAsideNotice(templates, config.command_prefix, account.is_direct_room)
            dispatcher = InboundDispatcher(user_id, sync_state, events, work, notice)
            events.handle_now = readers[user_id] = dispatcher.handle_now
            dispatchers.append(dispatcher)
            since = await sync_state.checkpoint(user_id)
            tasks.append(asyncio.create_task(account.sync_forever(since, dispatcher.on_batch, stopping),
                                             name=f"sync {user_id}"))
        started: list[Bot] = []
        try:
            for bot in bots:
                await bot.start()
                started.append(bot)
            await scheduler.start()
            log.info("Bothy is running: %d account(s), staff room %s", len(accounts), staff_room.room_id)
            stop_waiter = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait([stop_waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop_waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stopping.set()
            scheduler.shutdown()
            for bot in reversed(started):
                try:  # one bot failing to stop must not skip the drain below, nor the others' stop
                    await bot.stop()
                except Exception as error:
                    log.error("%s did not stop cleanly (%s)", bot.name, describe_error(error))
            with contextlib.suppress(TimeoutError):  # whatever is unfinished is replayed after restart
                await asyncio.wait_for(asyncio.gather(*(d.drain() for d in dispatchers)), DRAIN_TIMEOUT_S)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def _until_done(action, stopping: asyncio.Event, what: str) -> None:
    """Retry a start-up step through homeserver outages; a permanent failure stops start-up."""
    failures = 0
    while not stopping.is_set():
        try:
            await action()
            return
        except MatrixError as error:
            if error.permanent:
                raise
            failures += 1
            delay = backoff_delay(failures, error.retry_after_ms)
            log.warning("could not %s (%s); retrying in %.1fs", what, error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
