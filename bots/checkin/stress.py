"""Opt-in stress signals: a member links a wearable or phone automation to a personal webhook.

Only a rolling summary is kept (count, last level, smoothed average, since when it has been high).
When stress stays at or above the member's threshold for the configured time, peer workers get one
alert for that episode. Linking is the member's consent; `!stress unlink` withdraws it and deletes
the summary.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime

import aiosqlite
from aiohttp import web

from bothy.outbox import Effects
from bothy.plugin import BotContext
from bots.checkin.policy import add_stress_reading
from bots.checkin.storage import CheckinRepository, StressLink, StressSummary
from commands.framework import Command, CommandContext, Integer, Subcommand, UsageError

log = logging.getLogger("bothy.stress")

ALERT_KIND = "stress"
MAX_BODY_BYTES = 1024
FUTURE_TOLERANCE_MS = 5 * 60 * 1000
MAX_WRONG_TOKENS_PER_MINUTE = 10
BURST = 5  # readings a member's device may send at once (what it held while offline), before the rate limit
TIME_KEYS = frozenset({"at", "timestamp"})  # a reading's time: PRODUCT.md calls it a timestamp, our DM says "at"
UNIX_MS_FROM = 10**11  # a Unix time this large is in milliseconds (as seconds it would be the year 5138)
BODY_TIMEOUT_S = 10  # a reading's body arrives at once; one that trickles in holds a connection and a stale link
# A connection closes this long after its last answer, or after it opened if no whole request has come by then
# (headers trickled in a byte at a time included): aiohttp's default is 75 s.
KEEPALIVE_S = 15


def token_hash(token: str) -> str:
    # A header's bytes that are not UTF-8 arrive as surrogates: such a token is simply wrong, never a 500.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


class StressCommands:
    def __init__(self, context: BotContext, repository: CheckinRepository):
        self.settings = context.settings.stress
        self.repository = repository
        self.clock = context.clock
        self.alerts = context.alerts

    def commands(self) -> list[Command]:
        return [Command("stress", "checkin", "share stress levels from a wearable with peer workers (opt-in)",
                        private=True, subcommands=(
                            Subcommand("link", self.link),
                            Subcommand("unlink", self.unlink),
                            Subcommand("threshold", self.threshold, (Integer("level", 1, 100),)),
                        ))]

    async def link(self, ctx: CommandContext) -> None:
        """The token is a secret (whoever holds it can raise alerts naming the member): given only in an encrypted DM,
        never in the clear, as `!mydata`'s file never is (a spec auditor's, thirty-third session). Typed elsewhere,
        the reply would go to whatever DM the member has, which Bothy cannot know is encrypted before it sends (a
        second reviewer's)."""
        if not (ctx.in_dm and ctx.encrypted):
            ctx.reply("stress_link_not_here")
            return
        now = self.clock.ms()
        webhook_id, token = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
        existing = await self.repository.stress_link(user_id=ctx.sender)
        threshold = existing.threshold if existing else self.settings.threshold
        link = StressLink(ctx.sender, webhook_id, token_hash(token), threshold)

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.link_stress(db, link, now)

        ctx.effects.record(write)
        ctx.reply("stress_linked", url=f"{self.settings.public_url}/stress/{webhook_id}", token=token,
                  threshold=threshold, minutes=self.settings.sustained_s // 60)

    async def unlink(self, ctx: CommandContext) -> None:
        """Consent taken back: the link and its summary go, and so does an open alert built on them, which named the
        member and went on escalating (a reviewer's, thirtieth session)."""
        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.unlink_stress(db, ctx.sender)

        ctx.effects.record(write)
        self.alerts.withdraw(ALERT_KIND, ctx.sender, ctx.effects, "stress_share_withdrawn")
        ctx.reply("stress_unlinked")

    async def threshold(self, ctx: CommandContext) -> None:
        level = ctx.params["level"]
        if await self.repository.stress_link(user_id=ctx.sender) is None:
            raise UsageError(f"You haven't linked a device yet: send {ctx.prefix}stress link first.")

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.set_threshold(db, ctx.sender, level)

        ctx.effects.record(write)
        ctx.reply("stress_threshold", threshold=level)


def reading_time_ms(value: object) -> int | None:
    """An ISO 8601 time (UTC unless it says otherwise), or Unix time in seconds or milliseconds, as ms."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value if abs(value) >= UNIX_MS_FROM else value * 1000)
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return int((at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() * 1000)
    except (ValueError, OverflowError):  # NaN, infinity, a year out of range, not a time at all
        return None


class StressWebhook:
    """POST {"stress": 0-100, "at" or "timestamp": optional} to /stress/<id>, `Authorization: Bearer <token>`."""

    def __init__(self, context: BotContext, repository: CheckinRepository):
        self.context = context
        self.settings = context.settings.stress
        self.repository = repository
        self.clock = context.clock
        # member -> (readings they may still send at once, when that was worked out): a phone that was offline sends
        # what it held in a burst, with the readings' own times; past BURST they come at most one per min_interval
        self._allowance: dict[str, tuple[float, int]] = {}
        context.personal_data.kept_in_memory(self._forget)  # an erase forgets them here at once, not at a restart
        self._refused: dict[str, int] = {}  # remote address -> wrong tokens in the minute below
        self._refused_minute = -1
        self._recording = asyncio.Lock()  # one reading at a time: an episode is alerted once
        self._runner: web.AppRunner | None = None

    def _forget(self, user_id: str) -> None:
        self._allowance.pop(user_id, None)

    def _take_allowance(self, user_id: str, now: int) -> bool:
        """One reading's worth of the member's allowance (a token bucket of BURST, refilled one per min_interval);
        False when none is left."""
        interval_ms = self.settings.min_interval_s * 1000
        if not interval_ms:
            return True
        left, since = self._allowance.get(user_id, (float(BURST), now))
        left = min(float(BURST), left + (now - since) / interval_ms)
        if left < 1:
            return False
        self._allowance[user_id] = (left - 1, now)
        return True

    def _give_back(self, user_id: str) -> None:
        if user_id in self._allowance:
            left, since = self._allowance[user_id]
            self._allowance[user_id] = (min(float(BURST), left + 1), since)

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/stress/{webhook_id}", self.receive)
        # No access log: request paths carry the webhook ID. No inflating of gzip bodies: aiohttp inflated one even
        # after a 401, and a 1 MB bomb held the event loop for seconds (a reviewer's).
        self._runner = web.AppRunner(app, access_log=None, auto_decompress=False, keepalive_timeout=KEEPALIVE_S)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.settings.listen_host, self.settings.listen_port).start()
        except OSError as error:
            # Everything else (crisis alerts above all) must keep working: say so loudly and go on.
            log.error("the stress webhook cannot listen on %s:%d (%s); stress readings are refused until "
                      "stress.listen is fixed", self.settings.listen_host, self.settings.listen_port, error.strerror)
            return
        log.info("stress webhook listening on %s:%d", self.settings.listen_host, self.settings.listen_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def receive(self, request: web.Request) -> web.Response:
        link = await self.repository.stress_link(webhook_id=request.match_info["webhook_id"])
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        if link is None or scheme.lower() != "bearer" or not hmac.compare_digest(token_hash(token.strip()),
                                                                                 link.token_hash):
            # Counted per address, but a right token is never refused: behind the reverse proxy the README asks
            # for, every device comes from one address, and a stranger's guesses would lock all of them out.
            remote = request.remote or "?"
            if self._refused_too_often(remote):
                return _error(429, "too many wrong tokens from this address; wait a minute")
            self._count_refusal(remote)
            return _error(401, "unknown webhook or wrong token")
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return _error(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
        try:
            async with asyncio.timeout(BODY_TIMEOUT_S):
                raw = await request.read()
            body = json.loads(raw)
        except TimeoutError:
            return _error(408, f"the body must arrive within {BODY_TIMEOUT_S} seconds")
        except ConnectionError:  # the device went away while sending: nobody to answer
            return _error(400, "the connection was lost before the body arrived")
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body must be at most {MAX_BODY_BYTES} bytes")
        except (ValueError, RecursionError):  # 1024 bytes of "[" nest deeper than the decoder's recursion limit
            return _error(400, 'the body must be JSON like {"stress": 42}, at most 1024 bytes')
        problem, level, at_ms = self._validate(body)
        if problem:
            return _error(400, problem)
        if not self._take_allowance(link.user_id, self.clock.ms()):
            return _error(429, f"too many readings: at most {BURST} at once, then one every "
                               f"{self.settings.min_interval_s} seconds")
        recorded = await self._record(link, level, at_ms)
        if recorded is not True:
            self._give_back(link.user_id)  # a reading refused costs nothing
            if recorded is None:
                return _error(401, "unknown webhook or wrong token")
            return _error(409, "this reading is older than one already received; send readings in order")
        return web.json_response({"accepted": True}, status=202)

    def _refused_too_often(self, remote: str) -> bool:
        return (self._refused_minute == self.clock.ms() // 60_000
                and self._refused.get(remote, 0) >= MAX_WRONG_TOKENS_PER_MINUTE)

    def _count_refusal(self, remote: str) -> None:
        """Wrong tokens are counted per address and minute; a new minute forgets the last one's (once: rebuilt at
        every refusal, the count cost the square of the addresses a minute brought, a reviewer's)."""
        minute = self.clock.ms() // 60_000
        if minute != self._refused_minute:
            self._refused, self._refused_minute = {}, minute
        self._refused[remote] = self._refused.get(remote, 0) + 1

    def _validate(self, body: object) -> tuple[str | None, int, int]:
        now = self.clock.ms()
        if not isinstance(body, dict) or set(body) - {"stress", *TIME_KEYS} or len(set(body) & TIME_KEYS) > 1:
            return 'send a JSON object with "stress" (0-100) and optionally "at" (the time of the reading)', 0, 0
        level = body.get("stress")
        if not isinstance(level, int | float) or isinstance(level, bool) or not 0 <= level <= 100:
            return '"stress" must be a number from 0 to 100', 0, 0
        at_ms = now
        for key in set(body) & TIME_KEYS:
            given = reading_time_ms(body[key])
            if given is None:
                return (f'"{key}" must be an ISO 8601 time such as 2026-11-25T10:00:00Z, or Unix time in seconds '
                        'or milliseconds'), 0, 0
            if given > now + FUTURE_TOLERANCE_MS:
                return f'"{key}" is in the future', 0, 0
            if given < now - self.settings.max_age_s * 1000:
                return f'"{key}" is older than {self.settings.max_age_s // 60} minutes', 0, 0
            at_ms = min(given, now)  # a device clock a little ahead is tolerated, but must not hold later ones back
        return None, round(level), at_ms

    async def _record(self, link: StressLink, level: int, at_ms: int) -> bool | None:
        """Summary and any alert commit together, so an alert is sent once per episode. False, and nothing
        changes, for a reading older than the newest one (a device replaying its backlog out of order); None for
        one whose token the member revoked (`!stress unlink` or `link`) while it was being read."""
        async with self._recording:
            previous = await self.repository.stress_summary(link.user_id)
            if previous is not None and at_ms < previous.last_at:
                return False
            # Readings as far apart as `max_age` (an hour at most) still tell one episode: an automation may send
            # one an hour.
            folded = add_stress_reading(previous, level, at_ms, link.threshold, self.settings.sustained_s,
                                        self.settings.max_age_s)
            committed = await self._commit(link, *folded)
            return True if committed else None

    async def _commit(self, link: StressLink, summary: StressSummary, alert: bool) -> bool:
        effects = Effects(self.context.account)
        if alert:
            self.context.alerts.raise_alert(effects, ALERT_KIND, "alert_stress", subject_user=link.user_id,
                                            urgent=True, shared=True, minutes=self.settings.sustained_s // 60)

        async def write(db: aiosqlite.Connection) -> None:
            await CheckinRepository.save_stress_summary(db, link.user_id, summary)

        async def still_linked(db: aiosqlite.Connection) -> bool:
            return await CheckinRepository.stress_token_is(db, link.user_id, link.webhook_id, link.token_hash)

        effects.record(write)
        return await self.context.work.commit(effects, guard=still_linked)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
