"""A topic's second stage: word weights that score a short message no phrase or pattern caught.

Phrases and patterns are exact about wording, and people in distress say the same things in endless other
words ("stop being a person", "the void is calling"). A logistic regression over a message's words and pairs of
adjacent words carries over to new wording better: trained on the tuning part of our own development set and
judged on new writers' batches, it found about a third of the crisis posts the patterns missed, for a few more
ordinary messages flagged (docs/DECISIONS.md has the figures and why it is ours and not a registry model).

It only ever adds a match, and only where the words have said nothing either way: a message with some of the
topic's words (a phrase or a pattern's anchor was found) but no match of the topic, and nothing of the topic set
aside as negated, laughed off, excluded, about someone else or outranked by a longer phrase ("I'm not going to
kill myself" stays a denial, "my friend is suicidal" stays support). A message is scored by its highest-scoring
stretch of `window` words (half a window apart): a long post sums too many words to stay calibrated, and the
wish in it is usually said in a sentence or two. A topic names its model file in its YAML (`model:
crisis-model.json`, next to it); `bothy kb test` shows the score and the words that weighed most. The file is
JSON: threshold, window, bias, and weights for words and for pairs of adjacent words.
"""

from __future__ import annotations

import json
import math
from itertools import accumulate, pairwise, repeat
from pathlib import Path
from typing import NamedTuple

from bots.referral.normalise import normalise

MAX_WEIGHTS = 100_000  # a file far larger than any trained one is a mistake, not a model


class ModelError(ValueError):
    """What is wrong with a model file, worded for `bothy kb check`."""


class WordModel(NamedTuple):
    threshold: float  # the probability at or above which a message is a match
    window: int  # words scored together: a longer message is scored by its best stretch of this many
    bias: float
    words: dict[str, float]
    pairs: dict[tuple[str, str], float]

    def probability(self, normalised: str) -> float:
        """How likely the normalised message is the topic's, by the weights of its words and word pairs; for a
        long one, of its likeliest stretch. Linear in its length: each weight is looked up once."""
        words = normalised.split()
        singles = map(self.words.get, words, repeat(0.0))
        doubles = map(self.pairs.get, pairwise(words), repeat(0.0))
        if len(words) <= self.window:
            total = sum(singles) + sum(doubles)
        else:  # running sums: a stretch's total is a difference of two
            single_sums, double_sums = [0.0, *accumulate(singles)], [0.0, *accumulate(doubles)]
            total = max(single_sums[start + self.window] - single_sums[start]
                        + double_sums[start + self.window - 1] - double_sums[start]
                        for start in range(0, len(words) - self.window + 1, max(1, self.window // 2)))
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, self.bias + total))))

    def weighed_most(self, normalised: str, count: int = 5) -> list[str]:
        """The words and pairs that pushed the score up most, for `bothy kb test` (never for a log)."""
        words = normalised.split()
        weights = {word: self.words.get(word, 0.0) for word in words}
        weights.update({f"{first} {second}": self.pairs.get((first, second), 0.0)
                        for first, second in pairwise(words)})
        ranked = sorted((item for item in weights.items() if item[1] > 0), key=lambda item: -item[1])
        return [text for text, _ in ranked[:count]]


def load_model(path: Path) -> WordModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelError(f"cannot be read ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ModelError(f"is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ModelError("must be a JSON object with threshold, window, bias, words and pairs")
    threshold, window, bias = _number(data.get("threshold")), data.get("window"), _number(data.get("bias"))
    if threshold is None or not 0.5 <= threshold < 1:
        raise ModelError("threshold must be a probability from 0.5 to below 1")
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
    # Read as the matcher reads messages ("calling" is "caling"): a weight written by hand still meets its word.
    read = {key: normalise(key).split() for key in (*words, *pairs)}
    if any(len(read[word]) != 1 for word in words) or any(len(read[pair]) != 2 for pair in pairs):
        raise ModelError("words must be single words and pairs two words separated by a space")
    word_weights: dict[str, float] = {}
    for word, weight in words.items():
        word_weights[read[word][0]] = word_weights.get(read[word][0], 0.0) + float(weight)
    pair_weights: dict[tuple[str, str], float] = {}
    for pair, weight in pairs.items():
        key = (read[pair][0], read[pair][1])
        pair_weights[key] = pair_weights.get(key, 0.0) + float(weight)
    return WordModel(threshold, window, bias, word_weights, pair_weights)


def _number(value: object) -> float | None:
    """A JSON number as a float; None for anything else (true and false included, and infinities)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
