"""A topic's second stage: word weights that score a message no phrase or pattern caught.

Phrases and patterns are exact about wording, and people in distress say the same things in endless other words
("stop being a person", "the void is calling"). A logistic regression over a message's words and pairs of adjacent
words carries over to new wording better: trained on the tuning part of our own development set and judged on new
writers' batches, it found about a quarter of the wishes and thoughts of suicide the patterns missed, for a few
more ordinary messages flagged (docs/DECISIONS.md has the figures and why it is ours and not a registry model).

It only ever adds a match, and only where the words have said nothing either way: a message that names the writer
(I, me, my) or nobody else, with no match of the topic and nothing of the topic set aside as negated, laughed off,
about someone else or outranked by a longer phrase ("I'm not going to kill myself" stays a denial, "my friend is
suicidal" stays support). The words of the topic's exclusions found are left out of its score: they name everyday
look-alikes. It scores every such message, not only those with some of the topic's words: on new writers' batches
that found about a tenth more of their short crisis posts for no more ordinary ones flagged. It learns from what
is wished, not the wishing: the trainer leaves out words like "I", "wish" and "want" (bench/train_crisis_model.py).
A message is scored by its highest-scoring stretch of `window` words (half a window apart, over its first
MAX_WORDS): a long post sums too many words to stay calibrated, and the wish in it is usually said in a sentence or
two. Each distinct word and pair counts once in a stretch, as in training, where a long crisis post is learnt from
by its likeliest stretch, not its whole story (bench/train_crisis_model.py). Each stretch is one more chance for
everyday words to add up by chance ("I've tried moving the mirrors in every combination I can think of" in a post about
a game): a long message's bar rises with the number of its stretches beyond two. A topic names its model file in its
YAML (`model: crisis-model.json`, next to it); `bothy kb test` shows the score and the words that weighed most. The file
is JSON: threshold (and optionally wary_threshold, for long messages, wary_rise, how fast a long message's bar rises
with the number of its stretches, unnamed_threshold, for messages naming nobody, which it reads less surely, and
denied_threshold, for the words after a denial), window, bias, and weights for words and for pairs of adjacent words."""

from __future__ import annotations

import json
import math
import sys
from enum import IntEnum
from itertools import pairwise, repeat
from pathlib import Path
from typing import NamedTuple

from bots.referral.normalise import normalise

MAX_WEIGHTS = 100_000  # a file far larger than any trained one is a mistake, not a model
MAX_FILE_BYTES = 16 * 1024 * 1024  # checked before parsing: a huge file must not stall the event loop
MAX_WEIGHT = 100.0  # no trained weight comes near; beyond it, sums could overflow into infinities
MAX_WORDS = 2_000  # read of a message (about 10 KB): linear, and far more than any post says its wish in
MAX_RISE = 10.0  # of wary_rise: at it, a post of 2,000 words already needs a probability that rounds to 1


class ModelError(ValueError):
    """What is wrong with a model file, worded for `bothy kb check`."""


class Reading(IntEnum):
    """Which words are scored, from the surest reading to the least sure: the higher, the higher the bar."""

    WHOLE = 0  # a message (or what the phrases and patterns left of it) as written
    # The words left once a denial was set aside: after a question answered no, around a quote, after a denial said
    # after its match ("Suicide never crossed my mind. ..."), or before it and then a "but" ("I'm not suicidal but
    # ..."): most often an apology or how the writer is instead ("... No. I was just being dramatic, sorry everyone").
    LEFT = 1
    # The words after a denial said before its match, with no "but" ("I'm not going to kill myself, I've just deleted
    # my socials"): most often how the writer is instead, and the model's words for leaving and resting are everyday
    # ones there.
    AFTER_DENIAL = 2


class WordModel(NamedTuple):
    threshold: float  # the probability at or above which a message is a match
    window: int  # words scored together: a longer message is scored by its best stretch of this many
    bias: float
    words: dict[str, float]
    pairs: dict[tuple[str, str], float]
    # For messages read less surely, which may be asked for more (load_model: at least `threshold`; None: `threshold`):
    # one longer than `window` words, scored by the likeliest of its stretches, scores high by chance more often than a
    # short one; one that names nobody ("thinking about the lake on saturday") may not be about the writer at all.
    wary_threshold: float | None = None  # long messages, and short ones naming nobody unless unnamed_threshold is set
    unnamed_threshold: float | None = None  # short messages naming nobody
    # A long message's bar, in log-odds, is wary_threshold's plus wary_rise × ln(stretches / 2): the more stretches,
    # the likelier one of them scores high by chance.
    wary_rise: float = 0.0
    denied_threshold: float | None = None  # Reading.AFTER_DENIAL (None: wary_threshold)

    def threshold_for(self, words: list[str], writer_named: bool = True, reading: Reading = Reading.WHOLE) -> float:
        """The probability at or above which a message of these words is a match; `writer_named`: the writer is in
        it (I, me, my), not left unsaid; `reading`: whether these are the words left once a denial was set aside,
        read less surely."""
        wary = self.wary_threshold if self.wary_threshold is not None else self.threshold
        if reading is Reading.AFTER_DENIAL and self.denied_threshold is not None:
            wary = self.denied_threshold
        if reading:
            return max(wary, self.threshold_for(words, writer_named))
        if len(words) > self.window:
            count = len(stretch_starts(len(words), self.window))
            if not self.wary_rise or count <= 2:
                return wary
            return probability_of(math.log(wary / (1 - wary)) + self.wary_rise * math.log(count / 2))
        if not writer_named:
            for threshold in (self.unnamed_threshold, self.wary_threshold):
                if threshold is not None:
                    return threshold
        return self.threshold

    def probability(self, words: list[str]) -> float:
        """How likely the message (its normalised words) is the topic's, by the weights of its words and word pairs;
        for a long one, of its likeliest stretch."""
        if len(words) <= self.window and len(words) <= MAX_WORDS:  # most messages: one stretch, the whole
            return probability_of(self.bias + self._total(words))
        return probability_of(self.bias + max(map(self._total, stretches(words, self.window))))

    def weighed_most(self, words: list[str], count: int = 5) -> list[str]:
        """The words and pairs that pushed the score of the likeliest stretch up most, for `bothy kb test` (never
        for a log)."""
        stretch = max(stretches(words, self.window), key=self._total)
        weights = [(word, self.words.get(word, 0.0)) for word in set(stretch)]
        weights += [(f"{first} {second}", self.pairs.get((first, second), 0.0)) for first, second in
                    set(pairwise(stretch))]
        return [text for text, weight in sorted(weights, key=lambda item: -item[1])[:count] if weight > 0]

    def _total(self, words: list[str]) -> float:
        """Each distinct word and pair counted once, as in training: saying it twice is not twice as likely."""
        distinct = set(words)
        # Pairs repeat only where words do: in most messages none does, and the pairs need no set.
        pairs = pairwise(words) if len(distinct) == len(words) else set(pairwise(words))
        return sum(map(self.words.get, distinct, repeat(0.0))) + sum(map(self.pairs.get, pairs, repeat(0.0)))


def stretch_starts(length: int, window: int) -> tuple[int, ...]:
    """Where the stretches of a message of `length` words start: only at its start when it is no longer than a
    window, else every half window over its first MAX_WORDS, the last ending where they end."""
    last = min(length, MAX_WORDS) - window
    return (0,) if last <= 0 else (*range(0, last, max(1, window // 2)), last)


def stretches(words: list[str], window: int) -> list[list[str]]:
    """The words, or for a long message each stretch of `window` of its first MAX_WORDS (stretch_starts): as the
    model scores a message, and as the trainer reads a long crisis post."""
    words = words[:MAX_WORDS]
    return [words[start:start + window] for start in stretch_starts(len(words), window)]


def probability_of(total: float) -> float:
    """The logistic function, clamped so that no total overflows."""
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, total))))


def load_model(path: Path) -> WordModel:
    try:
        text = path.read_text(encoding="utf-8") if path.stat().st_size <= MAX_FILE_BYTES else None
    except OSError as error:
        raise ModelError(f"cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise ModelError("is not UTF-8 text") from None
    if text is None:
        raise ModelError(f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep to parse
        raise ModelError(f"is not valid JSON ({error if isinstance(error, ValueError) else 'nested too deep'})") \
            from None
    if not isinstance(data, dict):
        raise ModelError("must be a JSON object with threshold, window, bias, words and pairs")
    threshold, window, bias = _number(data.get("threshold")), data.get("window"), _number(data.get("bias"))
    if threshold is None or not 0.5 <= threshold < 1:
        raise ModelError("threshold must be a probability from 0.5 to below 1")
    if "long_threshold" in data:  # a file from before the rename must not lose its threshold without a word
        raise ModelError("long_threshold is now called wary_threshold (it also applies to messages naming nobody)")
    wary_threshold = _number(data.get("wary_threshold", threshold))
    if wary_threshold is None or not threshold <= wary_threshold < 1:
        raise ModelError("wary_threshold must be from threshold to below 1")
    unnamed_threshold = _number(data.get("unnamed_threshold", wary_threshold))
    if unnamed_threshold is None or not threshold <= unnamed_threshold < 1:
        raise ModelError("unnamed_threshold must be from threshold to below 1")
    denied_threshold = _number(data.get("denied_threshold", wary_threshold))
    if denied_threshold is None or not wary_threshold <= denied_threshold < 1:
        raise ModelError("denied_threshold must be from wary_threshold to below 1")
    wary_rise = _number(data.get("wary_rise", 0.0))
    if wary_rise is None or not 0 <= wary_rise <= MAX_RISE:
        raise ModelError(f"wary_rise must be a number from 0 to {MAX_RISE:g}")
    if not isinstance(window, int) or isinstance(window, bool) or window < 2:
        raise ModelError("window must be a whole number of words, at least 2")
    if bias is None:
        raise ModelError("bias must be a number")
    words, pairs = data.get("words"), data.get("pairs")
    if not isinstance(words, dict) or not isinstance(pairs, dict):
        raise ModelError("words and pairs must be objects of weights")
    if len(words) + len(pairs) > MAX_WEIGHTS:
        raise ModelError(f"has more than {MAX_WEIGHTS} weights")
    if any(_number(weight) is None for weight in (*words.values(), *pairs.values())):
        raise ModelError("every weight must be a number")
    # Read as the matcher reads messages ("calling" is "caling"): a weight written by hand still meets its word. Each
    # word is kept once, however many pairs it is in (interned: some 25,000 pairs share a few thousand words).
    read = {key: [*map(sys.intern, normalise(key).split())] for key in (*words, *pairs)}
    if any(len(read[word]) != 1 for word in words) or any(len(read[pair]) != 2 for pair in pairs):
        raise ModelError("words must be single words and pairs two words separated by a space")
    word_weights: dict[str, float] = {}
    for word, weight in words.items():
        word_weights[read[word][0]] = word_weights.get(read[word][0], 0.0) + float(weight)
    pair_weights: dict[tuple[str, str], float] = {}
    for pair, weight in pairs.items():
        key = (read[pair][0], read[pair][1])
        pair_weights[key] = pair_weights.get(key, 0.0) + float(weight)
    if any(abs(weight) > MAX_WEIGHT for weight in (bias, *word_weights.values(), *pair_weights.values())):
        raise ModelError(f"bias and weights must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}")
    return WordModel(threshold, window, bias, word_weights, pair_weights, wary_threshold, unnamed_threshold, wary_rise,
                     denied_threshold)


def _number(value: object) -> float | None:
    """A JSON number as a float; None for anything else (true and false included, and infinities)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)  # an integer of 400 digits overflows here
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
