"""Phrase patterns: how they are written, checked, matched and explained."""

import subprocess
import sys
from pathlib import Path

import pytest

from bots.referral.kb import load_kb
from bots.referral.matcher import MAX_PATTERN_CHECKS, Matcher
from bots.referral.patterns import PatternError, compile_pattern
from tests.unit.shipped import shipped_matcher

ROOT = Path(__file__).resolve().parents[2]
TOPIC = """id: low
title: Low
tier: crisis
phrases: [some phrase]
patterns:
  - {pattern}
exclusions: [to die for]
resources:
  - {{name: Line, phone: '1', checked: 2026-11-25}}
"""


def matcher_for(tmp_path: Path, pattern: str) -> Matcher:
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern=pattern))
    kb = load_kb([tmp_path])
    assert kb.problems == []
    return Matcher(kb)


@pytest.mark.parametrize(("pattern", "anchors"), [
    ("want{,s,ed} to die", {("want", "to", "die"), ("wants", "to", "die"), ("wanted", "to", "die")}),
    ("(want|wanna) [0-2] (to die|be dead)", {("to", "die"), ("be", "dead")}),  # the longer part anchors
    ("(just)? kill myself", {("just", "kil", "myself"), ("kil", "myself")}),  # normalised like phrases
    ("I've (been|) thinking", {("ive", "ben", "thinking"), ("ive", "thinking")}),
])
def test_words_expand_into_normalised_forms(pattern, anchors):
    assert compile_pattern(pattern).anchors == anchors


@pytest.mark.parametrize(("pattern", "problem"), [
    ("", "nothing to match"),
    ("[0-2] to die", "a gap must have words on both sides"),
    ("want [1-9] to die", "M at most 5"),
    ("want [3-1] to die", "from N to M words"),
    ("want [x] to die", "a gap is [N] or [N-M] words"),
    ("want [1] [2] to die", "two gaps in a row"),
    ("(want (to) die)", "brackets must pair up"),
    ("i [0-2] am", "needs a part of at least 4 letters"),
    ("want [0-2] abcdefghijklmnopqrstuvwxyz", "a word longer than 24 letters"),
    ("(a|b|c|d|e|f|g|h) (a|b|c|d|e|f|g|h) (a|b|c|d|e|f|g|h) (a|b|c|d|e|f|g|h) zzzz", "more than 512 forms"),
    ("[cue] thank you for everything", "a cue names its group"),
])
def test_a_bad_pattern_says_what_is_wrong(pattern, problem):
    with pytest.raises(PatternError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        compile_pattern(pattern)


def test_kb_check_names_the_file_and_line_of_a_bad_pattern(tmp_path):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="want [0-9] to die"))
    problems = load_kb([tmp_path]).problems
    assert problems == [f"{tmp_path / 'low.yaml'}:6: pattern 'want [0-9] to die': a gap of [0-9] words: "
                        "it must be from N to M words, M at most 5"]
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="[want, to, die]"))
    assert load_kb([tmp_path]).problems == [f"{tmp_path / 'low.yaml'}:6: each of patterns must be a non-empty "
                                            "piece of text"]


WORD_LISTS = """word_lists:
  wish: [want, wanna, "cant wait", "might as well{,}"]
  die: [to die, be dead, end it all]
"""


def test_word_lists_pair_every_way_of_saying_one_part_with_every_way_of_saying_the_other(tmp_path):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="<wish> [0-2] <die>") + WORD_LISTS)
    kb = load_kb([tmp_path])
    assert kb.problems == []
    matcher = Matcher(kb)
    for text in ("honestly i cant wait to die", "might as well just end it all", "wanna be dead"):
        assert [hit.phrase for hit in matcher.match(text).hits] == ["<wish> [0-2] <die>"], text
    assert matcher.match("I'd love to go to the dance").tier is None


def test_a_pattern_may_use_either_of_two_word_lists(tmp_path):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="<wish|die> [0-1] now") + WORD_LISTS)
    matcher = Matcher(load_kb([tmp_path]))
    assert [bool(matcher.match(text).hits) for text in ("cant wait now", "end it all now", "wait now")] == [
        True, True, False]


@pytest.mark.parametrize(("lists", "problem"), [
    ("", ":6: pattern '<wish> [0-2] <die>': no word list <wish> in this topic (its word lists: none)"),
    ("word_lists:\n  die: [to die]\n", ":6: pattern '<wish> [0-2] <die>': no word list <wish> in this topic "
                                       "(its word lists: <die>)"),
    ("word_lists:\n  wish: [want]\n  die: [(to die)]\n", ":12: word list 'die': '(to die)' must be plain words"),
    ("word_lists:\n  wish: [want]\n  Die: [to die]\n", ":12: a word list's name is lowercase letters"),
    ("word_lists:\n  wish: []\n", ":11: word list 'wish' is empty"),
    ("word_lists: [want]\n", ":10: word_lists must be a mapping"),
])
def test_a_bad_word_list_or_a_missing_one_is_reported_with_its_line(tmp_path, lists, problem):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="<wish> [0-2] <die>") + lists)
    problems = load_kb([tmp_path]).problems
    assert any(p.startswith(f"{tmp_path / 'low.yaml'}{problem}") for p in problems), problems


def test_an_addition_uses_its_topics_word_lists_and_its_own(tmp_path):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="some [0] <die>") + WORD_LISTS)
    (tmp_path / "more.yaml").write_text("add_to: low\nword_lists:\n  hope: [hope i]\n"
                                        "patterns: ['<hope> [0-1] <die>']\nresources: []\n")
    kb = load_kb([tmp_path])
    assert kb.problems == []
    assert Matcher(kb).match("I hope i just end it all").tier == "crisis"


def test_a_pattern_in_two_topics_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(TOPIC.format(pattern="want [0-2] to die"))
    (tmp_path / "b.yaml").write_text(TOPIC.format(pattern="want  [0-2] to die").replace("id: low", "id: other"))
    assert any(f"{tmp_path / 'b.yaml'}:6: pattern 'want  [0-2] to die' is also in topic 'low'" in p
               for p in load_kb([tmp_path]).problems)


@pytest.mark.parametrize(("text", "found"), [
    ("I wanted so badly to die", "wanted so badly to die"),
    ("honestly i want to die", "want to die"),
    ("WANTING TO DIIIE", "wanting to die"),
    ("I want to go to the shop", None),
    ("I want you to know I love you, I'd die for you", None),  # gap is three words at most
])
def test_gaps_and_inflections(tmp_path, text, found):
    result = matcher_for(tmp_path, "want{,ed,ing} [0-3] to die").match(text)
    assert [(hit.kind, hit.phrase) for hit in result.hits] == ([("pattern", "want{,ed,ing} [0-3] to die")]
                                                               if found else [])


def test_words_on_both_sides_of_the_anchor(tmp_path):
    matcher = matcher_for(tmp_path, "(i|im) [0-2] thinking about suicide [0-1] (again|tonight)")
    assert matcher.match("so im really thinking about suicide again").tier == "crisis"
    assert matcher.match("I keep thinking about suicide prevention training tonight").tier is None
    assert matcher.match("thinking about suicide again").tier is None  # the first person is part of it


@pytest.mark.parametrize(("text", "reason"), [
    ("I don't want to die", "negation 'dont'"),  # just before the match
    ("I never thought about ending it", "negation 'never'"),  # in a gap
    ("the cake is to die for", "exclusion 'to die for'"),
])
def test_negations_and_exclusions_stop_patterns(tmp_path, text, reason):
    matcher = matcher_for(tmp_path, "(want|i|is) [0-2] (to die|thought about ending it)")
    result = matcher.match(text)
    assert result.tier is None
    assert [(s.kind, s.reason) for s in result.suppressed] == [("pattern", reason)]


def test_a_reading_without_negation_in_the_gaps_is_preferred(tmp_path):
    matcher = matcher_for(tmp_path, "i [0-3] want to die")
    assert matcher.match("i dont know i just want to die").tier == "crisis"
    assert matcher.match("i dont want to die").tier is None


def test_a_longer_match_negated_in_its_gaps_outranks_nothing(tmp_path):
    (tmp_path / "low.yaml").write_text(TOPIC.format(pattern="if i died [0-5] be grateful").replace(
        "phrases: [some phrase]", "phrases: [if i died tonight i wouldnt mind]"))
    kb = load_kb([tmp_path])
    assert kb.problems == []
    result = Matcher(kb).match("if i died tonight i wouldn't mind, i'd be grateful")
    assert result.tier == "crisis"
    assert [s.reason for s in result.suppressed] == ["negation 'wouldnt'"]


def test_patterns_keep_their_place_in_longest_wins():
    matcher = shipped_matcher()
    bereaved = matcher.match("I lost my best friend to suicide in March")
    assert bereaved.topics == ["suicide-bereavement"]
    assert "longer phrase '(lost|losing) [1-3] to suicide' (suicide-bereavement)" in [
        s.reason for s in bereaved.suppressed]
    assert matcher.match("I lost my best friend to suicide and now I want to die too").tier == "crisis"


def test_pattern_checks_per_message_are_bounded(tmp_path):
    """Anchors that never complete their pattern stop being checked; phrases still count after them."""
    matcher = matcher_for(tmp_path, "(wanted|wants) [0-1] to die")
    decoys = "to die " * (MAX_PATTERN_CHECKS + 10)
    assert matcher.match(decoys[: 7 * (MAX_PATTERN_CHECKS - 1)] + "I wanted to die").tier == "crisis"
    assert matcher.match(decoys + "I wanted to die").tier is None
    assert matcher.match(decoys + "some phrase").tier == "crisis"


def test_kb_test_names_the_pattern():
    result = subprocess.run(
        [sys.executable, "-m", "bothy", "kb", "test", "--dir", str(ROOT / "referral_kb"), "I wanted so badly to die"],
        capture_output=True, text=True, check=True)
    assert "Would trigger crisis (crisis) on the pattern '<wishing> [0-2] <dying>'" in result.stdout


CUES = """id: low
title: Low
tier: crisis
phrases: [some phrase]
patterns:
  - "[cue:farewell] thank you for everything"
  - "[cue:farewell] look after each other"
  - "[cue:decided] made my decision"
  - "[cue:gone*] should have died"
  - "[cue:gone*] (disappointed|gutted) i woke up"
  - "[cue:gone*] (want|wanna) to be gone"
  - "[cue:gone*] (want|just want) to (be gone|disappear)"
resources:
  - {name: Line, phone: '1', checked: 2026-11-25}
"""


@pytest.mark.parametrize(("text", "met"), [
    ("I've made my decision. Thank you for everything",
     "[cue:decided] made my decision + [cue:farewell] thank you for everything"),
    ("thank you for everything, look after each other", None),  # two of one group: someone leaving the group
    ("I made my decision", None),
    ("I should have died out there. Gutted I woke up again",
     "[cue:gone*] should have died + [cue:gone*] (disappointed|gutted) i woke up"),
    ("should have died. should have died.", None),  # the same cue twice is one cue
    ("i just want to be gone", None),  # two cues over the same words are one thing said
    ("i want to be gone. should have died",
     "[cue:gone*] (want|wanna) to be gone + [cue:gone*] should have died"),
    ("should have died, thank you for everything",
     "[cue:gone*] should have died + [cue:farewell] thank you for everything"),
])
def test_cues_count_when_two_groups_meet_or_a_starred_group_meets_itself(tmp_path, text, met):
    (tmp_path / "low.yaml").write_text(CUES)
    kb = load_kb([tmp_path])
    assert kb.problems == []
    hits = Matcher(kb).match(text).hits
    assert [hit.phrase for hit in hits] == ([met] if met else [])


def test_an_optional_part_is_skipped_even_where_its_first_word_stands(tmp_path):
    """ "(just so)?" is not there in "I'm so done ...": its first word is, but the pattern still matches without it."""
    matcher = matcher_for(tmp_path, "(just so)? [0] done with being alive")
    assert matcher.match("im just so done with being alive").tier == "crisis"
    assert matcher.match("im so done with being alive").tier == "crisis"
