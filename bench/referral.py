"""Referral matching throughput, side by side with a per-phrase regex loop, at growing KB sizes.

Bars (PRODUCT.md): per-message cost independent of KB size; at 1,000 phrases at least 10x the regex
loop; at least 50,000 messages/s on one core. Matching runs on the event loop, so also: 64 KB messages
built to be slow (dense overlapping matches, exclusions, negations, runs of one letter, stand-ins) each
matched in under 20 ms. Prints JSON; `--out` also writes it to a file.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from pathlib import Path

import yaml

from bench.report import emit, parser
from bots.referral.kb import KnowledgeBase, Topic, load_kb
from bots.referral.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
WORST_CASE_CHARS = 65_536
WORST_CASE_MS = 20
# Each repeated to 64 KB. "in debt" is two overlapping matches every 8 characters; the others make every
# match suppressed or every pattern check fail, so none can stop the matcher early, or defeat its shortcuts.
WORST_CASES = {
    "overlapping": "in debt ",
    "negated": "not suicidal ",
    "excluded": "suicide squad ",
    "anchors": "to die end it overdose ",  # pattern anchors that never complete their pattern
    "laughed_or_denied": "want to die lmao suicidal? nah they want to die ",  # set aside by the rules after a match
    "told_as_over": "I was suicidal. glad I'm still here ",  # a past wish told as over, again and again
    "asked_and_denied": "Wanting to die? No. ",  # the writer's own question answered no, read from punctuation
    "answer_fillers": "want to die? lol: ",  # every "?" and ":" starts an answer whose fillers run on
    "quoted": "the line “i want to die” - me ",  # crisis words in quotes, each quote framed and read
    "read_through_denials": "It never crossed my mind to kill myself, I just miss my mum. ",  # each read on after
    # stand-ins and an emoji in every word's reach, each match denied after it (a code reviewer's: 23 ms, now 14)
    "stand_ins_denied_after": "k1ll myself never came to me 💀 ",
    "entities": "I don&#39;t want to die &amp; I&rsquo;m not suicidal ",  # HTML entities read as what they stand for
    "mixed": "I'm not in debt to you, never really suicidal, kill myself laughing " + "a" * 500
             + " d.e.b.t k1ll mys3lf kiII myself not not not never ",
}
# Chat filler for messages, and a separate vocabulary for made-up phrases: most real messages match
# nothing, so padding the KB must not make the corpus match more as the KB grows.
WORDS = (
    "garden", "allotment", "knitting", "chess", "walk", "river", "bus", "money", "rent", "flat", "cat",
    "dog", "soup", "tea", "coffee", "rain", "sun", "hills", "bothy", "fire", "kettle", "jumper", "scarf",
    "paint", "brush", "guitar", "song", "film", "book", "bird", "tree", "seed", "swap", "market", "friday",
    "monday", "council", "letter", "phone", "doctor", "nurse", "shift", "work", "school", "train",
    "station", "bridge", "loch", "glen",
)
PHRASE_WORDS = (
    "tenancy", "carer", "respite", "hardship", "grant", "welfare", "tribunal", "appeal", "mandatory",
    "reconsideration", "allowance", "pension", "bursary", "helpline", "befriending", "advocacy", "outreach",
    "clinic", "referral", "wellbeing", "recovery", "hub", "dropin", "peer", "mentor", "volunteer", "warden",
    "sheltered", "supported", "lodging", "hostel",
)


def knowledge_base(size: int, seed: int = 7) -> KnowledgeBase:
    """The shipped KB, padded with made-up phrases (spread over its topics) up to `size` phrases."""
    kb = load_kb([ROOT / "referral_kb"])
    rng = random.Random(seed)
    topics: list[Topic] = list(kb.topics.values())
    existing = sum(len(t.phrases) for t in topics)
    seen = {p for t in topics for p in t.phrases}
    while existing < size:
        phrase = " ".join(rng.sample(PHRASE_WORDS, rng.choice((2, 3, 3, 4))))
        if phrase not in seen:
            seen.add(phrase)
            rng.choice(topics).phrases.append(phrase)
            existing += 1
    if existing > size:  # trim the shipped phrases for the smallest size, keeping every topic
        for topic in topics:
            topic.phrases = topic.phrases[: max(1, size * len(topic.phrases) // existing)]
    return kb


def messages(count: int, seed: int = 11) -> list[str]:
    """Realistic chat: the labelled test messages plus everyday lines, shuffled."""
    labelled = yaml.safe_load((ROOT / "tests" / "unit" / "data" / "referral_labelled.yaml").read_text())
    base = [text for text, _ in labelled]
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        text = rng.choice(base)
        if rng.random() < 0.5:
            text = f"{text} {' '.join(rng.sample(WORDS, rng.randint(3, 12)))}"
        out.append(text)
    return out


class RegexLoop:
    """The baseline a first attempt would write: one compiled word-boundary regex per phrase."""

    def __init__(self, kb: KnowledgeBase):
        self.patterns = [(t.id, re.compile(rf"\b{re.escape(p.lower())}\b")) for t in kb.topics.values()
                         for p in t.phrases]

    def match(self, text: str) -> list[str]:
        lowered = text.lower()
        return [topic for topic, pattern in self.patterns if pattern.search(lowered)]


def rate(match, corpus: list[str], min_seconds: float) -> float:
    """Messages per second in the median pass over the corpus, passing over it until at least `min_seconds`
    have passed: on a shared machine a pass now and then is slowed by other work, and the median is what a
    message typically costs, where a total would charge those pauses to the matcher."""
    passes: list[float] = []
    start = time.perf_counter()
    while True:
        began = time.perf_counter()
        for text in corpus:
            match(text)
        passes.append(time.perf_counter() - began)
        if time.perf_counter() - start >= min_seconds:
            return len(corpus) / statistics.median(passes)


# Each worst case again after a denial whose words after it are read on as well (Matcher._read_on): this costs more
# only where the case itself holds no crisis (a crisis found needs no reading on).
DENIAL_READ_ON = "It never crossed my mind to kill myself, "


def worst_case_ms(matcher: Matcher, repeats: int = 21) -> dict[str, float]:
    """Median time to match each 64 KB adversarial message, as it is and after a denial read on."""
    times = {}
    for name, unit in WORST_CASES.items():
        text = (unit * (WORST_CASE_CHARS // len(unit) + 1))[:WORST_CASE_CHARS]
        for prefix, case in (("", name), (DENIAL_READ_ON, f"{name}_after_a_denial")):
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                matcher.match((prefix + text)[:WORST_CASE_CHARS])
                samples.append(time.perf_counter() - start)
            times[case] = round(statistics.median(samples) * 1000, 2)
    return times


def run(min_seconds: float) -> dict:
    corpus = messages(2_000)
    results = {}
    for size in SIZES:
        kb = knowledge_base(size)
        matcher = Matcher(kb)
        bothy = rate(matcher.match, corpus, min_seconds)
        baseline_corpus = corpus[: max(50, 200_000 // size)]
        regex = rate(RegexLoop(kb).match, baseline_corpus, min_seconds)
        results[str(size)] = {
            "phrases": matcher.phrase_count,
            "bothy_messages_per_s": round(bothy),
            "bothy_us_per_message": round(1e6 / bothy, 2),
            "regex_loop_messages_per_s": round(regex),
            "regex_loop_us_per_message": round(1e6 / regex, 2),
            "speedup": round(bothy / regex, 1),
        }
    smallest, largest = results[str(SIZES[0])], results[str(SIZES[-1])]
    flatness = largest["bothy_us_per_message"] / smallest["bothy_us_per_message"]
    at_1000 = results["1000"]
    worst = worst_case_ms(Matcher(knowledge_base(1_000)))
    bars = {
        "speedup_at_1000_phrases >= 10": {"value": at_1000["speedup"], "pass": at_1000["speedup"] >= 10},
        "messages_per_s_at_1000_phrases >= 50000": {"value": at_1000["bothy_messages_per_s"],
                                                    "pass": at_1000["bothy_messages_per_s"] >= 50_000},
        "cost_ratio_10000_vs_100_phrases <= 1.5 (flat)": {"value": round(flatness, 2), "pass": flatness <= 1.5},
        f"worst_case_64KB_message_ms < {WORST_CASE_MS}": {"value": max(worst.values()),
                                                          "pass": max(worst.values()) < WORST_CASE_MS},
    }
    return {"benchmark": "referral_matching", "single_core": True, "messages_in_corpus": len(corpus),
            "results": results, "worst_case_64KB_ms": worst, "bars": bars,
            "all_bars_pass": all(b["pass"] for b in bars.values())}


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--seconds", type=float, default=2.0, help="minimum timing per measurement")
    args = arguments.parse_args()
    emit(run(args.seconds), args.out)


if __name__ == "__main__":
    main()
