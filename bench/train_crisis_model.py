"""Trains the crisis topic's word model (bots/referral/word_model.py) and writes referral_kb/crisis-model.json.

Not a benchmark: it learns from the tuning part of the development set that bench/referral_quality.py judges on
its held-back part, so the held-back figures stay a fair measure. Only our own set is used (written by the team
and by independent writers for Bothy; no real person's words and no third-party corpus). Logistic regression
over a message's normalised words and pairs of adjacent words, by plain stochastic gradient descent in a fixed
order from a fixed seed: the same set always gives the same file, and a change to the set shows in its diff.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from itertools import pairwise

from bench.referral_quality import ROOT, dev_files, load_dev_set, part
from bench.report import parser
from bots.referral.normalise import normalise
from bots.referral.word_model import probability_of, stretches

OUT = ROOT / "referral_kb" / "crisis-model.json"
MIN_MESSAGES = 3  # a word or pair in fewer tuning messages than this is one writer's, not a way people write
EPOCHS = 15
LEARNING_RATE = 0.1
# Chosen with THRESHOLD on new writers' batches left out of training in turn: at 1e-4 the weights learnt everyday
# words from the crisis half of the set ("either", "sure", "garage", "three times") and ordinary forum posts, long ones
# most, were flagged for them; 3e-3 with a lower threshold finds as many crisis posts for fewer (docs/DECISIONS.md).
L2 = 3e-3
SEED = 1
# The model is the average of every step's weights over the last epochs, not the last step's. With a steady learning
# rate the last step's weights carry the last few hundred messages seen, so shuffling in another order moved the bias
# by as much as 0.2 and held-back short crisis posts found by a point (0.913 to 0.922 with seeds 1 to 3): what earlier
# sessions read as a batch making the model "bolder" or "warier" was largely that. Averaged, seeds 1 to 3 give a bias
# of -0.900 to -0.904 and the same figures within a few messages (docs/DECISIONS.md, twenty-eighth session).
AVERAGED_EPOCHS = 5
KEPT_WEIGHT = 0.05  # smaller weights barely move a score: left out of the file
# Chosen on new writers' batches, each left out of training in turn. With batch 91 (150 crisis posts about means) the
# model is bolder (bias -1.24 -> -1.02): on batches 1 to 91 left out in turn 0.66 found 98 more of 17,071 short crisis
# posts than 0.70 for 23 more of 10,777 ordinary posts and 11 more of 8,007 denials flagged ("I'm going to jump in the
# shower" at 0.66); the ordinary rate is already over the goal on our set, so 0.70 (docs/DECISIONS.md). With batch 95a
# (everyday talk of dwelling: "I keep thinking about that goal from 1999", 35 of 300 flagged by the model alone) the
# model is warier (bias -1.04 -> -1.17) and 0.66 finds on batches 86 to 95b left out in turn 17 more of 1,626 short
# crisis posts than 0.70 for 4 more of 1,366 ordinary posts and 1 more of 1,709 denials flagged; on the held-back part
# it flags fewer ordinary posts than the old model at 0.70 and finds more crisis posts (docs/DECISIONS.md). With
# batches 96b to 100b (bias -1.17 -> -1.06, back and forth as they joined) 0.66 still: on batches 86 to 100b left out
# in turn it finds 26 more of 2,933 short crisis posts than 0.70 for 11 more of 2,287 ordinary posts flagged (0.60: 19
# more found, 11 more flagged). With a long crisis post learnt from by its likeliest stretch (readings) and batches
# 99a to 101b, 0.66 still: on batches 84 and 86 to 101b left out in turn, 27 more of 3,299 short crisis posts than 0.70
# for 5 more of 2,878 ordinary posts and 2 more of 3,052 denials flagged. With batches 103b and 103c (recovery-group
# and older members' troubles in heavy words) the model is bolder (bias -0.89 -> -0.79): 0.69 keeps the held-back
# ordinary rate where it was (0.028) and finds 8 more of 6,212 held-back short crisis posts; 0.66 found 23 more than
# 0.69 for 5 more of 4,744 ordinary posts flagged, "i cant hold on much longer, need the loo" among them. With batches
# 103d and 103e (younger members', long-term conditions') the model is warier (bias -0.79 -> -0.85): at 0.68, against
# the model before them at 0.69, 12 fewer of 6,242 held-back short crisis posts found, 5 fewer of 4,789 ordinary posts
# and 4 fewer of the recovery batches' 521 everyday troubles flagged; 0.66 and 0.67 found 19 and 6 more than 0.68 for
# 6 more ordinary posts flagged, and flagged "I owe money to everyone" (0.67) of the labelled set.
# With batch 104a (a mixed week on forums) the model is warier again (bias -0.85 -> -0.90): 0.68 still; against the
# model before it, 12 fewer of 6,274 held-back short crisis posts found and 6 fewer of 4,847 ordinary posts flagged;
# 0.67 found 11 more than 0.68 for 3 more flagged, and "I owe money to everyone" (0.678) again. With batches 105a to
# 105c (first posts on help forums, long posts, and everyday plans told as "I'm going to ...", 42 of 350 of which the
# model took for intent: the pair "im going" weighed 1.30) it is bolder (bias -0.90 -> -0.79): 0.71 keeps "I owe money
# to everyone" (0.700) unflagged and, against the model before them, finds 8 more of 6,360 held-back short crisis
# posts and 6 more of 841 long, and flags 11 fewer of 5,047 ordinary posts; 0.68 found 28 more than 0.71 for 9 more
# ordinary posts flagged, and flagged it.
# Averaged (twenty-eighth session), the model's scores are less extreme and every bar was chosen again on batches 94a
# to 106a each left out of training in turn (23 trainings, 3,115 short crisis posts, 867 long, 4,141 ordinary,
# 2,211 denials), against the last model's bars there (0.71, 0.96, 0.85: 2,806, 824, 152, 138 and 82 of 1,846 support
# and practical posts taken for crisis): at 0.70, 0.92 and 0.80, 2,817, 833, 161, 139 and 87, so 11 more short and 9
# more long crisis posts found for 9 more ordinary posts, 1 more denial and 5 more support and practical posts flagged.
# 0.68 found 7 more short than 0.70 for 4 more ordinary (the labelled set's "I owe money to everyone" scores 0.61).
THRESHOLD = 0.70
WINDOW = 50  # words: about a short post; a long one is scored by its best stretch (chosen as THRESHOLD was)
# For messages read less surely. A long post's best stretch of several scores high by chance more often: above
# THRESHOLD but under this were 4 of the 23 long non-crisis posts flagged in the tuning part, for 4 of 580 long crisis
# posts found (held-back part: 6 of 23, for 1 of 238). A message naming nobody may be about anyone: on new writers'
# batches left out of training in turn, this kept their ordinary messages flagged as they were (docs/DECISIONS.md).
# (Twenty-eighth session, the model averaged: 0.92, against 0.96 on the left-out batches about 8 more of 867 long crisis
# posts found for 11 more of 4,141 ordinary posts flagged. A reviewer's "Do I want to die? Nah. The void is calling me
# and I can't hold on much longer." scores 0.918 after the answer, as "Do I want to die? No. I was just being dramatic,
# sorry everyone." does: this bar keeps the apology unflagged, and misses that.)
WARY_THRESHOLD = 0.92
# ... and higher the more stretches a long post has (log-odds + WARY_RISE × ln(stretches / 2)): each is another
# chance. Long posts from unrelated forums (batch 83: a half marathon, an insurance claim, knitting, learning Rust) were
# flagged by one stretch of everyday words at 0.96 to 0.99. With 44 batches each left out of training in turn, 1.25
# flagged 9 fewer of their 1,169 long ordinary posts and 8 fewer of batch 83's 150, for 12 fewer of 1,590 long crisis
# posts found (docs/DECISIONS.md). Since long crisis posts are learnt from by their likeliest stretch, 0.96 and 1.25
# still: 0.94 found 7 more of 842 long crisis posts for 5 more of 635 long ordinary posts flagged (left out in turn).
WARY_RISE = 1.25
# A short message that names nobody ("want to die", "so done with everything"): people leave the I out, and with each
# of batches 44 to 55 left out of training in turn, 0.85 found 23 more of their 2,003 short crisis posts than 0.96
# did, for 2 more of 2,568 ordinary posts flagged and 1 more of 1,264 denials (docs/DECISIONS.md).
# (Twenty-eighth session, the model averaged: 0.80 found 16 more of 3,115 short crisis posts than 0.85 on the batches
# left out in turn, for 4 more of 4,141 ordinary posts flagged.)
UNNAMED_THRESHOLD = 0.80
# The words after a denial said before its match with no "but" ("I'm not going to kill myself, I've just deleted my
# socials"): read at WARY_THRESHOLD, a red team's denials ending in everyday words for leaving and resting were
# flagged (2 more of 270 natural ones, 10 more of 25 written against the model); at 0.985 none of the 270, 3 of the
# 25, for 1 fewer of their 118 crises told after a denial found (94 against 78 before the words after a denial were
# read) and, on the dev set, the same 12 more held-back crisis posts found, 2 fewer held-back denials flagged and 3
# fewer of 22 more tuning crisis posts found (docs/DECISIONS.md).
DENIED_THRESHOLD = 0.985


# Words that say how, not what: "I wish it would rain" and "I wish I was dead" share them. Learnt from, they made
# every short "I wish..." look like a wish to be dead; left out (alone, and in pairs of two of them), the weights
# go to what is wished. The frames themselves are the patterns' work.
FRAME_WORDS = frozenset(normalise(
    "i im ive id ill me my myself you your it its a an the to and or but so of in on at for with is was be been am are"
    " were would could should will just really that this wish wished wishing want wanted wanna wants hope hoping hoped"
    " happily gladly"
    " like get got have had do did dont not no can cant all about what if when then there they we he she them lol up"
    " out as from by some any"
    # and words that name two things: a relapse into drink is no crisis, one into self-harm is (patterns tell them)
    " relapse relapsed relapsing").split())


def features(words: list[str]) -> set[str]:
    return {*(word for word in words if word not in FRAME_WORDS),
            *(f"{first} {second}" for first, second in pairwise(words)
              if first not in FRAME_WORDS or second not in FRAME_WORDS)}


def readings(text: str, crisis: bool) -> list[set[str]]:
    """What is learnt from a message: its features; for a long crisis post, those of each stretch the model scores it
    by, of which training learns from the likeliest. Learnt whole, a long crisis post taught the model that its story
    (the commute, the landlord, Tuesday) was crisis talk, and long everyday posts were flagged for a stretch of it.
    The likeliest is most often where the crisis is said, in words learnt from short posts; where it is said in words
    the model does not know yet, the story's stretch may be learnt from instead, as it would have been whole."""
    words = normalise(text).split()
    if crisis and len(words) > WINDOW:
        return [features(stretch) for stretch in stretches(words, WINDOW)]
    return [features(words)]


def train(examples: list[tuple[list[set[str]], int]]) -> tuple[float, dict[str, float]]:
    """Each example is its readings (one, or a long crisis post's stretches) and its label."""
    seen = Counter(feature for found, _ in examples for feature in set().union(*found))
    vocabulary = {feature for feature, count in seen.items() if count >= MIN_MESSAGES}
    weights = dict.fromkeys(sorted(vocabulary), 0.0)
    bias = 0.0
    order = [([sorted(each & vocabulary) for each in found], label) for found, label in examples]
    rng = random.Random(SEED)

    def total(found: list[str]) -> float:
        return sum(weights[feature] for feature in found)

    # The average of every step's weights over the last AVERAGED_EPOCHS, kept lazily: after T steps it is the weights
    # less (1/T) x the sum of each step's change times the steps before it.
    steps, bias_lag, weight_lags = 0, 0.0, dict.fromkeys(weights, 0.0)
    for epoch in range(EPOCHS):
        rng.shuffle(order)
        averaging = epoch >= EPOCHS - AVERAGED_EPOCHS
        for each_found, label in order:
            found = each_found[0] if len(each_found) == 1 else max(each_found, key=total)
            error = probability_of(bias + total(found)) - label
            bias -= LEARNING_RATE * error
            if averaging:
                bias_lag -= steps * LEARNING_RATE * error
            for feature in found:
                change = -LEARNING_RATE * (error + L2 * weights[feature])
                weights[feature] += change
                if averaging:
                    weight_lags[feature] += steps * change
            steps += averaging
    return (bias - bias_lag / steps,
            {feature: weight - weight_lags[feature] / steps for feature, weight in weights.items()})


def main() -> None:
    arguments = parser(__doc__)
    arguments.set_defaults(out=OUT)
    args = arguments.parse_args()
    # Every crisis category. The first models left out plans, intent, preparations, methods and attempts, whose
    # words ("tonight", "decided", "pills") are everyday words too; with four batches of everyday look-alikes in the
    # set it learns the difference, and on new writers' batches left out of training it found far more plans and
    # preparations for no more ordinary messages flagged (docs/DECISIONS.md).
    examples = part(load_dev_set(), "tuning")
    bias, weights = train([(readings(e.text, e.tier == "crisis"), int(e.tier == "crisis")) for e in examples])
    kept = {feature: round(weight, 3) for feature, weight in weights.items() if abs(weight) >= KEPT_WEIGHT}
    model = {
        "about": f"Logistic regression over normalised words and word pairs, trained by bench/train_crisis_model.py "
                 f"on the tuning part of {len(dev_files())} files of Bothy's own development set ({len(examples)} "
                 f"messages, crisis and not; no third-party corpus). Licence: as Bothy's.",
        "threshold": THRESHOLD,
        "wary_threshold": WARY_THRESHOLD,
        "unnamed_threshold": UNNAMED_THRESHOLD,
        "denied_threshold": DENIED_THRESHOLD,
        "wary_rise": WARY_RISE,
        "window": WINDOW,
        "bias": round(bias, 3),
        "words": {feature: weight for feature, weight in kept.items() if " " not in feature},
        "pairs": {feature: weight for feature, weight in kept.items() if " " in feature},
    }
    args.out.write_text(json.dumps(model, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(model['words'])} words, {len(model['pairs'])} pairs, bias {model['bias']}")


if __name__ == "__main__":
    main()
