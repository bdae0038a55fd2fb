"""`bothy dev`: a local Synapse on loopback, the bot accounts, a peer worker and two demo members,
a staff room, a config, and the bots running, ready for any Matrix client. Re-running reuses it all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import signal
from pathlib import Path
from typing import Any

import yaml

from bothy.config import load_config
from bothy.devserver.synapse import LocalSynapse
from bots.installed import INSTALLATION

log = logging.getLogger("bothy.dev")

BOT_LOCALPARTS = {"host": "bothy", "checkin": "checkin", "mood": "mood", "referral": "guide"}
PEOPLE = {"admin": True, "sam": False, "alice": False, "bob": False}  # localpart -> Synapse admin


def _passwords(path: Path) -> dict[str, str]:
    if path.exists():
        return json.loads(path.read_text())
    names = [*BOT_LOCALPARTS.values(), *PEOPLE]
    passwords = {name: secrets.token_urlsafe(12) for name in names}
    path.write_text(json.dumps(passwords, indent=2))
    path.chmod(0o600)
    return passwords


def write_bothy_config(path: Path, synapse: LocalSynapse, passwords: dict[str, str], pickle_key: str,
                       extra: dict | None = None) -> None:
    server = synapse.server_name
    config: dict[str, Any] = {
        "homeserver": {"url": synapse.url},
        "database": {"path": str(path.parent / "bothy" / "bothy.sqlite3")},
        "crypto": {"store_dir": str(path.parent / "bothy" / "crypto"), "pickle_key": pickle_key},
        "bots": {bot: {"user_id": f"@{local}:{server}", "password": passwords[local]}
                 for bot, local in BOT_LOCALPARTS.items()},
        "staff": {"room": f"#peer-workers:{server}", "peer_workers": [f"@sam:{server}"],
                  "admins": [f"@admin:{server}"]},
        "community": {"allowed_servers": [server]},
        "timezone": "Europe/London",
    }
    for section, values in (extra or {}).items():
        if isinstance(values, dict):
            config.setdefault(section, {}).update(values)
        else:
            config[section] = values
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)


def point_at(path: Path, url: str) -> None:
    """A config written by an earlier `bothy dev` follows this one's homeserver: started again with another
    `--port`, the bots kept trying the old one (a reviewer's). Its pickle key and the rest stay as they were."""
    config = yaml.safe_load(path.read_text()) or {}
    if config.get("homeserver", {}).get("url") != url:
        config.setdefault("homeserver", {})["url"] = url
        path.write_text(yaml.safe_dump(config, sort_keys=False))


async def provision(synapse: LocalSynapse, passwords: dict[str, str]) -> None:
    """Accounts, rate-limit exemptions for the bots, and the staff room with every bot invited. The host bot
    is a server admin here, so Element's Report button reaches the staff room out of the box (on a real
    homeserver that is the admin's choice: see the README)."""
    for name, is_admin in PEOPLE.items():
        await synapse.register(name, passwords[name], admin=is_admin)
    for bot, local in BOT_LOCALPARTS.items():
        await synapse.register(local, passwords[local], admin=bot == "host")
    admin = await synapse.login("admin", passwords["admin"])
    server = synapse.server_name
    for local in BOT_LOCALPARTS.values():
        await synapse.exempt_from_rate_limits(admin.access_token, f"@{local}:{server}")
    sam = await synapse.login("sam", passwords["sam"])
    await synapse.create_staff_room(sam.access_token, "peer-workers",
                                    [f"@{local}:{server}" for local in BOT_LOCALPARTS.values()])


async def run_dev(data_dir: Path, port: int) -> int:
    from bothy.app import Bothy

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    synapse = LocalSynapse(data_dir / "synapse", port)
    log.info("starting Synapse on %s (data in %s)", synapse.url, synapse.data_dir)
    await synapse.start()
    try:
        passwords = _passwords(data_dir / "passwords.json")
        await provision(synapse, passwords)
        config_path = data_dir / "bothy.yaml"
        if not config_path.exists():
            write_bothy_config(config_path, synapse, passwords, secrets.token_hex(32))
        else:
            point_at(config_path, synapse.url)
        config = load_config(config_path, INSTALLATION.bots)
        print(_welcome(synapse, passwords, config_path), flush=True)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await Bothy(config, INSTALLATION).run(stopping)
    finally:
        log.info("stopping Synapse")
        synapse.stop()
    return 0


def _welcome(synapse: LocalSynapse, passwords: dict[str, str], config_path: Path) -> str:
    server = synapse.server_name
    people = "\n".join(
        f"    @{name}:{server}  password {passwords[name]}" + ("  (peer worker)" if name == "sam" else "")
        for name in ("sam", "alice", "bob")
    )
    return f"""
Bothy is starting beside a local Synapse.

  Homeserver:  {synapse.url}   (in Element: Edit homeserver -> {synapse.url})
  Log in as:
{people}
  Bots:        @bothy:{server}  @checkin:{server}  @mood:{server}  @guide:{server}
  Staff room:  #peer-workers:{server}  (sam is in it)
  Config:      {config_path}

Start a DM with @bothy:{server} and send !help. Press Ctrl-C to stop both.
"""
