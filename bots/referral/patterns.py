"""Phrase patterns: short templates for what people write in many forms ("wanted so badly to die").

A pattern is words separated by spaces, with four additions:
- `want{,s,ed,ing}`: the word with each ending (want, wants, wanted, wanting), as in a shell;
- `(end|ending|put an end to)`: one of several words or runs of words; an empty choice, or a `?` after the
  brackets, makes it optional: `(just|)` and `(just)?` are the same;
- `[0-3]` (or `[2]`): a gap of 0 to 3 (or exactly 2) words of any kind, at most MAX_GAP, never at either end.
  `[0]` matches no words: it only splits a long template so that the words on each side are expanded apart
  (at most MAX_FORMS forms between gaps) and the rarer side becomes the anchor;
- `<name>`: one of the topic's `word_lists` (kb.py), as if its words were written out in brackets; `<name>?`
  makes it optional, `<one|other>` is either list. One list of ways to say "want to" and one of ways to say
  "die" cover every pairing of them, including pairings nobody thought to write down, which is how patterns
  carry over to new wording.

Between gaps, the words expand into plain runs ("forms"), normalised like phrases. The part whose shortest
form is longest is the anchor: its forms go into the matcher's Aho-Corasick automaton beside the phrases,
so finding candidates costs the same whatever the size of the knowledge base. Only where an anchor occurs
are the words on either side checked against the rest of the pattern, a bounded number of words each way.

A negation inside a gap ("i never thought about ending it") negates the match, as one just before it does;
the matcher prefers a reading of the words with no negation in its gaps.

A pattern that starts with `[cue:GROUP]` is a cue: too common to count on its own ("I've made my decision",
"thank you for everything", "I feel calm"), it counts only when cues of at least two different groups are found
in the same message, which is how a goodbye post or a settled plan usually reads. A group written with a star,
`[cue:gone*]`, also meets itself: two different cues of it count ("I should have died out there" and "I was
disappointed I woke up"), while two farewells ("thank you for everything", "look after each other") are
someone leaving the group. `bothy kb test` then shows the cues that met.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bots.referral.normalise import normalise

MAX_GAP = 5
MAX_FORMS = 512  # per part between gaps: a typo in braces should not build a huge automaton
MIN_ANCHOR_CHARS = 4  # the anchor is looked up in every message: "i" or "to" would match nearly all of them
MAX_WORD_CHARS = 24  # words read around an anchor: a longer word ends the window (no pattern word is as long)
TOKEN = re.compile(r"\s*(?:\((?P<group>[^()]*)\)(?P<optional>\?)?|\[(?P<gap>[^\[\]]*)\]|(?P<word>[^\s()\[\]]+))")
WORD = re.compile(r"(?P<stem>[^{}]*)(?:\{(?P<endings>[^{}]*)\}(?P<rest>[^{}]*))?")
GAP = re.compile(r"(\d+)(?:-(\d+))?")
CUE = re.compile(r"\s*\[cue(?::(?P<group>[a-z-]*)(?P<twice>\*)?)?\]")
WORD_LIST = re.compile(r"<(?P<name>[^<>]*)>")
WORD_LIST_NAME = re.compile(r"[a-z][a-z0-9-]*")
NOT_IN_A_WORD_LIST = re.compile(r"[()\[\]|<>]")


class PatternError(ValueError):
    """What is wrong with a pattern, worded for `bothy kb check`."""


@dataclass(frozen=True)
class Step:
    """Going outwards from the anchor: a gap of gap_min to gap_max words, then one of these forms."""
    gap_min: int
    gap_max: int
    forms: frozenset[tuple[str, ...]]
    lengths: tuple[int, ...]  # of the forms, longest first
    # The lengths of the forms starting with each word, longest first: the only ones worth trying where it is. Most
    # places are ruled out by one lookup.
    lengths_from: dict[str, tuple[int, ...]] = field(compare=False)
    # (0,) if it has the empty form, so it matches wherever it is, whatever word comes next (tried after the others);
    # else ().
    empty_form: tuple[int, ...]

    @property
    def reach(self) -> int:
        return self.gap_max + self.lengths[0]

    def lengths_at(self, words: tuple[str, ...], at: int) -> tuple[int, ...]:
        """The form lengths worth trying at words[at], longest first, then the empty form's if it has one: "(so
        tired)? done" still skips its optional words at "so done"."""
        return self.lengths_from.get(words[at], ()) + self.empty_form if at < len(words) else self.empty_form


@dataclass(frozen=True)
class Pattern:
    text: str
    anchors: frozenset[tuple[str, ...]]
    left: tuple[Step, ...]  # forms read right to left
    right: tuple[Step, ...]
    left_reach: int  # words that may belong to the match on each side of the anchor
    right_reach: int
    cue: str | None = None  # the cue's group: counts only beside a cue of another group
    cue_twice: bool = False  # or beside another cue of its own group

    def anchor_keys(self) -> list[str]:
        """The anchor's forms as automaton keys: normalised text, a space at each end."""
        return sorted(f" {' '.join(form)} " for form in self.anchors)

    def match_at(self, normalised: str, start: int, end: int,
                 negations: frozenset[str]) -> tuple[int, int, str | None] | None:
        """The whole pattern around an anchor found at [start, end) in the normalised text, if it is there: its start,
        end and any negation found in one of its gaps (a plain tuple, built for every pattern found)."""
        left_words = _words_before(normalised, start - 1, self.left_reach) if self.left else ()
        left = _match_side(left_words, self.left, negations)
        if left is None:
            return None
        right_words = _words_after(normalised, end + 1, self.right_reach) if self.right else ()
        right = _match_side(right_words, self.right, negations)
        if right is None:
            return None
        left_used, right_used = left[0], right[0]  # words, each with the space before or after it
        return (start - sum(map(len, left_words[:left_used])) - left_used,
                end + sum(map(len, right_words[:right_used])) + right_used, left[1] or right[1])


def check_word_list(name: str, words: list[str]) -> str | None:
    """What is wrong with a word list, worded for `bothy kb check`, or None."""
    if WORD_LIST_NAME.fullmatch(name) is None:
        return f"a word list's name is lowercase letters, digits and hyphens, not {name!r}"
    if not words:
        return f"word list {name!r} is empty"
    for choice in words:
        if NOT_IN_A_WORD_LIST.search(choice) or not choice.strip():
            return f"word list {name!r}: {choice!r} must be plain words (no brackets, bars or gaps)"
    return None


def compile_pattern(text: str, word_lists: Mapping[str, Sequence[str]] | None = None) -> Pattern:
    """The pattern, ready to match, or PatternError saying what is wrong with it; `<name>` is a word list."""
    written = text
    text = WORD_LIST.sub(lambda used: _written_out(used["name"], word_lists or {}), text)
    parts: list[list[tuple[str, ...]] | tuple[int, int]] = []
    position = 0
    cue = CUE.match(text)
    if cue is not None:
        if not cue["group"]:
            raise PatternError("a cue names its group: [cue:farewell], [cue:decided], ...")
        position = cue.end()
    while position < len(text.rstrip()):
        token = TOKEN.match(text, position)
        if token is None or token.end() == position:
            raise PatternError(f"cannot read {text[position:].strip()[:20]!r}: brackets must pair up, not nest")
        position = token.end()
        if token["gap"] is not None:
            parts.append(_gap(token["gap"], parts))
            continue
        if token["group"] is not None:
            choices = [_expand_words(choice) for choice in token["group"].split("|")]
            forms = [form for choice in choices for form in choice]
            if token["optional"]:
                forms.append(())
        else:
            forms = _expand_words(token["word"])
        if parts and isinstance(parts[-1], list):  # words next to words: one part, every combination
            parts[-1] = _combine(parts[-1], forms)
        else:
            parts.append(forms)
    if not parts:
        raise PatternError("nothing to match")
    if isinstance(parts[0], tuple) or isinstance(parts[-1], tuple):
        raise PatternError("a gap must have words on both sides")
    segments = [_normalised_forms(part) for part in parts if isinstance(part, list)]
    gaps = [part for part in parts if isinstance(part, tuple)]
    shortest = [min(len("".join(form)) for form in segment) for segment in segments]
    anchor = max(range(len(segments)), key=lambda i: (shortest[i], i))  # on a tie the later: usually the object
    if shortest[anchor] < MIN_ANCHOR_CHARS:
        raise PatternError(f"needs a part of at least {MIN_ANCHOR_CHARS} letters in every match, to find it by")
    left = tuple(_step(gaps[i], frozenset(tuple(reversed(f)) for f in segments[i])) for i in range(anchor - 1, -1, -1))
    right = tuple(_step(gaps[i - 1], segments[i]) for i in range(anchor + 1, len(segments)))
    return Pattern(written, segments[anchor], left, right, sum(s.reach for s in left),
                   sum(s.reach for s in right), cue["group"] if cue is not None else None,
                   cue is not None and cue["twice"] is not None)


def _written_out(names: str, word_lists: Mapping[str, Sequence[str]]) -> str:
    """`<a>` as `(...|...)`; `<a|b>` is either list, as one part (one anchor to look for, not two)."""
    choices: list[str] = []
    for name in names.split("|"):
        if name not in word_lists:
            known = ", ".join(f"<{known}>" for known in sorted(word_lists)) or "none"
            raise PatternError(f"no word list <{name}> in this topic (its word lists: {known})")
        choices.extend(word_lists[name])
    return "(" + "|".join(choices) + ")"


def _gap(spec: str, parts: list) -> tuple[int, int]:
    bounds = GAP.fullmatch(spec.strip())
    if bounds is None:
        raise PatternError(f"a gap is [N] or [N-M] words, not [{spec}]")
    low = int(bounds[1])
    high = int(bounds[2]) if bounds[2] is not None else low
    if low > high or high > MAX_GAP:
        raise PatternError(f"a gap of [{spec}] words: it must be from N to M words, M at most {MAX_GAP}")
    if parts and isinstance(parts[-1], tuple):
        raise PatternError("two gaps in a row: write one")
    return low, high


def _expand_words(choice: str) -> list[tuple[str, ...]]:
    """'want{,s} to' -> [('want', 'to'), ('wants', 'to')]; an empty choice is the empty form."""
    forms: list[tuple[str, ...]] = [()]
    for word in choice.split():
        parsed = WORD.fullmatch(word)
        if parsed is None:
            raise PatternError(f"cannot read {word!r}: one {{...}} of endings per word")
        if parsed["endings"] is None:
            spellings = [word]
        else:
            spellings = [parsed["stem"] + ending.strip() + parsed["rest"] for ending in parsed["endings"].split(",")]
        forms = _combine(forms, [(spelling,) for spelling in spellings])
    return forms


def _combine(before: list[tuple[str, ...]], after: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    if len(before) * len(after) > MAX_FORMS:
        raise PatternError(f"expands to more than {MAX_FORMS} forms between two gaps; split it into patterns")
    return [a + b for a, b in itertools.product(before, after)]


def _normalised_forms(forms: list[tuple[str, ...]]) -> frozenset[tuple[str, ...]]:
    result = set()
    for form in forms:
        words = tuple(map(sys.intern, normalise(" ".join(form)).split()))  # kept once: forms share most words
        if form and not words:
            raise PatternError(f"{' '.join(form)!r} has no letters or digits left to match")
        if any(len(word) > MAX_WORD_CHARS for word in words):
            raise PatternError(f"{' '.join(form)!r} has a word longer than {MAX_WORD_CHARS} letters")
        result.add(words)
    return frozenset(result)


def _step(gap: tuple[int, int], forms: frozenset[tuple[str, ...]]) -> Step:
    lengths_from: dict[str, set[int]] = {}
    for form in forms:
        if form:
            lengths_from.setdefault(form[0], set()).add(len(form))
    return Step(gap[0], gap[1], forms, tuple(sorted({len(form) for form in forms}, reverse=True)),
                {word: tuple(sorted(lengths, reverse=True)) for word, lengths in lengths_from.items()},
                (0,) if () in forms else ())


def _words_before(normalised: str, end: int, count: int) -> tuple[str, ...]:
    """Up to `count` words ending at `end` (a space), nearest first, reading a bounded stretch of text."""
    begin = max(0, end - count * (MAX_WORD_CHARS + 1))
    words = normalised[begin:end].split()
    if begin > 0 and normalised[begin - 1] != " " and words:
        del words[0]  # cut through a word
    return tuple(words[:-count - 1:-1])


def _words_after(normalised: str, begin: int, count: int) -> tuple[str, ...]:
    """Up to `count` words starting at `begin`, nearest first, reading a bounded stretch of text."""
    end = min(len(normalised), begin + count * (MAX_WORD_CHARS + 1))
    words = normalised[begin:end].split()
    if end < len(normalised) and normalised[end] != " " and words:
        del words[-1]
    return tuple(words[:count])


def _match_side(words: tuple[str, ...], steps: tuple[Step, ...],
                negations: frozenset[str]) -> tuple[int, str | None] | None:
    """Words used by the steps, and a negation in their gaps; a reading with no negation is preferred."""
    if not steps:
        return 0, None
    if len(steps) == 1:  # most patterns: the same search without the stack, which every anchor check pays for
        return _match_step(words, steps[0], negations)
    negated: tuple[int, str | None] | None = None
    stack: list[tuple[int, int, str | None]] = [(0, 0, None)]  # step, words used, negation so far
    while stack:
        index, used, negation = stack.pop()
        if index == len(steps):
            if negation is None:
                return used, None
            negated = negated or (used, negation)
            continue
        step = steps[index]
        found = []
        for gap in range(step.gap_min, step.gap_max + 1):
            if used + gap > len(words):
                break
            gap_negation = negation or (gap and next((w for w in words[used:used + gap] if w in negations), None)) \
                or None
            at = used + gap
            for length in step.lengths_at(words, at):
                if at + length <= len(words) and words[at:at + length] in step.forms:
                    found.append((index + 1, at + length, gap_negation))
        stack.extend(reversed(found))  # shortest gap, longest form first
    return negated


def _match_step(words: tuple[str, ...], step: Step, negations: frozenset[str]) -> tuple[int, str | None] | None:
    """_match_side for one step: shortest gap and longest form first, a reading with no negation preferred."""
    negated: tuple[int, str | None] | None = None
    for gap in range(step.gap_min, min(step.gap_max, len(words)) + 1):
        for length in step.lengths_at(words, gap):
            if gap + length <= len(words) and words[gap:gap + length] in step.forms:
                gap_negation = next((word for word in words[:gap] if word in negations), None) if gap else None
                if gap_negation is None:
                    return gap + length, None
                negated = negated or (gap + length, gap_negation)
    return negated
