"""`bothy dev`'s own config, written once and kept (its pickle key unlocks the bots' crypto store)."""

from types import SimpleNamespace

import yaml

from bothy.devserver.dev import point_at, write_bothy_config
from bothy.devserver.synapse import LocalSynapse


def test_started_again_on_another_port_the_bots_follow_the_homeserver(tmp_path):
    """The config kept the first start's URL while Synapse moved to the new port: the bots could not log in (a
    reviewer's)."""
    path = tmp_path / "bothy.yaml"
    passwords = {name: "pw" for name in ("bothy", "mood", "guide", "checkin", "sam", "alice", "bob", "admin")}
    first = SimpleNamespace(server_name="localhost", url="http://127.0.0.1:18008")
    write_bothy_config(path, first, passwords, "k" * 64)  # type: ignore[arg-type]
    point_at(path, LocalSynapse(tmp_path / "synapse", 18009).url)
    config = yaml.safe_load(path.read_text())
    assert config["homeserver"]["url"].endswith(":18009") and config["crypto"]["pickle_key"] == "k" * 64
    assert path.stat().st_mode & 0o777 == 0o600
