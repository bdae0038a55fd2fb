"""Text normalisation for keyword matching: one canonical form for phrases and messages alike.

People write "SUICIDAL", "ѕuicidal" (Cyrillic s), "s.u.i.c.i.d.e", "k1ll mys3lf", "diiiie" or
"don’t"; all of them should meet the same phrase. The result is lower-case ASCII-ish words separated
by single spaces, padded with a space at each end so whole-word matching is a plain substring search.
Messages are normalised in memory and discarded.

Some characters stand for two letters: "1" for i or l ("k1ll", "ki11"), and an upper-case I inside a
lower-case word for l ("kiII"; lower-casing alone would make it "kiii"). normalise() reads them as i, as
before; l_reading() gives a second form that reads them as l, only for a text that has any, and the
matcher uses it only for phrases it reveals (see matcher.py).

"s/h" is "sh" (SLASHED_SH). "myself" misspelt ("myslef"), or in Scots or Irish ("masel", "meself"), is read as
"myself": MISSPELLINGS.
A message in Scots ("ah cannae dae this", "ah just wantae sleep") has its common words read in English
("i cant do this", "i just want to sleep"): SCOTS, only for a message with one of its markers, so the
phrases and patterns written in English serve Bothy's Scottish members too.

Every step is linear in the text: byte tables, `str` methods and an Aho-Corasick scan in C, and regexes that
cannot backtrack over a run more than once (each stand-in word is found from its first character only). Only the first
MAX_CHARS characters are read, and Unicode folding stops once it has produced MAX_CHARS characters: one
compatibility character can expand to 18 ("ﷺ"), and a Matrix event is at most 64 KiB anyway.
"""

from __future__ import annotations

import re
import unicodedata

import ahocorasick

MAX_CHARS = 65_536
_FOLD_CHUNK = 4_096

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
                             "@": "a", "$": "s", "!": "i", "|": "l"})
STAND_IN_SYMBOLS = b"@$!|"
INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                       "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]")
COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
CURLY_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'"})
# Laughing until crying is a laugh in words: "I'm going to walk into the sea 😂" is the matcher's hyperbole, like
# "lmao". Every other emoji is dropped with the rest of the symbols.
LAUGHING_EMOJI = str.maketrans(dict.fromkeys("😂🤣😹", " lmao "))
# The three as one table: their keys are apart and what they give is ASCII, so one pass reads as three would; each pass
# over 64 KB of emoji or Cyrillic costs about 2 ms.
FOLDED = {**LOOKALIKES, **CURLY_APOSTROPHES, **LAUGHING_EMOJI}
# A whole word of letters, digits and stand-in symbols with at least one of each kind, found only from the
# word's first character (the lookbehind), so a long run that is not such a word is scanned once, not once
# per position.
MIXED_WORD = re.compile(r"(?<![a-z0-9@$!|])(?=[a-z]*[0-9@$!|])(?=[0-9@$!|]*[a-z])[a-z0-9@$!|]+")
# A digit next to a letter, or a symbol between letters ("k1ll", "di3", "k!ll", "$uicide"); "help!" is not.
# "1" next to a letter, or a run of upper-case I right after a lower-case letter: possibly an l. A run of
# 1s is tried from its first digit only and never backtracked, so a long run is scanned once.
AMBIGUOUS_L = re.compile(r"(?<=[A-Za-z])1+|(?<!1)1++(?=[A-Za-z])|(?<=[a-z])I+")
# The same test, quick enough for every message: each branch starts with its literal, so the scan skips
# straight to the Is and 1s instead of trying every letter.
HAS_AMBIGUOUS_L = re.compile(r"I(?<=[a-z]I)|1(?<=[A-Za-z]1)|1(?=[A-Za-z])")
# "s/h", as self-harm is often shortened, is "sh" like its other short form (symbols become spaces, and two single
# letters are not spelled out).
SLASHED_SH = re.compile(r"(?<![a-z0-9])s ?/ ?h(?![a-z0-9])", re.IGNORECASE)
# Three single letters in a row: the only words _join_spelled_out changes.
SPELLED_OUT = re.compile(" [a-z] [a-z] [a-z] ")
HAS_STAND_IN = re.compile(r"[a-z](?:[0-9]|[@$!|]++[a-z])|[0-9][a-z]|(?<![a-z])[@$][a-z]")

# Byte tables do the per-character work in C: lower-case letters, keep digits and stand-in symbols,
# turn everything else into a space, drop apostrophes ("don't" -> "dont").
_KEEP = set(b"abcdefghijklmnopqrstuvwxyz0123456789" + STAND_IN_SYMBOLS)
_FIRST_PASS = bytes(b + 32 if 65 <= b <= 90 else b if b in _KEEP else 32 for b in range(256))
_SYMBOLS_TO_SPACE = bytes(32 if b in STAND_IN_SYMBOLS else b for b in range(256))
_LETTERS_AND_SPACE = b"abcdefghijklmnopqrstuvwxyz "
# Each letter (or space) doubled: an Aho-Corasick automaton finds them all in one scan in C, several times quicker
# than a regex, which tries each character in turn.
_DOUBLES = ahocorasick.Automaton()
for _letter in "abcdefghijklmnopqrstuvwxyz ":
    _DOUBLES.add_word(_letter * 2, _letter)
_DOUBLES.make_automaton()
_ONE_SCAN_CHARS = 2_048


# "myself" misspelt (doubled letters already collapsed), and Scots and Irish "masel", "meself": the word
# that anchors most first-person patterns, so one spelling of it serves them all. Other misspellings
# ("sucidal") are phrases in the knowledge base, which cost nothing per message.
MISSPELLINGS = {"myslef": "myself", "mysef": "myself", "myslf": "myself", "mysefl": "myself", "myseld": "myself",
                "mysel": "myself", "meself": "myself", "masel": "myself", "maself": "myself"}
_MISSPELT = [(f" {wrong} ", f" {right} ") for wrong, right in MISSPELLINGS.items()]


def _spell(text: str) -> str:
    """Misspellings read as the word meant: three substring searches, then one per misspelling if need be."""
    if " mys" not in text and " mes" not in text and " mas" not in text:
        return text
    for wrong, right in _MISSPELT:
        while wrong in text:  # adjacent repeats share a space: replace until none is left
            text = text.replace(wrong, right)
    return text


def _replace_stand_ins(match: re.Match[str]) -> str:
    word = match.group(0)
    if not HAS_STAND_IN.search(word):
        return word
    core = word.rstrip("!|$@")  # trailing punctuation stays punctuation
    return core.translate(SUBSTITUTES) + word[len(core):]


def _collapse_repeats(text: str) -> str:
    """'diiiie' -> 'die', 'kill' -> 'kil', and runs of spaces to one: applied to phrases and messages alike, so they
    still meet. A short text is scanned once for its doubles, and the second letter of each is dropped ("aaa" holds
    two, overlapping, and leaves one); a long one is scanned once per letter with `str.replace`, which is quicker over
    64 KB of doubles than dropping 32,000 letters one by one."""
    if len(text) <= _ONE_SCAN_CHARS:
        pieces, kept_from = [], 0
        for second, _ in _DOUBLES.iter(text):
            pieces.append(text[kept_from:second])
            kept_from = second + 1
        if not pieces:
            return text
        pieces.append(text[kept_from:])
        return "".join(pieces)
    for letter in "abcdefghijklmnopqrstuvwxyz ":
        double = letter * 2
        while double in text:
            text = text.replace(double, letter)
    return text


# Scots words read in English. Only words with one meaning are here: "an" (and, or an article), "no" (not, or
# no), "ken" (know, or a name), "ma" (my, or mother), "canny" (can't, or shrewd) and "aw" are left as they are.
# Keys are normalised (doubled letters collapsed).
SCOTS = {
    "tae": "to", "dae": "do", "nae": "no", "naebody": "nobody", "naewan": "no one", "naething": "nothing",
    "cannae": "cant", "dinnae": "dont", "dinny": "dont", "didnae": "didnt", "disnae": "doesnt",
    "doesnae": "doesnt", "wouldnae": "wouldnt", "widnae": "wouldnt", "couldnae": "couldnt", "shouldnae": "shouldnt",
    "isnae": "isnt", "wasnae": "wasnt", "wisnae": "wasnt", "havenae": "havent", "huvnae": "havent", "hasnae": "hasnt",
    "willnae": "wont", "wantae": "want to", "wanty": "want to", "gonnae": "going to", "gonny": "going to",
    "ah": "i", "ahm": "im", "ahve": "ive", "ahd": "id", "ahll": "ill", "aboot": "about", "oot": "out",
    "wis": "was", "wi": "with", "fae": "from", "deid": "dead", "mair": "more", "anymair": "anymore",
    "hame": "home", "heid": "head", "wid": "would", "telt": "told", "yersel": "yourself",
}
_SCOTS = {_collapse_repeats(scots): _collapse_repeats(english) for scots, english in SCOTS.items()}


def _read_scots(text: str) -> str:
    """A message in Scots with its common words in English (see SCOTS); any other message as it is."""
    # The markers, whole words (normalised: "cannae" is "canae"): tae, dae, the "-nae" words, "ah", "ahm" and "ahve"
    # (I, I'm, I've), "deid"; one of them is in nearly every line of Scots, and none in English ("ahead",
    # "sundae"). Tested one by one because every message pays for this.
    if not (" tae " in text or " dae " in text or "nae " in text or " ah " in text or " ahm " in text
            or " ahve " in text or " deid " in text):
        return text
    return " " + " ".join(_SCOTS.get(word, word) for word in text.split()) + " "


def _join_spelled_out(words: list[str]) -> list[str]:
    """'s u i c i d e' (from 's.u.i.c.i.d.e' or 's-u-i...') -> 'suicide': runs of three or more letters."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 3:
            out.append(_collapse_repeats("".join(run)))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


def _fold_unicode(text: str) -> str:
    """NFKC in chunks, so a message of ligatures is cut at MAX_CHARS before it expands, not after."""
    parts: list[str] = []
    size = 0
    for begin in range(0, len(text), _FOLD_CHUNK):
        parts.append(unicodedata.normalize("NFKC", text[begin:begin + _FOLD_CHUNK]).casefold())
        size += len(parts[-1])
        if size >= MAX_CHARS:
            break
    text = "".join(parts)[:MAX_CHARS]
    text = INVISIBLE.sub("", text).translate(FOLDED)[:MAX_CHARS]  # each emoji becomes six characters: cut again
    return COMBINING.sub("", unicodedata.normalize("NFKD", text))


def normalise(text: str) -> str:
    """Canonical form: ' word word ' (see module docstring). Empty input gives '  '."""
    text = text[:MAX_CHARS]
    if not text.isascii():
        text = _fold_unicode(text)
    if "/" in text:
        text = SLASHED_SH.sub("sh", text)
    data = text.encode("ascii", "replace").translate(_FIRST_PASS, b"'`")
    if data.translate(None, _LETTERS_AND_SPACE):  # digits or symbols: maybe letters in disguise
        decoded = data.decode()
        if HAS_STAND_IN.search(decoded):
            data = MIXED_WORD.sub(_replace_stand_ins, decoded).encode()
        data = data.translate(_SYMBOLS_TO_SPACE)
    text = " " + _collapse_repeats(data.decode()).strip(" ") + " "
    if SPELLED_OUT.search(text):
        text = " " + " ".join(_join_spelled_out(text.split())) + " "
    return _read_scots(_spell(text))


def l_reading(text: str) -> str | None:
    """normalise(text) with each ambiguous "1" or "I" read as l, or None when there is none."""
    text = text[:MAX_CHARS]
    if not HAS_AMBIGUOUS_L.search(text):
        return None
    return normalise(AMBIGUOUS_L.sub(lambda match: "l" * len(match.group(0)), text))
