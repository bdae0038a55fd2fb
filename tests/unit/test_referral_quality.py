"""The development set and its held-back figures: floors, so a change that loses ground fails here.

The floors are the figures measured on every file of the set together (bench/referral_quality.py prints them,
`--set` one file's); raise them when the knowledge base gets better. The held-back part is never used to choose
phrases or patterns.
"""

from collections import Counter
from pathlib import Path

import pytest

from bench.referral_quality import CATEGORIES, evaluate, load_dev_file, load_dev_set, part, run
from bots.referral.kb import load_kb
from bots.referral.matcher import Matcher

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = load_dev_set()


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_kb([ROOT / "referral_kb"]))


@pytest.fixture(scope="module")
def held_back(matcher: Matcher) -> dict:
    return evaluate(matcher, part(EXAMPLES, "held_back"))


def test_the_dev_set_is_big_varied_and_split_before_tuning():
    assert len(EXAMPLES) >= 1_000
    assert len({e.text for e in EXAMPLES}) == len(EXAMPLES)
    kinds = Counter((e.tier, e.category) for e in EXAMPLES)
    for category in CATEGORIES:
        assert kinds[("crisis", category)] >= 30, category
    for kind in ("negation", "idiom", "chatter", "other"):
        assert kinds[("none", kind)] >= 30, kind
    assert 0.25 <= len(part(EXAMPLES, "held_back")) / len(EXAMPLES) <= 0.35


def test_held_back_crisis_recall_does_not_fall(held_back):
    # Measured with batches 5 to 62 in the set, phrases, patterns and the word model (L2 3e-3, threshold 0.73, 0.85 for
    # a short message naming nobody): short 0.911, long 0.956, wishes 0.890, plans 0.888, preparations 0.862, self-harm
    # 0.883. Batch 52's, 55's and 59's held-back crisis lines, written to read like denials, are found less often, so
    # self-harm, methods and attempts sit lower than they might. Tenth session: with the model retrained with batches
    # 63 and 64 (63's crisis lines all hold a negation or hedge) at threshold 0.71 (chosen on batches 58 to 64 left
    # out in turn), short 0.905, long 0.951, wishes 0.882, intent 0.899, attempts 0.912; with 65 and 66 and the
    # session's rules, short 0.912, long 0.953, preparations 0.872, self-harm 0.900; with 67, short 0.915, intent 0.907.
    # Eleventh session: batches 68 and 69, new writers' posts (their crisis lines found 0.910 and 0.909 before anything
    # was changed for them), bring methods to 0.944 and attempts to 0.913; retrained with them the model found fewer
    # crisis posts (short 0.904) until its threshold went to 0.64 (chosen on batches 60 to 69 left out in turn): short
    # 0.913, long 0.951. With batches 70 (long posts) and 71 (very short ones), the session's patterns and the
    # threshold at 0.68 (on batches 62 to 71 left out in turn), short 0.916, long 0.952, methods 0.951, attempts 0.921;
    # retrained with 72 and 73 too, short 0.927, long 0.950; with 74 and 75 and the session's last rules, 0.923 and
    # 0.955, the floors raised to a little under each figure. Twelfth session: batches 76 to 81 (six new writers; their
    # crisis lines found 0.882, 0.880 and 0.912 before anything was changed for them), the model retrained with them at
    # threshold 0.72 (0.68 found 35 more of 5,001 short crisis posts on batches left out in turn, for 5 more denials and
    # 10 more look-alikes flagged, and everyday lines of this file's tests at 0.71 to 0.73): short 0.923, long 0.958,
    # plans 0.896, preparations 0.889, attempts 0.935. With batch 82 (260 denials in the evaluation's two shapes) the
    # model learnt to be warier (bias -0.99 -> -1.15): at 0.72 short 0.914; at 0.70 (0.68 and 0.72 on batches 62 to 82
    # and the look-alike batches left out in turn: 34 more crisis posts at 0.68 for 5 more denials and 9 more
    # look-alikes) short 0.917, long 0.955, wishes 0.887, intent 0.915, self-harm 0.899. Thirteenth session: a long
    # post's bar rising with its stretches (wary_rise 1.25, for batch 83's long posts from unrelated forums, 0.067
    # flagged before) and the model retrained with 83 and 84: long 0.951, wishes 0.884, attempts 0.929, the rest as
    # they were; the floors a little under them. With batch 85 (struggling writers' denials and hedged crises; found
    # 0.954, denials 0.091 before anything was changed for it) the model retrained is readier (bias -1.19 -> -1.10):
    # short 0.921, long 0.949, wishes 0.890; threshold kept at 0.70 (0.72 on batches 62 to 85 left out in turn found
    # 25 fewer of 4,796 short crisis posts for 4 fewer of 2,785 denials and no fewer ordinary posts flagged). With 86
    # (long posts of struggling writers' denials, 0.40 flagged before) the model is warier (bias -1.10 -> -1.23):
    # short 0.915, long 0.946, attempts 0.922, preparations 0.878, self-harm 0.894; kept at 0.70 (0.68 on batches 62
    # to 86 left out in turn: 13 more of 4,796 short crisis posts, no more denials, 5 more ordinary posts flagged).
    # Fifteenth session: with 87 (oblique short crisis posts, 0.958 found before anything was changed for them) and
    # 88 the model is readier (bias -1.23 -> -1.08): short 0.920, long 0.942 (two long posts fewer); kept at 0.70
    # (on batches 62 to 88 left out in turn 0.72 found 25 fewer of 5,044 short crisis posts for 2 fewer of 3,025
    # denials, 0.68 17 more for 6 more; ordinary posts flagged the same). Sixteenth session: with 89 and 90 (400
    # denials in the evaluation's two shapes, 200 crises despite a negation) the model is warier (bias -1.08 ->
    # -1.24) and its threshold 0.66 (on batches 62 to 90 left out in turn, 37 more of 5,203 short crisis posts than
    # at 0.70 for 6 more of 3,425 denials): on the first 88 files' held-back part short 0.920 and long 0.942 as
    # before; 89 and 90's own hedged crises are found 0.81 (48 short) and 0.80 (15 long), so over all 0.919, 0.939.
    # Seventeenth session: batch 91, talk of means and methods (its crises found 100 of 150 before anything was changed
    # for it, method questions 40 of 70), and the model retrained with it, bolder (bias -1.24 -> -1.02), at 0.70 (on
    # batches 1 to 91 left out in turn, 0.66 found 98 more of 17,071 short crisis posts for 23 more of 10,777 ordinary
    # posts flagged): the first 90 files' held-back part short 0.921, long 0.942; 91's own 20 of 29 short and 9 of 14
    # long, so over all 0.920 and 0.935; method questions 0.96 -> 0.948. Twentieth session: batch 92, short posts as
    # typed on forums and in chats (its crises found 124 of 150 short and 36 of 40 long before anything was changed
    # for it); after its tuning part was read and the model retrained with it (bias -1.02 -> -1.05), the first 91
    # files' held-back part is 0.919 and 0.935, and 92's own 39 of 47 short and 5 of 7 long, so over all 0.919, 0.932.
    # Twenty-first session: with batch 93, 0.920 and 0.934; a negation in a post longer than the model's window no
    # longer keeps the model from reading it, 0.920 and 0.958. Twenty-third session: with batches 94a to 95b (95a
    # everyday talk of dwelling, which the model took for crisis talk) and the model retrained with them, warier, at
    # 0.66: 0.921 and 0.954 (the first 93 files' held-back part: 12 more short crisis posts found, 2 fewer long).
    # Twenty-fourth session: with batch 96b (plans, preparations and methods said obliquely; its held-back methods
    # found 9 of 14) and the model retrained with it, 0.922 and 0.962, methods 0.948 -> 0.940; with 97a and 97b and
    # the model retrained with them, 0.925 and 0.961, methods 0.945; with 98b, 0.922 and 0.963 (the first 97 files'
    # held-back short crisis posts 9 fewer found, long 2 more: the retrained model is a little warier, bias -1.03 ->
    # -1.05); with 98a, 0.925 and 0.959; with 100b, 0.920 and 0.958 (the first 101 files' held-back short crisis posts
    # 26 fewer found, for 9 fewer ordinary messages flagged: left out in turn, batches 86 to 100b still favour 0.66);
    # with 100a, 0.923 and 0.953 (the first 102 files' held-back long crisis posts 2 fewer found, 100a's own 37 of 40).
    # Twenty-fifth session: with batches 99a, 101a (250 long posts from advice forums) and 101b and a long crisis post
    # learnt from by its likeliest stretch, 0.920 and 0.936: learnt whole, 0.919 and 0.954, but left out of training in
    # turn, batches 84 and 86 to 101b then had 10 more of their 635 long ordinary posts and 5 more of 2,878 short ones
    # flagged, for 11 more of 842 long crisis posts found and 12 fewer of 3,299 short (docs/DECISIONS.md). Methods
    # 0.926 and attempts 0.914 (0.931 and 0.920 learnt whole: 101a's long posts about a means kept at home).
    # Thirtieth session: with batch 108a and the model retrained with it, 0.918 and 0.957 (7 fewer of 6,448 held-back
    # short crisis posts found, for 5 fewer of 5,160 ordinary messages flagged; the never-tuned 107a one more found).
    assert held_back["crisis_recall_short"]["recall"] >= 0.918
    assert held_back["crisis_recall_long"]["recall"] >= 0.935
    floors = {"wish": 0.88, "active": 0.975, "method": 0.92, "intent": 0.91, "plan": 0.885, "prep": 0.875,
              "attempt": 0.91, "selfharm": 0.89}
    recall = {name: figures["recall"] for name, figures in held_back["crisis_recall_by_category"].items()}
    assert {name: recall[name] for name in floors if recall[name] < floors[name]} == {}


def test_held_back_false_alarms_do_not_rise(held_back):
    # Batches 20 to 22 and 25 are mostly everyday messages that share words with crisis talk, 24, 31 and 37 long
    # recovery posts and denials on the border, 29 and 42 everyday chat, 49 to 51 posts from unrelated forums, 52, 55
    # and 59 denials, 61 long recovery posts: with them in the set, false crisis is 0.146 on denials (0.149 before a
    # question of the writer's own answered no was read from the punctuation, 0.141 before a second reviewer had
    # that rule narrowed) and 0.031 on ordinary messages (0.028 before batches 60 to 62, whose ordinary posts were
    # flagged 4 of 239 before anything was changed for them; 0.145 and 0.024 on 55 files before the model was
    # retrained with 56 and 57 and a message naming nobody given a threshold; with each of batches 44 to 57 left out
    # of training in turn, 0.157 and 0.017). Support recall fell from 0.46 to 0.41 when batch 54 brought 130 posts of
    # low mood with no crisis in them, found 0.19 of the time, and to 0.40 with batches 61 and 62's grief and worry
    # (0.325 and 0.22 of them found before anything was changed); practical's precision is 0.81 (0.85 before 53 to
    # 55): batch 54's troubles with money, work and housing are labelled by what the writer needs most, support or
    # crisis. Tenth session: batch 63, 280 denials in many shapes, flagged 0.204 before anything was changed for it,
    # brings held-back denials to 0.151 (0.145 on the first 62 files); the model retrained with 63 and 64 takes
    # ordinary false crisis to 0.027 and any suggestion to 0.055; with 65 and 66, 0.152, 0.028 and 0.055; with 67
    # 0.149, 0.028 and 0.056. Practical precision 0.799 with 67,
    # whose carers' and debt posts under "none" name money and work troubles. Eleventh session: with 68 and 69 and the
    # model's threshold at 0.64 (left out in turn, batches 60 to 69 gave 1.5 points more short crisis posts found than
    # at 0.71 for 0.25 points more denials and 0.1 more ordinary posts flagged), 0.145, 0.029 and 0.056. With 70,
    # whose long recovery posts and screening questions answered no were flagged 0.544 before anything was changed,
    # 71, and the threshold at 0.68: 0.150, 0.029 and 0.056; practical precision 0.787 (70's long crisis posts name
    # jobs and debts). With 72 and 73 (73's denials in the shapes of crisis lines were flagged 0.207 before anything
    # was changed for them) and the model retrained with them (readier: its bias -1.26 -> -1.00), 0.154, 0.034 and
    # 0.060; at 0.71 it would be 0.153 and 0.031 for 0.5 points fewer short crisis posts found (docs/DECISIONS.md).
    # With 75 (non-native and regional voices, 40 posts of worry and grief found less often), support recall 0.395;
    # with 74 too, 0.151, 0.031 and 0.056, support recall 0.403; the floors back down to them. Twelfth session: batch
    # 77's denials in ten hard shapes (0.297 before anything was changed for them, 0.29 of its held-back part after),
    # 76's (0.175), 78's long recovery posts (0.45), and 79 to 81's long and short posts from unrelated forums full of
    # everyday death words (0.083, 0.080 and 0.033 flagged before): 0.162, 0.030 and 0.056, crisis precision 0.910,
    # support recall 0.390 (79's long posts of worry and grief). With 82 (denials 0.219 before anything was changed for
    # it) and the model retrained with it at 0.70: 0.159, 0.028 and 0.054, crisis precision 0.911. Thirteenth
    # session: with batches 83 and 84 (long and short posts from unrelated forums, 0.067 and 0.010 flagged before
    # anything was changed for them) and a long post's bar rising with its stretches, 0.158, 0.025 and 0.050 (on the
    # earlier files' held-back part 9 fewer ordinary messages flagged), crisis precision 0.914; practical precision
    # 0.782 -> 0.776: long crisis posts about debt or housing that the model no longer flags are suggested practical
    # help (labelled crisis, they count against it), the floor to 0.77. With 85 and the model readier: 0.158, 0.026
    # and 0.052 (5 more ordinary messages flagged), crisis precision 0.912. With 86: 0.161 (its long denials), 0.025
    # and 0.050, crisis precision 0.911. Fourteenth session: recovery after a match ("the suicidal thoughts have
    # gone") read only where its clause ends, since a red team's "... have gone quiet and I know what that means",
    # "... eased because I've made a plan" were read as over: 0.163 (about 5 more denials), crisis precision 0.910.
    # With a negation held off, put off or turned to what is coming read as none ("I can't promise I won't overdose",
    # "at least not tonight", "... but I think I'm going to tonight"; a red team's 143 such crises were all silent):
    # 0.164. Fifteenth session: with batch 88 (others' beliefs about the writer, denied; 0.658 flagged before
    # anything was changed for it) and 87, 0.171, 0.025 and 0.050, crisis precision 0.907; a belief's denial not
    # trusted where the words around it go on ("my mum thinks I'm suicidal. I'm not, I'm ready": two red teams'),
    # 0.173; the model retrained with 87 and 88, 0.173, 0.026 and 0.051, crisis precision 0.906; a reported question
    # answered no not trusted where a plan, a time or a lie follows ("I said no. I have a date"), 0.905. Sixteenth
    # session: with batches 89 and 90 (400 denials in the evaluation's two shapes) and the model retrained with them
    # at 0.66, 0.172, 0.024 and 0.050, crisis precision 0.905; practical precision 0.783 -> 0.762: four of the new
    # batches' held-back denials, about debts, are suggested debt advice, arguably right, but labelled none. (The word
    # model doubting a match in a short message it scored very low took denials to 0.148 but silenced plain crises
    # among words of distress, and was taken back: docs/DECISIONS.md.) Seventeenth session: with batch 91 (its
    # ordinary talk of the same means flagged 10 of 150 before anything was changed for it) and the model retrained
    # with it, bolder, at 0.70: 0.171, 0.027 and 0.052, crisis precision 0.903; the first 90 files' ordinary messages
    # 98 of 3,675 flagged against 90 (at 0.66, 111): the price of 11 more of their 5,295 short crisis posts found.
    # Twenty-first session: with batch 93 (run-on posts with one crisis line buried in talk of benefits, housing and
    # debt) and the model retrained with it, 0.167, 0.026 and 0.050, crisis precision 0.903; practical precision 0.762
    # -> 0.757: its held-back posts about money and housing, labelled crisis or none, are suggested practical help.
    # With the model reading long posts past a negation: 0.167, 0.026, 0.050, crisis precision 0.903, practical
    # precision 0.767. Twenty-third session: with batches 94a to 95b, 95a's 300 everyday posts of dwelling (35 flagged
    # by the model alone before), and the model retrained with them at 0.66: 0.160, 0.028 (the first 93 files' held-back
    # ordinary messages 103 flagged against 101; 95a's and 95b's 10 of 233 against 14), 0.051, crisis precision 0.903;
    # support recall 0.383 (the new batches' posts of worry and grief are found less often). Twenty-fourth session:
    # with batches 96b to 97b (97b's 300 everyday posts of venting: 19 flagged before anything was changed for it) and
    # the model retrained with them at 0.66, bolder (bias -1.17 -> -1.03): 0.157, 0.030 (the first 96 files' held-back
    # ordinary messages 116 flagged against 111, for 22 more of their 5,744 short crisis posts found; 97a's and 97b's
    # 11 of 143 against 12), 0.052, crisis precision 0.902; practical precision 0.752 -> 0.742: the new batches'
    # venting about bills and rent is suggested practical help; support recall 0.379. With batch 98b (five writers, one
    # of English as a second language) and the model retrained with it: 0.155, 0.030, 0.052, crisis precision 0.902,
    # practical precision 0.718 (its denials name the debt or the rent that is wrong instead: "... but this debt from
    # my sister's wedding is crushing me" is suggested debt advice, labelled none), support recall 0.375. With batch
    # 98a (everyday venting, 120 long posts; 12 of its 300 ordinary posts flagged before anything was changed for it)
    # and the model retrained with it (bias -1.05 -> -1.02): 0.153, 0.031 (the first 98 files' held-back ordinary
    # messages 132 flagged against 127, for 17 more of their short crisis posts found), 0.053, crisis precision 0.902,
    # support recall 0.373. A higher bar for long posts (0.99) was tried and dropped: docs/DECISIONS.md. With batch
    # 100b (3am titles on a peer-support forum; general forums' titles for the rest) and the model retrained with it,
    # warier (bias -1.02 -> -1.12): 0.150, 0.030, 0.051, crisis precision 0.903, support precision 0.487, recall 0.370.
    # With batch 100a (long posts: stories of work, debt, caring and loss, told by people in crisis and by people on
    # unrelated forums who are only stressed or sad) and the model retrained with it (bias -1.06): 0.150, 0.030, 0.054
    # (its long ordinary posts: money, pensions, moving, rehoming a pet), crisis precision 0.903, practical precision
    # 0.709, support precision 0.482, recall 0.369. Twenty-fifth session: with batches 99a, 101a and 101b and the
    # model retrained (a long crisis post learnt from by its likeliest stretch): 0.146, 0.028, 0.053, crisis precision
    # 0.905; practical precision 0.679 (101a's long posts about landlords, debts and benefits, labelled none, are
    # suggested the advice they ask for), support precision 0.472 (its worried and bereaved posts). Twenty-sixth
    # session: with batches 103b and 103c (recovery-group and older members' troubles: 460 support and 220 practical
    # posts, found 0.10 to 0.18 and 0.32 to 0.42 of the time in their held-back part), the model retrained with them at
    # 0.69 and more phrases for benefits, housing, debt, drink and drugs, and gambling (narrowed after a red team's
    # everyday lines: a bet, a milestone, a new flat): 0.146, 0.028, 0.054, crisis precision 0.904, support recall
    # 0.329 (0.328 before the phrases), practical recall 0.483 -> 0.564, precision 0.702 -> 0.712. With batches 103d and
    # 103e (younger members' and long-term conditions' troubles: 500 more support posts, found 0.14 and 0.08 of the
    # time before anything was changed for them) and the model retrained at 0.68: 0.146, 0.027, 0.053, crisis precision
    # 0.903, support recall 0.292, practical recall 0.540 (their 100 practical posts: housing repairs, college costs,
    # phone bills). Batch 103f (Scots) is kept out of the set (tests/unit/data/never_tuned/, its header says why).
    # Twenty-eighth session: with batch 106a (the bereaved wishing to join the dead, and grief told without that wish,
    # labelled none: 14 of its 65 held-back ordinary posts are suggested bereavement support) and the model averaged
    # over its last epochs, its bars chosen again: 0.143, 0.027, 0.055 (0.0525 without 106a), crisis precision 0.906.
    assert held_back["false_crisis_negations"]["rate"] <= 0.171
    assert held_back["false_crisis_ordinary"]["rate"] <= 0.031
    # Thirty-first session: with batches 109a to 111a, 0.056 (111a's ordinary posts about visas, housing and work are
    # offered the advice they ask about).
    assert held_back["any_suggestion_ordinary"]["rate"] <= 0.058
    assert held_back["tiers"]["crisis"]["precision"] >= 0.902
    for tier in ("support", "practical"):
        # Twenty-ninth session: phrases and patterns for practical troubles said plainly (a benefit stopped or refused,
        # an eviction threatened, rent missed, food banks, a CCJ): practical recall 0.550 -> 0.578, precision 0.738 ->
        # 0.748, nothing else moved; 0.575 and 0.747 once a second reviewer's everyday lines narrowed them.
        # Thirty-first session: batches 109a, 109b, 110a and 110b's held-back denials and ordinary posts (labelled
        # none) are often grief and loneliness, suggested support: support precision 0.472 -> 0.468 with the first two,
        # before any change, and 0.462 with all four. Thirty-second session: batches 112a and 112b's held-back denials
        # and ordinary posts about the DWP, PIP, ESA and the housing list are offered the advice they name: practical
        # precision 0.706 -> 0.698 before any change. Thirty-third session: batch 113b's held-back denials and
        # ordinary posts from hard lives (separation, prison, gambling, sleeping rough: labelled none) are offered
        # support: support precision 0.455 -> 0.453.
        assert held_back["tiers"][tier]["precision"] >= (0.45 if tier == "support" else 0.69), tier
        assert held_back["tiers"][tier]["recall"] >= (0.285 if tier == "support" else 0.565), tier


def test_no_more_everyday_look_alikes_are_flagged(matcher):
    """A red-team reviewer's everyday messages written against the rules (see the file's header): a ratchet, not a
    goal. Most are still flagged; each narrowing of a pattern should lower this count, never raise it, and leave the
    crisis wording beside it alone (test_referral_matching.py checks the exclusions')."""
    examples = load_dev_file(ROOT / "tests" / "unit" / "data" / "referral_lookalikes.txt")
    flagged = sum(matcher.match(example.text).tier == "crisis" for example in examples)
    assert len(examples) == 359
    # 242 until the eighth session: the model retrained with batches 56 and 57 reads "that swim in the loch made me
    # feel so alive" as crisis. An exclusion for "feel so alive" was tried and dropped: a second reviewer showed that
    # it silences "i only feel so alive when im cutting" and "felt so alive on the ledge". 245 since the model was
    # retrained with batches 60 to 62: with their exclusions' words left out as ever, "thinking of taking the lot to
    # the tip this weekend" and "been looking at the tablets in currys for my mum" now score above the threshold.
    # 242 when it was retrained with batches 63 and 64, 243 again with 65 and 66 ("thinking of taking the lot to the
    # tip this weekend" is back over the threshold); 244 with 67 ("i cut my legs up on the brambles walking the dog"
    # and "i decided on the date for my birthday meal" over it, the tip under it); 243 with 68 and 69 at threshold 0.64,
    # and with 70 and 71 at 0.68. 250 with 72 and 73: the model, readier, scores seven more just over 0.68 ("thinking
    # about dying my hair purple" 0.73, "i decided on the date for my birthday meal" 0.69); 246 with 74 and 75, the
    # ratchet with it. 245 with 76 to 81 at threshold 0.72 ("my social life doesnt exist since the baby arrived" was
    # over 0.68); 241 with 82 at 0.70; 239 with 83 and 84; 244 with 85 (the model readier, bias -1.19 -> -1.10; a
    # higher threshold would cost more crisis posts than it saves denials: test_held_back_crisis_recall_does_not_fall);
    # 241 with 86; 244 with 87 and 88 (the model readier, bias -1.23 -> -1.08), and with 89 and 90 at 0.66; 243 with
    # 91 at 0.70; 244 with 92 ("thinking of taking the lot to the tip this weekend" over the threshold once more).
    assert flagged <= 244


@pytest.mark.parametrize(("batch", "messages", "short", "long", "denials", "any_suggestion"), [
    ("referral_dev107a.txt", 664, 0.93, 0.93, 0.02, 0.04),
    ("referral_dev108b.txt", 615, 0.92, 0.93, 0.02, 0.04),
    ("referral_dev111b.txt", 611, 0.94, 0.95, 0.07, 0.05),
    ("referral_dev113a.txt", 515, 0.94, 0.92, 0.08, 0.02),
])
def test_a_writer_never_tuned_on_in_the_evaluations_shapes_stays_found(batch, messages, short, long, denials,
                                                                       any_suggestion):
    """Batches 107a, 108b, 111b and 113a, kept out of the set (their headers say why): short and long crisis posts,
    denials in the two shapes ("I'm not going to ...", "I never thought about ...") and posts from unrelated forums, by
    writers nothing was ever changed for. Measured when written: 107a 227 of 240 short, 61 of 64 long, 1 of 160
    denials, 1 of 200 ordinary, 4 of 200 given any suggestion; 108b 180 of 192, 61 of 64, 1 of 160, 1 of 199 and 4 of
    199 (60 of 64 long after the thirty-first session's retraining); 111b 180 of 187, 63 of 64, 9 of 160, 1 of 200 and
    8 of 200; 113a 152 of 157, 76 of 80, 7 of 119, 0 of 159 and 0 of 159. Floors a little under, as for the set: a
    change that loses ground on a writer it never saw fails here."""
    report = run(new_batch=ROOT / "tests" / "unit" / "data" / "never_tuned" / batch)
    assert report["messages"] == messages
    assert report["crisis_recall_short"]["recall"] >= short
    assert report["crisis_recall_long"]["recall"] >= long
    assert report["false_crisis_negations"]["rate"] <= denials
    assert report["false_crisis_ordinary"]["rate"] <= 0.015
    assert report["any_suggestion_ordinary"]["rate"] <= any_suggestion


def test_a_new_writers_batch_is_judged_whole_before_it_joins_the_set(tmp_path):
    batch = tmp_path / "referral_dev_new.txt"
    batch.write_text("## crisis/wish\ni just want to stop existing\n## none/other\nthe bread rose lovely today\n",
                     encoding="utf-8")
    report = run(new_batch=batch)
    assert (report["set"], report["part"], report["messages"]) == ("referral_dev_new", "all", 2)
    assert report["crisis_recall_short"]["recall"] == 1.0 and report["false_crisis_ordinary"]["rate"] == 0.0


def test_an_empty_new_batch_is_named_as_what_is_wrong(tmp_path):
    batch = tmp_path / "empty.txt"
    batch.write_text("# a header and nothing else\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"no messages in .*empty\.txt: one per line under"):
        run(new_batch=batch)
