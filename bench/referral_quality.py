"""Referral matching quality on the held-back part of our development set, with the issue's goals as bars.

The set (tests/unit/data/referral_dev*.txt: the first set and later batches, each written before patterns were
tuned on it) is written by the team: no real person's words and no third-party corpus, which are kept for
independent evaluation. Each message is in the held-back part or the tuning part
by a fixed hash of its text, decided before any tuning, so phrases and patterns are tuned on one part and
judged on the other. Figures: per-tier precision and recall (on the highest tier a message triggers), crisis
recall per category (the Columbia scale's, plus self-harm) and for short and long posts, the false-crisis
rate on negated near-misses and on ordinary messages, and how often an ordinary message gets any suggestion.
Prints JSON; `--out` also writes it to a file; `--set` judges one file only; `--misses` lists the tuning
part's misses (never the held-back part's: looking at those would make it a tuning part); `--new FILE` judges
every message of a new writer's batch kept outside the set, measured before anything is changed for it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.report import emit, parser
from bots.referral.kb import load_kb
from bots.referral.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "unit" / "data"
TIERS = ("crisis", "support", "practical")
CATEGORIES = ("wish", "active", "method", "intent", "plan", "prep", "attempt", "selfharm")
HELD_BACK_PERCENT = 30
LONG_POST_CHARS = 280  # longer than a chat line: a forum post with the crisis sentence somewhere inside
PARTS = ("held_back", "tuning", "all")


@dataclass(frozen=True)
class Example:
    text: str
    tier: str  # crisis, support, practical or none
    category: str  # crisis: wish, active, method, intent, plan, prep, attempt, selfharm; none: its kind
    source: str = ""  # the file's name without .txt

    @property
    def held_back(self) -> bool:
        """In the held-back part: a fixed hash of the text, so the split never depends on results."""
        return int(hashlib.sha256(self.text.encode()).hexdigest()[:8], 16) % 100 < HELD_BACK_PERCENT


def dev_files() -> list[Path]:
    return sorted(DATA.glob("referral_dev*.txt"))


def load_dev_set(paths: list[Path] | None = None) -> list[Example]:
    """Every file's messages (or these files'), in order: see load_dev_file."""
    return [example for path in (dev_files() if paths is None else paths) for example in load_dev_file(path)]


def load_dev_file(path: Path) -> list[Example]:
    """Messages one per line under `## tier/category` headings; `#` lines are comments."""
    examples: list[Example] = []
    tier, category = "", ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            tier, _, category = line[3:].strip().partition("/")
            if tier not in (*TIERS, "none"):
                raise ValueError(f"{path}:{number}: unknown tier {tier!r}")
            if tier == "crisis" and category not in CATEGORIES:
                raise ValueError(f"{path}:{number}: unknown crisis category {category!r}")
        elif line.strip() and not line.startswith("#"):
            if not tier:
                raise ValueError(f"{path}:{number}: a message before any ## heading")
            examples.append(Example(line.strip(), tier, category, path.stem))
    return examples


def part(examples: list[Example], name: str) -> list[Example]:
    if name == "all":
        return examples
    return [e for e in examples if e.held_back == (name == "held_back")]


def _rate(hits: int, total: int) -> float:
    return round(hits / total, 3) if total else 1.0


def evaluate(matcher: Matcher, examples: list[Example]) -> dict:
    """The figures for these examples (see the module docstring)."""
    got = [matcher.match(e.text).tier or "none" for e in examples]
    counts: Counter[tuple[str, str]] = Counter()
    for example, tier in zip(examples, got, strict=True):
        for name in {example.tier, tier} - {"none"}:
            counts[(name, "tp" if name == example.tier == tier else "fn" if name == example.tier else "fp")] += 1
    tiers = {}
    for name in TIERS:
        tp, fp, fn = (counts[(name, kind)] for kind in ("tp", "fp", "fn"))
        tiers[name] = {"precision": _rate(tp, tp + fp), "recall": _rate(tp, tp + fn), "messages": tp + fn}
    crisis = [(e, tier == "crisis") for e, tier in zip(examples, got, strict=True) if e.tier == "crisis"]
    by_category: dict[str, list[bool]] = {}
    for example, found in crisis:
        by_category.setdefault(example.category, []).append(found)
    short = [found for e, found in crisis if len(e.text) < LONG_POST_CHARS]
    long = [found for e, found in crisis if len(e.text) >= LONG_POST_CHARS]
    negations = [tier for e, tier in zip(examples, got, strict=True) if e.category == "negation"]
    ordinary = [tier for e, tier in zip(examples, got, strict=True) if e.tier == "none" and e.category != "negation"]
    return {
        "messages": len(examples),
        "tiers": tiers,
        "crisis_recall_by_category": {name: {"recall": _rate(sum(found), len(found)), "messages": len(found)}
                                      for name, found in sorted(by_category.items())},
        "crisis_recall_short": {"recall": _rate(sum(short), len(short)), "messages": len(short)},
        "crisis_recall_long": {"recall": _rate(sum(long), len(long)), "messages": len(long)},
        "false_crisis_negations": {"rate": _rate(negations.count("crisis"), len(negations)),
                                   "messages": len(negations)},
        "false_crisis_ordinary": {"rate": _rate(ordinary.count("crisis"), len(ordinary)), "messages": len(ordinary)},
        "any_suggestion_ordinary": {"rate": _rate(len(ordinary) - ordinary.count("none"), len(ordinary)),
                                    "messages": len(ordinary)},
    }


def bars(figures: dict) -> dict[str, dict]:
    """The issue's goals, judged on these figures."""
    short, long = figures["crisis_recall_short"]["recall"], figures["crisis_recall_long"]["recall"]
    negations, ordinary = figures["false_crisis_negations"]["rate"], figures["false_crisis_ordinary"]["rate"]
    suggestion = figures["any_suggestion_ordinary"]["rate"]
    return {
        "crisis_recall_short_posts >= 0.85": {"value": short, "pass": short >= 0.85},
        f"crisis_recall_long_posts (>= {LONG_POST_CHARS} chars) >= 0.80": {"value": long, "pass": long >= 0.80},
        "false_crisis_negated_near_misses <= 0.10": {"value": negations, "pass": negations <= 0.10},
        "false_crisis_ordinary <= 0.02": {"value": ordinary, "pass": ordinary <= 0.02},
        "any_suggestion_ordinary <= 0.10": {"value": suggestion, "pass": suggestion <= 0.10},
    }


def misses(matcher: Matcher, examples: list[Example]) -> list[dict[str, str]]:
    """Messages given another tier than their label, with what fired: for tuning, on the tuning part only."""
    found = []
    for example in examples:
        result = matcher.match(example.text)
        if (result.tier or "none") != example.tier:
            found.append({"label": f"{example.tier}/{example.category}", "got": result.tier or "none",
                          "why": "; ".join(hit.phrase for hit in result.hits), "text": example.text})
    return found


def run(part_name: str = "held_back", kb_dir: Path = ROOT / "referral_kb", source: str = "all",
        show_misses: bool = False, new_batch: Path | None = None) -> dict:
    if show_misses and (part_name != "tuning" or new_batch is not None):
        raise SystemExit("--misses lists the tuning part's misses only: add --part tuning")
    kb = load_kb([kb_dir])
    if kb.problems:
        raise SystemExit("\n".join(kb.problems))
    if new_batch is not None:  # all of it: none of it has been tuned on
        part_name, source = "all", new_batch.stem
        examples = load_dev_file(new_batch)
        if not examples:
            raise SystemExit(f"no messages in {new_batch}: one per line under `## tier/category` headings")
    else:
        examples = [e for e in part(load_dev_set(), part_name) if source in ("all", e.source)]
    if not examples:
        raise SystemExit(f"no messages in set {source!r}: one of {[path.stem for path in dev_files()]} or all")
    matcher = Matcher(kb)
    figures = evaluate(matcher, examples)
    judged = bars(figures)
    report = {"benchmark": "referral_quality", "part": part_name, "set": source, **figures, "bars": judged,
              "all_bars_pass": all(b["pass"] for b in judged.values())}
    if show_misses:
        report["misses"] = misses(matcher, examples)
    return report


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--part", choices=PARTS, default="held_back", help="which part of the set to judge")
    arguments.add_argument("--kb", type=Path, default=ROOT / "referral_kb", help="the knowledge base folder")
    arguments.add_argument("--set", default="all", help="one file of the set, by name without .txt, or all")
    arguments.add_argument("--misses", action="store_true", help="list the tuning part's misses")
    arguments.add_argument("--new", type=Path, help="a new writer's batch outside the set, in the set's format")
    args = arguments.parse_args()
    emit(run(args.part, args.kb, args.set, args.misses, args.new), args.out)


if __name__ == "__main__":
    main()
