"""A topic's word model: a second stage that only adds a match where phrases and patterns said nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.train_crisis_model import WINDOW, features, readings, train
from bots.referral import word_model
from bots.referral.bereavement import in_own_words
from bots.referral.bot import ReloadingKnowledgeBase
from bots.referral.kb import load_kb
from bots.referral.matcher import Matcher
from bots.referral.normalise import normalise
from bots.referral.word_model import ModelError, Reading, WordModel, load_model
from tests.unit.test_referral_kb import reloaded

ROOT = Path(__file__).resolve().parents[2]
TOPIC = """id: low
title: Low
tier: crisis
model: low-model.json
phrases: [some phrase]
patterns:
  - (want|wish) to [0-2] disappear forever
resources:
  - {name: Line, phone: '1', checked: 2026-11-25}
"""
MODEL = {"threshold": 0.9, "window": 12, "bias": -3.0,
         "words": {"void": 1.5, "cals": 1.5, "cake": -2.0, "abyss": 3.5},
         "pairs": {"calling me": 2.0, "the void": 2.5}}


def write_kb(folder: Path, model: dict | str = MODEL, topic: str = TOPIC) -> None:
    (folder / "low.yaml").write_text(topic)
    (folder / "low-model.json").write_text(model if isinstance(model, str) else json.dumps(model))


@pytest.fixture
def matcher(tmp_path) -> Matcher:
    write_kb(tmp_path)
    kb = load_kb([tmp_path])
    assert kb.problems == []
    return Matcher(kb)


def test_the_model_scores_a_message_that_nothing_matched(matcher):
    result = matcher.match("the void keeps calling me. disappear forever, that's all")
    assert result.tier == "crisis"
    assert [(hit.kind, hit.phrase) for hit in result.hits] == [("model", "score 0.95")]
    assert result.as_json()["model"] == "score 0.95"


@pytest.mark.parametrize("text", [
    "she says the void calls. disappear forever, that's all",  # 0.92, but someone else is named and not the writer
    "the void keeps calling me. disappear forever, and cake",  # a low score
    "the void is calling me, i don't want to disappear forever",  # a match set aside as negated: a denial stands
])
def test_the_model_stays_silent_where_the_words_said_no_or_nothing(matcher, text):
    assert all(hit.kind != "model" for hit in matcher.match(text).hits)


def test_in_a_message_longer_than_the_window_a_negation_leaves_the_rest_to_the_model(matcher):
    """A long post that denies one thing ("I don't want to disappear forever") is read by the model all the same, in
    its stretches and against its higher bar (the window here is 12 words); a short one is not."""
    long_post = "i don't want to disappear forever. but the void keeps calling me and the abyss too, most nights"
    result = matcher.match(long_post)
    assert [aside.reason.split()[0] for aside in result.suppressed] == ["negation"]
    assert [hit.kind for hit in result.hits] == ["model"]
    assert matcher.match("the void is calling me, i don't want to disappear forever").hits == ()


def test_the_words_after_a_denial_are_read_against_the_wary_bar(tmp_path):
    """What follows a denial may be the crisis said in other words ("I'm not suicidal, but I wrote the letters last
    night"), or how the writer is instead: the model reads it on its own, against its wary bar."""
    write_kb(tmp_path, model={**MODEL, "wary_threshold": 0.97})
    matcher = Matcher(load_kb([tmp_path]))
    assert matcher.match("i don't want to disappear forever, the void is calling me").hits == ()  # 0.95
    assert [(hit.kind, hit.phrase) for hit in matcher.match(
        "i don't want to disappear forever, the void and the abyss are calling me").hits] == [("model", "score 1.00")]


def test_a_negated_message_long_only_by_its_look_alikes_stays_a_denial(tmp_path):
    """The words the model would read decide whether a message is long: 15 words, 4 of them an exclusion's, are 11
    read, within the window, so the negation stands (a reviewer's)."""
    write_kb(tmp_path, topic=TOPIC.replace("patterns:", "exclusions: [on the bus home]\npatterns:"))
    matcher = Matcher(load_kb([tmp_path]))
    text = "the void keeps calling me on the bus home, i don't want to disappear forever"
    assert matcher.match(text).hits == ()
    assert [hit.kind for hit in matcher.match(text + " and at night, every night").hits] == ["model"]


def test_the_model_needs_none_of_the_topics_phrases_or_anchors(matcher):
    """New wording is what the model is for: "the abyss keeps calling me" shares no word with the phrases."""
    result = matcher.match("the abyss keeps calling me")
    assert [(hit.kind, hit.phrase) for hit in result.hits] == [("model", "score 0.92")]


def test_the_model_does_not_see_the_words_of_the_topics_exclusions(tmp_path):
    """Exclusions name everyday look-alikes ("jump in the shower"): their words are left out of the score, and only
    theirs, so one found elsewhere in a message does not hide what the rest of it says."""
    write_kb(tmp_path, topic=TOPIC.replace("patterns:", "exclusions: [calling me back]\npatterns:"))
    matcher = Matcher(load_kb([tmp_path]))
    assert matcher.match("the void keeps calling me back, honestly").hits == ()
    assert [hit.kind for hit in matcher.match("the void keeps calling me. calling me back later").hits] == ["model"]


def test_a_match_set_aside_by_an_exclusion_leaves_the_rest_to_the_model(tmp_path):
    """An exclusion names a look-alike, it does not deny: unlike a negation, it does not silence the model."""
    write_kb(tmp_path, topic=TOPIC.replace("patterns:", "exclusions: [disappear forever in the fog]\npatterns:"))
    matcher = Matcher(load_kb([tmp_path]))
    result = matcher.match("i want to disappear forever in the fog, the abyss keeps calling me")
    assert [aside.reason for aside in result.suppressed] == ["exclusion 'disappear forever in the fog'"]
    assert [hit.kind for hit in result.hits] == ["model"]
    assert matcher.match("i want to disappear forever in the fog, and cake").hits == ()


def test_a_long_message_needs_the_wary_threshold_in_the_matcher_too(tmp_path):
    write_kb(tmp_path, model={**MODEL, "threshold": 0.9, "wary_threshold": 0.99})
    matcher = Matcher(load_kb([tmp_path]))
    said = "the void keeps calling me"  # 0.95: enough in a short message, not in a long one
    assert [hit.kind for hit in matcher.match(said).hits] == ["model"]
    assert matcher.match(f"{said} {'and so on ' * 5}").hits == ()


def test_a_message_naming_nobody_is_scored_at_the_wary_threshold(tmp_path):
    """People leave the I out ("want to disappear", "been cutting since uni"), so a message naming nobody is scored,
    but it may be about anything: it needs the wary threshold."""
    write_kb(tmp_path, model={**MODEL, "threshold": 0.9, "wary_threshold": 0.94})
    matcher = Matcher(load_kb([tmp_path]))
    assert [hit.kind for hit in matcher.match("the void keeps calling. the abyss").hits] == ["model"]  # 0.99
    assert matcher.match("the void calls. disappear forever, that's all").hits == ()  # 0.92
    assert [hit.kind for hit in matcher.match("the void calls me. disappear forever").hits] == ["model"]  # 0.92


def test_a_word_or_pair_counts_once_as_in_training():
    model = WordModel(0.9, 12, -3.0, {"void": 2.0}, {("void", "void"): 0.5})
    assert model.probability(["void"] * 4) == model.probability(["void"] * 2)


def test_the_last_words_of_a_long_message_are_scored_too():
    model = WordModel(0.9, 4, -5.0, {"x": 10.0}, {})
    assert model.probability([*"aaaa", "x"]) == model.probability([*"aaa", "x"]) > 0.99


def test_a_long_message_is_scored_by_its_likeliest_stretch_of_words(matcher):
    padding = "and so on " * 10
    said_together = f"{padding} the void keeps calling me. {padding} disappear forever {padding}"
    assert [hit.kind for hit in matcher.match(said_together).hits] == ["model"]
    said_apart = f"the void {padding} keeps calling me. disappear forever"  # a window never holds both
    assert matcher.match(said_apart).hits == ()


def test_a_message_longer_than_a_window_or_naming_nobody_needs_the_wary_threshold():
    model = WordModel(0.9, 4, 0.0, {"x": 2.5}, {}, wary_threshold=0.95)  # "x" alone scores 0.92
    assert model.probability(["x"]) >= model.threshold_for(["x"]) == 0.9
    assert model.threshold_for([*"aaaa", "x"]) == 0.95 > model.probability([*"aaaa", "x"])
    assert model.threshold_for(["x"], writer_named=False) == 0.95
    assert WordModel(0.9, 4, 0.0, {}, {}).threshold_for([*"aaaaa"], writer_named=False) == 0.9  # none given: one


def test_a_long_messages_bar_rises_with_its_stretches():
    """Each stretch is one more chance for everyday words to add up by chance: beyond two, the bar's log-odds rise
    by wary_rise × ln(stretches / 2)."""
    model = WordModel(0.9, 4, 0.0, {"x": 3.5}, {}, wary_threshold=0.95, wary_rise=1.0)  # "x" scores 0.97
    two, four = [*"aaaaax"], [*"aaaaaaaax"]  # 6 words: stretches at 0 and 2; 9 words: at 0, 2, 4 and 5
    assert model.threshold_for(two) == 0.95 < model.probability(two)
    bar = model.threshold_for(four)  # odds of 19 to 1, doubled: 38 to 1
    assert bar == pytest.approx(38 / 39)
    assert bar > model.probability(four)
    at_most = model.threshold_for(["a"] * word_model.MAX_WORDS)
    assert model.threshold_for(["a"] * (word_model.MAX_WORDS * 3)) == at_most < 1  # read to MAX_WORDS only, as scored
    for length in (*range(0, 40), word_model.MAX_WORDS - 1, word_model.MAX_WORDS, word_model.MAX_WORDS + 7):
        read = word_model.stretches([str(index) for index in range(length)], model.window)
        assert [int(stretch[0]) if stretch else 0 for stretch in read] == list(word_model.stretch_starts(length, 4))
    assert WordModel(0.9, 4, 0.0, {}, {}, wary_threshold=0.95).threshold_for(four) == 0.95  # no rise: as before


def test_the_rise_is_read_from_the_model_file_and_meets_the_matcher(tmp_path):
    write_kb(tmp_path, model={**MODEL, "threshold": 0.9, "wary_threshold": 0.95, "wary_rise": 2.0})
    matcher = Matcher(load_kb([tmp_path]))
    said = "the void keeps calling me"  # 0.95 at best
    assert [hit.kind for hit in matcher.match(f"{said} {'and so on ' * 3}").hits] == ["model"]  # two stretches
    assert matcher.match(f"{said} {'and so on ' * 12}").hits == ()  # six: the bar is 0.994


def test_a_short_message_naming_nobody_may_have_a_threshold_of_its_own():
    model = WordModel(0.9, 4, 0.0, {}, {}, wary_threshold=0.95, unnamed_threshold=0.93)
    assert model.threshold_for(["x"], writer_named=False) == 0.93
    assert model.threshold_for([*"aaaax"], writer_named=False) == 0.95  # long: the wary threshold
    assert model.threshold_for(["x"]) == 0.9


def test_the_words_after_a_denial_may_have_a_threshold_of_their_own(tmp_path):
    model = WordModel(0.9, 4, 0.0, {}, {}, wary_threshold=0.95, denied_threshold=0.98)
    assert model.threshold_for(["x"], reading=Reading.AFTER_DENIAL) == 0.98
    assert model.threshold_for(["x"], reading=Reading.LEFT) == 0.95
    assert WordModel(0.9, 4, 0.0, {}, {}, wary_threshold=0.95).threshold_for(["x"], reading=Reading.AFTER_DENIAL) \
        == 0.95  # none given: the wary one
    (tmp_path / "model.json").write_text(json.dumps({**MODEL, "denied_threshold": 0.99}))
    assert load_model(tmp_path / "model.json").denied_threshold == 0.99


def test_a_match_of_the_topic_is_left_as_it_is(matcher):
    result = matcher.match("I want to disappear forever, the void is calling me")
    assert [hit.kind for hit in result.hits] == ["pattern"]


def test_in_a_bereavement_room_a_models_score_is_never_the_members_own_crisis(matcher):
    text = "the void keeps calling me. disappear forever, that's all"
    kept = in_own_words(matcher.match(text), text)
    assert kept.tier is None
    assert [s.reason for s in kept.suppressed] == ["about someone else, in a bereavement room"]


@pytest.mark.parametrize(("content", "problem"), [
    ("{not json", "is not valid JSON"),
    (json.dumps({**MODEL, "threshold": 1.5}), "threshold must be a probability"),
    (json.dumps({**MODEL, "wary_threshold": 0.2}), "wary_threshold must be from threshold to below 1"),
    (json.dumps({**MODEL, "wary_threshold": None}), "wary_threshold must be from threshold to below 1"),
    (json.dumps({**MODEL, "long_threshold": 0.95}), "long_threshold is now called wary_threshold"),
    (json.dumps({**MODEL, "unnamed_threshold": 0.2}), "unnamed_threshold must be from threshold to below 1"),
    (json.dumps({**MODEL, "unnamed_threshold": 1}), "unnamed_threshold must be from threshold to below 1"),
    (json.dumps({**MODEL, "wary_threshold": 0.95, "denied_threshold": 0.94}),
     "denied_threshold must be from wary_threshold to below 1"),
    (json.dumps({**MODEL, "denied_threshold": 1}), "denied_threshold must be from wary_threshold to below 1"),
    (json.dumps({**MODEL, "wary_rise": -1}), "wary_rise must be a number from 0 to 10"),
    (json.dumps({**MODEL, "wary_rise": "steep"}), "wary_rise must be a number from 0 to 10"),
    (json.dumps({**MODEL, "wary_rise": 1e9}), "wary_rise must be a number from 0 to 10"),
    (json.dumps({**MODEL, "window": "long"}), "window must be a whole number"),
    (json.dumps({**MODEL, "words": {"void": "heavy"}}), "every weight must be a number"),
    (json.dumps({**MODEL, "pairs": {"calling me now": 1.0}}), "pairs two words"),
    (json.dumps([1, 2]), "must be a JSON object"),
    (json.dumps({**MODEL, "bias": 10 ** 400}), "bias must be a number"),  # overflows a float
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    (json.dumps({**MODEL, "words": {"void": 1e308, "VOID": 1e308}}), "between -100 and 100"),  # read as one word
])
def test_a_bad_model_file_is_named_with_the_line_that_names_it(tmp_path, content, problem):
    write_kb(tmp_path, content)
    problems = load_kb([tmp_path]).problems
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'low.yaml'}:4: model 'low-model.json'")
    assert problem in problems[0]


def test_a_missing_model_file_or_a_path_elsewhere_is_a_problem(tmp_path):
    write_kb(tmp_path)
    (tmp_path / "low-model.json").unlink()
    assert "cannot be read" in load_kb([tmp_path]).problems[0]
    write_kb(tmp_path, topic=TOPIC.replace("model: low-model.json", "model: ../elsewhere.json"))
    assert "model must name a file in the same folder" in load_kb([tmp_path]).problems[0]


def test_an_addition_cannot_bring_a_model(tmp_path):
    write_kb(tmp_path)
    (tmp_path / "more.yaml").write_text("add_to: low\nmodel: low-model.json\nphrases: [another phrase]\n")
    assert any("a model belongs to the topic's own file" in p for p in load_kb([tmp_path]).problems)


def test_load_model_rejects_a_model_without_weights(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"threshold": 0.9, "window": 10, "bias": 0}))
    with pytest.raises(ModelError, match="words and pairs"):
        load_model(path)


def test_a_model_file_too_large_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(word_model, "MAX_FILE_BYTES", 100)
    write_kb(tmp_path)
    assert "is larger than" in load_kb([tmp_path]).problems[0]


@pytest.mark.parametrize("first_edit", [None, "{ broken"])
async def test_the_knowledge_base_reloads_when_the_model_is_changed_for_a_good_one(tmp_path, first_edit):
    write_kb(tmp_path)
    now = [0.0]
    knowledge = ReloadingKnowledgeBase((tmp_path,), monotonic=lambda: now[0])
    first = knowledge.current()
    model_file = tmp_path / "low-model.json"
    if first_edit is not None:
        model_file.write_text(first_edit)
        os.utime(model_file, (1, 1))
    now[0] += 10
    assert await reloaded(knowledge) is first  # unchanged, or broken: the last good one stays
    model_file.write_text(json.dumps({**MODEL, "words": {"void": -4.0}}))
    os.utime(model_file, (2, 2))  # and once fixed, a broken file is noticed
    now[0] += 10
    assert await reloaded(knowledge) is not first
    assert knowledge.current().matcher.match("the void keeps calling me. disappear forever").tier is None


def test_the_shipped_model_is_what_the_trainer_makes_of_the_development_set(tmp_path):
    """Add a batch to the set, run `python -m bench.train_crisis_model`, and commit the new file with it."""
    out = tmp_path / "model.json"
    subprocess.run([sys.executable, "-m", "bench.train_crisis_model", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    assert out.read_text() == (ROOT / "referral_kb" / "crisis-model.json").read_text()


def test_a_long_crisis_post_is_learnt_from_by_its_likeliest_stretch():
    """Learnt whole, a long crisis post's story (the commute, the landlord) was learnt as crisis talk and everyday
    long posts were flagged for a stretch of it. Learnt from its likeliest stretch, as the model scores it, the story
    weighs nothing where the crisis is said in words learnt from many short posts, as most are; where it is not, the
    story's stretch may be chosen and learnt from instead (bench/train_crisis_model.py, readings)."""
    story = "my commute on the train was late again and the landlord rang about the boiler " + "and so it is " * 25
    posts = [(f"{story} the void keeps calling {number}", 1) for number in ("one", "two", "three")]
    short = [("the void keeps calling", 1)] * 30 + [("the garden looks lovely today", 0)] * 30
    assert len(normalise(posts[0][0]).split()) > WINDOW and len(readings(posts[0][0], crisis=True)) > 1
    assert len(readings(posts[0][0], crisis=False)) == 1  # everyday long posts are learnt from whole, as before
    _, by_stretch = train([(readings(text, label == 1), label) for text, label in [*short, *posts]])
    _, whole = train([([features(normalise(text).split())], label) for text, label in [*short, *posts]])
    commute, void = normalise("commute").strip(), normalise("void").strip()
    assert by_stretch[commute] == 0 < whole[commute]
    assert by_stretch[void] > 0.5
