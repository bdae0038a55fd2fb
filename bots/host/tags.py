"""Interest tags and group names, normalised so that what members type meets: "Allotments", "allotment"
and "gardening" are one tag, and "The Allotment Club" is a near-duplicate of "Allotment club"."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

SHIPPED_SYNONYMS = Path(__file__).parent / "synonyms.yaml"
MAX_TAG_LENGTH = 40
NOT_WORD = re.compile(r"[\W_]+")
AMPERSAND = re.compile(r"(?<=\w)\s*&\s*(?=\w)")  # "D&D", "arts & crafts": read as "and" between words
# Words a plural rule would spoil ("news" is not one "new"); an organisation adds others as synonyms.
INVARIANT = frozenset({"news", "series", "species", "means", "diabetes", "christmas", "lens", "gas", "bus", "yes",
                       "aids", "physics", "maths", "politics", "athletics", "gymnastics", "adhd", "ms", "ibs"})
# Singulars in -ie, whose plurals the -ies rule would spoil ("zombies" is not one "zomby"), so that a member's
# "zombies" meets a group's #zombie.
IE_SINGULARS = frozenset({"movie", "cookie", "zombie", "selfie", "smoothie", "brownie", "hoodie", "beanie", "budgie",
                          "foodie", "techie", "roadie", "newbie", "rookie", "calorie", "auntie", "goodie", "veggie",
                          "hippie", "indie", "bookie", "collie", "pixie", "genie", "oldie", "birdie", "junkie",
                          "groupie", "freebie", "sweetie", "boogie", "walkie", "aussie"})
# Words that do not tell two group names apart ("The Allotment Club" is "Allotment club").
FILLER = frozenset({"the", "a", "an", "and", "of", "for", "our", "group", "club", "society", "circle", "team",
                    "meetup", "chat", "room", "space"})


def words_of(text: str) -> list[str]:
    """Case-folded words with accents and punctuation gone: 'Café-Society!' -> ['cafe', 'society']."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return [word for word in NOT_WORD.split(plain) if word]


def singular(word: str) -> str:
    """A plural's singular by the common English rules, so 'allotments' and 'allotment' meet; the synonym
    list fixes what the rules get wrong."""
    if len(word) <= 3 or word in INVARIANT or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-1] if word[:-1] in IE_SINGULARS else word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


class Tags:
    """Turns what a member typed into one canonical tag, through the plural rules and the synonym list."""

    def __init__(self, synonyms: Mapping[str, str]):
        self.synonyms = dict(synonyms)

    @classmethod
    def load(cls, path: Path) -> Tags:
        """`canonical: [other, ways]` per line; every form, the canonical one too, maps to the canonical."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected lines like `gardening: [allotment, garden]`")
        synonyms: dict[str, str] = {}
        for canonical, others in data.items():
            if not isinstance(canonical, str) or not isinstance(others, list) \
                    or not all(isinstance(other, str) for other in others):
                raise ValueError(f"{path}: {canonical!r} needs a list of other words, like [allotment, garden]")
            target = "-".join(words_of(canonical))
            for form in (canonical, *others):
                key = "-".join(words_of(form))
                if synonyms.get(key, target) != target:
                    raise ValueError(f"{path}: {form!r} is listed under both {synonyms[key]!r} and {target!r}")
                synonyms[key] = target
        return cls(synonyms)

    def normalise(self, text: str) -> str | None:
        """The canonical tag, or None when there is nothing tag-like in it (or it is too long)."""
        words = words_of(text)
        if not words or not any(c.isalpha() for c in "".join(words)):
            return None
        raw = "-".join(words)
        if raw in self.synonyms:
            return self.synonyms[raw]
        tag = "-".join([*words[:-1], singular(words[-1])])
        tag = self.synonyms.get(tag, tag)
        return tag if len(tag) <= MAX_TAG_LENGTH else None

    def parse_list(self, text: str) -> tuple[list[str], list[str]]:
        """'Gardening, #walks and dogs' -> (['gardening', 'walking', 'dog'], []): commas, '#' or ' and '
        separate tags, unless the words joined by "and" are one known tag ("arts and crafts"); the second list
        holds the pieces that were not tags, to say so kindly."""
        pieces = [piece for listed in re.split(r",|#|;", text)
                  for piece in ([listed] if "-".join(words_of(AMPERSAND.sub(" and ", listed))) in self.synonyms
                                else re.split(r"\band\b|\s&\s", listed))]
        tags: list[str] = []
        odd: list[str] = []
        for piece in (p.strip() for p in pieces):
            if not piece:
                continue
            tag = self.normalise(AMPERSAND.sub(" and ", piece))
            if tag is None:
                odd.append(piece)
            elif tag not in tags:
                tags.append(tag)
        return tags, odd


def name_key(name: str) -> str:
    """What makes a group name itself: words without filler, plurals made singular."""
    words = [word for word in map(singular, words_of(name)) if word not in FILLER]
    return "-".join(words) or "-".join(words_of(name))


def slug(name: str) -> str:
    """The name as typed in `!group join allotment-club`."""
    return "-".join(words_of(name))


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def near_duplicate(name: str, existing: Iterable[str]) -> str | None:
    """The first existing name that means the same: equal once filler and plurals go, or one typo away
    (two in a long name). Short names must match exactly: 'Walking' and 'Talking' are different groups."""
    key = name_key(name)
    allowed = 0 if len(key) < 8 else 1 if len(key) < 16 else 2
    for other in existing:
        other_key = name_key(other)
        if other_key == key or (allowed and edit_distance(key, other_key, allowed) <= allowed):
            return other
    return None
