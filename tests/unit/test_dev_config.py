"""`bothy dev`'s own config, written once and kept (its pickle key unlocks the bots' crypto store)."""

import importlib.util
import socket
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


def test_a_taken_port_is_named_in_one_line_and_nothing_of_synapse_is_written(tmp_path, capsys):
    """Synapse failed to bind and `bothy dev` ended in a traceback; worse, another server answering on the port could
    have been taken for ours (a reviewer's)."""
    from bothy.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dev", "--data-dir", str(tmp_path / "dev"), "--port", str(port)]) == 1
    error = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in error and "Traceback" not in error
    assert not (tmp_path / "dev" / "synapse").exists()


def test_without_synapse_installed_bothy_dev_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    from bothy.cli import main

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "synapse" else real_find_spec(name, *rest))
    assert main(["dev", "--data-dir", str(tmp_path / "dev"), "--port", "1"]) == 1
    error = capsys.readouterr().err
    assert "Synapse is not installed here" in error and "bothy[dev]" in error
