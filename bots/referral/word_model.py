"""A topic's second stage: word weights that score a short message no phrase or pattern caught.

Phrases and patterns are exact about wording, and people in distress say the same things in endless other
words ("stop being a person", "the void is calling"). A logistic regression over a message's words and pairs of
adjacent words carries over to new wording better: trained on the tuning part of our own development set and
judged on new writers' batches, it found about a third of the crisis posts the patterns missed, for a few more
ordinary messages flagged (docs/DECISIONS.md has the figures and why it is ours and not a registry model).

It only ever adds a match, and only where the words have said nothing either way: a short message (the weights
know nothing of who or when, and a long post sums too many words to stay calibrated) with no match of the topic
and nothing of the topic set aside as negated, laughed off, excluded, about someone else or outranked by a
longer phrase ("I'm not going to kill myself" stays a denial, "my friend is suicidal" stays support). A topic
names its model file in its YAML (`model: crisis-model.json`, next to it); `bothy kb test` shows the score and
the words that weighed most. The file is JSON: threshold, max_chars, bias, and weights for words and for pairs.
"""

from __future__ import annotations

import json
import math
from itertools import pairwise, repeat
from pathlib import Path
from typing import NamedTuple

from bots.referral.normalise import normalise

MAX_WEIGHTS = 100_000  # a file far larger than any trained one is a mistake, not a model


class ModelError(ValueError):
    """What is wrong with a model file, worded for `bothy kb check`."""


class WordModel(NamedTuple):
    threshold: float  # the probability at or above which a message is a match
    max_chars: int  # longer messages are left to phrases and patterns
    bias: float
    words: dict[str, float]
    pairs: dict[tuple[str, str], float]

    def probability(self, normalised: str) -> float:
        """How likely the normalised message is the topic's, by the weights of its words and word pairs."""
        words = normalised.split()
        total = self.bias + sum(map(self.words.get, words, repeat(0.0)))
        total += sum(map(self.pairs.get, pairwise(words), repeat(0.0)))
        return 1 / (1 + math.exp(-max(-50.0, min(50.0, total))))

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
        raise ModelError("must be a JSON object with threshold, max_chars, bias, words and pairs")
    threshold, max_chars, bias = _number(data.get("threshold")), data.get("max_chars"), _number(data.get("bias"))
    if threshold is None or not 0.5 <= threshold < 1:
        raise ModelError("threshold must be a probability from 0.5 to below 1")
    if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
        raise ModelError("max_chars must be a whole number of characters, at least 1")
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
    return WordModel(threshold, max_chars, bias, word_weights, pair_weights)


def _number(value: object) -> float | None:
    """A JSON number as a float; None for anything else (true and false included, and infinities)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
