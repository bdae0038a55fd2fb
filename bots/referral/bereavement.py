"""Rooms where loss is the subject (`referral.bereavement_rooms`).

There, members talk about someone else's death or suicide ("since dad's suicide", "my son was suicidal"),
and that is never treated as the member's own crisis: a crisis-tier match counts only when it is about the
speaker. The rule is deliberately plain, so `bothy kb test` and a peer worker can follow it: the matched
words themselves say I or me ("kill myself", "end my life"), or, unless they name someone else ("his
suicide"), one of the few words before them is I or me ("I feel suicidal", "it makes me want to die").
Punctuation is gone by then, so "I miss him. Suicide is cruel" still counts: when unsure, the member gets
crisis lines. A word model's score (word_model.py) never counts here: it weighs the whole message and cannot
tell whose death it is about.
"""

from __future__ import annotations

from bots.referral.matcher import FIRST_PERSON, Hit, MatchResult, Suppressed
from bots.referral.normalise import normalise

# In the words just before a phrase only the speaker as subject or object counts: "my son was suicidal" is
# about the son.
SPEAKER = frozenset(normalise(word).strip() for word in ("i", "i'm", "i've", "i'd", "i'll", "me", "myself"))
SOMEONE_ELSE = frozenset(normalise(word).strip() for word in (
    "his", "her", "their", "him", "them", "he", "she", "they"))
LOOK_BACK_WORDS = 3


def about_the_speaker(hit: Hit, normalised: str) -> bool:
    """`normalised` is the message as the matcher read it (the hit's offsets point into it). The words the
    hit matched are read, not its phrase: a pattern lists many alternatives, "my" among them."""
    if hit.kind == "model":
        return False
    matched = set(normalised[hit.start:hit.end].split())
    if FIRST_PERSON & matched:
        return True
    if SOMEONE_ELSE & matched:  # "I keep thinking about his suicide": the speaker grieves, it is his death
        return False
    return bool(SPEAKER & set(normalised[:hit.start].split()[-LOOK_BACK_WORDS:]))


def in_own_words(result: MatchResult, text: str) -> MatchResult:
    """The match without its crisis hits about someone else; other hits (bereavement support) stay."""
    if not any(hit.tier == "crisis" for hit in result.hits):
        return result
    normalised = normalise(text)
    kept = tuple(hit for hit in result.hits if hit.tier != "crisis" or about_the_speaker(hit, normalised))
    dropped = tuple(Suppressed(hit.topic, hit.phrase, "about someone else, in a bereavement room")
                    for hit in result.hits if hit not in kept)
    return MatchResult(kept, result.suppressed + dropped)
