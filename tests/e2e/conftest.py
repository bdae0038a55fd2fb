"""One real Synapse per test session, provisioned like `bothy dev`, and Bothy run as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import nio
import pytest
import yaml

from bothy.devserver.dev import BOT_LOCALPARTS, PEOPLE, provision, write_bothy_config
from bothy.devserver.synapse import LocalSynapse
from tests.e2e.member import Member, Received

READY_LINE = "Bothy is running"
# Only !help says this: a barrier that no other reply (all of which now end with the urgent-help lines) can meet.
HELP_ANSWER = "Here's what you can ask me"
# Only the crisis DM says this: every DM to a member ends with the urgent numbers, so they no longer tell it apart.
CRISIS_LINES = "who you can reach"
START_TIMEOUT_S = 90
# Synapse hashes a password at each registration and checks it at each login with bcrypt, at 12 rounds by default:
# 0.3 s of CPU each here, and a new member or a new Bothy is one to four of them. The accounts are throwaway and the
# server local; at 4 rounds the same requests are checked the same way, in about a millisecond.
BCRYPT_ROUNDS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Homeserver:
    def __init__(self, synapse: LocalSynapse, passwords: dict[str, str], work_dir: Path):
        self.synapse = synapse
        self.passwords = passwords
        self.work_dir = work_dir
        self.server = synapse.server_name

    def uid(self, localpart: str) -> str:
        return f"@{localpart}:{self.server}"

    @property
    def host_bot(self) -> str:
        return self.uid(BOT_LOCALPARTS["host"])

    async def new_member(self, localpart: str | None = None) -> Member:
        """A fresh account (or a provisioned one) logged in on a new E2EE device."""
        if localpart is None:
            localpart = f"m{uuid.uuid4().hex[:10]}"
            self.passwords[localpart] = uuid.uuid4().hex
            await self.synapse.register(localpart, self.passwords[localpart])
            admin = await self.synapse.login("admin", self.passwords["admin"])
            await self.synapse.exempt_from_rate_limits(admin.access_token, self.uid(localpart))
        member = Member(self.synapse.url, self.uid(localpart), self.passwords[localpart],
                        self.work_dir / "members" / f"{localpart}-{uuid.uuid4().hex[:6]}")
        await member.start()
        return member


@dataclass(frozen=True)
class Launcher:
    """How to start `bothy`: by default this interpreter's, from the source tree; test_installed.py passes
    the `bothy` script of a fresh virtual environment, with its own working folder and environment."""
    command: tuple[str, ...] = (sys.executable, "-m", "bothy")
    cwd: Path | None = None
    env: Mapping[str, str] | None = None  # None: this process's environment when it starts


SOURCE_TREE = Launcher()


class BothyProcess:
    """`bothy run` as a subprocess, so tests can SIGKILL it mid-work and start it again."""

    def __init__(self, directory: Path, config_path: Path, bot_user_id: str, launcher: Launcher = SOURCE_TREE):
        self.directory = directory
        self.bot_user_id = bot_user_id
        self.config_path = config_path
        self.launcher = launcher
        self.log_path = directory / "bothy.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.process = await asyncio.create_subprocess_exec(
            *self.launcher.command, "run", "--config", str(self.config_path),
            stdout=log, stderr=log, cwd=self.launcher.cwd,
            env={**(self.launcher.env or os.environ), "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        self.starts += 1
        await self.wait_for_log(READY_LINE, offset)

    async def wait_for_log(self, text: str, offset: int = 0, timeout: float = START_TIMEOUT_S) -> None:
        async def watch() -> None:
            while True:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"bothy exited with {self.process.returncode}:\n{self.log()[-3000:]}")
                if text in self.log()[offset:]:
                    return
                await asyncio.sleep(0.1)  # tailing a file: no event to await
        await asyncio.wait_for(watch(), timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def sweep_ran(self, name: str, times: int = 2, timeout: float = 60) -> None:
        """Until the sweep has finished `times` more runs (the scheduler records each one in the database):
        with times=2, at least one whole run began after this call."""
        def last_run() -> int | None:
            with sqlite3.connect(self.directory / "bothy.sqlite3") as db:
                row = db.execute("SELECT last_run_at FROM sweep_runs WHERE name = ?", (name,)).fetchone()
            return row[0] if row else None

        async def watch() -> None:
            seen, runs = last_run(), 0
            while runs < times:
                await asyncio.sleep(0.2)  # reading another process's database: no event to await
                now = last_run()
                if now != seen:
                    seen, runs = now, runs + 1
        await asyncio.wait_for(watch(), timeout)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def answered_help(member: Member, bot: str, room_id: str) -> None:
    """A barrier: one room's messages go out in order, so anything owed there before this is sent by now."""
    mark = member.mark()  # an earlier !help's answer is no barrier
    await member.send(room_id, "!help")
    await member.wait_for(lambda m: m.sender == bot and m.room_id == room_id and HELP_ANSWER in m.body, after=mark,
                          timeout=60)


async def expect_each_answered_once(member: Member, bot: str, room_id: str, words: list[str],
                                    timeout: float = 120) -> None:
    """Every `!word` got its "I don't know the command" answer, and (after a later !help as a barrier:
    one room's answers go out in order) none got two."""
    def answers(word: str):
        return lambda m: m.sender == bot and m.room_id == room_id and f'"!{word}"' in m.body

    for word in words:
        await member.wait_for(answers(word), timeout=timeout)
    await answered_help(member, bot, room_id)
    for word in words:
        assert sum(map(answers(word), member.messages_in(room_id))) == 1, word


def from_bot(bot: str, room_id: str, *fragments: str):
    """A message (not a reaction) from `bot` in `room_id` holding every fragment."""
    def match(item: Received) -> bool:
        return (item.sender == bot and item.type == "m.room.message" and item.room_id == room_id
                and all(f in item.body for f in fragments))
    return match


async def ask(member: Member, room: str, bot: str, command: str, expect: str) -> str:
    """Send a command and return the body of the bot's first answer in that room holding `expect`."""
    mark = member.mark()
    await member.send(room, command)
    return (await member.wait_for(from_bot(bot, room, expect), after=mark, timeout=60)).body


async def until_redacted(member: Member, room_id: str, event_id: str, timeout: float = 60) -> None:
    """Until the server no longer shows the event's content to this member."""
    async def poll() -> None:
        while await member.event_exists(room_id, event_id):  # noqa: ASYNC110 - the server is the one to ask
            await asyncio.sleep(0.5)
    await asyncio.wait_for(poll(), timeout)


async def state(member: Member, room_id: str, event_type: str, key: str = "") -> dict:
    """A room's current state event content, as this member's client reads it from the server."""
    response = await member.client.room_get_state_event(room_id, event_type, key)
    assert isinstance(response, nio.RoomGetStateEventResponse), response
    return response.content


async def make_space(homeserver: Homeserver) -> str:
    """A public community Space where anyone in it may add rooms (a real one invites the bot as moderator)."""
    sam = await homeserver.synapse.login("sam", homeserver.passwords["sam"])
    created = await homeserver.synapse.client_api("POST", "/_matrix/client/v3/createRoom", sam.access_token, {
        "name": "Community", "preset": "public_chat", "creation_content": {"type": "m.space"},
        "power_level_content_override": {"events": {"m.space.child": 0}},
    })
    return created["room_id"]


async def staff_room_of(homeserver: Homeserver, member: Member) -> str:
    """The staff room's ID, resolved from its alias by a member of it."""
    return (await member.client.room_resolve_alias(f"#peer-workers:{homeserver.server}")).room_id


@pytest.fixture(scope="session")
async def homeserver(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Homeserver]:
    work_dir = tmp_path_factory.mktemp("e2e")
    synapse = LocalSynapse(work_dir / "synapse", free_port())
    synapse.prepare()
    config = yaml.safe_load(synapse.config_path.read_text())
    config["bcrypt_rounds"] = BCRYPT_ROUNDS
    synapse.config_path.write_text(yaml.safe_dump(config))
    await synapse.start()
    passwords = {name: uuid.uuid4().hex for name in [*BOT_LOCALPARTS.values(), *PEOPLE]}
    try:
        await provision(synapse, passwords)
        admin = await synapse.login("admin", passwords["admin"])
        for person in ("sam", "alice", "bob"):
            await synapse.exempt_from_rate_limits(admin.access_token, f"@{person}:{synapse.server_name}")
        yield Homeserver(synapse, passwords, work_dir)
    finally:
        synapse.stop()


async def start_bothy(homeserver: Homeserver, name: str, extra: dict | None = None,
                      provisioned_accounts: bool = False, rate_limited: bool = False,
                      launcher: Launcher = SOURCE_TREE) -> BothyProcess:
    """A Bothy with its own database and crypto store. By default all four bots share a fresh account,
    invited to the staff room, so it never answers in another test's rooms; `provisioned_accounts`
    runs the four separate accounts `bothy dev` creates instead. `rate_limited` leaves the fresh account
    under Synapse's default message rate limit. Its config lives in the test's own folder, outside the tree."""
    directory = homeserver.work_dir / f"bothy-{name}-{uuid.uuid4().hex[:6]}"
    directory.mkdir()
    config_path = directory / "bothy.yaml"
    synapse = homeserver.synapse
    write_bothy_config(config_path, synapse, homeserver.passwords, uuid.uuid4().hex, extra)
    config = yaml.safe_load(config_path.read_text())
    # The welcome DM would be the first invite every member sees in every test; its own tests turn it on.
    config.setdefault("community", {}).setdefault("welcome", False)
    config["database"]["path"] = str(directory / "bothy.sqlite3")
    config["crypto"]["store_dir"] = str(directory / "crypto")
    port = free_port()
    config.setdefault("stress", {}).setdefault("listen", f"127.0.0.1:{port}")
    config["stress"].setdefault("public_url", f"http://127.0.0.1:{port}")
    if provisioned_accounts:
        config_path.write_text(yaml.safe_dump(config))
        process = BothyProcess(directory, config_path, homeserver.host_bot, launcher)
        await process.start()
        return process
    localpart = f"bot{uuid.uuid4().hex[:8]}"
    homeserver.passwords[localpart] = uuid.uuid4().hex
    await synapse.register(localpart, homeserver.passwords[localpart])
    admin = await synapse.login("admin", homeserver.passwords["admin"])
    if not rate_limited:
        await synapse.exempt_from_rate_limits(admin.access_token, homeserver.uid(localpart))
    sam = await synapse.login("sam", homeserver.passwords["sam"])
    staff_room = await synapse.create_staff_room(sam.access_token, "peer-workers", [])
    await synapse.client_api("POST", f"/_matrix/client/v3/rooms/{quote(staff_room)}/invite", sam.access_token,
                             {"user_id": homeserver.uid(localpart)})
    account = {"user_id": homeserver.uid(localpart), "password": homeserver.passwords[localpart]}
    config["bots"] = {"host": account}
    config_path.write_text(yaml.safe_dump(config))
    process = BothyProcess(directory, config_path, homeserver.uid(localpart), launcher)
    await process.start()
    return process


@pytest.fixture(scope="session")
async def bothy(homeserver: Homeserver) -> AsyncIterator[BothyProcess]:
    """The shared Bothy for tests that do not restart it."""
    process = await start_bothy(homeserver, "shared", provisioned_accounts=True)
    yield process
    await process.stop()


@pytest.fixture
async def alice(homeserver: Homeserver) -> AsyncIterator[Member]:
    member = await homeserver.new_member()
    yield member
    await member.stop()


@pytest.fixture
async def sam(homeserver: Homeserver) -> AsyncIterator[Member]:
    member = await homeserver.new_member("sam")
    yield member
    await member.stop()
