"""Text normalisation for keyword matching: one canonical form for phrases and messages alike.

People write "SUICIDAL", "ѕuicidal" (Cyrillic s), "s.u.i.c.i.d.e", "k1ll mys3lf", "diiiie" or
"don’t"; all of them should meet the same phrase. The result is lower-case ASCII-ish words separated
by single spaces, padded with a space at each end so whole-word matching is a plain substring search.
Messages are normalised in memory and discarded.
"""

from __future__ import annotations

import re
import unicodedata

# Letters from other scripts that look like Latin ones (the common confusables used to dodge filters).
LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ɡ": "g", "ɩ": "i", "ı": "i", "ȷ": "j",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ς": "s",
})
# Digits and symbols standing in for letters, applied only inside words that also have letters.
SUBSTITUTES = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                             "@": "a", "$": "s", "!": "i", "|": "l", "€": "e"})
APOSTROPHES = str.maketrans({"’": "", "‘": "", "'": "", "`": "", "´": "", "ʼ": ""})

INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
STAND_IN_CHARS = "0-9@$!|€"
MIXED_WORD = re.compile(rf"[a-z{STAND_IN_CHARS}]*[a-z][a-z{STAND_IN_CHARS}]*")
# A digit next to a letter, or a symbol between letters ("k1ll", "di3", "k!ll"); "help!" is not one.
HAS_STAND_IN = re.compile(r"[a-z][0-9]|[0-9][a-z]|[a-z][@$!|€]+[a-z]")
SPELLED_OUT = re.compile(r"(?<![a-z])(?:[a-z][ .\-_*]){2,}[a-z](?![a-z])")
REPEATS = re.compile(r"([a-z])\1+")
NON_WORD = re.compile(r"[^a-z0-9]+")


def _replace_stand_ins(match: re.Match[str]) -> str:
    word = match.group(0)
    if not HAS_STAND_IN.search(word):
        return word
    core = word.rstrip("!|$@€")  # trailing punctuation stays punctuation
    return core.translate(SUBSTITUTES) + word[len(core):]


def normalise(text: str) -> str:
    """Canonical form: ' word word ' (see module docstring). Empty input gives ' '."""
    if text.isascii():
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = INVISIBLE.sub("", text).translate(LOOKALIKES)
        text = COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = text.translate(APOSTROPHES)
    if HAS_STAND_IN.search(text):
        text = MIXED_WORD.sub(_replace_stand_ins, text)
    if SPELLED_OUT.search(text):
        text = SPELLED_OUT.sub(lambda m: NON_WORD.sub("", m.group(0)), text)
    text = REPEATS.sub(r"\1", text)
    return " " + " ".join(NON_WORD.sub(" ", text).split()) + " "
