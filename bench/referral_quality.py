"""Referral matching quality on the held-back part of our development set, with the issue's goals as bars.

The set (tests/unit/data/referral_dev.txt) is written by the team: no real person's words and no third-party
corpus, which are kept for independent evaluation. Each message is in the held-back part or the tuning part
by a fixed hash of its text, decided before any tuning, so phrases and patterns are tuned on one part and
judged on the other. Figures: per-tier precision and recall (on the highest tier a message triggers), crisis
recall per category (the Columbia scale's, plus self-harm) and for short and long posts, the false-crisis
rate on negated near-misses and on ordinary messages, and how often an ordinary message gets any suggestion.
Prints JSON; `--out` also writes it to a file.
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
DEV_SET = ROOT / "tests" / "unit" / "data" / "referral_dev.txt"
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

    @property
    def held_back(self) -> bool:
        """In the held-back part: a fixed hash of the text, so the split never depends on results."""
        return int(hashlib.sha256(self.text.encode()).hexdigest()[:8], 16) % 100 < HELD_BACK_PERCENT


def load_dev_set(path: Path = DEV_SET) -> list[Example]:
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
            examples.append(Example(line.strip(), tier, category))
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


def run(part_name: str = "held_back", kb_dir: Path = ROOT / "referral_kb") -> dict:
    kb = load_kb([kb_dir])
    if kb.problems:
        raise SystemExit("\n".join(kb.problems))
    figures = evaluate(Matcher(kb), part(load_dev_set(), part_name))
    judged = bars(figures)
    return {"benchmark": "referral_quality", "part": part_name, **figures, "bars": judged,
            "all_bars_pass": all(b["pass"] for b in judged.values())}


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--part", choices=PARTS, default="held_back", help="which part of the set to judge")
    arguments.add_argument("--kb", type=Path, default=ROOT / "referral_kb", help="the knowledge base folder")
    args = arguments.parse_args()
    emit(run(args.part, args.kb), args.out)


if __name__ == "__main__":
    main()
