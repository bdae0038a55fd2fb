"""The composition root: builds storage, the Matrix accounts, the bots and their sweeps, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bothy.alerts import StaffAlerts
from bothy.bots.base import Bot
from bothy.bots.checkin.bot import CheckinBot
from bothy.bots.checkin.stress import StressWebhook
from bothy.bots.host import HostBot
from bothy.bots.referral.bot import ReferralBot, ReloadingKnowledgeBase
from bothy.clock import Clock
from bothy.commands.framework import CommandRegistry
from bothy.commands.router import CommandRouter
from bothy.config import Config
from bothy.inbound import InboundDispatcher
from bothy.late_decryption import LateDecryption
from bothy.matrix.adapter import MatrixAccount, MatrixError, backoff_delay
from bothy.matrix.events import InboundEvent, Message, Reaction, Receipt, RoomKeyArrived, Undecryptable
from bothy.outbox import Effects, OutboxDispatcher
from bothy.rooms.dm import DirectRooms
from bothy.rooms.staff import StaffRoom
from bothy.scheduling import Sweep, SweepScheduler
from bothy.storage.alerts import AlertRepository
from bothy.storage.checkins import CheckinRepository
from bothy.storage.database import Database
from bothy.storage.dm_rooms import DirectRoomRepository
from bothy.storage.migrations import migrate
from bothy.storage.outbox import OutboxRepository
from bothy.storage.personal_data import PersonalData
from bothy.storage.referrals import ReferralRepository
from bothy.storage.sessions import SessionRepository
from bothy.storage.sweep_runs import SweepRunRepository
from bothy.storage.sync_state import SyncStateRepository
from bothy.templates import Templates

log = logging.getLogger("bothy")

UNDECRYPTABLE_SWEEP = "every 15s"
DRAIN_TIMEOUT_S = 10.0


class AccountEvents:
    """Routes one account's inbound events to the engine and to the bots that account hosts."""

    def __init__(self, account: MatrixAccount, bots: list[Bot], router: CommandRouter, alerts: StaffAlerts,
                 late: LateDecryption, staff_room: StaffRoom):
        self.account = account
        self.staff_room = staff_room
        self.bots = bots
        self.router = router
        self.alerts = alerts
        self.late = late
        self.dispatcher: InboundDispatcher | None = None

    async def __call__(self, event: InboundEvent, effects: Effects) -> None:
        # The staff room is for commands and alerts: peer workers discussing a member are not community
        # activity, and their words must never be matched as if they were in crisis themselves.
        bots = [] if getattr(event, "room_id", None) == self.staff_room.room_id else self.bots
        match event:
            case Message(msgtype="m.notice"):
                return  # bots speak in notices; no bot answers another
            case Message():
                if not await self.router.handle(event, effects):
                    for bot in bots:
                        await bot.on_message(event, effects)
            case Reaction():
                if not await self.alerts.handle_reaction(event, effects):
                    for bot in bots:
                        if await bot.on_reaction(event, effects):
                            return
            case Receipt():
                for bot in bots:
                    await bot.on_receipt(event)
            case Undecryptable():
                await self.late.park(self.account.user_id, event)
            case RoomKeyArrived(session_id=session_id):
                assert self.dispatcher is not None
                await self.late.key_arrived(self.account, session_id, self.dispatcher.handle_now)


class Bothy:
    def __init__(self, config: Config, clock: Clock | None = None):
        self.config = config
        self.clock = clock or Clock()
        self.database = Database(config.database_path)

    async def run(self, stopping: asyncio.Event) -> None:
        config, database = self.config, self.database
        await database.open()
        try:
            await migrate(database)
            templates = Templates(config.templates_override_dir)
            sync_state = SyncStateRepository(database)
            dm_rooms = DirectRoomRepository(database)
            accounts = {
                user_id: MatrixAccount(account, config.homeserver_url, config.crypto_store_dir, config.pickle_key,
                                       SessionRepository(database), dm_rooms, config.allowed_servers)
                for user_id, account in config.accounts.items()
            }
            try:
                await self._serve(accounts, templates, sync_state, dm_rooms, stopping)
            finally:
                for account in accounts.values():
                    await account.close()
        finally:
            await database.close()

    async def _serve(self, accounts: dict[str, MatrixAccount], templates: Templates,
                     sync_state: SyncStateRepository, dm_rooms: DirectRoomRepository,
                     stopping: asyncio.Event) -> None:
        config, clock, database = self.config, self.clock, self.database
        for account in accounts.values():
            await _until_done(account.login, stopping, f"log in {account.user_id}")
        staff_room = StaffRoom(config.staff_room)
        await _until_done(lambda: staff_room.connect(accounts.values()), stopping, "reach the staff room")
        if stopping.is_set():
            return

        outbox_repository, alert_repository = OutboxRepository(database), AlertRepository(database)
        checkins = CheckinRepository(database)
        outbox = OutboxDispatcher(outbox_repository, accounts, DirectRooms(dm_rooms), clock)
        alerts = StaffAlerts(database, alert_repository, staff_room, templates, config.peer_workers | config.admins,
                             config.alert_remind_after_s, clock, outbox.wake)
        late = LateDecryption(database, sync_state, templates, config.undecryptable_wait_s, clock, outbox.wake)
        registry = CommandRegistry()
        bots: dict[str, Bot] = {
            "host": HostBot(registry, outbox_repository, alert_repository, PersonalData(database)),
            "checkin": CheckinBot(
                config, database, checkins, outbox_repository, alerts,
                accounts[config.bots["checkin"].user_id], templates, clock, outbox.wake,
            ),
            "referral": ReferralBot(
                ReloadingKnowledgeBase(config.referral_kb_dirs), ReferralRepository(database), alerts,
                accounts[config.bots["referral"].user_id], templates, clock, config.referral_cooldown_s,
                config.referral_crisis_cooldown_s, config.command_prefix,
            ),
        }
        for bot in bots.values():
            for command in bot.commands():
                registry.add(command)

        scheduler = SweepScheduler(SweepRunRepository(database), config.timezone, clock)
        scheduler.add(Sweep("alert_reminders", config.schedules["alert_reminders"], alerts.remind_unclaimed))
        scheduler.add(Sweep("undecryptable", UNDECRYPTABLE_SWEEP, lambda: late.give_up_sweep(accounts)))
        retention_ms = config.handled_events_retention_days * 86_400_000
        scheduler.add(Sweep("retention_sweep", config.schedules["retention_sweep"],
                            lambda: sync_state.prune_handled(clock.ms() - retention_ms)))
        for bot in bots.values():
            for sweep in bot.sweeps():
                scheduler.add(sweep)

        dispatchers = []
        tasks = [asyncio.create_task(outbox.run(stopping), name="outbox")]
        for user_id, account in accounts.items():
            hosted = [bots[name] for name in config.bots_on(user_id) if name in bots]
            router = CommandRouter(config, registry, account, templates, clock, lambda: staff_room.room_id)
            events = AccountEvents(account, hosted, router, alerts, late, staff_room)
            dispatcher = InboundDispatcher(user_id, database, sync_state, events, outbox.wake, clock)
            events.dispatcher = dispatcher
            dispatchers.append(dispatcher)
            since = await sync_state.checkpoint(user_id)
            tasks.append(asyncio.create_task(account.sync_forever(since, dispatcher.on_batch, stopping),
                                             name=f"sync {user_id}"))
        stress = StressWebhook(config, database, checkins, alerts, clock, config.bots["checkin"].user_id, outbox.wake)
        await stress.start()
        await scheduler.start()
        log.info("Bothy is running: %d account(s), staff room %s", len(accounts), staff_room.room_id)
        try:
            stop_waiter = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait([stop_waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop_waiter and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stopping.set()
            scheduler.shutdown()
            await stress.stop()
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
