"""Find knowledge-base phrases in a message in one pass, whatever the size of the knowledge base.

All phrases and exclusions go into one Aho-Corasick automaton over normalised text (pyahocorasick,
in C), so the cost per message depends on the message, not on how many phrases there are. Then three
plain rules decide what counts:
- an exclusion of the same topic that overlaps a match suppresses it ("dying to see", "suicide squad");
- of overlapping matches, the longest wins, so "my brother died by suicide" is suicide bereavement,
  not crisis;
- simple negation just before a match suppresses it ("I'm not suicidal", "never really suicidal").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ahocorasick

from bots.referral.kb import KnowledgeBase
from bots.referral.normalise import normalise

TIER_ORDER = {"crisis": 0, "support": 1, "practical": 2}
NEGATIONS = frozenset(normalise(word).strip() for word in (
    "not", "never", "don't", "didn't", "doesn't", "won't", "isn't", "aren't", "wasn't", "weren't", "haven't",
    "hasn't", "nor", "neither"))
# Words that may sit between a negation and the phrase it negates: "not really", "never thought of".
NEGATION_FILLERS = frozenset(normalise(word).strip() for word in (
    "really", "actually", "even", "ever", "been", "being", "be", "feeling", "felt", "feel", "thought", "thinking",
    "of", "about", "going", "to", "gonna", "at", "all", "that", "so", "planning", "considered", "considering",
    "am", "i'm", "i"))
NEGATION_WINDOW = 4


@dataclass(frozen=True)
class Hit:
    topic: str
    tier: str
    phrase: str
    start: int  # in the normalised text
    end: int


@dataclass(frozen=True)
class Suppressed:
    topic: str
    phrase: str
    reason: str


@dataclass(frozen=True)
class MatchResult:
    hits: tuple[Hit, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(hit.topic for hit in self.hits))

    @property
    def tier(self) -> str | None:
        tiers = [hit.tier for hit in self.hits]
        return min(tiers, key=TIER_ORDER.__getitem__) if tiers else None

    def as_json(self) -> dict:
        return {
            "topics": self.topics,
            "tier": self.tier,
            "phrases": list(dict.fromkeys(hit.phrase for hit in self.hits)),
            "suppressed_by": [{"topic": s.topic, "phrase": s.phrase, "reason": s.reason} for s in self.suppressed],
        }


@dataclass(frozen=True)
class _Entry:
    kind: str  # phrase | exclusion
    topic: str
    tier: str
    text: str
    length: int


@dataclass
class _Candidate:
    entry: _Entry
    start: int
    end: int
    suppressed_by: str | None = field(default=None)


class Matcher:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for topic in kb.topics.values():
            for kind, texts in (("phrase", topic.phrases), ("exclusion", topic.exclusions)):
                for text in texts:
                    key = normalise(text)
                    if key.strip():
                        entries.setdefault(key, []).append(_Entry(kind, topic.id, topic.tier, text, len(key)))
        for key, values in entries.items():
            self._automaton.add_word(key, tuple(values))
        self.phrase_count = sum(len(t.phrases) for t in kb.topics.values())
        if entries:
            self._automaton.make_automaton()

    def match(self, text: str) -> MatchResult:
        """What this message would trigger and why. The text is used here and then discarded."""
        if self.phrase_count == 0:
            return MatchResult()
        normalised = normalise(text)
        phrases: list[_Candidate] = []
        exclusions: list[_Candidate] = []
        for end, values in self._automaton.iter(normalised):
            for entry in values:
                # Keys carry a space at each end; the span is the words inside them.
                candidate = _Candidate(entry, end - entry.length + 2, end)
                (phrases if entry.kind == "phrase" else exclusions).append(candidate)
        if not phrases:
            return MatchResult()
        for candidate in phrases:
            candidate.suppressed_by = (
                _excluded(candidate, exclusions) or _outranked(candidate, phrases)
                or _negated(normalised, candidate.start)
            )
        hits = tuple(Hit(c.entry.topic, c.entry.tier, c.entry.text, c.start, c.end)
                     for c in phrases if c.suppressed_by is None)
        suppressed = tuple(Suppressed(c.entry.topic, c.entry.text, c.suppressed_by)
                           for c in phrases if c.suppressed_by is not None)
        return MatchResult(hits, suppressed)


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    return a.start < b.end and b.start < a.end


def _excluded(candidate: _Candidate, exclusions: list[_Candidate]) -> str | None:
    for exclusion in exclusions:
        if exclusion.entry.topic == candidate.entry.topic and _overlaps(candidate, exclusion):
            return f"exclusion {exclusion.entry.text!r}"
    return None


def _outranked(candidate: _Candidate, phrases: list[_Candidate]) -> str | None:
    for other in phrases:
        if other is not candidate and _overlaps(candidate, other) and (
            other.end - other.start > candidate.end - candidate.start
        ):
            return f"longer phrase {other.entry.text!r} ({other.entry.topic})"
    return None


def _negated(normalised: str, start: int) -> str | None:
    before = normalised[:start].split()[-NEGATION_WINDOW:]
    for index in range(len(before) - 1, -1, -1):
        word = before[index]
        if word in NEGATIONS:
            return f"negation {word!r}"
        if word not in NEGATION_FILLERS:
            return None
    return None
