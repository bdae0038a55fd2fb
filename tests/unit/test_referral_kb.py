import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from bothy.cli import main
from bots.referral.kb import load_kb
from bots.referral.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]

CRISIS = """id: crisis
title: Urgent help
tier: crisis
phrases: [want to die]
resources:
  - {name: Samaritans, phone: 116 123, checked: 2026-11-25}
"""

GOOD = """id: gardening-help
title: Gardening help
tier: practical
phrases: [allotment waiting list]
resources:
  - {name: Local allotments, url: https://example.org, checked: 2026-11-25}
"""


def test_the_shipped_knowledge_base_is_valid_and_covers_the_required_lines():
    kb = load_kb([ROOT / "referral_kb"])
    assert kb.problems == []
    phones = {r.phone for topic in kb.topics.values() for r in topic.resources if r.phone}
    for number in ("999", "116 123", "0800 83 85 87", "111", "0800 182 2222", "0800 138 1111", "0808 800 4444",
                   "0808 802 6161", "0800 027 1234", "0800 1111", "0800 068 4141"):
        assert number in phones, number
    assert any("85258" in (r.text or "") for r in kb.topics["crisis"].resources)
    assert all(r.checked for topic in kb.topics.values() for r in topic.resources)


def test_without_matching_the_same_topics_are_loaded_even_when_patterns_and_models_are_broken(tmp_path):
    """What the config's crisis-lines check reads: the topics, never how they match."""
    (tmp_path / "crisis.yaml").write_text(CRISIS + "patterns: ['want to <nothing>']\nmodel: missing.json\n")
    (tmp_path / "ours.yaml").write_text("add_to: crisis\npatterns: ['(unclosed']\n")
    for folders in ([ROOT / "referral_kb", tmp_path], [tmp_path]):
        full, quick = load_kb(folders), load_kb(folders, matching=False)
        assert {i: t.tier for i, t in quick.topics.items()} == {i: t.tier for i, t in full.topics.items()}
        assert set(quick.problems) <= set(full.problems)
    assert len(load_kb([tmp_path]).problems) == 3 and load_kb([tmp_path], matching=False).problems == []


def test_every_problem_has_its_file_and_line(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(
        "id: b\ntitle: B\ntier: urgent\ncolour: red\nphrases:\n  - Allotment  waiting-list\n  - '!!!'\n"
        "  - seed swap shop\nexclusions: [swap shop]\n"
        "resources:\n  - name: Nobody\n    hours: never\n  - name: X\n    url: http://insecure\n    checked: someday\n"
    )
    problems = load_kb([tmp_path]).problems
    b = str(tmp_path / "b.yaml")
    assert f"{b}:3: tier must be one of crisis, support, practical, signal, not 'urgent'" in problems
    assert any(p.startswith(f"{b}:4: unknown key 'colour'") for p in problems)
    duplicate = f"{b}:6: phrase 'Allotment  waiting-list' is also in topic 'gardening-help'"
    assert any(p.startswith(duplicate) for p in problems)
    assert f"{b}:7: phrase '!!!' has no letters or digits left to match" in problems
    assert f"{b}:8: phrase 'seed swap shop' can never match: its topic excludes 'swap shop'" in problems
    assert f"{b}:11: resource Nobody needs a phone, text or url" in problems
    assert f"{b}:14: url must start with https://" in problems
    assert f"{b}:15: checked must be a date like 2026-11-25" in problems


def test_an_organisation_adds_local_services_in_its_own_folder(tmp_path):
    (tmp_path / "ours.yaml").write_text(
        "add_to: housing\nphrases: [glasgow housing options]\n"
        "resources:\n  - {name: Glasgow Housing Options, phone: '0141 000 0000', checked: 2026-11-25}\n"
    )
    kb = load_kb([ROOT / "referral_kb", tmp_path])
    assert kb.problems == []
    assert kb.topics["housing"].resources[-1].name == "Glasgow Housing Options"
    (tmp_path / "ours.yaml").write_text("add_to: gardening\nresources: []\n")
    problems = load_kb([ROOT / "referral_kb", tmp_path]).problems
    assert any("add_to names no known topic 'gardening'" in p for p in problems)


def test_kb_check_exit_codes(tmp_path, capsys):
    assert main(["kb", "check", "--dir", str(ROOT / "referral_kb")]) == 0
    (tmp_path / "bad.yaml").write_text("id: [unclosed")
    assert main(["kb", "check", "--dir", str(tmp_path)]) == 1
    assert f"{tmp_path / 'bad.yaml'}:1" in capsys.readouterr().err


def test_an_empty_dir_is_refused_not_read_as_the_current_folder(capsys):
    """`--dir "$KB"` with KB unset read the folder Bothy was started in."""
    for command in ("check", "test"):
        assert main(["kb", command, "--dir", "", *(["I want to die"] if command == "test" else [])]) == 2
        assert "--dir needs a folder's path, got an empty one" in capsys.readouterr().err


def test_anchors_and_aliases_are_refused_before_they_can_recurse_or_multiply(tmp_path, capsys):
    (tmp_path / "self.yaml").write_text("id: &a [*a]\n")
    nine = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    nine += [f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]" for level in range(1, 9)]
    (tmp_path / "laughs.yaml").write_text("\n".join([*nine, "id: *a8"]) + "\n")
    assert main(["kb", "check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'self.yaml'}:1: anchors and aliases" in err
    assert f"{tmp_path / 'laughs.yaml'}:1: anchors and aliases" in err


def test_a_topic_file_that_cannot_be_read_as_text_is_a_problem_named_not_a_crash(tmp_path, capsys):
    (tmp_path / "latin1.yaml").write_bytes("id: caf\xe9\ntitle: Caf\xe9\n".encode("latin-1"))
    (tmp_path / "folder.yaml").mkdir()
    assert main(["kb", "check", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'latin1.yaml'}:1: not UTF-8 text" in err
    assert f"{tmp_path / 'folder.yaml'}:1: cannot be read" in err


def test_kb_test_reads_messages_from_stdin_and_writes_json_lines():
    result = subprocess.run(
        [sys.executable, "-m", "bothy", "kb", "test", "--dir", str(ROOT / "referral_kb"), "-"],
        input="I just want to die\nwatched suicide squad\nmorning all\n", capture_output=True, text=True, check=True,
    )
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["tier"] == "crisis" and lines[0]["phrases"] == ["want to die"]
    assert lines[1]["topics"] == [] and lines[1]["suppressed_by"][0]["reason"] == "exclusion 'suicide squad'"
    assert lines[2] == {"topics": [], "tier": None, "phrases": [], "patterns": [], "model": None, "suppressed_by": []}


async def reloaded(knowledge):
    """What the next message is read with once a change is noticed and its reload in the background is done."""
    knowledge.current()
    if knowledge.reloading is not None:
        await knowledge.reloading
    return knowledge.current()


async def test_the_knowledge_base_reloads_when_a_file_changes_and_keeps_the_last_good_one(tmp_path):
    from bots.referral.bot import ReloadingKnowledgeBase

    now = [0.0]
    topic = tmp_path / "topic.yaml"
    (tmp_path / "crisis.yaml").write_text(CRISIS)
    topic.write_text(GOOD)
    knowledge = ReloadingKnowledgeBase((tmp_path,), monotonic=lambda: now[0])
    assert knowledge.current().matcher.match("the allotment waiting list is long").topics == ["gardening-help"]

    topic.write_text(GOOD.replace("allotment waiting list", "seed swap"))
    os.utime(topic, (1, 1))
    now[0] += 10
    assert (await reloaded(knowledge)).matcher.match("seed swap on Sunday").topics == ["gardening-help"]

    topic.write_text("id: [broken")
    os.utime(topic, (2, 2))
    now[0] += 10
    assert (await reloaded(knowledge)).matcher.match("seed swap on Sunday").topics == ["gardening-help"]


async def test_a_reload_that_would_leave_no_crisis_lines_keeps_the_last_good_knowledge_base(tmp_path, caplog):
    """Bothy never runs without crisis lines: not at start, and not after crisis.yaml is moved away while it runs."""
    from bots.referral.bot import ReloadingKnowledgeBase

    now = [0.0]
    crisis = tmp_path / "crisis.yaml"
    crisis.write_text(CRISIS)
    (tmp_path / "topic.yaml").write_text(GOOD)
    knowledge = ReloadingKnowledgeBase((tmp_path,), monotonic=lambda: now[0])
    first = knowledge.current()
    assert first.matcher.match("I want to die").tier == "crisis"
    crisis.unlink()
    now[0] += 10
    with caplog.at_level(logging.WARNING, logger="bothy.referral"):
        assert await reloaded(knowledge) is first
    assert "no crisis-tier topic" in caplog.text
    assert knowledge.current().matcher.match("I want to die").tier == "crisis"


def test_a_reload_runs_in_a_daemon_thread_so_a_stalled_disk_cannot_hold_up_stopping(tmp_path):
    """asyncio.to_thread's pool is joined when the event loop closes: a reload stuck on a stalled disk would keep
    `bothy run` from stopping."""
    from bots.referral import bot

    started, release, seen = threading.Event(), threading.Event(), []

    def stuck():
        seen.append(threading.current_thread().daemon)
        started.set()
        release.wait(30)

    async def stop_while_stuck():
        reload = asyncio.create_task(bot._in_daemon_thread(stuck))
        assert await asyncio.to_thread(started.wait, 10)
        reload.cancel()

    began = time.monotonic()
    asyncio.run(stop_while_stuck())
    assert seen == [True] and time.monotonic() - began < 10
    release.set()


async def test_a_changed_knowledge_base_is_built_off_the_event_loop_once_and_a_failed_build_keeps_the_last(
        tmp_path, monkeypatch, caplog):
    """Building a matcher takes a good part of a second, and a disk may stall: messages go on meanwhile, read with
    the last good KB, the one that noticed the change too."""
    from bots.referral import bot

    now = [0.0]
    topic = tmp_path / "topic.yaml"
    (tmp_path / "crisis.yaml").write_text(CRISIS)
    topic.write_text(GOOD)
    knowledge = bot.ReloadingKnowledgeBase((tmp_path,), monotonic=lambda: now[0])
    first = knowledge.current()
    started, release, built_on = threading.Event(), threading.Event(), []

    def slow_matcher(kb):
        built_on.append(threading.get_ident())
        started.set()
        release.wait(10)
        return Matcher(kb)

    monkeypatch.setattr(bot, "Matcher", slow_matcher)
    topic.write_text(GOOD.replace("allotment waiting list", "seed swap"))
    os.utime(topic, (1, 1))
    now[0] += 10
    assert knowledge.current() is first  # noticed, and the message that noticed is not held up
    assert await asyncio.to_thread(started.wait, 10)
    now[0] += 10
    assert knowledge.current() is first  # still building: no second build of the same change
    release.set()
    await knowledge.reloading
    second = knowledge.current()
    assert second.matcher.match("seed swap on Sunday").topics == ["gardening-help"]
    assert len(built_on) == 1 and built_on[0] != threading.get_ident()

    def broken_matcher(kb):
        raise RuntimeError("a bug")

    monkeypatch.setattr(bot, "Matcher", broken_matcher)
    topic.write_text(GOOD.replace("allotment waiting list", "compost bins"))
    os.utime(topic, (2, 2))
    now[0] += 10
    with caplog.at_level(logging.ERROR, logger="bothy.referral"):
        assert await reloaded(knowledge) is second
    assert "knowledge base not reloaded" in caplog.text
