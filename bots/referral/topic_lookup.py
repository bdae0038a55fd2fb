"""Which topic `!resources WORDS` and `!refer @user WORDS` mean, from the words people actually type.

A topic's id or title finds it as before. Otherwise the typed words are matched against each topic's entries
in topic_words.yaml, the words of its id and title, and its own one- and two-word phrases. An entry matches
when all its words were typed, in any order; an entry inside a longer one that also matched is set aside
("suicide" inside "suicide bereavement"). Safety first: an entry of a crisis-tier topic that still stands
wins over everything else, and only topic_words.yaml can give another topic a word it lists for a crisis
topic, so "suicide" brings crisis lines and only words that clearly mean loss bring bereavement support.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bots.referral.kb import KnowledgeBase, Topic
from bots.referral.normalise import normalise

SHIPPED_TOPIC_WORDS = Path(__file__).parent / "topic_words.yaml"
MAX_PHRASE_WORDS = 2  # a topic's own phrases this short are names for it ("universal credit"), not sentences

Key = frozenset[str]


def words(text: str) -> list[str]:
    """Normalised words ('Self-Harm' -> ['self', 'harm']) with a plural 's' gone, so 'drugs' meets 'drug'."""
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith(("us", "is")) else w
            for w in normalise(text).split()]


def _all_text(items: list) -> bool:
    return all(isinstance(item, str) for item in items)


@dataclass(frozen=True)
class TopicWords:
    """topic_words.yaml: entries per topic id, and the title and id words too common to tell topics apart."""

    entries: dict[str, list[str]]
    ignore: frozenset[str]

    @classmethod
    def load(cls, path: Path = SHIPPED_TOPIC_WORDS) -> TopicWords:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        topics = data.get("topics", {}) if isinstance(data, dict) else None
        ignore = data.get("ignore", []) if isinstance(data, dict) else None
        if not isinstance(topics, dict) or not isinstance(ignore, list) or not all(
                isinstance(entries, list) and _all_text(entries) for entries in topics.values()) \
                or not _all_text(ignore):
            raise ValueError(f"{path}: needs `topics:` with lines like `debt: [money, loan]` and `ignore:` with a "
                             "list of words (quote any word YAML reads otherwise, like \"on\" or \"no\")")
        return cls({str(topic_id): entries for topic_id, entries in topics.items()},
                   frozenset(w for word in ignore for w in words(word)))


@dataclass(frozen=True)
class Lookup:
    """The topic meant, or the few it could be (`candidates`), or neither. `by_words`: not its id or title."""

    topic: Topic | None
    candidates: tuple[Topic, ...] = ()
    by_words: bool = False


class TopicFinder:
    """Entries of every topic that can be suggested (not signal-tier), indexed by their set of words."""

    def __init__(self, kb: KnowledgeBase, topic_words: TopicWords):
        self.kb = kb
        self.ignore = topic_words.ignore
        topics = {t.id: t for t in self.kb.topics.values() if t.tier != "signal"}
        listed: dict[Key, set[str]] = {}
        for topic_id, entries in topic_words.entries.items():
            if topic_id in topics:
                for entry in entries:
                    listed.setdefault(frozenset(words(entry)), set()).add(topic_id)
        crisis_words = {word for key, ids in listed.items() if len(key) == 1
                        for word in key if any(topics[i].tier == "crisis" for i in ids)}
        self.index: dict[Key, set[str]] = {key: set(ids) for key, ids in listed.items() if key}
        for topic in topics.values():
            for key in self._derived(topic):
                if key in listed or (topic.tier != "crisis" and key & crisis_words):
                    continue
                self.index.setdefault(key, set()).add(topic.id)

    def _derived(self, topic: Topic) -> Iterable[Key]:
        """Each word of its id and title, and its short phrases."""
        for word in {*words(topic.id), *words(topic.title)} - self.ignore:
            yield frozenset({word})
        for phrase in topic.phrases:
            key = words(phrase)
            if 0 < len(key) <= MAX_PHRASE_WORDS:
                yield frozenset(key)

    def find(self, text: str) -> Lookup:
        exact = self.kb.topic(text)
        if exact is not None and exact.tier != "signal":  # a signal topic is only counted: nothing to send
            return Lookup(exact)
        typed = set(words(text))
        matched = [key for key in self.index if key <= typed]
        standing = [key for key in matched if not any(key < other for other in matched)]
        found = [self.kb.topics[i] for i in sorted({i for key in standing for i in self.index[key]})]
        crisis = [topic for topic in found if topic.tier == "crisis"]
        candidates = sorted(crisis or found, key=lambda topic: topic.title)
        if len(candidates) == 1:
            return Lookup(candidates[0], by_words=True)
        return Lookup(None, tuple(candidates), by_words=True)
