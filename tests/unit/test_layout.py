"""The tree is the architecture: these checks keep it that way."""

import ast
import re
import tokenize
from pathlib import Path

from bots.installed import INSTALLATION

ROOT = Path(__file__).resolve().parents[2]
IMPORT_ROOTS = ("bothy", "bots", "commands", "rooms")
# Words that belong to one bot's feature. The engine may say "a bot", never which.
FEATURE_WORDS = re.compile(
    r"\b(check-?ins?|stress|referrals?|crisis|moods?|energy|hang-?outs?|interests?|meetups?|groups|"
    r"knowledge base|kb|wearables?)\b", re.IGNORECASE)
# The dev server's demo set-up names the bot accounts it registers; that is its job.
ENGINE_EXCEPTIONS = {ROOT / "bothy" / "devserver"}


def python_files(*tops: str):
    for top in tops:
        yield from (ROOT / top).rglob("*.py")


def test_every_first_party_import_resolves_to_a_file_in_the_checkout():
    """A reader, an IDE and mypy follow `from bots.checkin.bot import ...` to bots/checkin/bot.py."""
    unresolved = []
    for path in python_files(*IMPORT_ROOTS, "tests", "bench"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[0] not in (*IMPORT_ROOTS, "tests", "bench"):
                    continue
                target = ROOT.joinpath(*name.split("."))
                if not (target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()):
                    unresolved.append(f"{path.relative_to(ROOT)}: {name}")
    assert unresolved == []


def test_the_engine_names_no_feature():
    """Adding a bot is a folder plus one line in bots/installed.py; the engine never needs to know its name."""
    mentions = []
    for path in [*python_files("bothy"), *(ROOT / "bothy" / "templates").glob("*.j2")]:
        if any(exception in path.parents for exception in ENGINE_EXCEPTIONS):
            continue
        if path.suffix == ".py":
            with path.open("rb") as source:
                texts = [(t.start[0], t.string) for t in tokenize.tokenize(source.readline)
                         if t.type in (tokenize.NAME, tokenize.STRING, tokenize.COMMENT)]
        else:
            texts = list(enumerate(path.read_text().splitlines(), start=1))
        mentions += [f"{path.relative_to(ROOT)}:{line}: {m.group(0)}"
                     for line, text in texts for m in FEATURE_WORDS.finditer(text)]
    assert mentions == []


def test_each_bot_is_one_folder_with_its_own_templates_and_schema():
    for bot in INSTALLATION.bots:
        folder = ROOT / "bots" / bot.name
        assert Path(__import__(bot.__module__, fromlist=["_"]).__file__).parent == folder, bot.name
        if bot.templates_dir is not None:
            assert bot.templates_dir.parent == folder, bot.name
        for step in bot.migrations:
            assert Path(step.apply.__code__.co_filename).parent == folder, (bot.name, step.version)
