"""`bothy kb check` and `bothy kb test`: the referral bot's own admin commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bothy.plugin import SettingsLoader
from bots.referral.kb import has_crisis_lines, load_kb
from bots.referral.matcher import Matcher
from bots.referral.normalise import normalise
from referral_kb import SHIPPED_KB

DEFAULT_CONFIG = "config.yaml"


def add_kb_commands(subcommands: argparse._SubParsersAction, settings: SettingsLoader) -> None:
    kb = subcommands.add_parser("kb", help="the referral knowledge base").add_subparsers(dest="kb_command",
                                                                                         required=True)
    for name, run, text in (("check", check_kb, "validate every topic file, with file and line"),
                            ("test", explain, "show what a message would trigger, and why")):
        p = kb.add_parser(name, help=text)
        p.add_argument("--config", help=f"path to the YAML config (default: {DEFAULT_CONFIG} if there is one, "
                                         "else the knowledge base shipped with Bothy)")
        p.add_argument("--dir", action="append", help="a knowledge base folder (repeatable; default: from config)")
        if name == "test":
            p.add_argument("text", help="the message to try, or - to read one message per line from stdin")
        p.set_defaults(func=lambda args, run=run: _with_dirs(args, settings, run))


def _with_dirs(args: argparse.Namespace, settings: SettingsLoader, run) -> int:
    if args.dir:
        if not all(d.strip() for d in args.dir):  # Path("") is the current folder: "--dir $UNSET" read it
            print("--dir needs a folder's path, got an empty one", file=sys.stderr)
            return 2
        directories = [Path(d) for d in args.dir]
    elif args.config is not None or Path(DEFAULT_CONFIG).exists():  # a config named but missing is an error
        loaded = settings(args.config or DEFAULT_CONFIG)
        if loaded is None:
            return 2
        directories = list(loaded.kb_dirs)
    else:
        directories = [SHIPPED_KB]
    return run(args, directories)


def check_kb(args: argparse.Namespace, directories: list[Path]) -> int:
    kb = load_kb(directories)
    for problem in kb.problems:
        print(problem, file=sys.stderr)
    if kb.problems:
        print(f"{len(kb.problems)} problem(s) found", file=sys.stderr)
        return 1
    if not has_crisis_lines(kb):
        print(f"no crisis-tier topic in {', '.join(map(str, directories))}: bothy run would refuse to start "
              "(Bothy never runs without crisis lines)", file=sys.stderr)
        return 1
    phrases = sum(len(topic.phrases) for topic in kb.topics.values())
    patterns = sum(len(topic.patterns) for topic in kb.topics.values())
    print(f"OK: {len(kb.topics)} topics, {phrases} phrases, {patterns} patterns in {', '.join(map(str, directories))}")
    return 0


def explain(args: argparse.Namespace, directories: list[Path]) -> int:
    """One text: a readable explanation. '-': one JSON object per line of standard input."""
    kb = load_kb(directories)
    if kb.problems:
        for problem in kb.problems:
            print(problem, file=sys.stderr)
        print("the knowledge base has the problems above; 'bothy kb check' lists them too", file=sys.stderr)
        return 1
    matcher = Matcher(kb)
    if args.text == "-":
        for line in sys.stdin:
            print(json.dumps(matcher.match(line.rstrip("\n")).as_json()), flush=True)
        return 0
    result = matcher.match(args.text)
    if not result.hits:
        print("Nothing would trigger.")
    for hit in result.hits:
        print(f"Would trigger {hit.topic} ({hit.tier}) on the {hit.kind} {hit.phrase!r}")
        model = kb.topics[hit.topic].model
        if hit.kind == "model" and model is not None:
            print(f"  the words that weighed most: {', '.join(model.weighed_most(normalise(args.text).split()))}")
    for suppressed in result.suppressed:
        print(f"Not triggered: {suppressed.topic} {suppressed.kind} {suppressed.phrase!r}, "
              f"stopped by {suppressed.reason}")
    return 0
