"""A real Synapse on loopback with SQLite, for `bothy dev` and the end-to-end tests.

The homeserver config relaxes the per-address login and invite limits (every local client shares
127.0.0.1); bot accounts are exempted from message rate limits through the admin API, exactly as
the README tells admins to do on a real deployment.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib.util
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import yaml

START_TIMEOUT_S = 120


@dataclass(frozen=True)
class RegisteredUser:
    user_id: str
    access_token: str


class SynapseError(Exception):
    pass


def homeserver_config(data_dir: Path, port: int, server_name: str, shared_secret: str) -> dict[str, Any]:
    generous = {"per_second": 1000, "burst_count": 1000}
    return {
        "server_name": server_name,
        "pid_file": str(data_dir / "homeserver.pid"),
        "public_baseurl": f"http://127.0.0.1:{port}/",
        "listeners": [{
            "port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False, "x_forwarded": False,
            "resources": [{"names": ["client"], "compress": False}],
        }],
        "database": {"name": "sqlite3", "args": {"database": str(data_dir / "homeserver.db")}},
        "log_config": str(data_dir / "log.config"),
        "media_store_path": str(data_dir / "media_store"),
        "signing_key_path": str(data_dir / "signing.key"),
        "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(32),
        "form_secret": secrets.token_hex(32),
        "report_stats": False,
        "enable_registration": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "use_presence": False,
        "enable_metrics": False,
        "redaction_retention_period": "1d",
        "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
        "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
        "rc_joins": {"local": generous, "remote": generous},
        "rc_room_creation": generous,
    }


LOG_CONFIG = """
version: 1
formatters:
  brief: {format: '%(asctime)s %(levelname)s %(name)s: %(message)s'}
handlers:
  file:
    class: logging.FileHandler
    formatter: brief
    filename: {log_file}
loggers:
  synapse.storage.SQL: {level: WARNING}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


class LocalSynapse:
    def __init__(self, data_dir: Path, port: int, server_name: str = "localhost"):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.server_name = server_name
        self.url = f"http://127.0.0.1:{port}"
        self.config_path = self.data_dir / "homeserver.yaml"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def shared_secret(self) -> str:
        return yaml.safe_load(self.config_path.read_text())["registration_shared_secret"]

    def prepare(self) -> None:
        """Write the homeserver config and signing key once; later runs reuse them (and the data)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.config_path.exists():
            config = yaml.safe_load(self.config_path.read_text())
            if config["listeners"][0]["port"] != self.port:
                config["listeners"][0]["port"] = self.port
                config["public_baseurl"] = f"http://127.0.0.1:{self.port}/"
                self.config_path.write_text(yaml.safe_dump(config))
            return
        config = homeserver_config(self.data_dir, self.port, self.server_name, secrets.token_hex(32))
        self.config_path.write_text(yaml.safe_dump(config))
        self.config_path.chmod(0o600)
        (self.data_dir / "log.config").write_text(
            LOG_CONFIG.replace("{log_file}", str(self.data_dir / "homeserver.log"))
        )
        subprocess.run(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(self.config_path),
             "--generate-keys"],
            check=True, cwd=self.data_dir, stdout=subprocess.DEVNULL,
        )

    def check_can_start(self) -> None:
        """Say plainly, before its files are written, why Synapse could not start here: not installed, or its port
        taken (where another server answering on it would otherwise be taken for ours)."""
        if importlib.util.find_spec("synapse") is None:
            raise SynapseError("Synapse is not installed here: install Bothy with its dev extra "
                               "(pip install '/path/to/bothy[dev]'), or use scripts/dev")
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Synapse binds: a restart may follow a stop
            try:
                probe.bind(("127.0.0.1", self.port))
            except OSError:
                raise SynapseError(f"port {self.port} on 127.0.0.1 is in use: stop what is using it, "
                                   f"or choose another with --port") from None

    async def start(self) -> None:
        self.check_can_start()
        self.prepare()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(self.config_path)],
            cwd=self.data_dir, stdout=subprocess.DEVNULL, stderr=open(self.data_dir / "stderr.log", "ab"),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise SynapseError(f"Synapse exited early; see {self.data_dir / 'stderr.log'}")
                try:
                    async with http.get(f"{self.url}/_matrix/client/versions") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise SynapseError(f"Synapse did not answer within {START_TIMEOUT_S}s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def kill(self) -> None:
        """An abrupt homeserver outage, for tests."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    async def register(self, localpart: str, password: str, admin: bool = False) -> RegisteredUser | None:
        """Register with the shared secret; None if the account exists already."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(endpoint) as response:
                nonce = (await response.json())["nonce"]
            message = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
            mac = hmac.new(self.shared_secret.encode(), message.encode(), digestmod=hashlib.sha1)
            body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin,
                    "mac": mac.hexdigest()}
            async with http.post(endpoint, json=body) as response:
                data = await response.json()
                if response.status == 400 and data.get("errcode") == "M_USER_IN_USE":
                    return None
                if response.status != 200:
                    raise SynapseError(f"registering {localpart}: {data}")
        return RegisteredUser(data["user_id"], data["access_token"])

    async def login(self, localpart: str, password: str) -> RegisteredUser:
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": localpart},
                "password": password}
        data = await self.client_api("POST", "/_matrix/client/v3/login", None, body)
        return RegisteredUser(data["user_id"], data["access_token"])

    async def exempt_from_rate_limits(self, admin_token: str, user_id: str) -> None:
        path = f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit"
        await self.client_api("POST", path, admin_token, {"messages_per_second": 0, "burst_count": 0})

    async def client_api(self, method: str, path: str, token: str | None, body: Any = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with aiohttp.ClientSession() as http, http.request(
            method, f"{self.url}{path}", json=body, headers=headers
        ) as response:
            data = await response.json()
            if response.status >= 400:
                raise SynapseError(f"{method} {path}: {response.status} {data}")
            return data

    async def create_staff_room(self, owner_token: str, alias_localpart: str, invite: list[str]) -> str:
        """An invite-only, encrypted room for peer workers; reused if the alias already exists."""
        alias = f"#{alias_localpart}:{self.server_name}"
        try:
            found = await self.client_api("GET", f"/_matrix/client/v3/directory/room/{quote(alias)}", owner_token)
            return found["room_id"]
        except SynapseError:
            pass
        created = await self.client_api("POST", "/_matrix/client/v3/createRoom", owner_token, {
            "name": "Peer workers", "room_alias_name": alias_localpart, "preset": "private_chat",
            "invite": invite,
            "initial_state": [{"type": "m.room.encryption", "state_key": "",
                               "content": {"algorithm": "m.megolm.v1.aes-sha2"}}],
        })
        return created["room_id"]
