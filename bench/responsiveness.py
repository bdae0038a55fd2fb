"""Command round trip through a real Synapse, Bothy beside a bare matrix-nio echo bot, same run.

A local Synapse starts on loopback; Bothy and the echo bot (each its own process) share a group room
that a noise member fills with 20 messages a second. A probe member then alternates `!help` (Bothy)
and `!echo` (the echo bot) and times each answer as its own client sees it.
Bar (PRODUCT.md): Bothy's p50 and p95 within 1.5x of the echo bot's. Prints JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nio

from bench.report import emit, parser
from bothy.devserver.dev import BOT_LOCALPARTS, PEOPLE, provision, write_bothy_config
from bothy.devserver.synapse import LocalSynapse

NOISE_PER_S = 20
ECHO_BOT = Path(__file__).with_name("echo_bot.py")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Probe:
    """A member client that records when each bot notice arrives."""

    def __init__(self, url: str, user_id: str, password: str):
        self.client = nio.AsyncClient(url, user_id)
        self.password = password
        self.arrivals: dict[str, asyncio.Queue[float]] = {}
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.client.login(self.password)
        await self.client.sync(timeout=0)
        self.client.add_event_callback(self._on_message, nio.RoomMessageNotice)
        self.task = asyncio.create_task(self.client.sync_forever(timeout=30_000))

    async def _on_message(self, room: nio.MatrixRoom, event: nio.RoomMessageNotice) -> None:
        self.arrivals.setdefault(event.sender, asyncio.Queue()).put_nowait(time.perf_counter())

    async def round_trip(self, room_id: str, bot: str, command: str) -> float:
        queue = self.arrivals.setdefault(bot, asyncio.Queue())
        while not queue.empty():  # a late answer to an earlier probe must not count for this one
            queue.get_nowait()
        started = time.perf_counter()
        await self.client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": command})
        arrived = await asyncio.wait_for(queue.get(), 30)
        return (arrived - started) * 1000

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.client.close()


async def noise(client: nio.AsyncClient, room_id: str, stopping: asyncio.Event) -> int:
    """20 messages a second, each send on its own so a slow response does not lower the rate."""
    sends: set[asyncio.Task] = set()
    sent = 0
    next_at = time.perf_counter()
    while not stopping.is_set():
        task = asyncio.create_task(
            client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": f"chatter {sent}"}))
        sends.add(task)
        task.add_done_callback(sends.discard)
        sent += 1
        next_at += 1 / NOISE_PER_S
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.gather(*sends, return_exceptions=True)
    return sent


async def wait_joined(client: nio.AsyncClient, room_id: str, user_ids: set[str]) -> None:
    while True:
        response = await client.joined_members(room_id)
        if user_ids <= {member.user_id for member in response.members}:
            return
        await asyncio.sleep(0.2)  # polling the member list of a room being joined


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(samples: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bothy-bench-"))
    synapse = LocalSynapse(work / "synapse", free_port())
    await synapse.start()
    processes: list[asyncio.subprocess.Process] = []
    try:
        passwords = {name: uuid.uuid4().hex for name in [*BOT_LOCALPARTS.values(), *PEOPLE, "echo", "noise", "probe"]}
        await provision(synapse, passwords)
        for name in ("echo", "noise", "probe"):
            await synapse.register(name, passwords[name])
        admin = await synapse.login("admin", passwords["admin"])
        for name in ("echo", "noise", "probe"):
            await synapse.exempt_from_rate_limits(admin.access_token, f"@{name}:{synapse.server_name}")
        config_path = work / "bothy.yaml"
        write_bothy_config(config_path, synapse, passwords, uuid.uuid4().hex,
                           {"stress": {"listen": f"127.0.0.1:{free_port()}"}})
        log = open(work / "bothy.log", "ab")  # noqa: SIM115 - the child process owns it
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bothy", "run", "--config", str(config_path), stdout=log, stderr=log))
        processes.append(await asyncio.create_subprocess_exec(
            sys.executable, str(ECHO_BOT), synapse.url, f"@echo:{synapse.server_name}", passwords["echo"],
            stdout=log, stderr=log))
        while "Bothy is running" not in (work / "bothy.log").read_text(errors="replace"):
            await asyncio.sleep(0.2)  # waiting on another process's log: no event to await

        server = synapse.server_name
        bothy, echo = f"@bothy:{server}", f"@echo:{server}"
        probe = Probe(synapse.url, f"@probe:{server}", passwords["probe"])
        await probe.start()
        created = await probe.client.room_create(name="bench", invite=[bothy, echo, f"@noise:{server}"])
        room_id = created.room_id
        chatter = nio.AsyncClient(synapse.url, f"@noise:{server}")
        await chatter.login(passwords["noise"])
        await chatter.join(room_id)
        await wait_joined(probe.client, room_id, {bothy, echo, f"@noise:{server}"})
        for bot, command in ((bothy, "!help"), (echo, "!echo")):  # warm up: both answering
            await probe.round_trip(room_id, bot, command)

        stopping = asyncio.Event()
        noise_task = asyncio.create_task(noise(chatter, room_id, stopping))
        timings: dict[str, list[float]] = {"bothy": [], "echo": []}
        for _ in range(samples):
            timings["bothy"].append(await probe.round_trip(room_id, bothy, "!help"))
            timings["echo"].append(await probe.round_trip(room_id, echo, "!echo"))
        stopping.set()
        noise_sent = await noise_task
        await probe.stop()
        await chatter.close()
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        synapse.stop()

    summary = {name: {"p50_ms": round(statistics.median(v), 1), "p95_ms": round(percentile(v, 0.95), 1)}
               for name, v in timings.items()}
    ratios = {key: round(summary["bothy"][key] / summary["echo"][key], 2) for key in ("p50_ms", "p95_ms")}
    bars = {f"bothy/echo {key} <= 1.5": {"value": ratio, "pass": ratio <= 1.5} for key, ratio in ratios.items()}
    return {"benchmark": "command_round_trip", "samples_each": samples, "noise_messages_per_s": NOISE_PER_S,
            "noise_messages_sent": noise_sent, "results": summary, "bars": bars,
            "all_bars_pass": all(bar["pass"] for bar in bars.values())}


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--samples", type=int, default=60)
    args = arguments.parse_args()
    emit(asyncio.run(run(args.samples)), args.out)


if __name__ == "__main__":
    main()
