"""Messages built to be slow: matching keeps a bounded amount of work per phrase and reads a bounded text.

How fast that is, is measured by bench/referral.py (a 64 KB adversarial message under 20 ms), not here.
"""

import random
from collections import Counter
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import pytest

from bots.referral.kb import KnowledgeBase, load_kb
from bots.referral.matcher import (
    ACTS,
    AFFIRMED,
    AFFIRMED_PAIRS,
    AFTER_FILLERS,
    AFTER_NEGATION_FILLERS,
    AFTER_NEGATIONS,
    AFTER_UNTIL_WINDOW,
    AFTER_VERBS,
    AFTER_WORDS,
    ANSWER_GOES_ON,
    ANSWER_NEGATES,
    ANSWER_TURN_WORDS,
    ANSWER_TURNS,
    ANSWER_TURNS_AT_END,
    ANSWERED_BY,
    ANSWERS_NO,
    AS_MUCH,
    ASKED,
    ASKED_GAP,
    ASKED_WHETHER,
    ATTEMPTED,
    BACK_TO_IT,
    BARE_NEGATIONS,
    BECOMING,
    BEFORE,
    BEFORE_ENDS,
    BEFORE_TURN,
    BELIEF_GOES_ON,
    BELIEVED,
    BELIEVED_OVER,
    BELIEVER_FILLERS,
    BELIEVERS,
    BELIEVING,
    BUT_I_AM,
    BUT_I_AM_ENDS,
    CANT,
    CANT_OTHER_TROUBLE,
    CANT_STOP_CRYING,
    CLAUSE_ANSWER_WORDS,
    CLAUSE_GOES_ON,
    CLAUSE_OPENERS,
    COMING,
    COMING_INTENT,
    COMING_WINDOW,
    COULD_NOT,
    COUNTED,
    CROSSES_ON,
    CROSSES_ON_WINDOW,
    ENDED,
    ENDED_WINDOW,
    ENDS_GOING_TO,
    EXPECTATIONS,
    EXPECTED_FILLERS,
    EXPECTED_GAP,
    EXPECTERS,
    EXPECTING,
    FIRST_PERSON,
    FORM,
    FREE,
    FREE_FOR,
    GENERIC,
    GENERIC_WINDOW,
    GET_FILLERS,
    GET_NOT_BEFORE,
    GET_THEN,
    HELD_OFF,
    HELD_OFF_FILLERS,
    HELD_OFF_WINDOW,
    HOW_OFTEN,
    INTENT_WHEN,
    JOKING,
    KIN,
    KIN_DESCRIBED,
    KIN_OWNERS,
    LAUGH_STARTS,
    LAUGH_UNDONE,
    LAUGH_WINDOW,
    LAUGHS,
    LESS,
    MAX_PER_PHRASE,
    MEASURES,
    MORE,
    MORE_ENDS,
    MORE_THEN,
    NEGATION_FILLERS,
    NEGATION_WINDOW,
    NEGATIONS,
    NEVER_WORST,
    NO_ANSWERS,
    NO_MORE,
    NO_NEGATES,
    NO_NOT_SAID,
    NO_NOT_SAID_WINDOW,
    NO_NOUNS,
    NO_WHAT,
    NONE_GOES_ON,
    NOT_AN_ANSWER,
    NOT_ANYMORE_WINDOW,
    NOT_BACK,
    NOT_OVER,
    NOT_PUT_OFF,
    NOT_RETURNED,
    NOT_SO_AFTER_I,
    NOT_SO_AFTER_IM,
    NOT_SO_ENDS,
    NOT_SO_GOES_ON,
    NOT_SO_REASONS,
    NOT_SO_WINDOW,
    NOT_THOUGHT_AGAIN,
    NOW,
    NOW_TURNS,
    NOW_TURNS_AFTER,
    NOW_TURNS_WITHIN,
    NUMBER_WORDS,
    OF_IT_VERBS,
    OVER_AND_DONE,
    OVER_DETERMINERS,
    OVER_ENDS,
    OVER_FILLERS,
    OVER_NOUNS,
    OVER_WORDS,
    PAIRED_FILLERS,
    PAIRED_THEN,
    PASSING_VERBS,
    PAST,
    PAST_DENIALS,
    PLAIN_NO,
    PRECEDED_FILLERS,
    PRECEDED_GOES_ON,
    PRECEDED_GOES_ON_PHRASES,
    PUT_OFF,
    PUT_OFF_ACTS,
    PUT_OFF_PAIRS,
    QUESTION_WINDOW,
    REASON_DENIAL_ENDS,
    REASON_GOES_ON,
    REASONS,
    RECENT,
    RECOVERED,
    RECOVERED_FROM,
    RESOLVED,
    RESOLVED_AFTER_NO,
    RESOLVED_AFTER_NO_PHRASES,
    RESOLVED_AFTER_WINDOW,
    RETURNED,
    RETURNED_SOON,
    RETURNED_SOON_WINDOW,
    RETURNED_WINDOW,
    RIGHT_BEFORE_FILLERS,
    SAID_OF_IT,
    SAYING,
    SHORT_SINCE,
    SOMEONE_ELSE,
    STILL,
    STILL_GOING,
    STRUGGLE_NOT,
    STRUGGLING,
    SUBJECT_FILLERS,
    SUBJECT_WINDOW,
    SUBJECTS,
    TAKEN_BACK,
    TAKEN_BACK_AFTER,
    TAKEN_BACK_AFTER_WINDOW,
    TAKEN_BACK_WINDOW,
    THINKING_OF_IT,
    THIRD_PERSON,
    THOUGHT_AGAIN,
    THOUGHT_ENDS,
    TIME_UNITS,
    TURN_FILLERS,
    TURN_READ,
    TURN_WINDOW,
    TURNABLE,
    TURNING_I,
    TURNS,
    UNCAME_ENDS,
    UNEXPECTED,
    UNSAID_TURNS,
    UNTIL,
    UNTIL_LATER,
    UNTIL_WINDOW,
    WISH_STARTS,
    WITHOUT,
    WORST_STARTS,
    YES_ANSWERS,
    Matcher,
)
from bots.referral.normalise import MAX_CHARS, l_reading, normalise
from tests.unit.shipped import shipped_matcher

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "reading"), [
    ("I am OK. Illness, In, If", None),  # a capital I starting a word is a letter I
    ("room 101", None),
    ("kiII myself", " kil myself "),
    ("ki11 mys3lf", " kil myself "),
])
def test_the_l_reading_exists_only_for_ambiguous_characters(text, reading):
    assert l_reading(text) == reading


def test_normalise_reads_at_most_max_chars():
    assert normalise("x" * MAX_CHARS + " tail") == " x "
    # "ﬁ" folds to two letters: the folded text is cut back too, not just the input.
    assert len(normalise("ﬁ" * MAX_CHARS)) <= MAX_CHARS + 2
    assert len(normalise("😂" * MAX_CHARS)) <= MAX_CHARS + 2  # each read as " lmao ", six characters


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The shipped knowledge base's, shared: these tests only read it."""
    return shipped_matcher()


def test_a_few_results_per_phrase_are_kept(matcher):
    result = matcher.match("debt " * 4_000)
    assert len(result.hits) == MAX_PER_PHRASE
    assert len(matcher.match("not suicidal " * 1_000).suppressed) == MAX_PER_PHRASE


def test_a_plain_mention_after_many_negated_ones_still_counts(matcher):
    assert matcher.match("I'm not suicidal. " * 1_000 + "Actually I am suicidal").tier == "crisis"
    assert matcher.match("we watched suicide squad " * 500 + "and I keep thinking about suicide").tier == "crisis"


def test_a_long_word_ends_the_negation_look_back(matcher):
    assert matcher.match("not " + "x" * 100 + " suicidal").tier == "crisis"
    assert matcher.match("I'm not really really really suicidal").tier is None


def reference(kb: KnowledgeBase, text: str, read_on: bool = True) -> tuple[list[tuple], list[tuple]]:
    """The rules written the obvious quadratic way, to check the sweeps against."""
    normalised = normalise(text)
    read_on_from = -1
    found = []
    for topic in kb.topics.values():
        for kind, texts in (("phrase", topic.phrases), ("exclusion", topic.exclusions)):
            for phrase in texts:
                key = normalise(phrase)
                at = normalised.find(key)
                while at >= 0:
                    found.append((kind, topic.id, phrase, at + 1, at + len(key) - 1))
                    at = normalised.find(key, at + 1)
    phrases = [f for f in found if f[0] == "phrase"]
    exclusions = [f for f in found if f[0] == "exclusion"]
    hits, suppressed = [], []
    for _, topic, phrase, start, end in phrases:
        set_aside_before = len(suppressed)

        def overlaps(other, start=start, end=end):
            return other[3] < end and start < other[4]
        if any(e[1] == topic and overlaps(e) for e in exclusions):
            suppressed.append((topic, phrase, "exclusion"))
        elif any(overlaps(o) and o[4] - o[3] > end - start for o in phrases):
            suppressed.append((topic, phrase, "longer"))
            if kb.topics[topic].tier != "crisis" and not reference_negated(normalised, start, end) and any(
                    overlaps(o) and reference_someone_elses_crisis(kb, normalised, o, phrases, exclusions)
                    for o in phrases if o[4] - o[3] > end - start):
                hits.append((topic, phrase, start, end))  # "my son overdosed": the parent's own match stands
        elif reference_negated(normalised, start, end) or (
                kb.topics[topic].tier == "crisis" and reference_laugh_after(normalised[end:].split())):
            suppressed.append((topic, phrase, "negation"))
        elif kb.topics[topic].tier == "crisis" and reference_someone_else(normalised, start, end):
            suppressed.append((topic, phrase, "someone"))
        elif kb.topics[topic].tier == "crisis" and reference_not_so(normalised, start, end):
            suppressed.append((topic, phrase, "negation"))
        else:
            hits.append((topic, phrase, start, end))
        if (kb.topics[topic].tier == "crisis" and len(suppressed) > set_aside_before
                and suppressed[-1][2] in ("negation", "someone") and reference_read_through(normalised[:start])):
            read_on_from = max(read_on_from, end)
    if read_on and read_on_from >= 0 and not any(kb.topics[hit[0]].tier == "crisis" for hit in hits):
        # "it never crossed my mind to kill myself, but ...": the words after it read as a message of their own
        rest_hits, _ = reference(kb, normalised[read_on_from:], read_on=False)
        hits.extend((topic, phrase, start + read_on_from, end + read_on_from)
                    for topic, phrase, start, end in rest_hits if kb.topics[topic].tier == "crisis")
    return sorted(hits), sorted(suppressed)


def reference_read_through(before: str) -> bool:
    """'never crossed my mind to', then up to NEGATION_WINDOW fillers, end `before`."""
    words = before.split()
    for later, earliers in PRECEDED_FILLERS.items():
        for earlier in earliers:
            ending = [*earlier.split(), later, "to"]
            for fillers in range(NEGATION_WINDOW + 1):
                tail = words[len(words) - fillers:] if fillers else []
                if words[len(words) - fillers - len(ending):len(words) - fillers] == ending and all(
                        word in NEGATION_FILLERS | RIGHT_BEFORE_FILLERS for word in tail):
                    return True
    return False


def reference_goes_on(after: list[str]) -> bool:
    """The words after a match read through 'never crossed my mind to' say it goes on."""
    window = after[:CROSSES_ON_WINDOW]
    for index, word in enumerate(window):
        if word in CANT:
            if window[index + 1:index + 2] and window[index + 1] in CANT_OTHER_TROUBLE:
                continue
            if window[index + 1:index + 3] in CANT_STOP_CRYING:
                continue
            return True
        if word in PRECEDED_GOES_ON and (word not in NOW_TURNS or index < NOW_TURNS_WITHIN
                                         or window[index - 1] in NOW_TURNS_AFTER) and (
                index == 0 or window[index - 1] not in NEGATIONS):
            return True
        if (word in THOUGHT_AGAIN and index > 0 and window[index - 1] in BACK_TO_IT
                and window[index + 1:index + 2] not in ([other] for other in NOT_THOUGHT_AGAIN)):
            return True
    if any(phrase in f" {' '.join(window)} " for phrase in PRECEDED_GOES_ON_PHRASES):
        return True
    return len(after) <= len(window) and any(window[-len(words):] == words for words in ENDS_GOING_TO)


def reference_someone_elses_crisis(kb: KnowledgeBase, normalised: str, found: tuple, phrases: list,
                                   exclusions: list) -> bool:
    """A crisis phrase set aside as someone else's: not excluded, outranked or negated first."""
    _, topic, _, start, end = found
    if kb.topics[topic].tier != "crisis":
        return False
    def overlaps(other):
        return other[3] < end and start < other[4]
    return (not any(e[1] == topic and overlaps(e) for e in exclusions)
            and not any(overlaps(o) and o[4] - o[3] > end - start for o in phrases)
            and not reference_negated(normalised, start, end)
            and not reference_laugh_after(normalised[end:].split())
            and reference_someone_else(normalised, start, end))


def reference_not_so(normalised: str, start: int, end: int) -> bool:
    """An expectation ("thought I'd") or someone else's belief ("my mum thinks I'm") just before, denied just after,
    and the words around the belief not going on."""
    before_all = normalised[:start].split()
    before, after = before_all[-8:], normalised[end:].split()[:NOT_SO_WINDOW + NOT_SO_GOES_ON + 3]
    expected = any(" ".join(before[-len(words) - gap:][:len(words)]) == " ".join(words)
                   for words in EXPECTING for gap in range(EXPECTED_GAP + 1) if len(before) >= len(words) + gap)
    believed = 0  # the belief's words, from the believer to the match
    for index in range(len(before) - 1, max(-1, len(before) - 2 - BELIEVED), -1):
        if before[index] in BELIEVING:
            between = before[index + 1:]
            between = between[1:] if between[:1] == ["that"] else between
            believers = [at for at in range(max(0, index - 3), index) if before[at] not in BELIEVER_FILLERS]
            if (bool(between) and between[0] in SUBJECTS and bool(believers) and before[believers[-1]] in BELIEVERS
                    and not set(between) & (JOKING | BELIEVED_OVER)):
                believed = len(before) - believers[-1]
            break
    if not (expected or believed) or (after and after[0] in MEASURES):
        return False
    if expected and ("now" in after or RECENT.search(normalised, start, end + 1 + 240)):
        return False
    for index, word in enumerate(after[:NOT_SO_WINDOW]):
        if word not in ("i", "im"):
            continue
        reason = index > 0 and after[index - 1] in NOT_SO_REASONS
        denied_to = reference_denial(after, index, REASON_DENIAL_ENDS if reason else NOT_SO_ENDS)
        if denied_to:
            going_on = f" {' '.join(after[denied_to:denied_to + NOT_SO_GOES_ON])} "
            if believed and reference_belief_goes_on(before_all[:-believed], after[:index], after[denied_to:]):
                return False  # "my GP thinks I'm suicidal. I'm not, I'm ready" (a red team's)
            return not any(resolve in going_on for resolve in RESOLVED)
        if not reason:  # after a reason for the belief: read on
            return False
    return False


def reference_negated(normalised: str, start: int, end: int) -> bool:
    before, after = normalised[:start].split(), normalised[end:].split()
    following = [*after[:5], *[""] * 5]
    still = following[3:5] if following[2] in SUBJECTS else following[2:4]  # "... before and (I) still don't"
    still_not = still[0] in STILL and still[1] in NOT_OVER
    negation = reference_negated_before(before, normalised[start:].split()[0], following[0], after,
                                        normalised[start:end].split())
    negated_before = negation is not None
    if negated_before and (following[0] in UNTIL or set(following[1:UNTIL_WINDOW]) & UNTIL_LATER
                           or set(following[:2]) & LESS
                           or (following[0] in BEFORE and following[1] in BEFORE_ENDS
                                                     and not still_not)
                           or (following[0] in MORE and following[1] in MORE_ENDS)
                           or following[1] in AS_MUCH.get(following[0], ())
                           or (negation in TURNABLE and len(after) <= TURN_WINDOW + TURN_READ
                               and set(normalised[start:end].split()) & ACTS
                               and reference_thought_of_after_all(after))
                           or (negation in TURNABLE and negation not in ANSWER_NEGATES
                               and set(normalised[start:end].split()) & PUT_OFF_ACTS
                               and reference_put_off_or_coming(after))
                           or reference_taken_back_after(after)
                           or (negation in ANSWER_NEGATES and reference_resolved(after[:RESOLVED_AFTER_WINDOW]))):
        negated_before = False  # "I never thought about suicide until this year", "... before, but now"
    return (negated_before or reference_negated_after(after)
            or reference_over_after(after)
            or reference_answered_no(before, after)
            or reference_denied_after(normalised[start:end].split(), after, before))


def reference_resolved(words: list[str]) -> bool:
    """ "... I've decided", "... made up my mind": the thoughts a "no" denies are over because it is decided."""
    text = f" {' '.join(words)} "
    return bool(set(words) & RESOLVED_AFTER_NO) or any(f" {' '.join(phrase)} " in text
                                                       for phrase in RESOLVED_AFTER_NO_PHRASES)


def reference_held_off(before: list[str]) -> bool:
    """One of HELD_OFF ends the words before the negation, but for HELD_OFF_FILLERS after it, within the window."""
    before = before[-HELD_OFF_WINDOW:]
    while before:
        if any(before[-len(words):] == list(words) for words in HELD_OFF):
            return True
        if before[-1] not in HELD_OFF_FILLERS:
            return False
        before = before[:-1]
    return False


def reference_put_off_or_coming(after: list[str]) -> bool:
    """ "... just yet", "... probably"; or a turn within four words, then something coming within five."""
    if (after[:1] and after[0] in PUT_OFF and (after[1:2] or [""])[0] not in NOT_PUT_OFF) or tuple(
            after[:2]) in PUT_OFF_PAIRS:
        return True
    turns = [index for index, word in enumerate(after[:TURN_WINDOW]) if word in TURNS]
    if not turns:
        return False
    told = after[turns[0] + 1:]
    for index, word in enumerate(told[:COMING_WINDOW]):
        rest = told[index + 1:]
        when = (rest[1:2] if rest[:1] == ["to"] else rest[:1]) or [""]
        if (word in COMING or (word in COMING_INTENT and when[0] in INTENT_WHEN)) and (
                index == 0 or told[index - 1] not in NEGATIONS):
            return True
    return False


def reference_taken_back_after(after: list[str]) -> bool:
    """ "... I lied", "... who am I kidding", "... but I am" where the message or its clause ends."""
    for index in range(min(TAKEN_BACK_AFTER_WINDOW, len(after))):
        if any(after[index:index + len(words)] == list(words) for words in TAKEN_BACK_AFTER):
            return True
        for words in BUT_I_AM:
            if after[index:index + len(words)] == list(words) and (
                    after[index + len(words):index + len(words) + 1] or [""])[0] in BUT_I_AM_ENDS:
                return True
    return False


def reference_denied_next(after: list[str]) -> bool:
    """ "... and I wasn't", "I'm (still) not": one of the next few words is a denial that ends there."""
    return any(reference_denial(after, index, UNCAME_ENDS) for index in range(min(NOT_SO_GOES_ON, len(after))))


def reference_denial(after: list[str], index: int, ends: frozenset[str]) -> int:
    """Where the denial said by "I" or "I'm" at `after[index]` ("I don't", "I'm (still) not") ends, if it ends the
    clause there or at `ends`; else 0."""
    kept = [at for at in range(index + 1, min(index + 4, len(after))) if after[at] not in SAYING][:2]
    denials = {"i": NOT_SO_AFTER_I, "im": NOT_SO_AFTER_IM}.get(after[index], frozenset())
    if kept and after[kept[0]] in denials and (len(kept) == 1 or after[kept[1]] in ends):
        return kept[0] + 1
    return 0


def reference_belief_goes_on(before: list[str], reason: list[str], after: list[str]) -> bool:
    """A word before the belief or after the denial goes on or says it is so, or one in the reason between that is
    not only a reason's word; or, after the denial, "I am", "I do" ... not followed by a negation."""
    return (bool(set(before + after) & (BELIEF_GOES_ON | AFFIRMED)) or bool(
        set(reason) & (REASON_GOES_ON | AFFIRMED)) or any(
        after[at:at + len(pair)] == pair and (after[at + len(pair):at + len(pair) + 1] or [""])[0] not in NEGATIONS
        for pair in AFFIRMED_PAIRS for at in range(len(after))))


def reference_negated_before(before: list[str], following: str, after_match: str,
                             normalised_after: list[str], matched: list[str]) -> str | None:
    """The negation before the match (a word of NEGATIONS, or "recovered" for the other kinds), if any; `matched`: the
    match's own words."""
    normalised_match_first = following
    index, steps = len(before) - 1, 0
    while index >= 0 and steps < NEGATION_WINDOW:
        word, steps = before[index], steps + 1
        if word in NEGATIONS:
            if word in NEVER_WORST and (normalised_match_first in WORST_STARTS or (
                    normalised_after[:1] == ["more"] and (normalised_after[1:2] or [""])[0] in MORE_THEN)):
                return None  # "never been so close to ending it", "never have I wanted to die more"
            if word in OVER_AND_DONE and index and before[index - 1] in NOT_OVER:
                return None
            between = before[index + 1:]
            if word in UNEXPECTED and between[:1] and between[0] in EXPECTATIONS and between[1:2] and between[
                    1] in EXPECTERS and set(between[2:]) <= EXPECTED_FILLERS | BECOMING and (
                    set(between[2:]) & BECOMING or normalised_match_first in WISH_STARTS) and not reference_denied_next(
                    normalised_after):
                return None  # "never thought I'd be suicidal"
            if word in STRUGGLE_NOT and index and before[index - 1] in STRUGGLING:
                return None
            if reference_held_off(before[:index]):
                return None
            if following in SUBJECTS:
                return None
            right_before = index == len(before) - 1
            if word in ANSWER_NEGATES and following in NO_MORE:  # "no more" only of a thing
                return word if normalised_match_first in NO_NOUNS or after_match in NO_NEGATES else None
            negates = (word not in ANSWER_NEGATES or following in NO_NEGATES
                       or (right_before and (after_match in NO_NEGATES or following in NO_NOUNS)))
            return word if negates else None
        if word in RECOVERED and index < len(before) - 1 and before[index + 1] in RECOVERED_FROM:
            return "recovered"
        if word in WITHOUT:
            window = before[max(0, index - 8):index]
            if len(window) < 2 or set(window) & (NOT_OVER | COULD_NOT):
                return None
            unit, count = (window[-1], window[-2]) if window[-1] in TIME_UNITS else (window[-2], window[-1])
            return "recovered" if unit in TIME_UNITS and (count.isdigit() or count in NUMBER_WORDS) else None
        if word == "last" and before[max(0, index - 2):index] == ["since", "i"]:
            # ... unless an attempt, a short time, or it ended or came back after ("since I last cut, it's worse")
            over = (not set(before[index + 1:] + matched) & ATTEMPTED and not set(before[max(0, index - 4):index - 2])
                    & SHORT_SINCE and not set(normalised_after[:ENDED_WINDOW]) & ENDED
                    and not reference_came_back(normalised_after[:ENDED_WINDOW]))
            return "recovered" if over else None
        preceding = [words.split() for words in PRECEDED_FILLERS.get(word, ())
                     if following == "to" and before[max(0, index - len(words.split())):index] == words.split()]
        if preceding:  # "never crossed my mind to": the words before are read through with it
            following, index = preceding[0][0], index - len(preceding[0]) - 1
            if set(before[max(0, index - 3):index + 1]) & COUNTED or reference_goes_on(normalised_after):
                return None
            continue
        if (word in PAIRED_FILLERS and index and before[index - 1] in PAIRED_FILLERS[word]
                and (word not in PAIRED_THEN or (following if index < len(before) - 1 else "") in PAIRED_THEN[word]
                     or (index == len(before) - 1 and normalised_match_first in PAIRED_THEN[word]))):
            if (before[index - 1] in NEGATIONS and word in REASONS and index > 1
                    and before[index - 2] in ANSWERED_BY):
                return None  # "I'm not, cos I want to die"
            if before[index - 1] not in NEGATIONS:  # "call myself": both words are read through
                index -= 1
            following, index = before[index], index - 1
            continue
        right_before = index == len(before) - 1
        if word not in NEGATION_FILLERS and not (right_before and word in RIGHT_BEFORE_FILLERS) and not (
                word in GET_FILLERS and (following in GET_THEN if not right_before
                                         else normalised_match_first not in GET_NOT_BEFORE)):
            return None
        following, index = word, index - 1
    return None


def reference_thought_of_after_all(after: list[str]) -> bool:
    """ "... but I (do) think about it (a lot)": fillers, a turn, "I", fillers, thinking of it, how often, the end."""
    turn = 0
    while turn < len(after) and after[turn] in BEFORE_TURN:
        turn += 1
    if turn >= min(TURN_WINDOW, len(after) - 1):
        return False
    if after[turn] in TURNS and after[turn + 1] == "i":
        rest = after[turn + 2:]
    elif after[turn] in TURNING_I and after[turn + 1] in UNSAID_TURNS:
        rest = after[turn + 1:]
    else:
        return False
    while rest and rest[0] in TURN_FILLERS:
        rest = rest[1:]
    for words in THINKING_OF_IT:
        if rest[:len(words)] == words:
            rest = rest[len(words):]
            often = [phrase for phrase in HOW_OFTEN if rest[:len(phrase)] == phrase][:1]
            return set(rest[len(often[0]) if often else 0:]) <= THOUGHT_ENDS
    return False


def reference_negated_after(after: list[str]) -> bool:
    limit = min(AFTER_WORDS, len(after))
    index = 0
    while index < limit and after[index] in AFTER_FILLERS:
        index += 1
    if index + 1 >= limit or after[index] not in AFTER_NEGATIONS:
        return False
    negation, verbs = after[index], after[:index]
    index += 1
    while index < limit and after[index] in AFTER_NEGATION_FILLERS:
        index += 1
    if index >= limit or after[index] not in AFTER_VERBS:
        return False
    if after[index] in SAID_OF_IT and negation in BARE_NEGATIONS and not set(verbs) & OF_IT_VERBS:
        return False
    tails, rest = AFTER_VERBS[after[index]], after[index + 1:]
    if tails and not any(tuple(rest[:len(tail)]) == tail for tail in tails):
        return False
    if after[index] in PASSING_VERBS and set(after[index + 3:index + 3 + CROSSES_ON_WINDOW]) & CROSSES_ON:
        return False  # "suicide doesn't cross my mind, it lives there"
    later = [*after[index + 1:index + 1 + AFTER_UNTIL_WINDOW], ""]
    return not any(word in UNTIL or word in MORE or word in NOW or (word in BEFORE and following in BEFORE_ENDS)
                   or following in AS_MUCH.get(word, ()) for word, following in pairwise(later))


def reference_over_after(after: list[str]) -> bool:
    """Recovery said after the match where its clause ends, unless it came back. The matcher reads the words of the
    next 128 characters; the texts here are short enough that all of them are read."""
    words, skipped = after[:5], 0
    if len(words) > 1 and words[0] in OVER_DETERMINERS and words[1] in OVER_NOUNS:
        words, skipped = words[2:], 2
    elif words[:1] and words[0] in OVER_NOUNS:
        words, skipped = words[1:], 1
    limit = max(3, skipped + 2)
    while words and skipped < limit and words[0] in OVER_FILLERS:
        words, skipped = words[1:], skipped + 1
    following = after[skipped + 1:skipped + 2]
    if not words or words[0] not in OVER_WORDS or (skipped and following and following[0] not in OVER_ENDS):
        return False
    if reference_came_back(after[skipped + 1:skipped + 1 + RETURNED_WINDOW]):
        return False  # "the thoughts had gone but now they're back"
    return skipped > 0 or (words[0] in FREE and len(words) > 1 and words[1] in FREE_FOR)


def reference_came_back(rest: list[str]) -> bool:
    return bool(set(rest[:RETURNED_SOON_WINDOW]) & RETURNED_SOON) or any(
        word in RETURNED and not set(rest[max(0, index - 3):index]) & NOT_RETURNED
        and (word in STILL_GOING or (rest[index + 1] if index + 1 < len(rest) else "") not in NOT_BACK)
        for index, word in enumerate(rest))


def reference_denied_after(matched: list[str], after: list[str], before: list[str]) -> bool:
    tail = " ".join(after[:NOT_ANYMORE_WINDOW + 3]).replace("any more", "anymore")
    if matched[0] in PAST and any(denial in f" {tail} " for denial in PAST_DENIALS):
        return True
    if len(matched) == 1 and bool(after) and after[0] in ANSWERS_NO and (
            after[0] != "no" or len(after) == 1 or after[1] not in NO_WHAT):
        return True
    on_a_form = matched[:2] in FORM or before[-2:] in FORM
    return on_a_form and after[:1] == ["none"] and (len(after) == 1 or after[1] not in NONE_GOES_ON)


def reference_laugh_after(after: list[str]) -> bool:
    return any((word in LAUGHS or word.startswith(LAUGH_STARTS)) and (index == 0 or after[index - 1] not in NEGATIONS)
               and not set(after[index + 1:index + 1 + LAUGH_WINDOW]) & LAUGH_UNDONE
               for index, word in enumerate(after[:LAUGH_WINDOW]))


def reference_someone_else(normalised: str, start: int, end: int) -> bool:
    if set(normalised[start:end].split()) & FIRST_PERSON:
        return False
    before = normalised[:start].split()
    for index in range(len(before) - 1, max(-1, len(before) - 1 - SUBJECT_WINDOW), -1):
        if before[index] in SOMEONE_ELSE:
            if set(before[max(0, index - GENERIC_WINDOW):index]) & GENERIC:
                return False
            if before[index] not in KIN:
                return True
            owner = index - 2 if index >= 2 and before[index - 1] in KIN_DESCRIBED else index - 1
            if owner < 0:
                return index == 0  # the text's first word
            if before[owner] not in KIN_OWNERS:
                return False
            return owner == 0 or before[owner - 1] in CLAUSE_OPENERS
        if before[index] not in SUBJECT_FILLERS:
            return False
    return False


def reference_answered_no(before_all: list[str], after: list[str]) -> bool:
    before = before_all[-QUESTION_WINDOW:]
    asked = [index for index, word in enumerate(before)
             if word in ASKED and any(word in ASKED_WHETHER for word in before[index + 1:index + 2 + ASKED_GAP])]
    if not asked or any(word in YES_ANSWERS for word in before[asked[0]:]):
        return False
    window, further = after[:QUESTION_WINDOW], after[:TAKEN_BACK_WINDOW]
    if (any(word in TAKEN_BACK for word in further) or any(word in YES_ANSWERS for word in further)
            or any(first in NO_ANSWERS and second == "true" for first, second in pairwise(further))):
        return False
    for index, word in enumerate(window):
        following = after[index + 1] if index + 1 < len(after) else ""
        if (word in NO_ANSWERS and not any(w in NO_NOT_SAID for w in after[max(0, index - NO_NOT_SAID_WINDOW):index])
                and (word in PLAIN_NO or (index < CLAUSE_ANSWER_WORDS and following not in CLAUSE_GOES_ON))
                and following not in NOT_AN_ANSWER):
            asked_from = len(before_all) - len(before) + asked[0]  # "... I said no. I have a date" (a red team's)
            if set(after[index + 1:] + before_all[:asked_from]) & ANSWER_GOES_ON:
                return False
            told = after[index + 1:index + 1 + ANSWER_TURN_WORDS]
            said = " " + " ".join(told) + " "
            at_end = len(after) == index + 1 + len(told)
            return not (any(turn in said for turn in ANSWER_TURNS)
                        or (at_end and any(said.endswith(turn) for turn in ANSWER_TURNS_AT_END)))
    return False


@pytest.fixture(scope="module")
def phrases_only() -> tuple[KnowledgeBase, Matcher]:
    """The shipped KB's phrases only: the reference knows nothing of patterns (test_referral_patterns.py covers them)
    or of the word model (test_referral_word_model.py)."""
    kb = load_kb([ROOT / "referral_kb"])
    for topic in kb.topics.values():
        topic.patterns = []
        topic.model = None
    return kb, Matcher(kb)


def agrees_with_reference(kb: KnowledgeBase, matcher: Matcher, text: str) -> bool:
    """The matcher's hits and suppressions are the reference's; False where the reference keeps more of a phrase than
    MAX_PER_PHRASE (the matcher keeps fewer, by design), so nothing was checked."""
    expected_hits, expected_suppressed = reference(kb, text)
    counts = Counter(phrase for _, phrase, *_ in [*expected_hits, *expected_suppressed])
    if counts and max(counts.values()) > MAX_PER_PHRASE:
        return False
    result = matcher.match(text)
    assert sorted((h.topic, h.phrase, h.start, h.end) for h in result.hits) == expected_hits, text
    assert sorted((s.topic, s.phrase, s.reason.split()[0]) for s in result.suppressed) == expected_suppressed, text
    return True


def test_the_sweeps_decide_as_comparing_every_pair_would(phrases_only):
    kb, matcher = phrases_only
    snippets = sorted({*(p for t in kb.topics.values() for p in [*t.phrases, *t.exclusions]),
                       *NEGATIONS, *NEGATION_FILLERS, "so", "this", "my", "brother", "i", "feel", "today",
                       *AFTER_NEGATIONS, *AFTER_NEGATION_FILLERS, *AFTER_VERBS, "the cards", "my mind", "of them",
                       "option", "is", "was", "now", "thought id", "my mum thinks", "people assume", "im fine",
                       "but i dont", "im not", "im actually", "less", "that", "asked if", "asked me about", "yes",
                       "nope", "not sure",
                       "until", "before", "yet", "but", "since i last", *RECOVERED, *RECOVERED_FROM, *OVER_NOUNS,
                       *OVER_FILLERS, *OVER_WORDS, *OVER_DETERMINERS, *LAUGHS, "hahaha", *THIRD_PERSON,
                       "my sisters", "son", "and", "me and", "our", "wee", "think", *SUBJECT_FILLERS, *GENERIC,
                       *WITHOUT, *TIME_UNITS, "100", "cant", *ANSWERS_NO, "none", *NONE_GOES_ON, *PAST,
                       "thoughts of", "urges about", "anymore", "any more", "one",
                       *FREE_FOR, *NUMBER_WORDS, *COULD_NOT, "there", "came", "back", *MORE, *(MORE_ENDS - {""}),
                       *AS_MUCH, "much", "badly",
                       *STRUGGLING, *NO_NOUNS, *(denial.strip() for denial in PAST_DENIALS), "before and i still dont",
                       *STILL, *RIGHT_BEFORE_FILLERS, "call myself", "not because", "because im not",
                       "but i think about it", "though i do keep thinking about it", "but i thought about it", "lol",
                       "a lot", "or anything", "cant stop", "all the time", "tbh", "never thought id", "be",
                       "didnt think i", "want to die", "im not cos", "not cos", "im just waiting", "kill myself",
                       "crossed my mind to", "occurred to me to", "it never crossed my mind to", "a day it",
                       "come into my head to",
                       "anymore its", "before last", "a thought ive had", "a thought i could", *OVER_ENDS, *STILL_GOING,
                       *(" ".join(words) for words in (*HELD_OFF, *PUT_OFF_PAIRS)), *PUT_OFF, *COMING, *COMING_INTENT,
                       "going to tonight", *(" ".join(words) for words in (*TAKEN_BACK_AFTER, *BUT_I_AM)),
                       "has gone", "have passed", "creeping in", "quiet", "the pain", "or", "not sad",
                       "no more", "doesnt mean", "didnt mean i", "the opposite of", "stuff", "worse", "tried to",
                       "an hour", "decided", "up my mind", "more a", "a just", "one year", "a month", "picturin it",
                       "unless", "already want", "who am i kidding"})
    words = sorted({w for s in snippets for w in s.split()})
    rng = random.Random(5)
    checked = 0
    for _ in range(3_000):
        parts = [rng.choice(snippets if rng.random() < 0.4 else words) for _ in range(rng.randint(1, 8))]
        checked += agrees_with_reference(kb, matcher, " ".join(parts))
    assert checked > 2_500


def undone_and_standing(kb: KnowledgeBase, matcher: Matcher, messages: Iterable[tuple[str, str]],
                        undone: tuple[str, ...]) -> tuple[int, int]:
    """Each (message, match) checked against the reference; then how many times the match was set aside for a reason
    starting with one of `undone`, and how many times it stood."""
    set_aside = stood = 0
    for text, match in messages:
        if not agrees_with_reference(kb, matcher, text):
            continue
        result = matcher.match(text)
        set_aside += any(s.phrase == match and s.reason.startswith(undone) for s in result.suppressed)
        stood += any(h.phrase == match for h in result.hits)
    return set_aside, stood


def test_recovery_after_a_match_is_read_as_the_reference_does(phrases_only):
    """ "the suicidal thoughts have gone now", "my suicidal urges have gone up", "... eased off but they're creeping
    in": random messages of that shape, a determiner and a noun after the match or not, and words after the verb that
    end the clause, change it or say it came back, or not."""
    kb, matcher = phrases_only
    crisis = sorted(phrase for topic in kb.topics.values() if topic.tier == "crisis" for phrase in topic.phrases)
    later = ["", "now", "but", "theyre", "its", "in", "at", "uni", "again", "today", *sorted(STILL_GOING), "back"]
    rng = random.Random(11)

    def message() -> tuple[str, str]:
        match = rng.choice(crisis)
        parts = [rng.choice(["", "i", "and"]), match, rng.choice(["", "", *sorted(OVER_DETERMINERS)]),
                 rng.choice(["", *sorted(OVER_NOUNS)]), rng.choice(["", *sorted(OVER_FILLERS)]),
                 rng.choice(sorted(OVER_WORDS)), rng.choice(["", *sorted(OVER_ENDS), "up", "quiet", "the", "being"]),
                 rng.choice(later), rng.choice(later)]
        return " ".join(part for part in parts if part), match
    over, stood = undone_and_standing(kb, matcher, (message() for _ in range(1_500)), ("negation", "someone"))
    assert over > 40 and stood > 150, (over, stood)


def test_a_negation_held_off_or_put_off_is_read_as_the_reference_does(phrases_only):
    """ "I can't promise I won't overdose", "help me not ...", "I won't ..., at least not tonight", "I don't want to ...
    but I think I'm going to tonight": random messages of that shape, with and without what holds it off or puts it off,
    checked against the reference, which must find the negation standing and undone each many times."""
    kb, matcher = phrases_only
    crisis = sorted(phrase for topic in kb.topics.values() if topic.tier == "crisis" for phrase in topic.phrases)
    held = ["", "", *(" ".join(words) for words in HELD_OFF), "i promise", "no reason"]
    later = ["", "", *PUT_OFF, *(" ".join(words) for words in PUT_OFF_PAIRS), "but", "though", "i think", "im",
             *COMING, *COMING_INTENT, "to", "tonight", "eat", "not", "or", "tomorrow", *NOT_PUT_OFF,
             "but im going to eat", "but i think im going to tonight", "but i will if", "but im not going to",
             "i lied", "who am i kidding", "but i am", "but i am tired", "lie down"]
    rng = random.Random(13)

    def message() -> tuple[str, str]:
        match = rng.choice(crisis)
        parts = [rng.choice(held), rng.choice(["", "i", "im", "to", "if i"]),
                 rng.choice(["not", "wont", "dont", "never", "no", "not going to"]), match,
                 *(rng.choice(later) for _ in range(5))]
        return " ".join(part for part in parts if part), match
    negated, stood = undone_and_standing(kb, matcher, (message() for _ in range(1_500)), ("negation",))
    assert negated > 100 and stood > 150, (negated, stood)


def test_the_words_after_a_read_through_are_read_as_the_reference_does(phrases_only):
    """ "it never crossed my mind to (actually) kill myself but I can't stop / I can't sleep / the thought keeps coming
    back / I'm gonna / I want to die": random messages of that shape, checked against the reference, which must find
    the match set aside and standing each many times, and a crisis said after it found."""
    kb, matcher = phrases_only
    crisis = sorted(phrase for topic in kb.topics.values() if topic.tier == "crisis" for phrase in topic.phrases)
    later = ["", "", "but", "i", "im", "cant", "sleep", "stop", "crying", "cope", "the", "these", "thought", "thoughts",
             "urge", "of", "that", "keeps", "louder", "gonna", "going", "to", "do", "it", "doing", "every",
             "week", "lately", "my", "exams", "here", "we", "are", "now", "now", "did", "again", "rent", "and", "then",
             "so", "lonely", "never", "will"]
    rng = random.Random(17)
    found_after = 0

    def message() -> tuple[str, str]:
        match = rng.choice(crisis)
        parts = [rng.choice(["", "it", "honestly it"]), rng.choice(["never", "hasnt ever", "never once"]),
                 rng.choice(["crossed my mind to", "occurred to me to", "entered my head to"]),
                 rng.choice(["", "", "actually", "ever", "really seriously", "commit"]), match,
                 *(rng.choice(later) for _ in range(rng.randint(0, 9))),
                 rng.choice(["", "", "", rng.choice(crisis)])]
        return " ".join(part for part in parts if part), match
    messages = [message() for _ in range(1_500)]
    negated, stood = undone_and_standing(kb, matcher, messages, ("negation",))
    for text, match in messages:
        found_after += any(h.phrase != match and h.start > normalise(text).find(f" {normalise(match).strip()} ") + 1
                           for h in matcher.match(text).hits)
    assert negated > 300 and stood > 150 and found_after > 100, (negated, stood, found_after)


def test_someone_elses_belief_denied_is_read_as_the_reference_does(phrases_only):
    """ "my brother is convinced I'm suicidal. I am not", "my mum thinks I'm going to kill myself. I'm not, I'm ready",
    "Tonight's the night. Everyone thinks I'm suicidal. I'm not": random messages of that shape, with words before the
    belief, reasons, denials and words after them that go on or say it is so, or not, checked against the reference,
    which must find the belief set aside and standing each many times."""
    kb, matcher = phrases_only
    crisis = sorted(phrase for topic in kb.topics.values() if topic.tier == "crisis" for phrase in topic.phrases)
    before = ["", "", "", "tonight", "hi all", "honestly", "the rope is ready", "she knows", "the night is sorted"]
    believers = ["my mum thinks", "people assume", "my brother is convinced", "everyone thinks that", "i think",
                 "my therapist reckons"]
    subjects = ["i", "im", "i must", "im past", "im joking about", "im over"]
    reasons = ["", "", "because i wear black", "after my post", "cos im quiet every night", "because of the rope",
               "because im hiding it", "because i am"]
    denials = ["im not", "im still not", "i dont", "i never", "im really not sure", "i am", "i do not", "i dont know"]
    later = ["", "", "", "im just tired", "im ready", "i am", "tomorrow", "its a phase", "thats the line", "if only",
             "but i wont", "i do not", "lol", "still", "i have"]
    rng = random.Random(17)

    def message() -> tuple[str, str]:
        match = rng.choice(crisis)
        parts = [rng.choice(before), rng.choice(believers), rng.choice(subjects), match, rng.choice(reasons),
                 rng.choice(denials), rng.choice(later)]
        return " ".join(part for part in parts if part), match
    believed, stood = undone_and_standing(kb, matcher, (message() for _ in range(2_000)), ("negation 'not so",))
    assert believed > 100 and stood > 300, (believed, stood)


def test_a_reported_question_answered_no_is_read_as_the_reference_does(phrases_only):
    """ "the nurse asked if I'm suicidal and I said no", "... I said no. I have a date", "Bridge at 2am. The GP asked
    if I want to die. No": random messages of that shape, with words before the question and after the answer that
    plan, time or take it back, or not, checked against the reference, which must find the match set aside as answered
    and standing each many times."""
    kb, matcher = phrases_only
    crisis = sorted(phrase for topic in kb.topics.values() if topic.tier == "crisis" for phrase in topic.phrases)
    before = ["", "", "", "tonight", "its sorted", "hi all", "my gp"]
    asked = ["the nurse asked if", "she asked me if", "my mum keeps asking whether", "asked if"]
    subjects = ["i", "im", "id", "i was"]
    answers = ["and i said no", "no", "i said no", "nope", "i told her no", "and i honestly havent", "yes"]
    later = ["", "", "", "i have a date", "its true", "i want to live", "i lied", "again", "im fine", "the pills",
             "i was planning a holiday", "thanks"]
    rng = random.Random(19)

    def message() -> tuple[str, str]:
        match = rng.choice(crisis)
        parts = [rng.choice(before), rng.choice(asked), rng.choice(subjects), match, rng.choice(answers),
                 rng.choice(later)]
        return " ".join(part for part in parts if part), match
    answered, stood = undone_and_standing(kb, matcher, (message() for _ in range(2_000)), ("negation \"asked",))
    assert answered > 150 and stood > 300, (answered, stood)
