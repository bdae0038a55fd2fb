"""Bothy as an admin installs it (issue 9): `pip install .` from a clone into a fresh virtual environment,
config.yaml kept elsewhere and no `referral.kb_dirs`. The shipped knowledge base must come with the package,
and a set of folders with no crisis lines must stop Bothy from starting at all."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from bothy.devserver.dev import write_bothy_config
from referral_kb import SHIPPED_KB
from tests.e2e.conftest import CRISIS_LINES, Homeserver, Launcher, from_bot, staff_room_of, start_bothy
from tests.e2e.member import Member

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# What a clone has and a build does not need: git data, caches, the developer's venv and earlier builds (a
# stale build/ folder would ship files the tree no longer has).
NOT_IN_A_CLONE = shutil.ignore_patterns(".*", "__pycache__", "build", "dist", "*.egg-info", "dev-data", "data")
IMPORTED = ("bothy", "bots", "commands", "rooms", "referral_kb")


def child_environment(venv: Path) -> dict[str, str]:
    """This environment without anything that would put the source tree on the child's path."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", "PYTHONNOUSERSITE": "1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Launcher:
    """A fresh venv with Bothy pip-installed (not editable) from a copy of the tree, as from a clone.

    Only Bothy is installed: its dependencies are this environment's, seen through a .pth path entry (which
    runs none of this environment's own .pth files, so an editable install here stays invisible there).
    """
    work = tmp_path_factory.mktemp("installed")
    clone = work / "clone"
    shutil.copytree(ROOT, clone, ignore=NOT_IN_A_CLONE)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-input", str(clone)], check=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (site / "bothy_test_dependencies.pth").write_text("".join(f"{path}\n" for path in ours))
    shutil.rmtree(clone)  # nothing may still be read from it
    cwd = work / "admin"  # a working folder with no source tree in it
    cwd.mkdir()
    return Launcher(command=(str(venv / "bin" / "bothy"),), cwd=cwd, env=child_environment(venv))


def test_the_installed_packages_come_from_the_new_venv_not_the_tree(installed: Launcher):
    assert installed.cwd is not None
    python = Path(installed.command[0]).parent / "python"
    code = "import importlib, sys\nfor name in sys.argv[1:]: print(importlib.import_module(name).__file__)"
    files = subprocess.run([python, "-c", code, *IMPORTED], cwd=installed.cwd, env=installed.env, check=True,
                           capture_output=True, text=True).stdout.split()
    venv = python.parent.parent
    assert len(files) == len(IMPORTED)
    for file in files:
        assert Path(file).is_relative_to(venv) and not Path(file).is_relative_to(ROOT), file
    shipped = {path.name for path in SHIPPED_KB.glob("*.yaml")}
    assert shipped and {path.name for path in Path(files[-1]).parent.glob("*.yaml")} == shipped


async def test_installed_with_no_kb_dirs_a_crisis_gets_crisis_lines_and_a_staff_alert(
    homeserver: Homeserver, installed: Launcher, alice: Member, sam: Member
):
    process = await start_bothy(homeserver, "installed", launcher=installed)
    try:
        config = yaml.safe_load(process.config_path.read_text())
        assert "kb_dirs" not in config.get("referral", {}) and not process.config_path.is_relative_to(ROOT)
        bot = process.bot_user_id
        staff_room = await staff_room_of(homeserver, sam)
        group = await alice.create_room(invite=[bot])
        event_id = await alice.send(group, "honestly I just want to die")
        dm = await alice.accept_invite()
        lines = await alice.wait_for(from_bot(bot, dm, CRISIS_LINES))
        assert "116 123" in lines.body
        alert = await sam.wait_for(from_bot(bot, staff_room, event_id))
        assert alice.user_id in alert.body and "crisis" in alert.body
        assert "knowledge base" not in process.log()  # no WARNING about a missing or broken one
    finally:
        await process.stop()


async def test_with_an_empty_kb_folder_bothy_refuses_to_start_and_says_why(
    homeserver: Homeserver, installed: Launcher, tmp_path: Path
):
    empty = tmp_path / "our-kb"
    empty.mkdir()
    config_path = tmp_path / "config.yaml"
    write_bothy_config(config_path, homeserver.synapse, homeserver.passwords, "k" * 32,
                       {"referral": {"kb_dirs": ["our-kb"]}})
    child = await asyncio.create_subprocess_exec(
        *installed.command, "run", "--config", str(config_path), cwd=installed.cwd, env=installed.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 2
    message = err.decode()
    assert f"The config at {config_path} needs attention" in message
    assert f"referral.kb_dirs: no crisis-tier topic in {empty}" in message
    assert "never runs without crisis lines" in message
    assert not out  # it never got as far as starting
