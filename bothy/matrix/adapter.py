"""One Matrix account: login, the sync loop, and the few primitives features need.

nio returns error objects instead of raising and retries some failures forever inside its own
calls; here every call is wrapped so callers see one exception type, `MatrixError`, that says
whether to retry and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp
import nio
import peewee
import vodozemac
from nio.store.models import MegolmInboundSessions, OutgoingKeyRequests

from bothy.config import BotAccount
from bothy.logs import describe_error
from bothy.matrix.events import (
    InboundEvent,
    Membership,
    Receipt,
    RoomKeyArrived,
    invite_allowed,
    loggable,
    membership_from_event,
    message_from_event,
    reaction_from_event,
    receipt_from,
    redaction_from_event,
    server_of,
    undecryptable_from_event,
)
from bothy.storage.database import database_unavailable
from bothy.storage.sessions import Session, SessionRepository

log = logging.getLogger("bothy.matrix")

# Lazy-load members; presence is not used. A timeline of 100 lets a restart replay what it missed.
SYNC_FILTER: dict[str, Any] = {
    "room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 100}},
    "presence": {"types": []},
}
# The very first sync (no checkpoint yet) acts on no history, so it asks for none.
FIRST_EVER_SYNC_FILTER: dict[str, Any] = {**SYNC_FILTER, "room": {**SYNC_FILTER["room"], "timeline": {"limit": 1}}}
LONG_POLL_MS = 30_000
ROOM_NAME_CHARS = 100  # of a room's name in what the bots send (MatrixAccount.room_name)
UNREADABLE_TRIES = 3  # a sync nio cannot read is handled afresh this many times, then gone past (sync_forever)
GAP_PAGES, GAP_PAGE_SIZE = 10, 100  # events missed while away, fetched back per room: at most 1,000
# A sync whose missed events could not be fetched (a 502, a blip) is not handed over: fetching them is tried again,
# this many times with backoff (up to about a minute in all, longer if the homeserver asks); after that the room's gap
# is skipped and said, so that one room the homeserver cannot page back in never stops Bothy.
GAP_TRIES = 8
# A join that fails for now is tried again this many times (about an hour at the backoff's cap), then given up: a
# server that stays away would otherwise be asked every 20 s for ever, and a DM left recorded that no one can reach.
JOIN_TRIES = 200
GAP_RATE_LIMITED_S = 1800  # rate limits waited out for this long before they count as failures too
BACKOFF_CAP_S = 20.0  # outages: a homeserver back up is noticed within 20 s, at under 0.1 request/s
MEMBERS_CACHE_S = 60.0
SPACE_ROOM_TYPE = "m.space"  # a room's type, from its create event: a Space lists rooms
FIND_SENT_MAX_PAGES = 10  # of 100 of the bot's own events: enough for any row a restart could leave behind
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, OSError)
# A sync the crypto store could not take for now (locked by a backup, a full disk, an I/O error: SQLite's codes for
# that, bothy.storage.database.UNAVAILABLE) is taken again, with backoff, for this long before it is gone past as one
# nio cannot read, each sync for its own time: a disk full for a quarter of an hour costs no event, and a store that
# never takes a write again (a read-only disk, its folder deleted) does not stall every later sync (two reviewers').
STORE_WAIT_S = 900.0

BatchHandler = Callable[[str, list[InboundEvent]], Awaitable[None]]


@dataclass(frozen=True)
class RoomFacts:
    join_rule: str
    encrypted: bool
    members: frozenset[str]  # joined or invited


@dataclass(frozen=True)
class RoomSpec:
    """A room a bot makes. The alias makes creation idempotent: a second attempt finds it taken."""

    name: str
    topic: str
    alias_localpart: str
    invite: tuple[str, ...] = ()
    encrypted: bool = True
    history_visibility: str = "shared"  # members see the whole history, from before they joined too
    join_rule: str = "invite"  # or "restricted": members of `parent` may join without an invite
    parent: str | None = None  # the Space (room ID) this room belongs to


class DirectRoomBook(Protocol):
    """The one owner of which room is whose DM (`rooms/dm.py`); the account only reports what it sees."""

    async def dms_of(self, account: str) -> dict[str, str]:
        """Room ID -> the member, for each of the account's DMs."""
        ...

    async def opened(self, account: str, user_id: str, room_id: str) -> None: ...

    async def closed(self, account: str, room_id: str) -> None: ...


class MatrixError(Exception):
    """A Matrix call failed. `retry_after_ms` is set for rate limits; `permanent` means the homeserver refused
    (a 4xx), so retrying soon won't help, though it may later (the bot is invited back, a token is renewed).
    `code` is the Matrix errcode, else the HTTP status or the exception's name: safe to log, never content."""

    def __init__(self, message: str, retry_after_ms: int | None = None, permanent: bool = False, code: str = ""):
        super().__init__(message)
        self.retry_after_ms = retry_after_ms
        self.permanent = permanent
        self.code = code

    @property
    def token_lost(self) -> bool:
        """The homeserver no longer knows our access token (logged out, device deleted, password reset)."""
        return self.code == "M_UNKNOWN_TOKEN"

    @property
    def rate_limited(self) -> bool:
        """The homeserver asked us to slow down (429): a request to wait, never a refusal."""
        return self.code == "M_LIMIT_EXCEEDED"

    @property
    def unsendable(self) -> bool:
        """The request itself is refused (too large, not valid JSON): sending it again can never succeed."""
        return self.code in {"M_TOO_LARGE", "413", "M_BAD_JSON", "M_NOT_JSON"}

    @property
    def already_there(self) -> bool:
        """The homeserver already has this reaction from us (sent before, under another transaction ID): it was
        delivered, and sending it again can never succeed."""
        return self.code == "M_DUPLICATE_ANNOTATION"

    @property
    def forbidden(self) -> bool:
        """Typically: the bot is no longer in the room (removed, or the room was left)."""
        return self.code in FORBIDDEN_CODES


class CryptoStoreUnusable(Exception):
    """The crypto store cannot be opened: with the configured pickle key (`wrong_key`: not the one it was made with),
    or at all (`reason`, SQLite's words: a file that is no database, a store another process holds)."""

    def __init__(self, user_id: str, wrong_key: bool, reason: str = ""):
        super().__init__(user_id)
        self.wrong_key = wrong_key
        self.reason = reason


class GapNotFilled(Exception):
    """Events missed in a room could not be fetched for now: try again before handing the sync over."""

    def __init__(self, room_id: str, error: MatrixError):
        super().__init__(f"{room_id}: {error.code or error}")
        self.retry_after_ms = error.retry_after_ms
        self.rate_limited = error.rate_limited


FORBIDDEN_CODES = ("M_FORBIDDEN", "403")


def backoff_delay(failures: int, retry_after_ms: int | None = None, cap_s: float = BACKOFF_CAP_S) -> float:
    """Capped exponential backoff with jitter; never shorter than the server asked for."""
    delay = min(cap_s, 0.5 * 2 ** max(failures - 1, 0)) * random.uniform(0.5, 1.0)
    if retry_after_ms:
        delay = max(delay, retry_after_ms / 1000)
    return delay


def _raise_for(response: Any, what: str) -> None:
    if not isinstance(response, nio.ErrorResponse):
        return
    http_status = getattr(getattr(response, "transport_response", None), "status", None) or 0
    code = response.status_code or str(http_status)
    if code == "M_LIMIT_EXCEEDED" or http_status == 429:
        raise MatrixError(f"{what}: rate limited", retry_after_ms=getattr(response, "retry_after_ms", None) or 5000,
                          code="M_LIMIT_EXCEEDED")
    permanent = 400 <= http_status < 500 or code in {"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_TOKEN"}
    raise MatrixError(f"{what}: {code}", permanent=permanent, code=code)


def is_one_to_one(room: nio.MatrixRoom) -> bool:
    """Exactly two people, joined or invited. nio keeps the server's member counts from sync, which stay right
    when lazy loading leaves `room.users` partial."""
    return room.member_count == 2


def _member_count_known(room: nio.MatrixRoom) -> bool:
    """Whether the homeserver told nio how many are joined and invited (else nio counts the members it saw)."""
    summary = room.summary
    return summary is not None and summary.joined_member_count is not None \
        and summary.invited_member_count is not None


def _member_events(events: Iterable[Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(user ID, membership, content) of each well-formed member event in raw room state. Anyone can write
    their own member event and the homeserver checks little of it (a display name may be a list), so one
    whose user ID or membership is not text is skipped rather than passed on to nio or Bothy."""
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "m.room.member":
            continue
        user_id, content = event.get("state_key"), event.get("content")
        if not isinstance(user_id, str) or not isinstance(content, dict):
            continue
        membership = content.get("membership")
        if isinstance(membership, str):
            yield user_id, membership, content


def _text_or_none(value: Any) -> str | None:
    """A member's display name or avatar as nio needs it: text, or nothing (nio keys a dict by the name)."""
    return value if isinstance(value, str) else None


def _store_unavailable(error: BaseException) -> bool:
    """The crypto store could not take a write for now: SQLite's error, as peewee wraps it (kept as `orig`)."""
    original = getattr(error, "orig", None) if isinstance(error, peewee.OperationalError) else error
    return isinstance(original, BaseException) and database_unavailable(original)


# A level above any a power levels event may hold: a room's creators have it in room versions that list them nowhere
# in that event (room version 12, MSC4289).
CREATOR_LEVEL = 2**53


def _creators(event: Any) -> frozenset[str] | None:
    """Who created the room, from its `m.room.create`, where the room version gives them a power of their own: its
    sender and any `additional_creators`. None in older versions, whose creators hold a level in the event like
    anyone."""
    version = str(getattr(event, "room_version", ""))
    if not (version.isdigit() and int(version) >= 12):
        return None
    extra = event.source.get("content", {}).get("additional_creators")
    return frozenset({event.sender, *(user for user in extra if isinstance(user, str))} if isinstance(extra, list)
                     else {event.sender})


def _own_membership(event: Any, user_id: str) -> str | None:
    """The account's own membership that the event starts ("join", "invite", ...), if it is a change of it: a join
    after a join is a new display name or avatar, not a joining."""
    if not isinstance(event, nio.RoomMemberEvent) or event.state_key != user_id:
        return None
    return event.membership if event.membership != event.prev_membership else None


def _store_dir(base: Path, user_id: str) -> Path:
    return base / re.sub(r"[^A-Za-z0-9_.-]", "_", user_id.lstrip("@"))


def device_files(base: Path, user_id: str, device_id: str) -> Path:
    """The files nio keeps one device's keys and trust in, as a glob (its default store's names)."""
    return _store_dir(base, user_id) / f"{user_id}_{device_id}.*"


class StateSafeClient(nio.AsyncClient):
    """nio applies a decrypted timeline event to the room's state as if the server had sent it, so anyone in an
    encrypted room could forge "they left", a room name, an alias or power levels inside a message. Real state is
    never encrypted: here a decrypted event is decrypted and nothing more."""

    # The token of the last sync nio failed to read before taking it (MatrixAccount.sync_forever goes past it).
    unreadable_next_batch: str | None = None

    async def create_matrix_response(self, response_class: type, transport_response: Any,
                                     data: tuple[Any, ...] | None = None, save_to: Any = None) -> Any:
        """A sync nio cannot read, whether it raises or answers a sync the homeserver sent with success as an error
        (its schema rejected a field), is raised as unreadable, with the body's token kept to go past it."""
        try:
            response = await super().create_matrix_response(response_class, transport_response, data, save_to)
        except Exception:
            if response_class is nio.SyncResponse:
                await self._keep_unreadable_token(transport_response)
            raise
        if response_class is nio.SyncResponse and isinstance(response, nio.SyncError) \
                and 200 <= getattr(transport_response, "status", 0) < 300:
            await self._keep_unreadable_token(transport_response)
            raise ValueError("a sync the homeserver sent does not read as one")
        return response

    async def _keep_unreadable_token(self, transport_response: Any) -> None:
        with contextlib.suppress(Exception):  # a body that is no JSON object has no token to go past to
            token = (await transport_response.json()).get("next_batch")
            self.unreadable_next_batch = token if isinstance(token, str) else None

    def _handle_timeline_event(self, event: Any, room_id: str, room: nio.MatrixRoom,
                               encrypted_rooms: set[str]) -> Any:
        if isinstance(event, nio.MegolmEvent) and self.olm:
            event.room_id = room_id
            return self.olm._decrypt_megolm_no_error(event)
        return super()._handle_timeline_event(event, room_id, room, encrypted_rooms)

    def load_store(self) -> None:
        """Every way nio decrypts a room message (a sync, paging back over missed events, fetching one again) goes
        through its machine's `decrypt_megolm_event`: there a plaintext nio's own checks trip over (a JSON array or a
        number where an object belongs: a TypeError inside nio) is made undecryptable, as a message under a wrong key
        is. Raised past nio, it ended the handling of the whole sync, every other member's messages in it with it, a
        room's missed events when paging back, and the give-up sweep over parked messages at the same one every run
        (a robustness reviewer's and a second reviewer's, thirty-third session)."""
        super().load_store()
        if self.olm is None:
            return
        decrypt = self.olm.decrypt_megolm_event

        def decrypt_or_undecryptable(event: nio.MegolmEvent, room_id: str | None = None) -> Any:
            try:
                return decrypt(event, room_id)
            except nio.EncryptionError:
                raise
            except Exception as error:
                raise nio.EncryptionError(f"decrypts to nothing readable ({describe_error(error)})") from error

        self.olm.decrypt_megolm_event = decrypt_or_undecryptable

    async def share_group_session(self, room_id: str, ignore_unverified_devices: bool = False) -> Any:
        """nio marks a room as sharing its key before it claims the members' one-time keys, outside the block that
        clears the mark: a claim that failed (the network, a crypto store that could not take the keys) left it for
        good, and every later message to the room waited on it for ever, and with them everything the outbox owed (an
        operations reviewer's, thirty-second session). The mark this call made goes with it, however it ends."""
        marked_already = room_id in self.sharing_session
        try:
            return await super().share_group_session(room_id, ignore_unverified_devices)
        finally:
            if not marked_already and (mark := self.sharing_session.pop(room_id, None)) is not None:
                mark.set()

    def _handle_decrypt_to_device(self, to_device_event: Any) -> Any:
        """One to-device message nio cannot decrypt (a ciphertext that is not base64, from anyone on the federation)
        is left undecrypted, as nio leaves any it has no session for: raised, it would end nio's handling of the
        sync before the rooms', and the retry would find the sync already taken (MatrixAccount.sync_forever)."""
        try:
            return super()._handle_decrypt_to_device(to_device_event)
        except Exception as error:
            log.warning("a to-device message could not be decrypted (%s); left as it is", describe_error(error))
            return None


class MatrixAccount:
    def __init__(
        self,
        account: BotAccount,
        homeserver_url: str,
        crypto_store_dir: Path,
        pickle_key: str,
        sessions: SessionRepository,
        direct_rooms: DirectRoomBook,
        allowed_servers: frozenset[str],
    ):
        self.account = account
        self.user_id = account.user_id
        self.sessions = sessions
        self.direct_book = direct_rooms
        self.allowed_servers = allowed_servers
        store_path = _store_dir(crypto_store_dir, account.user_id)
        store_path.mkdir(parents=True, exist_ok=True)
        for folder in (crypto_store_dir, store_path):  # the keys that read members' DMs: owner only, as the database
            try:
                folder.chmod(0o700)
            except OSError as error:  # a folder Bothy does not own: it still runs, and says so
                log.warning("could not make %s owner-only (%s)", folder, type(error).__name__)
        self.client = StateSafeClient(
            homeserver_url,
            account.user_id,
            store_path=str(store_path),
            config=nio.AsyncClientConfig(
                max_limit_exceeded=0,
                max_timeouts=0,
                encryption_enabled=True,
                store_sync_tokens=False,
                pickle_key=pickle_key,
                request_timeout=60,
            ),
        )
        self._members_cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._left_rooms: set[str] = set()  # left or removed from since this process started (_forget_rooms_left)
        self._to_leave: set[str] = set()  # rooms no longer used, left once nothing more is owed there (rooms_to_leave)
        self._joining: set[str] = set()
        self._members_loaded: set[str] = set()
        self._direct_rooms: dict[str, str] = {}  # room ID -> the member, as `direct_book` has them
        self._creators: dict[str, frozenset[str]] = {}  # room ID -> its creators, where they hold a power of their own
        self._background: set[asyncio.Task[None]] = set()
        self.on_joined: Callable[[str], Awaitable[None]] | None = None  # the room ID, once joined
        self.skipped_events = 0  # events dropped because they could not be understood
        self.syncs_done = 0  # since start: what nio knows of rooms is as of the last of them
        # When the last sync got through (ms since the epoch): room keys sent before it have arrived. None since start.
        self.synced_at_ms: int | None = None
        self._login_lock = asyncio.Lock()
        self._direct_lock = asyncio.Lock()
        self._token_error_logged = False

    # --- session -------------------------------------------------------------------------

    async def login(self) -> None:
        """Reuse the stored device and token; log in with the password only the first time."""
        session = await self.sessions.get(self.user_id)
        if session is None and self.account.access_token:
            self.client.access_token = self.account.access_token
            whoami = await self._call(self.client.whoami(), "whoami")
            session = Session(self.user_id, whoami.device_id, self.account.access_token)
            await self.sessions.save(session)
        if session is not None:
            try:
                self.client.restore_login(session.user_id, session.device_id, session.access_token)
            except (vodozemac.PickleException, vodozemac.LibolmPickleException):
                raise CryptoStoreUnusable(self.user_id, wrong_key=True) from None
            except peewee.PeeweeException as error:
                raise CryptoStoreUnusable(self.user_id, wrong_key=False, reason=str(error)[:200]) from None
            try:
                await self._call(self.client.whoami(), "whoami")
            except MatrixError as error:
                if not error.token_lost or not self.account.password:
                    raise
                log.warning("stored token for %s was revoked; logging in again", self.user_id)
                await self._log_in_with_password()
        if session is None:
            if not self.account.password:
                raise MatrixError(f"{self.user_id}: no stored session and no password", permanent=True)
            await self._log_in_with_password()
        if self.client.should_upload_keys:
            await self._call(self.client.keys_upload(), "keys upload")
        self._direct_rooms = await self.direct_book.dms_of(self.user_id)
        self._spawn(self._forget_unrecorded_direct(frozenset(self._direct_rooms.values())))
        log.info("%s ready on device %s", self.user_id, self.client.device_id)

    async def _log_in_with_password(self) -> None:
        """Log in (on the stored device, if any, so transaction IDs keep deduplicating) and store the session.

        A revoked token usually means the device was deleted with its keys, so the device keys are
        published again (identical keys are a no-op for the homeserver); otherwise members' clients
        could no longer encrypt to the bot.
        """
        republish = self.client.olm is not None
        response = await self._call(self.client.login(self.account.password, device_name="Bothy"), "login")
        await self.sessions.save(Session(self.user_id, response.device_id, response.access_token))
        if republish and self.client.olm is not None:
            self.client.olm.account.shared = False
            await self._call(self.client.keys_upload(), "keys upload")
        self._token_error_logged = False

    async def recover_session(self) -> bool:
        """After M_UNKNOWN_TOKEN: log in again if a password is configured; True when calls may be retried.

        One re-login at a time: whoever comes second finds the new token works and retries.
        """
        async with self._login_lock:
            try:
                await self._call(self.client.whoami(), "whoami")
                return True
            except MatrixError as error:
                if not error.token_lost:
                    raise
            if not self.account.password:
                if not self._token_error_logged:
                    log.error("%s: the homeserver no longer accepts the access token and no password is configured; "
                              "nothing can be sent or received until an admin configures a new access token or a "
                              "password and restarts Bothy", self.user_id)
                    self._token_error_logged = True
                return False
            log.warning("%s: the homeserver no longer accepts the access token; logging in again", self.user_id)
            await self._log_in_with_password()
            return True

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await self.client.close()

    # --- sync ------------------------------------------------------------------------------

    async def sync_forever(self, since: str | None, on_batch: BatchHandler, stopping: asyncio.Event) -> None:
        """Long-poll the homeserver, handing each batch to `on_batch`; back off on failure, never hot-loop.

        The first sync asks for full state (nio keeps no room state across restarts). On the very
        first run (no checkpoint) the timeline is history and is not handed over.
        """
        first = True
        first_ever = since is None
        failures = unreadable = 0
        store_waited_s = 0.0  # for the crypto store, on this sync
        while not stopping.is_set():
            self.client.unreadable_next_batch = None
            try:
                response = await self.client.sync(
                    timeout=0 if first else LONG_POLL_MS,
                    sync_filter=FIRST_EVER_SYNC_FILTER if first and first_ever else SYNC_FILTER,
                    since=since,
                    full_state=True if first else None,
                )
                _raise_for(response, "sync")
            except (MatrixError, *NETWORK_ERRORS) as error:
                if isinstance(error, MatrixError) and error.token_lost:
                    with contextlib.suppress(MatrixError):
                        await self.recover_session()
                failures += 1
                retry_after = error.retry_after_ms if isinstance(error, MatrixError) else None
                delay = backoff_delay(failures, retry_after)
                log.warning("%s sync failed (%s); retrying in %.1fs", self.user_id, type(error).__name__, delay)
                await _wait(stopping, delay)
                continue
            except Exception as error:  # nio failed to parse what the homeserver sent: stay alive, try again
                failures += 1
                if _store_unavailable(error) and store_waited_s < STORE_WAIT_S:  # the sync is owed: handled afresh
                    self.client.next_batch = since or ""
                    delay = backoff_delay(failures)
                    store_waited_s += delay
                    log.error("%s could not write its crypto store (%s); taking the sync again in %.1fs",
                              self.user_id, describe_error(error), delay)
                    await _wait(stopping, delay)
                    continue
                unreadable += 1
                if unreadable < UNREADABLE_TRIES:
                    # nio takes a sync's token before handling it, and would skip the same sync when it comes again
                    # (its rooms' state, room keys): the retry handles it afresh. After a few tries, go past it, to
                    # the token nio took: asked again from the same point, the same sync would stop Bothy for good.
                    self.client.next_batch = since or ""
                elif ahead := next((token for token in (self.client.next_batch, self.client.unreadable_next_batch)
                                    if token and token != since), None):
                    log.error("%s goes past a sync it could not read %d times; its events are not handled",
                              self.user_id, unreadable)
                    since, unreadable, store_waited_s = ahead, 0, 0.0  # the next sync has its own time
                delay = backoff_delay(failures)
                log.error("%s could not read a sync response (%s); retrying in %.1fs", self.user_id,
                          describe_error(error), delay)
                await _wait(stopping, delay)
                continue
            failures = unreadable = 0
            store_waited_s = 0.0
            self.syncs_done += 1
            self.synced_at_ms = int(time.time() * 1000)
            deliver = not (first and first_ever)
            missed = await self._missed_events_patiently(response, since, stopping) if deliver and since else {}
            if missed is None:
                return  # stopped while fetching them: the sync is not handed over, and is taken again at the start
            await self._count_dm_members(response)
            events = self._collect(response, deliver_timeline=deliver, missed=missed)
            since = response.next_batch
            await on_batch(response.next_batch, events)
            await self._crypto_housekeeping()
            first = False

    async def _crypto_housekeeping(self) -> None:
        """What nio's sync_forever does between syncs: to-device messages and key upload/query/claim."""
        client = self.client
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except NETWORK_ERRORS as error:
            log.warning("%s key housekeeping failed (%s); will retry after next sync",
                        self.user_id, type(error).__name__)
        except Exception as error:  # nio could not read what another server or device sent (keys that are not keys)
            log.error("%s key housekeeping could not read a response (%s); carrying on", self.user_id,
                      describe_error(error))

    def _rotate_sessions_for_new_devices(self, response: nio.SyncResponse) -> None:
        """nio keeps using a room's Megolm session when a member adds a device, so the new device could
        never read Bothy; start a new session (shared with every device) in rooms with such members."""
        changed = set(response.device_list.changed)
        if not changed:
            return
        for room in self.client.rooms.values():
            if room.encrypted and changed.intersection(room.users):
                self.client.invalidate_outbound_session(room.room_id)

    async def _missed_events_patiently(self, response: nio.SyncResponse, since: str,
                                       stopping: asyncio.Event) -> dict[str, list[Any]] | None:
        """`_missed_events`, tried again with backoff while fetching them fails for now, on the sync in hand: taken
        again from the homeserver, the sync's room keys would come a second time, and nio could not read them then,
        so a message waiting for one would wait longer (a reviewer's). None if Bothy stops meanwhile.

        Only failures while the homeserver otherwise answers count towards GAP_TRIES, after which a room's gap is
        skipped: a rate limit, or a homeserver restarting or away, is waited out however long it lasts (a 429 storm
        delays, never loses; a reviewer's)."""
        tries = waits = 0
        limited_s = 0.0
        while True:
            try:
                return await self._missed_events(response, since, skip_unfilled=tries >= GAP_TRIES)
            except GapNotFilled as error:
                waits += 1
                if error.rate_limited:
                    if limited_s > GAP_RATE_LIMITED_S:  # a homeserver that never lets it through: as a failure
                        tries += 1
                elif await self._homeserver_answers():
                    tries += 1  # that room's trouble
                delay = backoff_delay(waits, error.retry_after_ms)
                if error.rate_limited:
                    limited_s += delay
                log.warning("%s could not fetch events missed in %s; trying again in %.1fs", self.user_id, error,
                            delay)
                await _wait(stopping, delay)
                if stopping.is_set():
                    return None

    async def _homeserver_answers(self) -> bool:
        """Whether the homeserver answers a cheap request now (a refusal is an answer; a 5xx, a 429 or the network
        failing is none)."""
        try:
            await self._call(self.client.whoami(), "whoami")
        except MatrixError as error:
            return error.permanent
        except Exception:  # an answer nio cannot read is an answer
            return True
        return True

    async def _missed_events(self, response: nio.SyncResponse, since: str,
                             skip_unfilled: bool = False) -> dict[str, list[Any]]:
        """Events a sync left out: when more than a page arrived in a room while Bothy was away, the
        timeline is cut ("limited"); page back from its start to where the last sync ended, so commands
        and words of distress among them are handled too. At most GAP_PAGES pages per room. A failure that
        may pass (a 5xx, a 429, the network) raises GapNotFilled, so the sync is not handed over without them,
        unless `skip_unfilled` (it has failed GAP_TRIES times); a refusal skips the room's gap."""
        missed: dict[str, list[Any]] = {}
        for room_id, info in response.rooms.join.items():
            if not info.timeline.limited or not info.timeline.prev_batch:
                continue
            until: str | None = since
            if (joined := self._joined_in(info.timeline.events)) is not None:
                if joined[0] != "from an older invite":
                    continue  # nothing before this sync's events was said to the bot (_since_asked_in)
                # Invited while Bothy was down, in a room busy since: back to the invite, which is older than the
                # last sync (an operations reviewer's: what was said after it was never read).
                until = None
            older: list[Any] = []
            token = info.timeline.prev_batch
            for _ in range(GAP_PAGES):
                try:
                    page = await self._call(self.client.room_messages(room_id, start=token, end=until,
                                                                      limit=GAP_PAGE_SIZE), "messages")
                except MatrixError as error:
                    if not error.permanent and not skip_unfilled:
                        raise GapNotFilled(room_id, error) from error
                    log.warning("%s could not fetch events missed in %s (%s); they are not handled", self.user_id,
                                room_id, error.code or error)
                    break
                except Exception as error:  # one room's history must never stop the sync loop
                    log.error("%s could not read events missed in %s (%s)", self.user_id, room_id,
                              describe_error(error))
                    break
                older.extend(page.chunk)  # newest first
                if not page.chunk or not page.end or page.end == token or (
                        until is None and any(_own_membership(e, self.user_id) == "invite" for e in page.chunk)):
                    break
                token = page.end
            else:
                log.warning("%s: more than %d events arrived in %s while away; the oldest are not handled",
                            self.user_id, GAP_PAGES * GAP_PAGE_SIZE, room_id)
            missed[room_id] = older[::-1]
        return missed

    async def _count_dm_members(self, response: nio.SyncResponse) -> None:
        """Load the members of each DM with something to handle whose member count nio does not know.

        With lazy-loaded members, the first sync after a restart gives nio no member count (Synapse sends
        one only with membership changes or on a first-ever sync) and leaves out members it sent this
        device before, so a DM could look like a room of one and be taken for a group until Bothy next
        sent there: a staff alert raised from it would not name the member, their messages would count as
        community activity. Once per DM per run, and only for DMs with new events.
        """
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if (room is None or room_id not in self._direct_rooms or room_id in self._members_loaded
                    or not (info.timeline.events or info.ephemeral) or _member_count_known(room)):
                continue
            try:
                await self._load_members(room_id)
            except MatrixError as error:
                log.warning("%s could not load the members of DM %s (%s)", self.user_id, room_id, error.code)
            except Exception as error:  # one room's state must never stop the sync loop (and so all of Bothy)
                log.error("%s could not load the members of DM %s (%s)", self.user_id, room_id,
                          describe_error(error))

    def _collect(self, response: nio.SyncResponse, deliver_timeline: bool,
                 missed: dict[str, list[Any]] | None = None) -> list[InboundEvent]:
        """Bothy's events from one sync, after any `missed` ones that came before them. Each event is
        converted on its own: one that fails must not stop the loop, or every restart would replay the
        same batch (its checkpoint was never passed) and fail."""
        self._rotate_sessions_for_new_devices(response)
        events: list[InboundEvent] = []
        for event in response.to_device_events:
            if isinstance(event, nio.RoomKeyEvent | nio.ForwardedRoomKeyEvent):
                events.append(RoomKeyArrived(event.session_id))
        for room_id, info in response.rooms.invite.items():
            with self._isolated(f"the invite to {room_id}"):
                self._consider_invite(room_id, info.invite_state)
        self._end_shared_dms(response.rooms.join)
        self._left_rooms.difference_update(response.rooms.join)  # invited back and joined
        self._forget_rooms_left([room_id for room_id in response.rooms.leave if room_id not in response.rooms.join])
        for room_id, info in response.rooms.join.items():
            for event in (*info.state, *info.timeline.events):
                if isinstance(event, nio.RoomCreateEvent) and (creators := _creators(event)) is not None:
                    self._creators[room_id] = creators
        if not deliver_timeline:
            return events
        for room_id, info in response.rooms.join.items():
            for event in self._since_asked_in(room_id, [*(missed or {}).get(room_id, ()), *info.timeline.events]):
                with self._isolated(room_id, event):
                    converted = self._convert(event, room_id)
                    if converted is not None:
                        events.append(converted)
            for ephemeral in info.ephemeral:
                if isinstance(ephemeral, nio.ReceiptEvent):
                    with self._isolated(room_id, ephemeral):
                        events.extend(self._receipts(ephemeral, room_id))
        return events

    def _joined_in(self, events: list[Any]) -> tuple[str, int] | None:
        """How this account joined the room in these events, if it did, and where what was said to it starts: "from an
        invite" among them (at the invite), "from an older invite" (all of them: they came after it), or "uninvited"
        (at the join)."""
        joined = next((index for index in range(len(events) - 1, -1, -1)
                       if _own_membership(events[index], self.user_id) == "join"), None)
        if joined is None:
            return None
        invited = next((index for index in range(joined - 1, -1, -1)
                        if _own_membership(events[index], self.user_id) == "invite"), None)
        if invited is not None:
            return "from an invite", invited
        return ("from an older invite", 0) if events[joined].prev_membership == "invite" else ("uninvited", joined)

    def _since_asked_in(self, room_id: str, events: list[Any]) -> list[Any]:
        """A room's events, without its history from before this account was asked in: in a group the bot joins in
        this sync (README: invite the bots to the community's rooms), what was said before its invite (before its
        join, if it came uninvited) was never said to Bothy, and acted on it raised urgent alerts, suggestions and
        replies about messages months old (a spec auditor's, thirty-second session). Joined from an invite older than
        all of them (a busy room while Bothy was down: a second reviewer's), they all came after it. A DM's are all
        kept: a member may write to the bot before it has joined."""
        joined = None if room_id in self._direct_rooms else self._joined_in(events)
        return events if joined is None else events[joined[1]:]

    @contextlib.contextmanager
    def _isolated(self, where: str, event: Any = None) -> Iterator[None]:
        """Contain a failure to the one event: log its ID and type (never content, nor the exception's
        message, which may quote it), count it, and let the batch go on."""
        try:
            yield
        except Exception as error:
            self.skipped_events += 1
            source = getattr(event, "source", None)
            source = source if isinstance(source, dict) else {}
            log.warning("%s skipped an event it failed to convert: %s (%s) in %s: %s", self.user_id,
                        loggable(source.get("event_id")), loggable(source.get("type")), where, type(error).__name__)

    def _receipts(self, ephemeral: nio.ReceiptEvent, room_id: str) -> list[Receipt]:
        receipts = []
        for r in ephemeral.receipts:
            if r.user_id == self.user_id or r.receipt_type not in {"m.read", "m.read.private"}:
                continue
            receipt = receipt_from(room_id, r.user_id, r.event_id, r.timestamp)
            if receipt is None:
                self._skipped({"event_id": r.event_id, "type": "m.receipt"}, room_id, "receipt")
            else:
                receipts.append(receipt)
        return receipts

    def _skipped(self, source: dict[str, Any], room_id: str, field: str) -> None:
        """An event Bothy cannot understand is dropped and counted; the log names it, never its content."""
        self.skipped_events += 1
        log.warning("%s skipped a malformed event %s (%s) in %s: bad %s", self.user_id,
                    loggable(source.get("event_id")), loggable(source.get("type")), room_id, field)

    def _convert(self, event: nio.Event, room_id: str) -> InboundEvent | None:
        source = getattr(event, "source", None)
        if getattr(event, "decrypted", False) and not (isinstance(source, dict)
                                                       and source.get("type") in {"m.room.message", "m.reaction"}):
            return None  # state forged inside an encrypted message: only the server's plaintext state is real
        if isinstance(source, dict) and source.get("type") == "m.room.member":
            return self._membership(source, room_id)  # whoever sent it: a bot account may remove a member
        if getattr(event, "sender", None) == self.user_id:
            return None
        if not isinstance(source, dict):
            self._skipped({}, room_id, "event")
            return None

        def skipped(field: str) -> None:
            self._skipped(source, room_id, field)

        if isinstance(event, nio.MegolmEvent):
            undecryptable = undecryptable_from_event(source, room_id, skipped)
            if undecryptable is not None:
                self._spawn(self._request_key(event))
            return undecryptable
        kind = source.get("type")
        if kind == "m.room.message":
            return message_from_event(source, room_id, encrypted=bool(getattr(event, "decrypted", False)),
                                      on_malformed=skipped)
        if kind == "m.reaction":
            return reaction_from_event(source, room_id, skipped)
        if kind == "m.room.redaction":
            return redaction_from_event(source, room_id, skipped)
        return None

    def _membership(self, source: dict[str, Any], room_id: str) -> Membership | None:
        """Someone else joined, left or was removed: the member cache is stale, a DM they left is closed,
        and bots hear of it (e.g. to stop counting a member who has gone)."""
        self._members_cache.pop(room_id, None)
        membership = membership_from_event(source, room_id, lambda field: self._skipped(source, room_id, field))
        if membership is None or membership.user_id == self.user_id:
            return None
        if membership.membership in {"leave", "ban"} and room_id in self._direct_rooms:
            self._spawn(self._close_dm(room_id))
        return membership

    def _end_shared_dms(self, room_ids: Iterable[str]) -> None:
        """A DM someone else joined or was invited to is a DM no more: forget it, so private output goes to a
        fresh DM instead of landing in front of them. (The member leaving is `_close_dm`'s case.)"""
        for room_id in room_ids:
            room = self.client.rooms.get(room_id)
            if room_id in self._direct_rooms and room is not None and room.member_count > 2:
                del self._direct_rooms[room_id]
                self._spawn(self.direct_book.closed(self.user_id, room_id))

    def _forget_rooms_left(self, room_ids: Iterable[str]) -> None:
        """Rooms this account left or was removed from: nio keeps them among its rooms for good, and asking who is in
        them (member_rooms) would meet the homeserver's refusal. They stay in nio's rooms, so what is still owed to one
        is refused by the homeserver and goes the moment the bot is invited back and joins (the outbox's `joined`),
        but they are passed over where Bothy looks for a member's rooms or a DM. A DM it was removed from is a DM no
        more; members are loaded afresh if it comes back."""
        for room_id in room_ids:
            self._left_rooms.add(room_id)
            self._members_cache.pop(room_id, None)
            self._members_loaded.discard(room_id)
            if self._direct_rooms.pop(room_id, None) is not None:
                self._spawn(self.direct_book.closed(self.user_id, room_id))

    async def _close_dm(self, room_id: str) -> None:
        """The member left our DM: forget it, so the next message opens a fresh one they can see."""
        self._direct_rooms.pop(room_id, None)
        await self.direct_book.closed(self.user_id, room_id)
        await self._leave(room_id, "a DM the member left")

    async def _leave(self, room_id: str, what: str) -> MatrixError | None:
        """Leave the room and mark it left; the homeserver's refusal, logged, if it would not."""
        try:
            await self._call(self.client.room_leave(room_id), "leave")
        except MatrixError as error:
            log.warning("%s could not leave %s: %s", self.user_id, what, error.code)
            return error
        self._forget_rooms_left([room_id])
        self._forget_room_keys(room_id)
        return None

    def _forget_room_keys(self, room_id: str) -> None:
        """A room this account left: the keys that decrypt what was said there go from the crypto store and from
        memory. Kept, anyone holding the store and its pickle key could read back a DM (an erased member's words)
        from the history the homeserver keeps (a reviewer's). Invited back, the bot gets the keys of what is said
        from then on."""
        try:
            olm = self.client.olm
            if olm is not None:
                olm.inbound_group_store[room_id].clear()
                olm.outbound_group_sessions.pop(room_id, None)
            store = self.client.store
            if store is not None:
                with store.database.bind_ctx(store.models):
                    MegolmInboundSessions.delete().where(MegolmInboundSessions.room_id == room_id).execute()
                    OutgoingKeyRequests.delete().where(OutgoingKeyRequests.room_id == room_id).execute()
                store.delete_encrypted_room(room_id)
        except Exception as error:  # the crypto store's own trouble: the room is left all the same
            log.warning("%s could not forget the keys of a room it left: %s", self.user_id, describe_error(error))
            return
        log.info("%s forgot the keys of a room it left", self.user_id)

    async def _request_key(self, event: nio.MegolmEvent) -> None:
        try:
            await self.client.request_room_key(event)
        except (nio.LocalProtocolError, *NETWORK_ERRORS) as error:
            log.debug("room key request not sent: %s", type(error).__name__)

    def _consider_invite(self, room_id: str, invite_state: list[Any]) -> None:
        own = [e for e in invite_state if isinstance(e, nio.InviteMemberEvent) and e.state_key == self.user_id]
        if not own or room_id in self._joining:
            return
        invite = own[-1]
        if invite.membership != "invite" or not isinstance(invite.sender, str):
            return
        if not invite_allowed(invite.sender, self.allowed_servers):
            log.info("%s ignored an invite from server %s (not in community.allowed_servers)",
                     self.user_id, server_of(invite.sender))
            return
        # Only a real JSON true makes a DM: a group wrongly taken for a DM would get private replies.
        is_direct = isinstance(invite.content, dict) and invite.content.get("is_direct") is True
        self._joining.add(room_id)
        self._spawn(self._accept_invite(room_id, invite.sender, is_direct))

    async def _accept_invite(self, room_id: str, inviter: str, is_direct: bool) -> None:
        """A DM is recorded before joining: the member may write the moment they see the bot join, and that
        first message must already be read as private (not as a group's, answered in a second DM). A join that
        fails for now (an outage, a rate limit) is tried again until it goes or is refused: the homeserver sends an
        invite in one sync only, so a member's DM was otherwise never read (a robustness reviewer's, thirty-third
        session)."""
        try:
            if is_direct:
                await self.direct_book.opened(self.user_id, inviter, room_id)
                self._direct_rooms[room_id] = inviter
            failures = 0
            while True:
                try:
                    await self.join(room_id)
                    break
                except MatrixError as error:
                    if (error.permanent and not error.token_lost) or failures + 1 >= JOIN_TRIES:
                        raise
                    failures += 1
                    delay = backoff_delay(failures, error.retry_after_ms)
                    log.warning("%s could not join a room it was invited to yet (%s); trying again in %.0fs",
                                self.user_id, error, delay)
                    await asyncio.sleep(delay)
        except MatrixError as error:
            log.warning("%s could not join a room it was invited to: %s", self.user_id, error)
            if is_direct:
                self._direct_rooms.pop(room_id, None)
                await self.direct_book.closed(self.user_id, room_id)
        finally:
            self._joining.discard(room_id)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- primitives --------------------------------------------------------------------------

    async def _call(self, awaitable: Awaitable[Any], what: str) -> Any:
        try:
            response = await awaitable
        except NETWORK_ERRORS as error:
            raise MatrixError(f"{what}: {type(error).__name__}", code=type(error).__name__) from error
        _raise_for(response, what)
        return response

    def knows_room(self, room_id: str) -> bool:
        return room_id in self.client.rooms

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str) -> str:
        if not self.knows_room(room_id):
            raise MatrixError("room not synced yet", retry_after_ms=500)
        if self.client.rooms[room_id].encrypted:
            await self._prepare_encrypted_send(room_id)
        try:
            response = await self._call(
                self.client.room_send(room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True),
                "send",
            )
        except (nio.LocalProtocolError, nio.SendRetryError) as error:
            raise MatrixError(f"send: {type(error).__name__}", code=type(error).__name__) from error
        return response.event_id

    async def _prepare_encrypted_send(self, room_id: str) -> None:
        """Know every member, invited ones included, and their devices before sharing a session.

        With lazy-loaded members (and nio's joined-members call) an invited member, typically the
        other side of a brand-new DM, can be missing, and would never get the key to read the message.
        """
        if room_id not in self._members_loaded:
            await self._load_members(room_id)
        if self.client.should_query_keys:
            try:
                await self._call(self.client.keys_query(), "keys query")
            except MatrixError:
                raise
            except Exception as error:  # a member's device keys nio cannot read: nio has stopped asking for them
                raise MatrixError(f"keys query: {type(error).__name__}", code=type(error).__name__) from error

    async def _load_members(self, room_id: str) -> None:
        """Every joined and invited member, from the room's state: lazy-loading syncs leave nio's list partial.
        A display name or avatar that is not text is left out; the member still counts (a DM stays a DM)."""
        state = await self._call(self.client.room_get_state(room_id), "room state")
        room = self.client.rooms[room_id]
        for user_id, membership, content in _member_events(state.events):
            if membership in {"join", "invite"}:
                room.add_member(user_id, _text_or_none(content.get("displayname")),
                                _text_or_none(content.get("avatar_url")), invited=membership == "invite")
        room.members_synced = True
        if self.client.olm is not None:
            self.client.olm.update_tracked_users(room)
        self._members_loaded.add(room_id)

    async def send_file(self, room_id: str, filename: str, mimetype: str, data: bytes, txn_id: str) -> str:
        """Upload (encrypted when the room is) and post an `m.file`. A retry uploads again, but the
        message itself is deduplicated by its transaction ID."""
        if not self.knows_room(room_id):
            raise MatrixError("room not synced yet", retry_after_ms=500)
        encrypted = self.client.rooms[room_id].encrypted
        upload, keys = await self._call_pair(
            self.client.upload(io.BytesIO(data), mimetype, filename, encrypt=encrypted, filesize=len(data)))
        msgtype = "m.image" if mimetype.startswith("image/") else "m.file"  # an image shows inline
        content: dict[str, Any] = {"msgtype": msgtype, "body": filename,
                                   "info": {"mimetype": mimetype, "size": len(data)}}
        if encrypted and keys is not None:
            content["file"] = {**keys, "url": upload.content_uri}
        else:
            content["url"] = upload.content_uri
        return await self.send(room_id, "m.room.message", content, txn_id)

    async def _call_pair(self, awaitable: Awaitable[tuple[Any, Any]]) -> tuple[Any, Any]:
        try:
            response, extra = await awaitable
        except NETWORK_ERRORS as error:
            raise MatrixError(f"upload: {type(error).__name__}", code=type(error).__name__) from error
        _raise_for(response, "upload")
        return response, extra

    async def redact(self, room_id: str, event_id: str, txn_id: str) -> str:
        response = await self._call(self.client.room_redact(room_id, event_id, tx_id=txn_id), "redact")
        return response.event_id

    async def find_sent(self, room_id: str, txn_id: str, since_ms: int) -> str | None:
        """The event this device already sent with `txn_id`, if the room's timeline has it, else None.

        Synapse forgets transaction IDs after about 30 minutes, so an old row that may have gone out
        is looked for before it is sent again. The homeserver shows the sending device its own
        `unsigned.transaction_id`; only this account's events are asked for, paging back to `since_ms`.
        """
        start: str | None = None
        for _ in range(FIND_SENT_MAX_PAGES):
            method, path = nio.Api.room_messages(self.client.access_token, room_id, start=start, limit=100,
                                                 message_filter={"senders": [self.user_id]})
            page = await self._get_json(method, path, "room messages")
            chunk = page.get("chunk") or []
            for event in chunk:
                unsigned = event.get("unsigned") if isinstance(event, dict) else None
                if isinstance(unsigned, dict) and unsigned.get("transaction_id") == txn_id:
                    return event.get("event_id")
            start = page.get("end")
            oldest = chunk[-1].get("origin_server_ts", 0) if chunk and isinstance(chunk[-1], dict) else 0
            if not start or not chunk or not isinstance(oldest, int) or oldest < since_ms:
                return None
        return None

    async def event_reports(self, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        """Reports members made with their client's Report button, oldest first, after report `after_id`, a page at
        most (Synapse admin API: the account must be a server admin, else MatrixError M_FORBIDDEN).

        The API's `from` is a place in the list, not a report ID: IDs start at 2, and deleting a report (or purging
        its room) moves every later one up. A report's place is at most its ID less 2, and less than the list's
        `total`, so the list is read from there, a page further back each time the page starts after `after_id`,
        until the page holds where the new ones begin. Whether more follow a page is told by the list's `total` (else by
        the entries Synapse sent), not by those Bothy could read: Synapse itself leaves out a report it cannot parse,
        and one entry short must not make a page look like the list's end.
        """
        offset = max(0, after_id - 2)
        page, sent, total = await self._event_report_page(offset, limit)
        if total == 0:
            return []
        if total is not None and offset >= total:  # reports deleted: the list ends before that place
            offset = max(0, total - limit)
            page, sent, total = await self._event_report_page(offset, limit)
        while offset > 0 and not (page and page[0]["id"] <= after_id):
            offset = max(0, offset - limit)
            page, sent, total = await self._event_report_page(offset, limit)
        seen = sum(1 for report in page if report["id"] <= after_id)
        more = offset + limit < total if total is not None else sent == limit  # Synapse leaves out rows it can't read
        if page and seen == len(page) and more:  # the new ones begin just after this page
            page, _, _ = await self._event_report_page(offset + limit, limit)
        return sorted((report for report in page if report["id"] > after_id), key=lambda report: report["id"])

    async def _event_report_page(self, offset: int, limit: int) -> tuple[list[dict[str, Any]], int, int | None]:
        """The readable reports of a page, how many entries Synapse sent, and the list's `total` if it said."""
        path = f"/_synapse/admin/v1/event_reports?dir=f&from={offset}&limit={limit}"
        page = await self._get_json("GET", path, "event reports",
                                    headers={"Authorization": f"Bearer {self.client.access_token}"})
        reports, total = page.get("event_reports"), page.get("total")
        if not isinstance(reports, list):
            return [], 0, None
        readable = [r for r in reports if isinstance(r, dict) and isinstance(r.get("id"), int)
                    and not isinstance(r.get("id"), bool)]
        return readable, len(reports), total if isinstance(total, int) and not isinstance(total, bool) else None

    async def _get_json(self, method: str, path: str, what: str,
                        headers: dict[str, str] | None = None) -> dict[str, Any]:
        """A raw request (nio would parse and decrypt the events; only their unsigned data is wanted)."""
        try:
            response = await self.client.send(method, path, headers=headers)
            body = await response.json(content_type=None)
        except (*NETWORK_ERRORS, ValueError) as error:
            raise MatrixError(f"{what}: {type(error).__name__}", code=type(error).__name__) from error
        if response.status == 200 and isinstance(body, dict):
            return body
        code = body.get("errcode") if isinstance(body, dict) else None
        code = code if isinstance(code, str) else str(response.status)
        if response.status == 429:
            retry_after = body.get("retry_after_ms") if isinstance(body, dict) else None
            raise MatrixError(f"{what}: rate limited", retry_after_ms=retry_after if isinstance(retry_after, int)
                              else 5000, code="M_LIMIT_EXCEEDED")
        raise MatrixError(f"{what}: {code}", permanent=400 <= response.status < 500, code=code)

    async def join(self, room: str) -> str:
        """Join, then tell `on_joined` (the outbox: what waited to go into the room goes now). That is only
        a nudge, as the outbox retries anyway, so its failure is logged, never the join's."""
        response = await self._call(self.client.join(room), "join")
        self._left_rooms.discard(response.room_id)
        if self.on_joined is not None:
            try:
                await self.on_joined(response.room_id)
            except Exception as error:
                log.warning("%s joined %s but could not hurry what waits for it: %s", self.user_id,
                            response.room_id, describe_error(error))
        return response.room_id

    async def resolve_alias(self, alias: str) -> str:
        response = await self._call(self.client.room_resolve_alias(alias), "resolve alias")
        return response.room_id

    async def create_dm(self, user_id: str) -> str:
        """An encrypted, invite-only DM flagged `is_direct`, recorded in the bot's `m.direct`."""
        response = await self._call(
            self.client.room_create(
                is_direct=True,
                invite=[user_id],
                preset=nio.RoomPreset.trusted_private_chat,
                initial_state=[{"type": "m.room.encryption", "state_key": "",
                                "content": {"algorithm": "m.megolm.v1.aes-sha2"}}],
            ),
            "create DM",
        )
        await self.record_dm(user_id, response.room_id)
        return response.room_id

    async def create_room(self, spec: RoomSpec) -> str:
        """A private room as `spec` says; M_ROOM_IN_USE when its alias is taken (it was made already)."""
        server = self.account.server_name
        state: list[dict[str, Any]] = [
            {"type": "m.room.history_visibility", "state_key": "",
             "content": {"history_visibility": spec.history_visibility}},
            {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": spec.join_rule, **(
                {"allow": [{"type": "m.room_membership", "room_id": spec.parent}]}
                if spec.join_rule == "restricted" and spec.parent else {})}},
        ]
        if spec.encrypted:
            state.append({"type": "m.room.encryption", "state_key": "",
                          "content": {"algorithm": "m.megolm.v1.aes-sha2"}})
        if spec.parent:
            state.append({"type": "m.space.parent", "state_key": spec.parent,
                          "content": {"via": [server], "canonical": True}})
        response = await self._call(
            self.client.room_create(alias=spec.alias_localpart, name=spec.name, topic=spec.topic,
                                    preset=nio.RoomPreset.private_chat, invite=list(spec.invite),
                                    initial_state=state),
            "create room",
        )
        return response.room_id

    async def put_state(self, room_id: str, event_type: str, state_key: str, content: dict[str, Any]) -> None:
        await self._call(self.client.room_put_state(room_id, event_type, content, state_key=state_key), "put state")

    async def state_event(self, room_id: str, event_type: str, state_key: str = "") -> dict[str, Any]:
        response = await self._call(self.client.room_get_state_event(room_id, event_type, state_key), "get state")
        return dict(response.content)

    async def invite(self, room_id: str, user_id: str) -> None:
        await self._call(self.client.room_invite(room_id, user_id), "invite")

    async def _record_direct(self, user_id: str, room_id: str) -> None:
        await self._update_direct(lambda rooms: {**rooms, user_id: [*rooms.get(user_id, []), room_id]})

    async def _forget_unrecorded_direct(self, members: frozenset[str]) -> None:
        """At start, `m.direct` keeps only the members whose DM Bothy still records: one erased by `bothy forget
        --user` while this account was down, or whose DM closed, leaves it here."""
        if await self._update_direct(lambda rooms: {user: ids for user, ids in rooms.items() if user in members}):
            log.info("%s: m.direct no longer lists members Bothy has forgotten", self.user_id)

    async def _unrecord_direct(self, user_id: str) -> None:
        if await self._update_direct(lambda rooms: {user: ids for user, ids in rooms.items() if user != user_id}):
            log.info("%s: an erased member's DMs are gone from m.direct", self.user_id)  # never whose

    async def _update_direct(self, change: Callable[[dict[str, list[str]]], dict[str, list[str]]]) -> bool:
        """The bot's `m.direct` (its account data on the homeserver: member -> DM rooms), read and rewritten one
        change at a time (two at once would each write back what the other took out); True once a change is
        written."""
        async with self._direct_lock:
            return await self._rewrite_direct(change)

    async def _rewrite_direct(self, change: Callable[[dict[str, list[str]]], dict[str, list[str]]]) -> bool:
        try:
            direct = await self.client.list_direct_rooms()
        except (nio.LocalProtocolError, *NETWORK_ERRORS) as error:
            log.warning("could not read m.direct: %s", type(error).__name__)
            return False
        if isinstance(direct, nio.DirectRoomsResponse):
            recorded = dict(direct.rooms)
        elif getattr(direct, "status_code", None) == "M_NOT_FOUND":
            recorded = {}  # none recorded yet
        else:  # unreadable: rewriting it would lose every other member's DM
            log.warning("could not read m.direct: %s", getattr(direct, "status_code", None))
            return False
        rooms = change(recorded)
        if rooms == recorded:
            return False
        path = f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {self.client.access_token}", "Content-Type": "application/json"}
        try:
            response = await self.client.send("PUT", path, nio.Api.to_json(rooms), headers=headers)
            response.release()
        except NETWORK_ERRORS as error:
            log.warning("could not update m.direct: %s", type(error).__name__)
            return False
        if response.status >= 400:
            log.warning("could not update m.direct: HTTP %s", response.status)
            return False
        return True

    def forget_member(self, user_id: str) -> None:
        """The member's data was erased, the record of their DMs with it: those rooms are no DMs here either, the
        bot's `m.direct` on the homeserver no longer lists them, and the bot leaves them once what is owed there (the
        reply saying it is done) has gone: staying, it would take what the member writes there for a group's talk,
        keeping the room's ID in counts no erase reaches (a reviewer's)."""
        self._to_leave.update(room for room, member in self._direct_rooms.items() if member == user_id)
        self._direct_rooms = {room: member for room, member in self._direct_rooms.items() if member != user_id}
        self._spawn(self._unrecord_direct(user_id))

    def rooms_to_leave(self) -> frozenset[str]:
        """Rooms this account no longer uses, to leave once the outbox owes nothing more there."""
        return frozenset(self._to_leave)

    async def leave_unused(self, room_id: str) -> None:
        """Leave a room of `rooms_to_leave`; tried again later if the homeserver is away."""
        self._to_leave.discard(room_id)
        error = await self._leave(room_id, "a room it no longer uses")
        if error is not None and not error.permanent:
            self._to_leave.add(room_id)

    def is_direct_room(self, room_id: str) -> bool:
        """A DM is a room flagged `is_direct` (by the member's invite, or opened by the bot) while only the bot
        and the member are in it, invited members counted: private output must never reach a third person.
        A small group of two is still a group."""
        room = self.client.rooms.get(room_id)
        return room_id in self._direct_rooms and room is not None and is_one_to_one(room)

    def direct_room_with(self, user_id: str) -> str | None:
        return next((room_id for room_id, member in self._direct_rooms.items()
                     if member == user_id and self.is_direct_room(room_id)), None)

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and room.encrypted

    def dm_made_with(self, user_id: str) -> str | None:
        """A room shaped as create_dm makes one (encrypted, invite only, no name or alias) with only the bot and
        `user_id` in it (joined or invited), if there is one: a DM it opened whose making it never heard back about.
        Not a group down to two people, which has a name or is open to join."""
        for room in self.client.rooms.values():
            if (room.room_id not in self._left_rooms and room.encrypted and room.join_rule == "invite"
                    and not room.name and not room.canonical_alias
                    and is_one_to_one(room) and (user_id in room.users or user_id in room.invited_users)):
                return room.room_id
        return None

    async def record_dm(self, user_id: str, room_id: str) -> None:
        """A DM this account made, in its `m.direct` and as private: one create_dm just made, or one it made but
        never heard back about (dm_made_with)."""
        await self._record_direct(user_id, room_id)
        self._direct_rooms[room_id] = user_id

    def room_name(self, room_id: str) -> str:
        """The room's own name or alias, never one made up from its members' names (as clients do for
        unnamed rooms): an alert must not name the people in a room. On one line and at most ROOM_NAME_CHARS
        long: any member may name a room, up to the 64 KiB an event may hold, and an alert quoting all of it
        would be refused by the homeserver as too large (a second reviewer's)."""
        room = self.client.rooms.get(room_id)
        name = (room.name or room.canonical_alias) if room is not None else None
        name = " ".join(name.split()) if name else ""
        if len(name) > ROOM_NAME_CHARS:
            name = name[:ROOM_NAME_CHARS - 1].rstrip() + "…"
        return name or "a room without a name"

    def canonical_alias(self, room_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        return room.canonical_alias if room is not None else None

    async def room_facts(self, room_id: str) -> RoomFacts:
        """Who is in a room (joined or invited), whether it is invite-only and encrypted, from its state."""
        state = await self._call(self.client.room_get_state(room_id), "room state")
        join_rule, encrypted = "", False
        for event in state.events:
            content = event.get("content") if isinstance(event, dict) else None
            if not isinstance(content, dict):
                continue
            if event.get("type") == "m.room.join_rules":
                join_rule = str(content.get("join_rule", ""))
            elif event.get("type") == "m.room.encryption":
                encrypted = True
        members = frozenset(user_id for user_id, membership, _ in _member_events(state.events)
                            if membership in {"join", "invite"})
        return RoomFacts(join_rule, encrypted, members)

    def can_redact_others(self, room_id: str) -> bool:
        """A room's creator may, where the room version gives them their own power (a room Bothy made, on a homeserver
        whose default is version 12: nio reads only the power levels event, which does not list them; an end-to-end
        auditor's, thirty-third session: nothing was redacted in the rooms Bothy made)."""
        room = self.client.rooms.get(room_id)
        return room is not None and (self.user_id in self._creators.get(room_id, ())
                                     or room.power_levels.can_user_redact(self.user_id))

    async def joined_members(self, room_id: str) -> frozenset[str]:
        cached = self._members_cache.get(room_id)
        if cached and time.monotonic() - cached[0] < MEMBERS_CACHE_S:
            return cached[1]
        response = await self._call(self.client.joined_members(room_id), "joined members")
        members = frozenset(member.user_id for member in response.members)
        self._members_cache[room_id] = (time.monotonic(), members)
        return members

    async def member_rooms(self, user_id: str) -> frozenset[str]:
        """The rooms, DMs and Spaces left out, where this account and `user_id` are both joined. Asked of the
        homeserver room by room (cached a minute): lazy-loaded member lists here know only members who spoke lately.
        A Space is a list of rooms, not a place to talk: the community's holds everyone."""
        rooms = set()
        for room_id, room in list(self.client.rooms.items()):
            if self.is_direct_room(room_id) or room_id in self._left_rooms or room.room_type == SPACE_ROOM_TYPE:
                continue
            try:
                members = await self.joined_members(room_id)
            except MatrixError as error:
                if not error.forbidden:
                    raise
                continue  # a room this account is no longer in, which the sync has not yet said it left
            if user_id in members:
                rooms.add(room_id)
        return frozenset(rooms)

    async def resolve(self, reference: str) -> str:
        return await self.resolve_alias(reference) if reference.startswith("#") else reference

    async def event_sender(self, room_id: str, event_id: str) -> str | None:
        """Who sent an event (the sender is never encrypted, so nothing is decrypted); None when the
        homeserver does not show the event to the bot (redacted long ago, or from before it joined)."""
        try:
            response = await self._call(self.client.room_get_event(room_id, event_id), "get event")
        except MatrixError as error:
            if error.code in {"M_NOT_FOUND", "404", "M_FORBIDDEN", "403"}:
                return None
            raise
        sender = getattr(response.event, "sender", None)
        return sender if isinstance(sender, str) else None

    async def may_be_someone(self, user_id: str) -> bool:
        if not invite_allowed(user_id, self.allowed_servers):
            return False
        try:
            response = await self.client.get_profile(user_id)
        except NETWORK_ERRORS:
            return True
        # Synapse says "no such account" with a 404 and, for a local one, M_UNKNOWN rather than M_NOT_FOUND.
        return not (isinstance(response, nio.ProfileGetError)
                    and getattr(response.transport_response, "status", None) == 404)

    async def power_levels(self, room_id: str) -> dict[str, Any]:
        """The room's power levels as they decide what may be done: where the room version gives its creators a power
        of their own, they are among `users` at CREATOR_LEVEL. Never written back (`_levels_event` is)."""
        content = await self._levels_event(room_id)
        creators = self._creators.get(room_id)
        if creators:
            users = content.get("users")
            content["users"] = {**(users if isinstance(users, dict) else {}), **dict.fromkeys(creators, CREATOR_LEVEL)}
        return content

    async def _levels_event(self, room_id: str) -> dict[str, Any]:
        response = await self._call(self.client.room_get_state_event(room_id, "m.room.power_levels"),
                                    "power levels")
        return dict(response.content)

    async def set_power_level(self, room_id: str, user_id: str, level: int | None) -> None:
        """Read, change one user's level, write back (a state event: setting the same level twice is harmless,
        so a retried handler does no harm). The homeserver refuses it (M_FORBIDDEN) without the power."""
        content = await self._levels_event(room_id)
        users = dict(content.get("users") or {})
        if level is None:
            users.pop(user_id, None)
        else:
            users[user_id] = level
        await self._call(self.client.room_put_state(room_id, "m.room.power_levels", {**content, "users": users}),
                         "set power levels")

    async def fetch_and_decrypt(self, room_id: str, event_id: str) -> tuple[bool, InboundEvent | None]:
        """Fetch a parked event again and decrypt it now that its key may have arrived: whether it could be read,
        and what of it a bot handles (None for what none reads, such as a photo without a caption)."""
        response = await self._call(self.client.room_get_event(room_id, event_id), "get event")
        event = response.event
        if isinstance(event, nio.MegolmEvent):
            try:
                event = self.client.decrypt_event(event)
            except nio.EncryptionError:
                return False, None
        return True, self._convert(event, room_id)


async def _wait(stopping: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
