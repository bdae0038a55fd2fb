"""The matcher against a labelled set of realistic messages, and the rules behind it."""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from bots.referral.kb import load_kb
from bots.referral.matcher import CONTEXT_CHARS, READ_ON_CHARS, Matcher
from bots.referral.normalise import normalise

ROOT = Path(__file__).resolve().parents[2]
LABELLED = yaml.safe_load((Path(__file__).parent / "data" / "referral_labelled.yaml").read_text())


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    kb = load_kb([ROOT / "referral_kb"])
    assert kb.problems == []
    return Matcher(kb)


def test_the_labelled_set_is_big_enough():
    assert len(LABELLED) >= 200
    assert sum(1 for _, topics in LABELLED if not topics) >= 80  # plenty that must trigger nothing


def tier_scores(matcher: Matcher) -> dict[str, tuple[float, float]]:
    tiers = {topic.id: topic.tier for topic in matcher.kb.topics.values()}
    counts: Counter[tuple[str, str]] = Counter()
    for text, topics in LABELLED:
        expected = {tiers[t] for t in topics}
        got = {tiers[t] for t in matcher.match(text).topics}
        for tier in expected | got:
            counts[(tier, "tp" if tier in expected and tier in got else "fn" if tier in expected else "fp")] += 1
    scores = {}
    for tier in ("crisis", "support", "practical"):
        tp, fp, fn = (counts[(tier, k)] for k in ("tp", "fp", "fn"))
        scores[tier] = (tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0)
    return scores


def test_precision_and_recall_per_tier(matcher):
    scores = tier_scores(matcher)
    crisis_precision, crisis_recall = scores["crisis"]
    assert crisis_recall == 1.0, "a missed crisis message is the worst failure"
    assert crisis_precision >= 0.95
    for tier in ("support", "practical"):
        precision, recall = scores[tier]
        assert precision >= 0.9 and recall >= 0.9, (tier, precision, recall)


@pytest.mark.parametrize(("text", "topics"), [
    # Troubles told as members in recovery and older members tell them (batches 103b and 103c's tuning part), and a
    # red team's everyday lines with the same words, which name no trouble
    ("cant stop betting, lost the rent money again", ["gambling"]),
    ("had a bet on the grand national for a laugh, my horse came last", []),
    ("five years off gambling today, celebrating with a cake", []),
    ("i gamble on the weather every summer", []),
    ("went on a bender after the wedding, day 1 again", ["alcohol-and-drugs"]),
    ("3 years off methadone today, celebrating!", []),
    ("my sponsor bought me a cake for 2 years", []),
    ("im craving chocolate", []),
    ("need help wi a mandatory reconsideration for my ADP", ["benefits"]),
    ("the housing association still havent fixed the damp coming through", ["housing"]),
    ("the new housing association flat is lovely, moved in today", []),
    ("signed a trust deed when my gambling was bad and cant keep up", ["debt", "gambling"]),
    # Practical troubles said plainly (twenty-ninth session): a benefit stopped is the trouble, not its end
    ("my universal credit has been stopped", ["benefits"]),
    ("my ESA has stopped and I don't know why", ["benefits"]),
    ("my PIP got refused", ["benefits"]),
    ("how do i apply for pip", ["benefits"]),
    ("how do food banks work", ["benefits"]),
    ("the pip in this orange nearly broke my tooth", []),
    ("the landlord is threatening to evict me", ["housing"]),
    ("I'm going to lose my flat", ["housing"]),
    ("missed two rent payments, who can help", ["housing"]),
    ("we're moving house next month, so excited", []),
    ("I owe thousands on credit cards", ["debt"]),
    ("I've got a CCJ", ["debt"]),
    ("can't afford to top up the meter", ["debt"]),
    ("my mental health is really bad right now", ["mental-health-support"]),
    ("I think I might be depressed", ["mental-health-support"]),
    ("I feel like I'm falling apart", ["mental-health-support"]),
    ("the old shed is falling apart", []),
    ("I'm scared of my husband", ["domestic-abuse"]),
    # A second reviewer's everyday lines against those phrases (twenty-ninth session)
    ("my cat keeps trying to evict me from my own bed lol", []),
    ("Discord keeps kicking me out of the voice channel", []),
    ("my mum's kicking me out next month", ["housing"]),
    ("I always lose my house keys, third time this month", []),
    ("it's so damp in the house with all this rain", []),
    ("our dog Pip has stopped eating her biscuits", []),
    ("I need to log in to my ADP account to get my payslip", []),
    ("my UC payment is late again", ["benefits"]),
    ("just popping out to top up the meter then I'll be on", []),
    ("I owe hundreds of emails a reply after holiday", []),
    ("I'm scared of my husband finding out I ate the last biscuit", []),
    ("im falling apart laughing at this meme", []),
])
def test_recovery_and_everyday_troubles_are_signposted(matcher, text, topics):
    assert sorted(matcher.match(text).topics) == sorted(topics)


def test_topics_per_message(matcher):
    wrong = [(text, topics, matcher.match(text).topics) for text, topics in LABELLED
             if set(matcher.match(text).topics) != set(topics)]
    assert len(wrong) <= len(LABELLED) // 50, wrong


@pytest.mark.parametrize(("text", "reason"), [
    ("I'm not suicidal", "negation 'not'"),
    ("I'm dying to see you", None),
    ("watched suicide squad", "exclusion 'suicide squad'"),
    ("my dad died by suicide", "longer phrase 'died by suicide' (suicide-bereavement)"),
])
def test_why_a_match_was_suppressed_is_explained(matcher, text, reason):
    result = matcher.match(text)
    # Why the crisis match gave way ("my dad died" in bereavement gives way to the longer phrase too).
    assert [s.reason for s in result.suppressed if s.topic == "crisis"] == ([reason] if reason else [])
    assert "crisis" not in result.topics


@pytest.mark.parametrize(("text", "topics"), [
    ("Supporting my mum after my stepdad's suicide and I'm running on empty", ["suicide-bereavement"]),
    ("how do i talk to my kids about their auntie's suicide", ["suicide-bereavement"]),
    ("my step dad suicide anniversary is coming up", ["suicide-bereavement"]),
    ("my neighbours suicide has shaken the whole street", ["suicide-bereavement"]),
    ("since mum suicide i cant sleep properly", ["suicide-bereavement"]),  # a second reviewer's
    ("my eldest son suicide was in march and i cant function", ["suicide-bereavement"]),
    ("Dear Mum, suicide is the only way out. I'm sorry", ["crisis"]),
])
def test_someones_suicide_is_bereavement_whoever_they_were(matcher, text, topics):
    assert matcher.match(text).topics == topics


@pytest.mark.parametrize(("text", "crisis"), [
    ("my friend passed away by suicide and I want to join him", True),
    ("my brother died by suicide last year and I'm planning to do the same", True),
    ("my uncle killed himself and I've been thinking about doing the same", True),
    ("my friend died by suicide last month", False),
    ("I want to join him at the gym", False),
    ("my mum died by suicide and my sister wants to do the same fundraiser", False),
])
def test_meaning_to_follow_someone_lost_to_suicide_is_a_crisis(matcher, text, crisis):
    """The bereavement phrase outranks the crisis word "suicide"; the writer's wish to follow stands on its own."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", [
    "I've never felt so suicidal",
    "never been so suicidal in my life",
    "I have never been this low, I want to die",
    "I've never been this suicidal",
    "I've never been more suicidal",
    "I've never been so ready to end it",
    "I'm not sure, I've never been as suicidal as tonight",
    "Been clean 3 years and I've never wanted to be dead more than I do right now",  # "never ... more than"
])
def test_negation_does_not_reach_across_an_intensifier(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "negation"), [
    ("I'm not suicidal", "not"),
    ("never really suicidal", "never"),
    ("I'm not going to kill myself", "not"),
    ("I've never been suicidal", "never"),
    ("I wasn't really thinking about suicide", "wasnt"),
    ("I'm not ready to end it with him", None),
])
def test_plain_negations_still_suppress(matcher, text, negation):
    result = matcher.match(text)
    assert result.tier is None
    assert {s.reason for s in result.suppressed if s.reason.startswith("negation")} == (
        {f"negation {negation!r}"} if negation else set())


@pytest.mark.parametrize(("text", "negation"), [
    ("I'm no longer suicidal", "no"),
    ("no plans to end my life, just needed to rant", "no"),
    ("I wouldn't kill myself, I'd never do that to my mum", "wouldnt"),
    ("I have never had a plan to kill myself", "never"),
    ("I didn't want to kill myself, I just wanted to stop feeling", "didnt"),
    ("I'm not currently suicidal", "not"),
    ("I'm nowhere near wanting to die, just burnt out", "nowhere"),
    ("don't think I've ever been suicidal, just anxious", "dont"),
    ("I would never commit suicide", "never"),
    ("I never thought about killing myself before and I still don't", "never"),
    ("no more suicidal thoughts for about six months", "no"),
    ("no more self harm for me, 100 days today", "no"),
])
def test_negations_reach_through_what_people_put_between(matcher, text, negation):
    result = matcher.match(text)
    assert result.tier is None
    assert f"negation {negation!r}" in [s.reason for s in result.suppressed]


@pytest.mark.parametrize("text", [
    "I won't commit, I want to die",  # "commit" carries a negation only straight into its object
    "I didn't commit to the plan, I want to die",
    "no, I want to die",  # an answer, not a negation
    "No I'm not ok. I want to kill myself",
    "I don't know why I want to die",
    "no more i want to die",  # "no more" negates only a thing named right after it
    "I can't cope no more, want to die",  # "no more" for "any more" (a reviewer's)
    "cant take this no more suicidal every night",
    "no more suicidal thoughts, I've made up my mind",  # over because it is decided
    "no suicidal thoughts. just the decision",
    "I'm not depressed or suicidal, I'm just done. taking everything tonight.",  # tried and left out: "not X or"
    "it doesn't mean I'm suicidal, it means I've decided",  # ... and "doesn't mean I'm"
    "I didn't mean to hurt myself this bad",
    "it doesn't mean i want to die any less",
])
def test_no_and_dont_elsewhere_in_the_sentence_do_not_negate(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize("text", [
    "kiII myself", "ki11 mys3lf", "I want to kiII myself", "kIll myself", "ki1l myself", "k1ll myself",
    "I won't kill myself. I'll kiII myself",
])
def test_one_and_capital_i_can_stand_for_l(matcher, text):
    result = matcher.match(text)
    assert result.tier == "crisis"
    found = result.as_json()  # "I want to kill myself" is found by a longer pattern that contains it
    assert "kill myself" in found["phrases"] or any("kill myself" in p for p in found["patterns"])


@pytest.mark.parametrize("text", [
    "St1ll st1ll st1ll st1ll st1ll st1ll st1ll st1ll st1ll st1ll, I'm suicidaI",  # "stil" read as is, "stl" with l
    "I'm suicidaI",
    "b1ll " * 40 + "and I want to kiII myseIf",
])
def test_a_hit_found_by_the_l_reading_points_at_its_words_in_the_normalised_text(matcher, text):
    """Rules after the matcher (bereavement rooms) read a hit's words from the normalised text, not the l reading."""
    hit = next(hit for hit in matcher.match(text).hits if hit.tier == "crisis")
    assert normalise(text)[hit.start:hit.end] in {"suicidai", "want to ki myseif"}


@pytest.mark.parametrize("text", [
    "I'm not going to kiII myself",
    "1'm n0t go1ng to hurt mys3lf",  # read with l, "go1ng" is "golng": the main reading's negation stands
    "Illness is not the same as being ill",
])
def test_the_l_reading_keeps_negations(matcher, text):
    assert matcher.match(text).tier is None


def test_cost_does_not_depend_on_phrase_order_or_count(matcher):
    big = load_kb([ROOT / "referral_kb"])
    crisis = big.topics["crisis"]
    crisis.phrases.extend(f"made up phrase {n}" for n in range(2000))
    assert Matcher(big).match("I just want to die").topics == ["crisis"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Don’t", " dont "), ("ＦＵＬＬ", " ful "), ("ѕad", " sad "), ("s.a.d.l.y", " sadly "),
    ("c@fé", " cafe "), ("help!", " help "), ("", "  "), ("a\u200bb", " ab "),
    ("S/H urges", " sh urges "), ("s / h", " sh "), ("as/he said", " as he said "), ("24/7", " 24 7 "),
])
def test_normalise(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("text", [
    "suicide isn't something I'd ever consider",
    "killing myself wasn't something I thought about, I just felt flat",
])
def test_a_denial_just_after_the_match_negates_it(matcher, text):
    result = matcher.match(text)
    assert result.tier is None
    assert any(s.reason.startswith("negation") for s in result.suppressed)


@pytest.mark.parametrize(("text", "crisis"), [
    ("taking my own life has never been on the cards", False),
    ("nah, overdose isn't on my mind, I just need a proper night's sleep", False),
    ("An overdose isn't happening, I'm going to take a bath and go to bed", False),
    ("angry, sad, confused, but suicidal isn't one of them", False),
    ("suicide was never an option for me, even at my lowest", False),
    ("No intention whatsoever of harming myself", False),
    ("Thoughts of self-harm: none. Thoughts of eating a whole cheesecake: several.", False),  # as on a form
    ("Thoughts of suicide: none. Just tired.", False),
    # their twins, from a second reviewer: the negation starts a clause of its own, or ends, or the feeling is at its
    # worst
    ("Suicide was never on my radar before this year, now it's in my head daily", True),
    ("suicide never crossed my mind until last spring", True),
    ("I want to die, not on my own though, I'd want my dog with me", True),
    ("I'm going to kill myself, not one of them would notice", True),
    ("I want to die, not an option to keep living like this", True),
    ("I want to kill myself. Not happening tonight cause I'm too much of a coward", True),
    ("I want to die, never been on my mind more", True),
    ("suicide has never been on my mind more than tonight", True),
    ("Suicide has never been on my mind this much, I'm scared of myself", True),
    ("Suicide was never on the table for me. Now it's all I think about", True),
    ("ending my life isn't on the table anymore, it's happening tonight", True),
    ("Killing myself was never an option. Tonight it is.", True),
    ("never in my life wanted to die as much as I do today", True),
    ("I've never wanted to kill myself this badly", True),
    ("I don't have a life, I want to die", True),
    ("Kill myself. None would miss me", True),
    ("suicidal thoughts none I can control anymore", True),
    ("thoughts of suicide, none of which I've told anyone", True),
    ("thoughts of killing myself none stop", True),
    ("Never thought about suicide in my life until this year. Now it's there every morning", True),
    ("The thought of ending it doesn't even cross my mind these days.", False),
    ("suicide didn't cross my mind until last week", True),
    ("i want to die, doesn't that cross your mind", True),
    ("Suicide doesn't cross my mind. It never leaves it.", True),  # a second reviewer's: it goes on
    ("Self harm didn't enter my head for years and this week I've cut three times", True),
    # part of it, appealed (batch 89's "killing myself has never been part of my illness", held back)
    ("The thought of ending my life has never been part of it for me. My OCD is about hurting other people", False),
    ("The idea of self harm has never appealed to me at all. I clean instead.", False),
    ("suicide doesnt appeal to me", False),
    ("I want to die, not part of me wants to stay", True),
    ("suicide was never part of the plan until this year", True),
    ("wanting to die never came up in therapy because i lied", True),  # "came up" is said of talk
    ("thoughts of killing myself have never come up for me, I am just sad", False),
    ("suicide never came up for me until this year", True),
])
def test_a_denial_said_after_the_match(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis



@pytest.mark.parametrize(("text", "reason"), [
    ("recovering. no suicidal thoughts for three months", "no"),
    ("No suicidal thoughts, no self harm. Just crying a lot", "no"),
    ("no self harm, no plan, no intention. pinky promise", "no"),
    ("3 years free of suicidal ideation", "fre of"),
    ("clean from self harm since january", "clean from"),
    ("the suicidal thoughts are finally gone since i started meds", "gone"),
    ("self harm free for a year today", "fre"),
    ("at 16 i wanted to be gone, that feeling's completely gone now", "gone"),
    ("the suicidal thoughts have gone and haven't come back", "gone"),
    ("the suicidal thoughts have gone, I'm back at uni and loving it", "gone"),
    ("the suicidal thoughts are gone and I don't want them back", "gone"),
    ("my suicidal phase has gone since I moved out", "gone"),
    ("Been years since I had a suicidal thought.", "long since"),
])
def test_recovery_said_around_the_match_negates_it(matcher, text, reason):
    result = matcher.match(text)
    assert result.tier is None
    assert f"negation {reason!r}" in [s.reason for s in result.suppressed]


@pytest.mark.parametrize("text", [
    "the suicidal thoughts had gone but now they're back",
    "the suicidal thoughts had gone. But now they're back, every night.",
    "suicidal thoughts stopped for a while but they came back last week",
    "the urge to self harm had faded until last night",
    "suicidal thoughts went to my head",
    "The urge to kill myself just went away for about a month. Now it's every night again.",
    # recovery told of another time, in the next sentence (a third reviewer's)
    "I'm feeling suicidal. The urges had gone when I talked to you last time, can we talk?",
    "I'm suicidal. These thoughts had gone after my last admission and I'm scared they'll win this time.",
    "the suicidal thoughts went away during the day but at night they're there and I can't fight them anymore",
    "suicidal thoughts went away for a bit, they're worse tonight than they've ever been",
    "my suicidal thoughts went quiet and now they scream",
    "the suicidal thoughts went for a while then came back",
    "suicidal feelings over it, again",
])
def test_recovery_that_came_back_is_no_recovery(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    # a negation the words after undo: it came back ...
    ("I haven't self harmed in 2 years but the urges are back", True),
    ("I haven't felt suicidal in months but it's back", True),
    ("I haven't wanted to die for a long time but the thoughts came back last night", True),
    ("I was 18 months clean from self harm and I relapsed on Sunday", True),
    ("I haven't self harmed in 2 years but the urges are back in full force", True),  # a red team's (18th session)
    ("i haven't felt suicidal for a long time but the darkness is back and it's louder", True),
    ("i hadnt self harmed in ages, it's come back", True),
    ("hadnt felt suicidal since march, its crept back in this week", True),
    ("i havent wanted to die for so long and its suddenly back", True),
    # ... (not "back" of anything else, nor a relapse told without a recovery from self harm: often drink or drugs)
    ("I'm not suicidal, my back is killing me though", False),
    ("I'm not suicidal, I'm paying it back", False),
    ("I don't want to die, I want my old life back", False),
    ("I'm not going to kill myself, I'm going back to bed", False),
    ("I'm not suicidal, they're back together and I'm happy", False),
    ("not self harmed since march. the urges come back when i'm stressed but i've got my box of stuff now", False),
    ("I'm not gonna kill myself. I relapsed, I didn't give up. Back at the 7pm meeting tonight.", False),
    ("I haven't self harmed in 2 years, I'm back in school", False),
    ("i haven't self harmed in a year and my confidence is back in full force", False),
    ("I haven't wanted to die since they moved out, they're coming back in june", False),
    ("i haven't self harmed in ages and the colour has come back to my cheeks", False),
    ("not suicidal anymore, my appetite has returned", False),
    ("not suicidal anymore, the feeling has returned to my legs", False),
    ("i haven't self harmed in a year but the urges have returned with a vengeance", True),
    ("i'm not suicidal, i told my gp that and it came back to haunt me at the assessment", False),
    ("not suicidal anymore, it came back to my mind that i have a dentist appointment", False),  # a reviewer's
    ("i haven't self harmed in ages, and it came back into my head that i left the oven on", False),
    ("not suicidal since i returned to work", False),
    ("i havent wanted to kill myself in months but the urge has returned", True),
    ("I wasn't suicidal so much as burnt out", False),  # "so much as" undoes "never" only
    # ... it is a struggle not to, or never this much
    ("not killing myself right now is so hard", True),
    ("not self harming is getting really difficult", True),
    ("I'm not suicidal, my job is so hard", False),
    ("i've never wanted to die so much as tonight", True),
    ("I'd never kill myself, so much to live for", False),
])
def test_a_negation_undone_by_a_return_a_struggle_or_so_much_as(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("that pun was so bad i want to die lmao", False),
    ("if i hear that song again i'll kill myself hahaha", False),
    ("i want to die jk", False),
    ("one more episode of this cartoon and I'm going to walk into the sea 😂", False),
    ("i want to die lol", True),  # a nervous "lol" is not a joke
    ("i want to die, not joking", True),
    ("i want to die no kidding", True),
    ("lmao i want to die", True),  # only a laugh after the words
])
def test_a_laugh_just_after_crisis_words_is_hyperbole(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_a_laugh_changes_nothing_below_the_crisis_tier(matcher):
    assert matcher.match("drowning in debt lmao").topics == ["debt"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Ah cannae dae this", " i cant do this "),
    ("ah just wantae sleep", " i just want to slep "),
    ("naebody wid notice if ah wis deid", " nobody would notice if i was dead "),
    ("ah've been thinkin aboot it", " ive ben thinkin about it "),
    ("better off deid", " beter of dead "),
    ("I like algae and my ma's soup", " i like algae and my mas soup "),  # no marker word: left as it is
])
def test_scots_is_read_in_english(text, expected):
    assert normalise(text) == expected


@pytest.mark.parametrize("text", [
    "ah just wantae go tae sleep an no wake up",
    "ah'm thinkin aboot endin it",
    "ah dinnae want tae be alive anymair",
])
def test_crisis_said_in_scots_is_found(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    ("my flatmate said she'd be better off dead and laughed it off", False),
    ("he was going to end it, he told me last night", False),
    ("they'd be better off without me", True),  # the words say whom they are about
    ("my mum said i'd be better off dead", True),
    ("what the hell, i want to die", True),  # "hell" is not "he'll"
    # kin and friends named as the subject
    ("my son's been self harming and i don't know how to talk to him about it", False),
    ("Daughter's been self-harming and the waiting list is 9 months", False),
    ("my mum tried to overdose last week and i dont know how to act around her", False),
    ("my mum found out i've been self harming", True),
    ("me and my sister both self harm", True),
    ("my dad thinks i'm fine but i want to die", True),
    ("my partner would be better off without me", True),
    # a second reviewer's: a kin word spoken to, or ending the sentence before, is no subject
    ("Goodbye mum. Ending it tonight.", True),
    ("Stuck at my mum's. Want to end it all.", True),
    ("Spoke to my mate. Still thinking about ending it.", True),
    ("Love you dad. Ending it tonight, I'm sorry.", True),
    ("Cheers mate, still wanna die tho", True),
    ("Happy birthday to my son. Overdose tonight.", True),
    ("I think my son's been self harming", False),
])
def test_someone_else_as_the_subject_is_not_the_writers_crisis(matcher, text, crisis):
    result = matcher.match(text)
    assert (result.tier == "crisis") is crisis
    if not crisis:
        assert any(s.reason.startswith("someone else") for s in result.suppressed)


@pytest.mark.parametrize(("text", "tier"), [
    ("my son overdosed last night", "support"),  # the crisis words are his; the worried parent's match stands
    ("my son didn't overdose last night, it was an accident", None),
    ("I overdosed last night", "crisis"),
])
def test_what_someone_elses_crisis_outranked_stands_on_its_own(matcher, text, tier):
    assert matcher.match(text).tier == tier


@pytest.mark.parametrize("text", [
    # Tried and dropped (docs/DECISIONS.md, thirteenth session): a bereavement pattern for someone else's death from
    # an overdose (it outranked "overdose" and kept the word model from reading the writer's own crisis beside it),
    # "looking" as a negation filler, the Scots "I'm no gonna" as a negation (tried again in the twenty-sixth session,
    # before every verb and then before a few crisis words: two red teams' Scots crises silenced, 44 of 302 and 185
    # of 252), and "before and I'm not now" as the negation going on. Their red team's and second reviewer's crises,
    # pinned:
    "my son died of an overdose and i'm next",
    "my mum died of an overdose, i'm going to take one tonight",
    "she died of an accidental overdose and mine wont be an accident",
    "my best friend died of an overdose and i wish it was me",
    "my mum nearly lost me to an overdose last night",
    "i'm not looking at suicide as a last resort anymore, it's my first",
    "i'm not looking to hurt myself for attention, i do it because it's the only thing that helps",
    "i'm not looking to kill myself, i'm planning to",
    "i'm not looking, i want to die",
    "you ok? im no, gonna end it tonight",
    "i'm no gonna overdose again, next time i'm jumping",
    "am no gonna kill myself the day but a will soon",
    # ... and the twenty-sixth session's second red team's, told after the denial as English ones are missed ("I'm not
    # suicidal, I've taken them already"): the Scots "no" read as "not" only before a few crisis words silenced them
    "ah'm no suicidal, ah'm past that, the rope's ready",
    "ah'm no suicidal. ah've just swallowed the lot an ah'm sorry",
    "I'm no thinking of ending it, I'm ending it",
    "am no gonnae top masel the day. the morn",
    "telt the doctor am no suicidal. lied through ma teeth",
    "I'm no wanting to die, I'm going to die",
    "i never thought about suicide before and i'm not now, but tonight i do",
    "never considered suicide before and i'm not now, it's a plan",
    "I'd never self harmed before and I can't now stop",
    "I never wanted to die before and I'm not now able to stop thinking about it",
    "I had never thought about suicide before and not since, until tonight",
    # Fourteenth session: a negation carried over "or" ("I've never self harmed or wanted to die"); "or" also means
    # "or else", and a negated act often stands beside the crisis (a red team's 148 of 474):
    "i need to not self harm or i'm going to kill myself",
    "it's either don't self harm or kill myself, there's no middle for me",
    "i'm doing my best not to self harm or kill myself tonight",
    "i told the nurse i don't self harm or want to die. i lied",
    "i don't want to self harm or kill myself but i think i'm going to tonight",
    "i've never self harmed or wanted to die so much as tonight",
    "i haven't self harmed or taken an overdose so far but i'm close",
    "not self harming or killing myself right now is so hard",
])
def test_crises_that_dropped_rules_silenced_stay_crisis(matcher, text):
    assert matcher.match(text).tier == "crisis"

@pytest.mark.parametrize("text", [
    "honestly cant wait to die",  # a way of wanting and a way of dying nobody wrote down together
    "might as well just end it all",
    "so close to endin it",
    "hoping each night that i will simply not wake",
    "i dont really want to keep waking up",
    "sick of being alive",
    "would anyone even notice if i disappeared",
    "i keep praying god takes me in my sleep",
    "everyone would be better off if i just wasnt around anymore",
    "kms is on my mind every hour",
    "i slashed my wrists when i was 20",  # a past attempt, in words of its own
    "i jumped from a bridge in 2016 and survived",
    "the blade won again",  # self-harm in its own words
    "going to drive up to the reservoir tomorrow night and not drive back",
    "im leaving this world tonight",
    "when the train comes into the station i get this pull to step forward",
    "honestly ending it has crossed my mind more than once this week",
    "sh'd for the first time in a year tonight",
    "I deliberately injure myself",
    "starved myself for 3 days as punishment",
])
def test_general_frames_catch_wording_nobody_wrote_down(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize("text", [
    "I'd like to end it there, thanks for reading",
    "time to end it for tonight, good game everyone",
    "this is the hill I'll die on",
    "people should be allowed to die with dignity",
    "I'm going to die if this meeting runs over again",  # "going to" pairs only with ending one's life
    "they deserve to die for what they did",
    "i'd happily go for a pint tonight",
    "I'd happily never see that man again",
    "id happily die for a bacon roll",
    "i jumped off the pier and survived the cold water lol",
    "i want to take care of myself more this year",  # "off myself", normalised, is "of myself"
    "trying to be proud of myself",
    "i dont want to wake up at 5am tomorrow, its my day off",
    "sorry wont make it tonight, car has broken down",
    "gonna drive to the coast and not drive back until sunday",
    "I'm leaving this world and starting a new save file",
    "I am leaving this earth for a week, off-grid camping",
    "On the edge of my seat, the urge to jump up and cheer",
    "Got to the station and had the urge to jump on the earlier train",
    "ending it has never crossed my mind",
    "got my hair cut for the first time in a year",
    "i need to finish myself a coffee first",
    "Dying isn't what I want, I want my life to stop being this hard.",
    "I don't mind not waking up early on weekends",
    "burned myself for the first time in ages on the oven tray",
    "burnt myself out at work as a punishment for being late",
    "the astronauts leaving this world tonight",
])
def test_general_frames_leave_everyday_speech_alone(matcher, text):
    assert matcher.match(text).tier != "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    ("day 100 without hurting myself", False),
    ("3 weeks without self harm", False),
    ("i cant go a day without wanting to die", True),  # no recovery: a day without is what cannot happen
    ("does anyone else feel like they're just waiting to die", True),  # "they" is anyone, the writer among them
])
def test_time_without_is_recovery_and_anyone_is_the_writer_too(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("just because im smiling doesnt mean i dont want to die", True),  # two negations
    ("Going to therapy doesn't mean I've stopped wanting to die", True),
    ("it doesn't mean i'm not suicidal", True),
    # "doesn't mean" alone denies nothing: punctuation is gone, and the next sentence may be the crisis
    ("People keep telling me I don't mean that. I do want to die.", True),
    ("I said I was fine. I didn't mean that. I'm thinking about ending it.", True),
    ("I didn't mean to. I don't want to die, honestly", False),
    ("i don't want to die", False),
])
def test_a_negation_after_doesnt_mean_i_is_undone(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("i wanted to die most days back then. not anymore", False),
    ("I want to die, I can't cope, not anymore", True),  # "not anymore" ends only a wish said in the past
    ("thought about ending it a lot last winter. I don't now", False),
    ("back when i drank i wanted to die every day. i dont anymore", False),
    ("I've thought about killing myself. not now, but later tonight when everyone's asleep", True),  # put off
    ("I want to die. not now, not ever again will i feel ok", True),
    ("Suicidal? No. Exhausted, yes.", False),
    ("im so suicidal no one cares", True),
    ("The urge to self harm isn't there anymore", False),
])
def test_a_denial_just_after_the_match(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", [
    "its getting hard not to think about ending my own life",
    "i'm trying not to self harm tonight",
])
def test_a_wish_held_off_is_not_denied(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    ("the nurse asked if i'd had thoughts of suicide and i said no", False),
    ("the nurse asked if I had thoughts of suicide and I said yes", True),
    ("my therapist asked if I'd thought about ending my life and I couldn't say no", True),
    ("she asked if I wanted to kill myself and I'm not okay", True),
    ("they asked me if I was suicidal, I'm not sure anymore", True),
    ("he asked if I was ok. no. I want to die", True),  # the no answers another question
    ("My partner asked me if I was thinking of hurting myself. I'm not.", False),
    ("people have asked gently whether I've had thoughts of suicide and I genuinely haven't", False),
    ("the doctor asked me the question about suicide and i said no and i meant it", False),
    ("my gp asked if i had a plan to kill myself. i dont have a plan but i think about it every day", True),
    # "have" after a no goes on: reading "I never have" as a finished answer ("... I never have. I'm just worn out",
    # an independent writer's denial) silenced crises in two reviews, and was taken back (thirtieth session)
    ("my GP asked if I'd ever wanted to kill myself. I never have but I do now", True),
    # ... and an answer turned after it (a reviewer's, thirtieth session), not a wish to get better
    ("my GP asked if I'd ever wanted to kill myself. I haven't but I do now", True),
    ("the nurse asked if i was suicidal. i said no but i want to", True),
    ("asked if I'd ever attempted suicide. I haven't and I'm scared I will", True),
    ("she asked if I'd self harmed. I haven't, honestly not until last night", True),
    ("the nurse asked if i had thoughts of ending it. i said no but i want to get better", False),
    ("the nurse asked if I was suicidal. I said no but now I'm fine", False),
    ("the gp asked if i had thoughts of ending my life. never have i wanted it more", True),
    ("they asked if i was thinking of killing myself. never have i been more sure", True),
    ("she asked if i'd thought about killing myself. i never have so much as this week", True),
    ("the nurse asked if i had thoughts of harming myself. i never have it off my mind", True),
    # A second reviewer's: the writer's own words after a question, which punctuation no longer sets apart.
    ("Samaritans asked if I was safe right now. I'm not. I'm on the bridge and I want to jump and I don't think anyone "
     "can stop me", True),
    ("he asked if I was okay. no. I'm not okay. I want to kill myself and I haven't got the strength", True),
    ("Housing asked me for more documents. I give up, I want to die, I'm not doing this anymore", True),
    ("My therapist asked me how my week was. I want to die and I haven't told her.", True),
    ("Teacher asked me if everything was alright at home. I've been cutting myself every night and I don't know how "
     "to stop", True),
    ("the nurse asked if I was suicidal and I said no. I lied. I am. I have the pills here.", True),
    ("She asked if I was thinking about suicide. I said not really but that's not true, I'm planning it", True),
    ("the crisis team asked if I had a plan. yes. I'm going to hang myself and I don't want anyone to stop me", True),
    ("my therapist asked if i wanted to die and i said no but the truth is yes, i do", True),
    ("my friend asked if I was joking. I'm not. I want to die and I'm not kidding", True),
    ("she asked if I wanted to die and I didn't know what to say. no one has asked before", True),
    # Fifteenth session: answered no, and said to be so ...
    ("my counsellor asked if i was suicidal and i said no and it was true", False),
    ("The doctor asked about thoughts of self-harm and I said no, and it was true.", False),
    # ... and the words before the question or after the answer that plan, time, prepare or take it back undo it
    # (red teams')
    ("the crisis team asked if I have a plan to kill myself. I said no. I have a date", True),
    ("My nurse keeps asking whether I'm suicidal. I'm not. I've got the spot picked out by the reservoir.", True),
    ("Bridge at 2am, already picked the spot. The nurse asked if I'm suicidal. I'm not, I said.", True),
    ("my dad asked if I've been self harming. I told him I haven't. Then I went upstairs and did it again", True),
])
def test_a_question_reported_and_answered_no_is_no_crisis(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("Wanting to die? No. Just knackered.", False),
    ("Me? Hurt myself? No chance. I'm too stubborn for that", False),
    ("Hurt myself? Me? No chance.", False),  # "Me?" asks the question before it again
    ("Suicidal? Me? Nah, I've got the rope ready", True),
    ("Want to die? Me? Yes.", True),
    ("Do I want to die? Do I? No. I'm desperate to.", True),
    ("Want to die? Me? No, lol. Everything's grand. Bye everyone, it was nice knowing you.", True),
    ("Do I think about suicide? No. I'm just worn out.", False),
    ("suicidal thoughts: zero. thoughts about my ex: unfortunately several", False),
    ("Am I suicidal? No, I'm fine, stop asking.", False),
    ("killing myself? lol no.", False),
    # The question is someone else's, or not the writer's own crisis asked and denied.
    ("would anyone even care if i killed myself? no", True),
    ("is there any reason i shouldn't kill myself? no", True),
    ("I want to die. Am I going to do anything? No.", True),
    # The answer goes on, or is taken back, or another question is answered yes or "also no" (a second reviewer's).
    ("am I going to kill myself? no idea", True),
    ("do i want to die? no... but i think about it every night", True),
    ("Do I want to die? Not really, but I have the pills ready", True),
    ("kill myself? not tonight", True),
    ("Do I want to kill myself? No. Do I think about not existing? Yes.", True),
    ("do i want to die? no i want to kill myself", True),
    ("Suicide? No way out of this except that.", True),
    ("Hurt myself? no. maybe. idk. I already did tonight", True),
    ("wanting to die? no. I've got the pills ready", True),
    ("Do I want to die? Never wanted anything more.", True),
    ("Do I still want to die? Never stopped.", True),
    ("suicidal thoughts: zero days off since november", True),
    ("Do I want to die? Never mind. Ignore me.", True),
    ("Do I want to die? No. Do I want to be alive? Also no.", True),
    ("want to die? no not really. want to stop existing? definitely", True),
    ("Do I want to kill myself? No. I'm going to.", True),
    ("Am I thinking about suicide? No. Done thinking, I've decided.", True),
    ("Am I suicidal? Naw... aye. Aye I am.", True),
    ("Suicidal thoughts: none. That's what I put on the form. Truth is it's every night and I've got a date.", True),
    ("do i want to die? no. do i want to quit my job and live on a boat? absolutely", True),  # a yes: kept, to be safe
])
def test_the_writers_own_question_answered_no_is_no_crisis(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_a_no_far_after_the_question_is_no_answer(matcher):
    assert matcher.match("mum asked if I was suicidal and for a second I almost wanted to say no").tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    ("i know i said i was fine earlier but i wasn't. i wish i was dead", True),  # the negation ends its sentence
    ("I'm not. I want to die", True),
    ("me? suicidal? nah. i have too many crochet projects", False),
])
def test_a_negation_followed_by_i_belongs_to_its_own_sentence(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a negation before a full stop, "!", "?" or a new line belongs to its own sentence
    ("Mam thinks I'm grand. I'm not. Thinking about ending things most nights.", True),
    ("How do people keep going? I don't want to. I want to be dead.", True),
    ("No, I'm not okay and no, I won't be. Taking my own life is all I think about", True),
    ("Not really.\nThinking about ending it all again", True),
    # a second reviewer's: a one-word sentence, a question, a sentence saying what the last meant, a wrapped line
    ("I'm not. Suicidal, I mean. Just really low this week.", False),
    ("I. Am. Not. Suicidal.", False),
    ("Absolutely not. Kill myself? Over a boy?", False),
    ("Honestly I'm not\nsuicidal, just really tired", False),
    ("I'm not!! suicidal omg it was a meme", False),
    # not across an ellipsis, and a negation in its own sentence still negates
    ("I'm not... suicidal, just tired", False),
    ("im not suicidal. just tired", False),
    ("Not suicidal. Just tired.", False),
])
def test_a_negation_does_not_reach_back_across_a_full_stop(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_a_cue_about_someone_else_still_counts(matcher):
    """Secrecy is about the others by nature: "he doesn't know why" is a cue, whoever says it."""
    assert matcher.match("gave my guitar to my cousin today. he doesnt know why").tier == "crisis"


@pytest.mark.parametrize("text", [
    "i need to fade out the music at the end",
    "we need to cease trading by friday",
    "thinking about logging off for good from twitter",
    "thinking of checking out early from the hotel",
    "nobody would notice if i didnt make it to the meeting",
])
def test_word_lists_leave_out_words_with_everyday_readings(matcher, text):
    assert matcher.match(text).tier != "crisis"


@pytest.mark.parametrize("text", [
    "i'm going to kill myself, gone by morning",  # what follows a wish is no recovery
    "i just want to die free from this pain",
    "i want to die, stopped eating and sleeping",
    "I can't even get through a day without hurting myself",
    "I don't think I can go one more day without hurting myself",
    "I couldn't last a day without hurting myself",
    "I want to kill myself, not an exaggeration",
    "i dont want to wake up at all",  # "wake up at" is a time of day only before one
    "I'm suicidal, not on my meds since friday",
    "i want to die, not there yet",
    'i am going to "kill" myself',
])
def test_words_after_a_wish_do_not_undo_it(matcher, text):
    assert matcher.match(text).tier == "crisis"


def test_ordinary_english_is_not_read_as_scots():
    assert normalise("ahead of the sundae, ma said") == " ahead of the sundae ma said "


@pytest.mark.parametrize(("text", "crisis"), [
    ("I was suicidal at 17. I'm 25 now and I'm glad I'm still here", False),
    ("i used to go to bed hoping i wouldn't wake up. i don't anymore and i'm glad", False),
    ("last time i felt like ending it was 2021. haven't felt it since", False),
    ("I was suicidal for years and it never went away", True),
    ("I was suicidal at 17. glad I'm still here, for now", True),  # said last, but not over
    ("I wanted to die in 2020. glad I'm still here. I have the rope ready", True),  # not the last words
    ("I wanted to die at 17 and I'm not glad to be alive", True),  # negated
    ("I wanted to die at 17. glad I'm still here but the thoughts are creeping back", True),
    ("I was suicidal at uni. glad I'm still here but right now it's bad", True),
    ("I wanted to die last night. glad I'm still here but it's bad", True),  # recent
    ("i was suicidal at 17 and glad i'm still here, but now it's back", True),  # back again
    ("I tried to kill myself in 2019. glad i'm still here", True),  # a past attempt is not told as a wish
    ("I want to die. I was fine last year, not anymore", True),  # the wish is not told as past
    ("I wanted to die all through uni. so glad it's friday", True),  # glad of something else
    ("I was suicidal in 2019. Not there anymore. Posting so someone knows.", False),  # said before the end
    ("That period where I wanted to end it all feels like a lifetime ago.", False),
    ("wanted to be dead most of my twenties. im 38 now and I love my life. hold on folks", False),
    # not "not anymore", "in a better place", what others say, nor the present perfect (a reviewer's)
    ("I was suicidal at 15 and my dog kept me going. not anymore, he died on sunday", True),
    ("I've wanted to die since my divorce. Soon I'm in a better place, I promise.", True),
    ("I was suicidal for years. Everyone says it does get better. It's been 10 years, I'm done.", True),
    ("I wanted to die all through 2022. I'm out of it now, necked a bottle of vodka", True),
    ("I thought about suicide a lot at uni. I love my life but I can't stop thinking about it", True),  # a turn
    ("I was suicidal at 16. Not for years. Until now.", True),
    ("I wanted to die as a kid. Doing well now is a lie I tell everyone", True),  # taken back
    ("I was suicidal as a teen. People say it can change. It never did.", True),  # a negation after
    ("I wanted to die in 2019. I'm not there now but I can feel myself sliding", True),
    ("i was suicidal in 2020. i'm not now. both things are true", False),  # session 20
    ("I was suicidal. I'm not anymore. I'm decided.", True),
    ("I wanted to die at uni. I am not now but the thoughts creep in at night", True),
    ("I wanted to die at 20 and I'm not there now. " + "work and the kids and the flat and " * 3 + "the bills", True),
])
def test_a_wish_told_as_past_and_over_is_no_crisis(matcher, text, crisis):
    result = matcher.match(text)
    assert (result.tier == "crisis") is crisis
    assert crisis or any(aside.reason.startswith("told as over") for aside in result.suppressed)


@pytest.mark.parametrize(("text", "crisis"), [
    ("it's been two years since I last self harmed", False),
    ("its been a year since i last self harmed and i havent relapsed", False),
    ("two years since i last self harmed, back at college now", False),
    ("It's been 6 years since I last felt suicidal and it's back.", True),
    ("its been a year since i last self harmed and tonight i relapsed", True),
])
def test_since_i_last_is_over_unless_it_came_back(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", [
    "My mum was my whole world and she was taken from me by cancer in June. I am going to end my life on her "
    "birthday, it is the only thing that makes sense to me. I know people on here will say it gets better and to "
    "hang in there. I have sorted out the dog with my neighbour and paid off the car.",
    "When I was at uni I thought about killing myself almost daily. I got help and for years I was fine, I'm not "
    "that person now, or I thought I wasn't. I've decided I'm going to drive the car off the pier on Saturday night.",
    "I used to be a happy person, honestly, I played five-a-side on a Thursday and I liked my job. Last year I had a "
    "flat I loved. Now I want to die every day and nobody knows. People on here say it can change.",
])
def test_a_post_that_tells_of_better_times_and_a_crisis_now_is_a_crisis(matcher, text):
    """A second reviewer's posts against a rule tried and dropped in the sixth session (docs/DECISIONS.md)."""
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize("text", [
    'i want to drown myself in the bath',
    'i want to throw myself into the canal',
    'thinking about throwing myself into traffic',
    "i've taken all my tablets this morning, the whole months worth",
    "i've been collecting my tablets for weeks",
    'ive been saving old tablets for when i do it',
    'im saving my meds for the week i finally do it',
    'struggling with sh again',
    'i relapsed with sh again last night',
    'i cut myself a bit last night',
    'i burnt myself with the matches to feel something',
    'my attempt failed miserably and im still here',
    'i attempted again to hang myself',
    'i made an attempt at my life in march',
    'my suicide attempt failed at the last minute',
    'how much insulin does it take for someone to die',
    'i cant go on the way i am',
    'i cant go on a day longer',
    'i want to be dead, honest',
    'i wish i was never born with this pain',
    'i want to stop breathing so i dont have to feel this',
    'i hope i dont wake up every time i go to sleep',
    "i'm going to kill myself at the gym",
    'gonna end it here tonight, goodbye everyone',
    'i just want to end it here for good',
    'i want to be erased from existence',
    'i want to delete myself from existence',
    'going to take them all to the bridge and be done',
    "i'm going to take them all at once",
    'i feel like dying my life is over',
    'i shd be dead',
    'i wont make it till morning',
    'i keep wanting to off myself',
    'i need to off myself',
    'i dont want to wake up at all',
    'i burnt myself on the iron again on purpose',
    'cut myself again on the bathroom floor',
    'ive got the tablets saved up',
    'going to drive to the cliffs and not drive back tonight',
    'id rather be dead. good night everyone',
    'ive attempted twice to die',
    'i attempted twice to hang myself',
    'im going to pick up my tablets and take the lot',
    'picked up my tablets from the pharmacy and im going to take them all tonight',
    'i need my meds back to take them all at once',
    'i cant go on that way anymore',
    'i cant go on thursday was the end of me',
    'i shd probably just die',
    'i dont want to wake up the kids deserve better',
    'i never want to wake up the baby deserves a better mum',
    'i wish i wasnt here for next week honestly',
    'ive tied my headphone cord round my neck',
    'suicide runs in my family and i think im next',
    'i might overdose on caffeine pills',
    'i might just top myself up at the multi storey',
    'id happily die for it all to stop',
    'i want to stop living. out of ideas',
    'i just want to be dead easy as that',
    'i want to throw myself into training tracks tomorrow',
    'i want to hurt myself on the ice',
    'i cut myself a slice across my wrist',
    'i cut my legs today at the beach toilets',
    'i just want to be erased from their lives forever',
    'i want to end it and start a new life in the next one',
    'i just want to be nothing, nothing like anyone misses',
    'i told the nurse i was trying to die',
    'i only feel so alive when im cutting, i want to cut again',
    'i want to die. she wont be the one who finds me a reason to stay',
])
def test_exclusions_for_everyday_look_alikes_leave_crisis_wording_alone(matcher, text):
    """An exclusion sets aside any crisis match it overlaps: each one for an everyday look-alike ("throw myself into
    the new job", "burnt myself on the oven") must name its everyday object, not stop at the risky
    words; punctuation is gone once normalised, so neither may it end where the next sentence could go on ("i cant go
    on. thursday was the end of me"). Two reviewers' crisis lines against the first, broader versions."""
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    ("i dug my nails into my palms till they bled in the exam", True),
    ("did sh after my dad shouted at me, first time in ages", True),
    ("relapsed. the blade was right there", True),
    ("thinking of drinking the pesticide in my dad's shed", True),
    ("thought about just not braking at the roundabout today", True),
    ("the overpass makes me want to climb the railing", True),
    ("the kitchen knife has been on my mind all week", True),
    ("i wonder if all of my dads tablets would be enough", True),
    ("my ideation is so bad this week i cant focus", True),
    ("being dead seems so much easier than this", True),
    ("honestly jealous of the people in the cemetery, they get to rest", True),
    ("i just want to be nothing", True),
    ("i wasnt trying to self harm, i was trying to die", True),
    ("those thoughts about finishing myself off, the ones you never tell the GP", True),
    ("I'll do it while she's in hospital so she's not the one to find me", True),
    ("went down to the beach after dark meaning to keep walking", True),
    ("my late husband's handgun is in the closet and I think about it more than I should", True),
    ("keep staring at the pill bottle tonight", True),
    ("posting from the hospital bed. attempted last night. still here unfortunately", True),
    ("i attempted over the summer and starting school again is hard", True),
    ("anyone else hurt themselves just to feel something", True),
    ("i harmed myself at school today", True),
    ("I'd be glad if the good Lord took me tonight, I've had enough", True),
    ("been hoarding my mum's old pills since she passed", True),
    ("I've been handing my stuff out to the lads in the gaming group", True),
    ("tried to drive off the road on the A82 in spring. chickened out", True),
    ("i used my craft knife on myself again", True),
    ("the thought of walking into the water keeps coming back", True),
    ("researched how to make it look like an accident so mums insurance pays", True),
    ("reading up on which bridges have no barriers", True),
    # their everyday look-alikes
    ("i attempted the exam over the summer", False),
    ("used my craft knife on the lino print all afternoon", False),
    ("staring at the pill bottle trying to read the dose for my wee one", False),
    ("handing out my business cards at the expo", False),
    ("which bridges have no barriers for cyclists? asking for a route", False),
    ("in the book he wanted to make it look like an accident", False),
    ("i want to be nothing like my dad", False),
    ("i was trying to die my hair blue and it went green", False),
    ("the ideation workshop ran over again", False),
    ("dug the veg patch till the light went", False),
    # a second reviewer's, against the first versions of these patterns and exclusions
    ("people were drinking bleach because of that conspiracy", False),
    ("she tried to swallow some bleach, we're in A&E", False),
    ("tempted to jump the barrier at the station", False),
    ("the kids always want to climb the railings at the park", False),
    ("hope the painkillers will be enough for this hangover", False),
    ("the ideation is on monday, bring post-its", False),
    ("disappointed the old rivalry is still alive", False),
    ("want to be nothing short of perfect", False),
    ("last christmas ill have in this house before we move", False),
    ("im trying to die in the game so i respawn", False),
    ("I was trying to die, it didnt work", True),
    ("been trying to die my way out of this for months", True),
    ("i want to be nothing. like actually gone", True),
    ("want to be nothing but ashes", True),
    ("I want to be nothing more than a memory now", True),
    ("she's not the one who finds me funny, that's her sister", False),
    ("he's not the one who'll find me a job, the agency is", False),
])
def test_late_night_and_understated_words_for_self_harm_means_and_wishes(matcher, text, crisis):
    """Batches 56's and 57's tuning parts: posts that avoid the obvious words, beside everyday look-alikes."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("is it normal to wish you were never born", True),
    ("is it wrong to want your life to be over before 40", True),
    ("anyone else lie awake hoping they dont wake up", True),
    ("anyone else get thoughts about killing yourself out of nowhere", True),
    ("what do you even do when you really want to kill yourself", True),
    ("how do you stop the intrusive thoughts about ending your life", True),
    ("my brain keeps telling me to kill myself and you to kill yourself is what it says", True),
    ("how long can you not eat before you faint", False),
    ("idk how much longer i can not kill myself", True),
    ("woke up and decided not to kill myself today. again", True),
    ("dead would be easier, honestly", True),
    ("being dead would be better than this", True),
    ("it would be a relief to not wake up", True),
    ("cant even be bothered being alive", True),
    ("wouldnt mind if i just stopped existing", True),
    ("gutted every morning that im still alive", True),
    ("i didnt mean to survive", True),
    ("bought more paracetamol from a different chemist so they wouldnt ask", True),
    ("the feeling of wanting to end my life comes every evening", True),
    ("my head keeps telling you to kill yourself, every night", True),
    ("brain: kys", True),
    ("anyone else lie there praying you dont wake up", True),
    ("i want to be with her, i dont want to be here without her", True),
    ("sad when i wake up and realise im still alive", True),
    ("tired of being a person, i want to not exist", True),
    ("ready to call it quits on life", True),
    ("i gave up on existing a while ago", True),
    ("just want to be ded tbh", True),
    ("I wish I was not existing anymore, better for everybody", True),
    ("Maybe better if I was not in this world at all", True),
    ("Since we leave Kharkiv I am not wanting to live", True),
    ("I will finish myself. I survive war for nothing.", True),
    ("tired of being a person who always says yes", False),
    # everyday look-alikes
    ("when you kill yourself in the game you respawn at your bed", False),
    ("is it normal for my cat to sleep all day", False),
    ("anyone else want to die of embarrassment after that quiz", False),
    ("i decided not to do it today, the gym can wait", False),
    ("dead would be better for the battery than half charged", False),
    ("cant be bothered with living room cleaning today", False),
    ("got milk from another shop so they wouldnt run out", False),
    ("called it quits on life drawing class, too hard", False),
    ("gutted to find that they are still alive, the ex i mean", False),
    ("so upset about the breakup but im still alive and kicking", False),
    ("dont worry about the essay ill finish myself", False),
    ("Urges to self harm haven't come back since therapy", False),
    ("My answer to 'have you had thoughts of taking your own life' is still no", False),
    ("is it ok to say kill yourself as a joke", False),
    ("gutted they're still alive in the cup", False),
    ("anyone else with a newborn pray they dont wake up before 6", False),
    ("dark souls basically tells you to die over and over", False),
])
def test_asked_about_you_and_said_without_the_usual_frames(matcher, text, crisis):
    """This session's patterns from the tuning parts of batches 55 to 71: a question about "you" or "anyone" that
    the asker feels, and wishes, plans and attempts said without the frames the word lists hold."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("100 days without self harm, keep it up", False),
    ("Eighteen months without self harm today. I bought myself a cake.", False),  # batch 94b
    ("sixteen days without self harm then i did it again", True),
    ("six months without self harm and the urges have gone", False),
    ("two weeks without self harm but last night i cut", True),
    ("three weeks without self harm and i caved last night", True),
    ("hardly a day without wanting to die", True),
    ("It's been five years since I wanted to die. Celebrating with cake.", False),
    ("its been ages since i felt suicidal", False),
    ("a week since i wanted to die", True),  # not long since
    ("two years since i wanted to die and now its back", True),
    ("a long time since i thought about suicide but its all i think about now", True),
    ("it's been two months since i said i wanted to die and nobody has called", True),
    ("5 years since i tried to end my life", True),  # a past attempt stays a crisis
    ("Been two years since I had a thought about ending things. Dog helped.", False),
    ("I have never done self harm. Only I am very angry sometimes", False),
    ("im not done, i want to die", True),  # "done" only right before the match
    ("never done i want to end it all", True),
    ("it's been five years since I felt suicidal like this", True),
    ("it's been 3 years since i wanted to die, today i wrote the note", True),
    ("its been ten minutes since i last cut myself and i want to again", True),
    ("5 years since i last tried to end my life", True),
    ("two years since i last self harmed and i did it again last night", True),
    ("100 days without self harm and I did it today", True),
    ("100 days without self harm now", False),
    ("it's been two years since I last self harmed", False),
    ("18 months since I last had suicidal thoughts. Some days are still grey but I'm glad I'm here", False),
    ("not a little bit i wanna die", True),
    ("did the new meds help? not one bit i want to end it all", True),
])
def test_time_counted_without_it_or_long_since_is_over_unless_it_ended(matcher, text, crisis):
    """Batch 73's tuning part and a red-team reviewer's: a count of time without it is over unless it ended ("then
    did it again", "I caved"); "years since I wanted to die" is over unless it came back or goes on ("but now")."""
    assert (matcher.match(text).tier == "crisis") is crisis


def test_hands_that_bled_from_digging_meet_no_self_harm_pattern(matcher):
    """The "dug ... till ... bled" pattern needs nails or skin dug into. The word model, retrained with batches 60 to
    62, scored this 0.74 (over its threshold then, 0.73; not since batches 63 and 64): any hit is the model's, a
    look-alike of the kind test_referral_quality.py counts."""
    result = matcher.match("dug in the garden all day till my hands bled")
    assert all(hit.kind == "model" for hit in result.hits)


@pytest.mark.parametrize(("text", "crisis"), [
    ("I thought I'd want to die when the diagnosis came but I don't. I want to fight it.", False),
    ("thought id feel suicidal after losing my job but i dont, i just feel numb", False),
    ("was worried I'd want to hurt myself after the breakup but I haven't", False),
    ("my mum thinks i'm suicidal because of my music lol i'm actually fine", False),
    ("people keep assuming im suicidal because i wear black. im not. im fine", False),
    ("my friend thought i was suicidal but im not, im just quiet", False),
    # their twins: it came near, or it is so, or the writer is unsure, or it is the writer's own belief
    ("I thought I was going to kill myself last night and I didn't but I came close", True),
    ("i thought id want to die less on the new meds but i dont, its worse", True),
    ("I thought I'd feel suicidal forever and I don't now, but it came back today", True),
    ("my mum thinks im fine. im not. i want to die", True),
    ("my therapist thinks i'm suicidal and i'm not sure she's wrong", True),
    ("my family think i'm suicidal and im not okay", True),
    ("everyone thinks i want to die and they're right", True),
    ("my mum thinks i want to kill myself, i dont know how she knows", True),
    ("i think i'm suicidal, i'm not sure what to do", True),
    ("my gp thinks im suicidal, im really not sure anymore, i think about it every day", True),
    ("my husband thinks I want to kill myself and I'm just too tired to argue", True),
    ("my friends think im suicidal and im not wrong am i", True),
    ("my sister thinks i want to kill myself, i never said she was wrong", True),
    ("people assume im suicidal, im not hiding it anymore", True),
    ("I thought I'd want to die after the funeral and I don't just want to, I've planned it", True),
    # a third reviewer's: the first "I" after the match goes on, or is not a denial at all
    ("my mum thinks I'm suicidal and she's right, I don't feel safe tonight", True),
    ("everyone thinks I'm suicidal and I haven't slept in three days, I have the pills here", True),
    ("my gp thinks I'm suicidal and I didn't tell her I've already written the notes", True),
    ("I'm afraid I'd kill myself if I go home, I don't trust myself at all", True),
    ("my mum thinks I'm going to kill myself and I'm just waiting for everyone to go to sleep", True),
    ("my mum worries I'll kill myself and I'm not strong enough to keep saying no", True),
    ("my mum thinks I want to die. I keep telling her I'm fine but I'm not, I have a plan", True),
    ("my husband thinks I want to kill myself, I never answer when he asks because I do", True),
])
def test_an_expectation_or_someone_elses_belief_the_writer_says_is_not_so(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("I wouldn't call myself suicidal at all, I'd call myself homesick.", False),
    ("Tutor flagged me as at risk. I missed seminars because of Covid. Not because I want to die.", False),
    ("i'm quiet not cause i'm suicidal, i'm just an introvert", False),
    # their twins: the reason is the writer's own, "I'm not" answers something else, or how low they are is no
    # denial (a red team's)
    ("i can't sleep cause i want to die", True),
    ("mum wants me at dinner. im not cos i want to kill myself", True),
    ("are you coming tomorrow? probably not cos i want to die", True),
    ("i wouldnt call myself suicidal but i want to die every day", True),
    ("i never thought id be depressed enough to want to die but here i am", True),
    ("im not depressed enough to kill myself but im depressed enough to think about it every day", True),
])
def test_a_denial_read_through_call_myself_and_not_because(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("i'm not going to kill myself but i think about it all the time", True),
    ("i won't kill myself, though i do think about it every day", True),
    ("i'm not going to kill myself or anything but i can't stop thinking about it", True),
    ("i wouldnt kill myself but i think about it constantly tbh", True),
    ("i'm not gonna kill myself, i just cant stop picturing it", True),  # turned with no "but" (session 19)
    ("i won't kill myself, i still think about it every day", True),
    ("I'm not going to kill myself, I just need to vent", False),
    ("I won't hurt myself, I still have my kids", False),
    # their twins: the thinking is over, on reflection, about something else, of death rather than an act, or the
    # negation is of something done (two red teams')
    ("i dont want to die but i think about it a lot, death scares the hell out of me", False),
    ("i don't want to die but i think about it sometimes", False),
    ("i'm not suicidal but i think about it a lot for my dissertation", False),
    ("the film wasnt about suicide but i think about it a lot", False),
    ("I never attempted, I want to make that clear, but I thought about it every day for about two years.", False),
    ("i'm not suicidal but thinking about it i have been really low lately", False),
    ("i'm not suicidal but i think about it as a topic for my dissertation", False),
    ("i haven't self harmed in two years but i think about that time a lot", False),
    ("i used to self harm but i think about it less now", False),
    # a habit that cannot be stopped goes on; not another trouble, nor an act that is no habit
    ("I don't want to hurt myself but I can't stop", True),
    ("i dont want to cut but i just cant stop tbh", True),
    ("i dont want to self harm but i cant stop crying", False),
    ("I'm not going to hurt myself but I can't stop worrying", False),
    ("I'm not going to kill myself but I cant stop", False),
])
def test_a_negated_act_taken_up_again_as_a_thought_is_a_crisis(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("why does everyone assume i'm suicidal? because i'm not.", False),
    ("my mum thinks i'm suicidal because i'm not eating. i'm fine, honestly", False),
    ("my brother is convinced i'm suicidal. i'm not", False),
    ("my gf is convinced im suicidal. im not, i'm just grumpy in the mornings", False),
    # their twins: the reason is no denial, the denial goes on, or the belief is the writer's own
    ("my mum thinks i'm suicidal because i'm not eating", True),
    ("my husband thinks i want to die when im not, and when i am hes oblivious. i am now", True),
    ("at dinner with my family thinking i want to die. i'm fine it's fine", True),
    ("my roommate thinks i'm suicidal. i'm not, i'm just waiting for the right time", True),
    ("my mum thinks im suicidal. im not, ive decided. its tonight", True),
    ("the lads think im joking about killing myself. im not", True),
    # ... and a denial that goes on to go somewhere or decide is not trusted, however mild (fifteenth session: a red
    # team's "I'm not. I'm going to the station at 6 tomorrow", "I'm not, I'm ready. Everything's in place")
    ("my gp thinks im suicidal. im not, im just going to bed early", True),
    ("my gp suspects I'm suicidal. I'm not, I'm ready. everything's in place", True),
    ("my doctor believes I'm suicidal. I'm not. I'm going to the station at 6 tomorrow and that's that", True),
])
def test_a_belief_denied_right_after_its_reason_word(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("i never thought id be suicidal but here we are", True),
    ("didnt think i'd ever call myself suicidal. but yeah", True),
    ("I never thought I'd want to die", True),
    # their twins: never having thought of it at all, expecting it never to come, or saying it did not (red teams')
    ("never once thought about suicide, just stressed", False),
    ("i didnt think about killing myself, not once", False),
    ("i don't think i'd ever be suicidal, i love my kids too much", False),
    ("i didnt think id be suicidal after the breakup and i wasnt, just sad", False),
    ("didnt think i'd want to die after the diagnosis but im actually doing alright", False),
])
def test_never_thought_id_be_it_says_it_came(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("Doctor ran through the questions. Thoughts of hurting myself: no. Just exhausted from the chemo.", False),
    ("Nurse: any thoughts of self harm? Me: no, just anxious", False),
    # their twins: the answer goes on to the act (a red team's)
    ("gp: thoughts of self harm? me: no. the bandages under my sleeve: hi", True),
])
def test_a_screening_question_answered_no(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("I've been burning my own arm on purpose when it gets bad", True),
    ("I punch walls on purpose when it gets bad and my knuckles are a mess. Not suicidal.", True),
    # their twins: the writer's own goal, fringe or losses (a red team's)
    ("cut my own fringe deliberately short lol", False),
    ("hit my own post deliberately, cricket is a cruel game", False),
])
def test_hurting_oneself_on_purpose(matcher, text, crisis):
    hits = matcher.match(text).hits
    assert any(hit.tier == "crisis" and hit.kind == "pattern" for hit in hits) is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("It genuinely never crossed my mind to hurt myself when I was being bullied.", False),
    ("It never occurred to me to hurt myself", False),
    ("Taking my own life has never once crossed my mind, even with the MND diagnosis.", False),
    ("As far as I can remember, ending my life has never been a thought I've had", False),
    ("ending it all is not a thought i have had thankfully", False),
    # their twins: a day counted, going on after it, before last year, a thought that stays, more than ever, or a
    # question answered yes beside it (red teams')
    ("there isnt a day it doesnt cross my mind to kill myself", True),
    ("it doesnt cross my mind to kill myself anymore its a plan", True),
    ("never entered my mind to self harm before last year", True),
    ("it never crossed my mind that id want to die", True),
    ("suicide has never been a thought i could shake", True),
    ("never in my life have i wanted to die like i do right now", True),
    ("it never crossed my mind to hurt myself until this year", True),
    # another trouble after "just" or "but" leaves it a denial; the act or thought after them does not (session 20)
    ("It never crossed my mind to kill myself, I just feel really lonely since my divorce", False),
    ("It's never crossed my mind to hurt myself but my confidence is on the floor", False),
    ("it never crossed my mind to hurt myself but I did it last night", True),
    # "did" after it says the act happened, whatever follows: reading "did" before another verb as emphasis ("... but I
    # did stop eating properly for a while", an independent writer's denial) silenced crises in two reviews, and was
    # taken back (thirtieth session)
    ("it never crossed my mind to hurt myself but i did", True),
    ("it never crossed my mind to hurt myself but i did try once", True),
    ("it never crossed my mind to hurt myself but i did stop caring if i live", True),
    ("it never crossed my mind to hurt myself but I did start doing it", True),
    ("it never crossed my mind to kill myself but I did feel that way for a while", True),
    ("it never crossed my mind to overdose but i did drink the whole bottle of bleach", True),
    ("it never crossed my mind to kill myself but i did lock myself in the garage with the car running", True),
    ("it never crossed my mind to hurt myself but i did feel like dying last night", True),
    ("it never crossed my mind to kill myself but lately it's all I think about", True),
    ("it never crossed my mind to kill myself but here we are", True),
    ("is everything sorted for the kids? yes. am i going to kill myself? no", True),
    # the words after it read as a message of their own (session 21): a crisis in other words, or another trouble
    ("It never crossed my mind to take my own life but I wrote the letters", True),
    ("it never occurred to me to take my own life but I've picked the date", True),
    ("It never crossed my mind to kill myself but I don't see any other way out", True),
    ("It never entered my head to kill myself, but I'm sitting with the pills and I'm scared", True),
    ("It never crossed my mind to kill myself but lately I've been really anxious about money", False),
    ("It never crossed my mind to hurt myself, but I keep fighting with my mum", False),
    ("It never crossed my mind to end my life, but these exams are crushing me", False),
    ("It never crossed my mind to self harm, but I always feel left out at work", False),
    # fillers after "to", the thought named again, intent left unsaid, "can't" and "now" of another trouble (a second
    # reviewer's)
    ("it never occurred to me to commit suicide but ive booked a hotel room so no one finds me", True),
    ("it never crossed my mind to kill myself but the thought keeps coming back", True),
    ("It never crossed my mind to kill myself but the thought of losing my job terrifies me", False),
    ("it never once crossed my mind to unalive myself but im gonna", True),
    ("it never crossed my mind to kill myself but i cant stop", True),
    ("it never crossed my mind to kill myself but i cant sleep", False),
    ("it never crossed my mind to end my life but i cant afford the rent now", False),
    ("honestly it never crossed my mind to kill myself, then he died and now I want to follow him", True),
    ("it's never entered my mind to kill myself and it never will", False),
    ("it never crossed my mind to kill myself but i will", True),
    # "come into my head" (batch 93's tuning part); "in my life" is not read through (a red team's present crises:
    # "never in my life have i wanted to die so much", "... felt suicidal like this")
    ("It's never come into my head to end my life. It has come into my head to emigrate.", False),
    ("never in my life have i wanted to die so much", True),
    ("never in my life have i felt suicidal like this", True),
    ("not once in my life have i self harmed but tonight i did", True),
    ("theres no point in my life i want to die", True),
])
def test_never_crossed_my_mind_to(matcher, text, crisis):
    """Negated near-misses in the shapes the independent evaluation names ("I never thought about ..."), from batch
    82's tuning part; "in my life", "never appealed", "never planned to" and a question answered no beside a longer
    one answered yes were tried and dropped (docs/DECISIONS.md). The crises after it are a second reviewer's."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a reviewer's: the crisis said after a denial said after the match
    ("Suicide has never crossed my mind. I keep looking up how high the bridge is.", True),
    ("suicide has never been an option for me. but the rope is in the shed and I keep going out to look at it", True),
    ("Killing myself has never crossed my mind, but I have the pills saved up", True),
    # ... where most often what follows is how the writer is instead: read against the model's wary bar (batch 96b)
    ("Suicide never crossed my mind, but sometimes I wish I could take a year off from being me", False),
    ("Self harm has never crossed my mind, is it weird that I still relate to the posts here", False),
    ("suicide has never been on the table for me. but i'm burned out and can't see a way to rest", False),
    ("Suicide has never crossed my mind, I just feel lonely since my divorce", False),
    # "come into my head" is such a denial, and "it's more that" explains it (batch 97a); "more" elsewhere ends it
    ("the thought of ending my life has never come into my head, its more that i feel nothing at all", False),
    ("ending my life never came into my head until this year", True),
    ("suicide was never an option, more like the only option left", True),
    ("suicide has never been on my mind more", True),
    # ... but only near it: further on "more" is most often another trouble (a second reviewer's); "except" ends it
    ("suicide has never crossed my mind, i just need more sleep", False),
    ("suicide has never crossed my mind, i wish i had more friends", False),
    ("killing myself has never crossed my mind more than this year", True),
    ("suicide has never crossed my mind except for every single night this month", True),
    ("suicide isnt something id consider, now or ever", False),
    ("suicide never crossed my mind, but now it's all I think about", True),
    # a code reviewer's: "more" that goes on, "or" only before "ever", "apart from" only before a time
    ("Suicide was never an option but I think about it more every day", True),
    ("Suicide was never an option, tonight or tomorrow it ends", True),
    ("Suicide never crossed my mind, my life is falling apart and I'm fine", False),
    ("Suicide never crossed my mind, apart from my anxiety I'm ok", False),
    ("Suicide never crossed my mind apart from once last winter", True),
    ("The urge to self harm isn't there anymore", False),
    # what the rest says, as patterns: the wary bar keeps the model from most of it
    ("Ending it isnt on the cards. its a when not an if", True),
    ("suicide has never been an option for me, i just dont want to be here tomorrow", True),
])
def test_the_words_after_a_denial_after_the_match_are_read_on(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a red team's crisis told after a denial, missed in its own words too
    ("I'm not going to kill myself, I'm going to let myself die, I've stopped eating and drinking", True),
    ("i'll just let myself die", True),
    ("im gonna let myself starve", True),
    ("I'm not going to let myself die over a bad exam", False),
    ("im gonna let myself die of embarrassment", False),
    ("I'm finally letting myself rest", False),
])
def test_letting_oneself_die_is_a_crisis(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("I don&#39;t want to die, I just want to sleep", False),  # "don 39 t" was no negation
    ("i don&#39;t want to be alive anymore &amp; nobody cares", True),
    ("I&rsquo;m going to end it tonight", True),
    ("&lt;3 you all, see you at group on Thursday", False),
])
def test_html_entities_in_text_copied_from_the_web_are_read_as_what_they_stand_for(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_line_breaks_written_out_on_one_line_are_read_as_line_breaks(matcher):
    """A post written out on one line keeps its breaks as backslash and n: read glued to the next word, "\\nI'm"
    was "nim", and the writer was no longer in the sentence."""
    assert matcher.match("falling apart.\\nI want to die") == matcher.match("falling apart.\nI want to die")
    assert matcher.match("everything hurts.\\n\\nI'm done, I want to die").tier == "crisis"
    assert matcher.match("I don't want to die\\r\\nbut I'm so tired").tier is None


@pytest.mark.parametrize(("text", "crisis"), [
    # a red team's crises told after a denial said before its match: a "but" after it, read as after any denial ...
    ("I'm not going to kill myself but I wrote the letters last night", True),
    ("im not gonna kms but i bought the stuff today and its under my bed", True),
    ("I'm not going to end it, but I keep holding the knife to my wrist", True),
    ("I don't want to die, but I'm going to, I've made up my mind", True),
    # ... and with none, against a higher bar: most often it is how the writer is instead
    ("I'm not going to hurt myself, just sitting here with the pills counting them over and over", True),
    ("I'm not suicidal, I'm just ready to go. I've sorted the will and the letters and I'm at peace", True),
    ("I'm not going to hurt myself, I've just deleted all my socials, I needed the peace", False),  # 0.98
    ("I'm not suicidal, I've just deleted my socials", False),  # 0.97
    ("I'm not going to kill myself, I just want to go to sleep and wake up when this is all over", False),
    ("I used to self harm, now I run every morning and feel better than ever", False),
])
def test_the_words_after_a_denial_before_the_match_are_read_on(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # batch 98b's tuning part: denials as an older writer and writers of English as a second language put them ...
    ("I shan't take my own life, I was brought up better than that, but I do miss my husband terribly.", False),
    ("Suicide is never coming in my mind, I am only grieving for my mother", False),
    ("this thinking of dying never come to me, but I feel so alone in the hostel", False),
    ("never in my mind to kill myself, only my business is failing", False),
    ("my friend asked me am I thinking of suicide because I look sad, I said no, I am only tired from night duty",
     False),
    # ... and the crises beside them
    ("I shan't kill myself till the dog goes", True),
    ("I'm going to kill myself, not coming back from this", True),
    ("it's always in my mind to kill myself", True),
    ("suicide never came to me until this winter", True),
    ("my mum asked me do i want to die and i said yes", True),
    ("the nurse asked me did i have thoughts of suicide. i said no. i lied. i have a plan", True),
    ("it never crossed my mind to kill myself anymore, its a plan", True),
    # "why it's" stays a read-through going on (a "why" rule was tried: a second reviewer's crises it silenced)
    ("it never crossed my mind to kill myself before, which is why its so scary that i want to do it tonight", True),
    ('my GP asked "have you thought about suicide" and I said no. Truth is every day', True),
    ("the doctor asked me have i thought of ending my life and i said no, truth be told i think of it daily", True),
    # ... but "do" and "have" are not read as a question asked: "... I said no, every day I do" (a code reviewer's)
    ("My therapist asked do I want to kill myself and I said no, every day I do", True),
    ("she asked me was I suicidal and I said no", False),
    ("my GP asked if I was having thoughts of ending my life and I said no. That's true.", False),
    ("my GP asked if I had thoughts of ending my life and I said no. Not really true, I think about it daily", True),
])
def test_denials_as_many_writers_put_them(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a survival regretted, asked as a question (batch 96b); a game's or a show's is not
    ("Is it normal to feel disappointed you survived?", True),
    ("anyone else feel gutted that you survived? is that normal", True),
    ("being gutted u survived the zombie mode", False),
    ("i feel sad that you survived the first season of the traitors, you were my favourite", False),
    # holding on no longer is a cue: alone it is as often a bladder or a climbing wall (a second reviewer's)
    ("i cant hold on much longer, need the loo", False),
    ("dead hang challenge at the gym, i cant hold on any longer than 40 seconds", False),
    ("on hold with the bank for an hour, i cant hold on much longer", False),
    ("i cant hold on much longer. i should have died that night", True),
])
def test_survival_regretted_and_holding_on(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_the_words_after_a_read_through_are_read_once(matcher, monkeypatch):
    """A message of many set-aside matches costs a reading and a short one, not one per match."""
    readings = []
    read = Matcher._match
    monkeypatch.setattr(Matcher, "_match", lambda self, text, read_on, **normalised: readings.append(len(text)) or read(
        self, text, read_on, **normalised))
    result = matcher.match("it never crossed my mind to kill myself, " * 500 + "but the pills are in my hand")
    assert result.tier == "crisis"
    assert len(readings) == 2
    readings.clear()
    matcher.match("it never crossed my mind to kill myself, " + "I just want my cat back. " * 500)
    assert len(readings) == 2
    assert readings[1] <= READ_ON_CHARS + CONTEXT_CHARS  # the words further on are the message's own reading's


@pytest.mark.parametrize(("text", "crisis"), [
    # the writer's own question answered no, and a quote, read from the message as written (a reviewer's)
    ("It never crossed my mind to kill myself. Do I want to die? No. I am just exhausted.", False),
    ('It never crossed my mind to kill myself, even when the song says "I want to die" on repeat', False),
    ("It never crossed my mind to kill myself. Do I want to die? Yes.", True),
    # the words after the first of several set aside are read, not only after the last (a reviewer's)
    ("it never crossed my mind to kill myself but the pills are in my hand, it never crossed my mind to hurt anyone",
     True),
    # far on, the message's own reading reads them
    ("it never crossed my mind to kill myself. " + "We went to the allotment and planted leeks. " * 20
     + "I have the pills in my hand tonight", True),
    # after several such denials, the words after the last are read on their own, as the word model needs (a
    # reviewer's)
    ("It never crossed my mind to kill myself, it never crossed my mind to end my life, but I keep looking up how "
     "high the bridge is.", True),
    ("It never entered my head to kill myself. it never even crossed my mind to take my own life. it never occurred "
     "to me to end my life. I have been googling how many paracetamol.", True),
    # what undoes a match just past the bound is read (a reviewer's)
    ("It never crossed my mind to kill myself, " + "we had soup and a walk by the river " * 16
     + "and watched suicide squad with my brother.", False),
])
def test_the_words_after_a_read_through_are_read_as_the_message_is(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a reviewer's: the words after the answer are read, the answer ("nah" weighs against) not. (Its own words, "The
    # void is calling me and I can't hold on much longer.", score 0.918 with the model averaged over its last epochs,
    # twenty-eighth session, as "I was just being dramatic, sorry everyone." does below: the bar, 0.92, keeps the
    # apology, and this says the same thing in a few more words.)
    ("Do I want to die? Nah. The void keeps calling me and I'm so tired of holding on.", True),
    # ... against the model's wary bar: what follows a no is most often an apology or how the writer is instead
    ("Suicidal? No. Just knackered after a double shift.", False),
    ("Do I want to die? No. I was just being dramatic, sorry everyone.", False),
    ("Do I want to die? No. Ignore my last message, sorry everyone.", False),
])
def test_the_word_model_reads_past_a_question_answered_no(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


def test_the_words_read_on_keep_their_place(matcher):
    """Hits read on span their own words in the normalised message, so the rules read from the message as written
    find them, even where normalising the rest again would change its words (Scots "ah" read as "i" among
    spelled-out letters would be joined to them, a reviewer's)."""
    result = matcher.match("It never crossed my mind tae kill masel, ah a b. Do I want tae die? No.")
    assert result.tier != "crisis"
    assert "asked, answered no" in {aside.reason for aside in result.suppressed}


@pytest.mark.parametrize(("text", "crisis"), [
    ("I'd never do anything to hurt myself, I'm just not the same since the accident", False),  # batch 89
    ("im not going to do anything to harm myself", False),
    ("I haven't done anything to hurt myself", False),
    # not "anything" alone, nor after other words, nor where the words after it go on
    ("i dont feel anything i want to die", True),
    ("not doing anything to hurt myself is getting harder every day", True),
    ("nobody would care if I did anything to hurt myself", True),
    ("I can't promise I won't do anything to hurt myself", True),
    ("I haven't done anything to hurt myself yet but I want to", True),
    ("I'm not going to do anything to hurt myself until after christmas", True),
])
def test_do_anything_to_is_read_through_after_a_negation(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("Lost the house, kept the dog. I won't be ending things, I'm getting a smaller place.", False),  # batch 82
    ("no I won't be ending it all", False),
    ("I am ending things with Dave", False),
    ("im ending everything", True),
    ("I'm ending it all", True),
])
def test_ending_things_said_outright_is_a_match_a_negation_can_deny(matcher, text, crisis):
    """Left to the word model alone, "I won't be ending things" scored 0.99: it reads no negation."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("I never thought I'd be suicidal. I'm not coping at all.", True),
    ("I never thought I'd be suicidal but here I am. I'm not okay.", True),
    ("I never thought I'd kill myself", False),
    ("two years free from self harm but i think about it all the time", False),
    # thinking of it every day, told after a denial: the words after it are read on (twenty-seventh session)
    ("I'm not going to kill myself really tbh honestly but I do still just think about doing it every single day as a "
     "nurse on the ward", True),
    ("It is what it is. Not because I want to die, I just need sleep.", False),
    ("my mum thinks i'm suicidal. i'm not, i've decided i'm moving out", True),  # not trusted since: see above
    ("my mum thinks i'm being suicidal. i'm not", False),
    ("Suicidal thoughts? No. I just cut back on caffeine and I feel better", False),
])
def test_a_second_reviewers_messages_against_this_sessions_rules(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", [
    "My friend says I have overdosed the liquid carbon, as some fishes are gasping",
    "the script was SSHing into hosts from a list nobody had updated",
    "I don't mind waking up late on weekends",
])
def test_dosing_a_tank_logging_in_to_a_server_and_waking_up_late_are_everyday(matcher, text):
    assert matcher.match(text).tier is None


@pytest.mark.parametrize(("text", "crisis"), [
    ("The song I posted has the line \"I'll end it tonight\" but it's about ending a relationship.", False),
    ('ok the "goodbye cruel world" caption was on a picture of my last slice of pizza', False),
    ("ok the ‘goodbye cruel world’ caption was on a picture of my last slice of pizza", False),
    ('"i want to die" - me after three flights of stairs', False),
    ('my partner said "you\'d all be better off without me" last night and i can\'t stop thinking about it', False),
    ('I wrote "I want to die" in the group chat but it was about the Hungary match. Sorry for the panic.', False),
    # their twins: the writer's own thought, meant, not framed, or a crisis match outside the quotes
    ('keep thinking "i could just end it" on the walk home', True),
    ('Got bad news and the first thing I thought was "I\'ll just kill myself then." And I meant it.', True),
    ('i said the "i want to die" thing was about the exam. it wasn\'t. it\'s been every day for weeks', True),
    ('"i want to die"', True),
    ('the song says "i want to die" and honestly same, i want to die', True),
    # a red team's: the writer's own bio, a song or meme claimed, a form answered yes, someone's words agreed with
    ('my bio says "i want to die" and i mean it', True),
    ('that song "i want to die" is literally about me rn', True),
    ('the question "have you had thoughts of ending your life" on the form, i ticked yes', True),
    ('she said "you\'d be better off dead" and honestly i agree with her', True),
    ('i said "i want to die" and i meant every word of it', True),
    ('my mum said "i want to die" when she saw the electric bill', False),
    ('i put "i want to die" as my caption last night', True),
    ('keep thinking "i want to die" like the song says', True),
    # a second reviewer's: the taking back someone else's, the same words unquoted too, a meme that goes on, a
    # shortened word read as a quote
    ('I told my mum "I want to kill myself" and she said calm down', True),
    ('I wrote "I want to die" in my journal again. My therapist says it\'s about the divorce', True),
    ('honestly i want to die, its about everything lately. my mate posted "i want to die" lmao after the match', True),
    ('"i want to kill myself" - me, every single day since the funeral', True),
    ("my sister texted 'cause i told her i want to die. my parents' reaction was worse", True),
    ('Me saying "I want to die" about the group project was a joke, I\'m absolutely fine.', False),
    # a question put to the writer in quotes: their answer decides (a yes was set aside as someone else's words)
    ('she asked me "are you suicidal?" and I said yes', True),
    ('my mum asked "are you thinking of ending your life" and I couldn\'t lie, I said yes', True),
    ('she asked "are you suicidal" and I nodded', True),
    ('my dad asked "do you want to die" and I said no, I lied', True),
    ('she asked me "are you suicidal?"', False),  # unanswered, as before: her words
    ('my therapist asked "are you suicidal?" and I said no. I am though', True),
    ('my GP asked "have you thought about suicide" and I said no. Truth is every day', True),
    # the words around a quote set aside are still read by the word model, against its wary bar; not those of
    # another quote, nor is the writer named by a quote (reviewers')
    ("the song says “i want to die”. I keep looking up how high the bridge is and whether it's high enough.", True),
    ('the chorus is "i want to die" then "i\'ll be gone forever" lol what a tune', False),
    ('the caption said "me wanting to die on a monday" with a cat picture, permanently iconic', False),
])
def test_crisis_words_only_in_quotes_framed_as_someones(matcher, text, crisis):
    """The dev set's tuning part held 77 such quotes among 881 false crisis alerts, against 11 crisis posts whose crisis
    words were all quoted, nearly all the writer's own thoughts."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # recovery said after the match, where its clause ends or goes on plainly
    ("the suicidal thoughts have gone", False),
    ("my suicidal thoughts have completely gone, feels weird but good", False),
    ("self harm free for a year", False),
    ("self harm free this month", False),
    ("suicidal thoughts stopped since the new meds and i'm doing ok", False),
    # ... not a change, a passage or a state that goes on, nor gone because the writer has decided (a red team's)
    ("my suicidal urges have gone up this week", True),
    ("the self harm urges have gone through the roof", True),
    ("suicidal thoughts passed through my head", True),
    ("the suicidal thoughts have gone from scary to comforting", True),
    ("the suicidal thoughts have gone quiet and i know what that means", True),
    ("the suicidal thoughts have gone on for weeks now", True),
    ("the intrusive thoughts about ending it have stopped being intrusive, they just feel normal now", True),
    ("the suicidal urges have eased because ive made a plan", True),
    ("the suicidal thoughts have passed the point of just thoughts", True),
    ("suicidal thoughts eased off but they're creeping in", True),
    ("the suicidal thoughts have faded but it always returns", True),
    ("the suicidal thoughts have eased, i'm ready to go", True),
    # a second reviewer's: "too" and "off" read as "to" and "of", intensifiers, a cue said again elsewhere
    ("my suicidal thoughts have gone to a really dark place", True),
    ("the urge to kill myself has gone off the scale", True),
    ("the suicidal thoughts have gone so quiet it scares me", True),
    ("the suicidal thoughts have gone away because i've chosen a date", True),
    ("cancer would be a relief, those thoughts eased over time but a heart attack would still be a relief", True),
    # a third reviewer's: the cues' first places paired first, so a narrower later pair is not set aside in a question
    ("Do I want to be gone, want to be gone? No. I'm living on borrowed time.", True),
    ('My fave lyric is "want to be gone, I just want to be gone". Living on borrowed time these days.', True),
])
def test_recovery_after_a_match_is_read_only_where_its_clause_ends(matcher, text, crisis):
    """An older rule read "my suicidal urges have gone up" as recovery: after "gone", "passed" or "stopped" only the
    end of the clause or one of OVER_ENDS says it is over."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # a negation the writer cannot vouch for, or holds off with effort or asks help with (a red team's)
    ("i can't promise i won't overdose tonight", True),
    ("not sure i won't end it tonight", True),
    ("i don't trust myself to not kill myself when everyone's asleep", True),
    ("please help me not overdose tonight", True),
    ("how do i not kill myself tonight", True),
    ("i'm doing my best not to kill myself tonight", True),
    ("it's taking everything in me not to kill myself", True),
    ("barely managing not to end it tonight", True),
    ("I keep telling myself I won't actually kill myself, but I've been planning it.", True),
    # ... not a promise or a reason given, nor words of another sentence
    ("i promise i'm not going to hurt myself, i just can't stop crying", False),
    ("low day, tearful, no reason. not thinking about hurting myself at all", False),
    ("Barely slept. I'm safe, no urges to hurt myself, just jumpy", False),
    # an act put off, not ruled out, or turned to what is coming
    ("i'm not gonna kill myself, at least not tonight", True),
    ("not going to kill myself just yet", True),
    ("i won't kill myself while my dog's alive. she's 15", True),
    ("i'm not gonna kill myself. probably.", True),
    ("i don't want to kill myself but i think i'm going to tonight", True),
    ("i haven't tried to kill myself this week, but the urges are horrendous", True),
    ("i don't want to kill myself but i will if he comes back", True),
    # ... not a safe night said plainly, or a turn to something else
    ("i wont hurt myself tonight, ive got my safety plan and my sister is here", False),
    ("im not going to hurt myself but i am going to eat an entire cheesecake tonight", False),
    ("I won't hurt myself, but I'm not going to pretend it's been easy", False),
    ("I won't hurt myself, but I'm not going to do the group today, I need a rest", False),
    ("I won't hurt myself rn or ever, I just need to vent", False),
    ("no urge to hurt myself today. small win but a win", False),
    # a denial the writer takes back
    ("i told the nurse i don't want to die. i lied", True),
    ("i keep saying i'm not suicidal but it's a lie", True),
    ("i'm not suicidal lol who am i kidding", True),
    ("they think i'm not self harming anymore but i am", True),
    ("i'm not self harming... i keep telling myself that", True),
    ("I'm not suicidal but I am tired", False),
    ("I'm not going to kill myself but I'm really struggling", False),
    ("I'm not going to kill myself, I just need to lie down", False),
    ("I'm not going to kill myself. My ex lied about everything though.", False),
])
def test_a_negation_held_off_put_off_or_turned_to_what_is_coming(matcher, text, crisis):
    """Fourteenth session, after a red team found 143 crisis messages of one negated act that were all silent: only a
    negation the writer stands by is a denial."""
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # someone else's belief the writer denies (fifteenth session) ...
    ("my brother is convinced I'm going to hurt myself. I'm not.", False),
    ("people assume I want to die. I don't, I just like black clothes", False),
    # ... but not a belief in another sentence, nor a belief that it is over
    ("everyone thinks I'm fine. I want to die. I'm not, I'm really not", True),
    ("my therapist thinks I'm past wanting to die. I'm not.", True),
    # ... nor when the words around the belief say it is so, or go on to a way, a place, a time, an attempt or a
    # goodbye (two red teams'), before the belief, in the reason for it or after the denial
    ("Tonight's the night, it's all sorted. Everyone thinks I'm suicidal lol. I'm not, I'm relieved.", True),
    ("my mum thinks I'm suicidal because of the noose in my wardrobe. I'm not, it's decoration", True),
    ("my gp thinks I'm suicidal. I'm not, I'm ready. everything's in place", True),
    ("my mum thinks I'm going to kill myself. I'm not, I'll do it at the beach so she doesn't find me", True),
    ("my mum thinks I want to die. I don't. (I do. every single minute)", True),
    ("my husband thinks I'm suicidal. I'm not, that's the line I'm giving everyone", True),
    ("people think I tried to kill myself. I never have, I've just been interrupted every time", True),
    ("my sister thinks I'm suicidal. I'm not. Sorry for everything, love you all", True),
    # ... where a reason's own words ("after", "every") are no sign
    ("my doctor thinks I'm suicidal after my scores. I'm not, I'm overwhelmed.", False),
])
def test_someone_elses_belief_the_writer_denies_is_set_aside(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", [
    # A second reviewer's (sixteenth session), against a rule tried and taken back: the word model doubting a match
    # in a short message it scored below 0.01. Its heaviest negative weights are on words of distress (anxious,
    # lonely, crying, sad, low, never), so it scored these plain crises lowest of all (docs/DECISIONS.md).
    "lonely sad anxious crying want to die",
    "anxious, sad, lonely, suicidal",
    "crying, anxious, lonely, going to kill myself",
    "failed the test, crying, anxious, want to kill myself",
    "lonely since my friend moved to spain, want to kill myself",
    "anxious, lonely, exhausted, better off dead",
    "crying over a song at the party, I think I want to die",
    "so lonely and anxious I fucking want to die",
    "i have never been so low i want to die",
    "I have never been this low, I want to die",
    "never been this low in my life and want to die",
])
def test_a_plain_crisis_among_words_of_distress_is_a_crisis(matcher, text):
    assert matcher.match(text).tier == "crisis"


@pytest.mark.parametrize(("text", "crisis"), [
    # Batch 91's method questions, the means named or "it"
    ("does drowning hurt", True),
    ("would hanging yourself hurt", True),
    ("is drowning actually peaceful", True),
    ("is carbon monoxide poisoning painless", True),  # a reviewer's, lost by a first narrowing
    ("is hanging a quick death", True),
    ("is drowning a peaceful way to go", True),
    ("would drowning myself really hurt", True),
    ("is drowning really that painful", True),
    ("is hanging too painful", True),
    ("is drowning a quiet death, the lifeguard course says it is", False),  # and a second reviewer's look-alikes
    ("why is jumping so painful on my knees", False),
    ("is jumping an easy way out of this level", False),
    ("is jumping too quick for beginners", False),
    ("is jumping a quick death", True),
    ("does rat poison kill a person", True),
    ("does hanging hurt or is it quick", True),
    ("its 3am and i just want to know does it hurt much or is it quick", True),
    ("how high does a bridge need to be to be fatal", True),
    ("i've never wanted to die so much as tonight", True),
    # a red team's everyday look-alikes (eighteenth session)
    ("does it hurt or is it quick, getting your ears pierced", False),
    ("is it quick getting a tattoo or does it hurt", False),
    ("how high does your credit score need to be to be guaranteed a mortgage", False),
    ("does rat poison hurt the rats", False),
    ("is hanging wallpaper quick", False),
    ("I wasn't suicidal so much as burnt out", False),
])
def test_a_method_asked_about_is_a_crisis_and_everyday_questions_of_pain_or_speed_are_not(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("I don't feel safe tonight", True),  # session 19's red team
    ("Scared of myself right now", True),
    ("tha knows what, I'm not bothered about living no more", True),
    ("Took a whole packet of sertraline. Sorry. Feel weird already.", True),
    ("just swallowed a whole strip. lying down now. bye", True),
    # its reviewer's look-alikes
    ("I'm not safe driving in the snow, I'll get the bus", False),
    ("haha I'm a bit scared of myself when I'm hangry", False),
    ("forgive me for what I'm about to do to this pizza", False),
    ("season finale is on, it all ends tonight!", False),
    ("what's the most painless way to tell my boss I'm leaving", False),
    ("downed a whole bottle of prosecco at the wedding lol", False),
    ("took my whole week of pills in the dosette box, doctor changed it", False),
])
def test_safety_and_acts_said_plainly(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    ("i feel like i'm drowning and dying would just be letting go", True),
    ("sorry I couldn't hold on any longer, had to leave the meetup early for my bus", False),
    ("I have a crisis plan and I've torn it up.", True),
    ("ripped up my safety plan tonight", True),
    ("tbh if i have to hear baby shark once more i'll walk into the sea", False),
])
def test_a_release_a_farewell_and_a_plan_torn_up(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # Tried and taken back after a reviewer's crises (docs/DECISIONS.md): a count before "free" as recovery, "more a"
    # as no end to a denial, "type/kind/sort" read through after a negation. Their crises stay crises.
    ("two days self harm free and I already want to cut", True),
    ("One week self harm free. Who am I kidding.", True),
    ("6 months self harm free but I want to so badly tonight", True),
    ("can't even manage one day self harm free", True),
    ("day 3 self harm free and I'm sitting here with the blade", True),
    ("Thoughts of dying have never come up for me more than now", True),
    ("suicide was never an option, more like the only option left", True),
    ("not really, kind of want to die", True),
    ("I've never been the type to want to die but tonight I want to", True),
    ("I was never the sort to hurt myself but I did last night", True),
    # "I'm not gonna do it" turns to picturing it (Scots "a" is "I" there)
    ("thinkin aboot the clyde again. a'm no gonna dae it, a just cannae stop picturin it", True),
    ("thinking about the clyde again. i'm not gonna do it, i just can't stop picturing it", True),
    ("Never thought I'd be the person hoping the plane goes down, but here I am on a flight, hoping.", True),
    # a holiday is no wish to disappear; somewhere never to be found is
    ("I wish I could disappear for a week and sleep", False),
    ("wish I could disappear to somewhere I'd never be found", True),
    ("I wish I could disappear to where my dad is", True),
    # the day's pills taken together are no plan; pills got back for it are
    ("I sort my pills in a tray so I can take them all at once with breakfast", False),
    ("i need my meds back to take them all at once", True),
    ("I'm saving up my holidays to take them all at once in August", False),
    # a joke taken back is no joke (batch 95b)
    ("i want to die lol jk... unless 👀", True),
    ("kill myself haha", False),
    # a laugh denied with a word between is no laugh (a reviewer's)
    ("i want to die. not literally joking, i mean it", True),
    ("i want to die, not even joking", True),
    # a reviewer's crises that rules tried in the twenty-fifth session silenced ("not literally" after a match as a
    # laugh, someone else's speech read further back, goodbye letters to a team as everyday), and they were taken back
    ("i want to die, not literally... ok maybe literally", True),
    ("i want to kill myself, not literally (yet)", True),
    ('my mum said to write it down so here it is: "i want to die"', True),
    ('rang my mum, just said "i want to die" and hung up', True),
    ("goodbye letter to my team done, letters to mum and dad done. pills ready", True),
])
def test_the_twenty_third_sessions_denials_and_their_twins(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # Thirtieth session (batch 108a's tuning part), with their look-alikes
    ("my mum is gone and i just want to go where she is", True),
    ("my sister lives in spain and i just want to go where she is", False),
    ("just want to say thank you to everyone in this group, you were good to me. take care of each other", True),
    ("you were so kind to me at the meeting, take care of yourselves over christmas", False),
    ("if i got ill and it was serious i dont think id fight it", True),
    ("i dont want to die i just need to hurt. does that make sense", True),
    ("my girlfriend saw the marks on my thighs and now shes freaking out", True),
    ("i want to end my live", True),
    ("i wnt to die", True),
])
def test_wishes_goodbyes_and_hidden_harm_in_other_words(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # Thirty-first session (batches 109a and 109b's tuning parts), with a second reviewer's look-alikes and the crises
    # a filler first read as negated ("they don't get that ...")
    ("i just want to endit all", True),
    ("pills or the river thats whats goin through my head all day", True),
    ("pills or tablets whats easier for you", False),
    ("Sunday walk: the river or the loch, whats everyone fancy?", False),
    ("rope keeps popping into my head. i hate it. i'm scared", True),
    ("I was on the wrong side of the railing when a taxi driver stopped", True),
    ("The dog got stuck on the wrong side of the railings at the park", False),
    ("I had this really clear thought of just steering into the barrier.", True),
    ("thinking of steering into the skid", False),
    ("I drove out to the coast meaning to end it.", True),
    ("i was meaning to end it with him for months", False),
    ("I'm not going to hurt myself, just sitting here with the pills counting them over and over", True),
    ("Sitting here with the painkillers finally working after the dentist", False),
    ("i dont get suicidal thoughts, never have, just the low mood stuff", False),
    ("My mum doesn't get that I want to die", True),
    ("they don't get that I'm suicidal", True),
    ("my family doesn't get that i'm going to end it tonight", True),
    ("people don't get that I want to end my life", True),
    ("they dont get i want to die", True),
])
def test_means_on_the_mind_a_railing_and_what_others_dont_get(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize(("text", "crisis"), [
    # Thirty-first session (batches 110a and 110b's tuning parts: understated voices, young people's chat), with their
    # look-alikes; "never" before a match at its worst (two crises the filler rules silenced before: "never been so
    # close", "never ... more"); and a red team's crises and everyday lines, which took back or narrowed the rest
    ("lol i would simply like to be deleted from existence thx", True),
    ("mondays should be deleted from existence", False),
    ("I'd love to be removed from the world cup sweepstake", False),
    ("i meant it to be the end of the chapter but the editor disagreed", False),
    ("I meant it to be the end, but my editor wants a sequel", False),
    ("anyone else sh when they get a bad grade or is it just me", True),
    ("That's me retired from the cricket club after 30 seasons, I've had a good innings", False),
    ("I think I wouldn't mind if I just lay down in the field and didn't get up.", True),
    ("I wouldn't mind if I stayed in bed and didn't get up till noon", False),
    ("I wouldn't mind if I slipped away in my sleep and didn't get up until it was all over", True),
    ("been slapping myself round the face when I mess up at work. Not right is it.", True),
    ("Smacked myself in the head with the rake again", False),
    ("kept slapping myself in the face to stay awake on the M6", False),
    ("Keep thinking if I came off the scaffold one day it'd solve a few things.", True),
    ("If I crashed at yours tonight it would sort everything for the early flight", False),
    ("Nearly killed myself slipping on the deck in my brand new wellies", False),
    ("stood on the bridge watching the trains, working up the nerve to jump", True),
    ("I want to fade out the intro on this track, any tips in Ableton?", False),
    ("I want to not be anywhere near the office tomorrow", False),
    ("Went to the train station to do it because the app wouldn't let me renew my railcard", False),
    ("I'm losing my mind, I'm so close to suicide tonight", True),
    ("lost my job today. So close to suicide", True),
    ("the club lost a young lad to suicide", False),
    ("stood on the wrong side of the railings, can't stop shaking", True),
    ("jumping or pills keeps going round and round", True),
    ("I've never been so close to ending it", True),
    ("never have I wanted to die more", True),
    ("never been that close to jumping in the sea, it was freezing", False),
    ("I've never been so close to jumping out of my skin, that thunder was loud", False),
    ("I've never been close to ending it", False),
    ("I never in my life thought I'd be suicidal but here we are", True),
    ("I have never in my life wanted to die like I do tonight", True),
    ("I don't get any suicidal thoughts, just can't sleep", False),
    ("I never really get the urge to self harm anymore", True),  # "the" ends the reading: a false alarm kept
    ("Do I want to die? No. I was just being dramatic, sorry everyone.", False),
    ("Do I want to die? No. I am being dramatic. I've been looking at the loft beam", True),
    ("Do I want to die? Nah. The void keeps calling me and I'm so tired of holding on.", True),
    # ... and a second red team's, on the narrowed rules
    ("I don't get the point of being alive anymore", True),
    ("I didn't get the tablets down, I was sick. Going to try again tonight", True),
    ("I'd never kill myself, more likely I'd just move to Spain", False),
    ("I have never wanted to die more than right now", True),
    ("Do I want to die? No. Everyone would be better off. Dramatic", True),
    ("I meant it to be the end, the last chapter, so no sequel", False),
    ("I wouldn't mind if I lay down on the sofa and didn't get up till Monday", False),
    ("keep smacking myself in the face with the hose when I water the garden", False),
    ("started slapping myself round the face to stay awake on the M6", False),
    ("If I fell off this ladder it would sort everything for the bank holiday lol", False),
    ("If I went off the bridge it would fix everything", True),
    ("I was on the wrong side of the railings at the concert and security shouted", False),
    ("Sat here with all my painkillers and a hot water bottle, period from hell", False),
    ("gonna endit with her tonight, the relationship is dead", False),
])
def test_understated_and_young_voices_and_never_at_its_worst(matcher, text, crisis):
    assert (matcher.match(text).tier == "crisis") is crisis


@pytest.mark.parametrize("text", ["I can't do this any longer", "honestly cant do this much longer",
                                  "I can't do this for much longer", "can't take it any longer",
                                  "I can't take this anymore"])
def test_cant_go_on_said_with_any_longer_is_said_as_with_anymore(matcher, text):
    """"Can't do this anymore" was a crisis line and "can't do this any longer" nothing (thirty-second session)."""
    assert matcher.match(text).tier == "crisis"
