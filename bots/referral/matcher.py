"""Find knowledge-base phrases in a message in one pass, whatever the size of the knowledge base.

All phrases, exclusions and the anchors of patterns (patterns.py) go into one Aho-Corasick automaton over
normalised text (pyahocorasick, in C), so the cost per message depends on the message, not on how many
phrases there are; where an anchor occurs, the few words around it are checked against the rest of its
pattern, and a match counts like a phrase over the words it covers. Then three plain rules decide what
counts:
- an exclusion of the same topic that overlaps a match suppresses it ("dying to see", "suicide squad");
- of overlapping matches, the longest wins, so "my brother died by suicide" is suicide bereavement,
  not crisis;
- simple negation just before a match suppresses it ("I'm not suicidal", "never really suicidal", "I used
  to want to die"), but not across an intensifier ("I've never felt so suicidal"); so does a negation in a
  pattern's gap, one just after it ("suicide has never crossed my mind", "isn't on the cards"), and a "no"
  answering a reported question ("the GP asked if I was suicidal and I said no"): the question is someone
  else's words, as is someone else's belief the writer denies ("my mum thinks I'm suicidal. I'm not"). A negation
  followed by "I" belongs to its own sentence ("but I wasn't. I wish I was dead"), and so
  does one before a full stop or "?" (not around a one-word sentence, not before a question), read from the
  message's punctuation in a message of up to 4 KB ("Mam thinks I'm grand. I'm not. Thinking about ending
  things"); one after "doesn't mean I" is undone ("smiling doesn't mean I don't want to die"), and so is one of a
  state the writer did not expect, now come ("I never thought I'd be suicidal"), or of an act taken up again as a
  thought ("I'm not going to kill myself but I think about it all the time"), put off ("... at least not tonight") or
  turned to what is coming ("... but I think I'm going to tonight"), or taken back ("... I lied"); nor is one the
  writer cannot vouch for or holds off ("I can't promise I won't overdose", "help me not kill myself tonight").
  So does recovery said around it ("free of suicidal thoughts", "self harm free", "the suicidal thoughts have
  gone" where its clause ends, not "have gone up" or "have gone quiet", "two years since I last self harmed", "five
  years since I wanted to die", unless it came back or ended), a denial just after it ("wanted to die most days. not
  anymore", "suicidal? nah"), and, for the crisis tier only, a laugh just after it ("that pun made me want to die
  lmao"), someone else as its subject ("my flatmate said she'd be better off dead": she is, not the writer), unless
  the match itself says whom it is about ("they'd be better off without me"); a lower tier's match it outranked then
  stands on its own ("my son overdosed last night" is a worried parent's support match).
A crisis wish or thought told as past and over in the message's last words is set aside too ("I was suicidal at 17.
I'm 25 now and glad I'm still here"), unless something in it is recent or still going on (PAST_TELLING, NOW_FINE),
and so is a crisis match that is the writer's own question, answered no ("Wanting to die? No."), read from the
message's punctuation (_unless_asked_and_denied), and crisis matches only inside quotation marks framed as someone's
words: a song, meme or someone else's speech, or the writer's own taken back (_unless_only_quoted).
Last, a topic with a word model (word_model.py) may add a match to a message that names the writer or nobody else,
where nothing was said of the topic either way (nothing matched, nothing was set aside but by an exclusion); it does
not see the words of the topic's exclusions.

Look-alikes with two readings ("kiII myself", "ki11 mys3lf" for "kill myself") are matched in a second
pass over normalise.l_reading(), only for messages that contain one, over their first L_READING_CHARS
(8 Ki) characters, so such a message costs at most about a quarter more. That reading adds a phrase only
if it finds the phrase more often than the main reading of the same characters does, so the look-alike
created the occurrence; its hits and suppressions of that phrase are added, with offsets into that
reading. Phrases both readings see equally often keep the main reading's verdict, so reading "n0t go1ng"
as "not golng" cannot undo a negation.

Matching runs on the event loop, so its cost is linear in the message (n log n at worst), whatever the
message: normalise() reads at most its first MAX_CHARS (64 Ki) characters; the automaton reports matches
in order of where they end, and one backwards sweep over them (a deque holding the longest match still
overlapping) settles longest-wins; exclusions are found by binary search per topic; negation looks back and
on a bounded number of characters. Occurrences of a phrase are judged until it has MAX_PER_PHRASE hits
(a negated first mention must not hide a later plain one), and at most MAX_PER_PHRASE hits and
suppressions of each phrase are kept: more change nothing a caller uses, and "debt " sent 13,000 times
should not build 13,000 results.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, compress, islice, pairwise
from operator import itemgetter, sub
from typing import NamedTuple, TypeVar

import ahocorasick

from bots.referral.kb import KnowledgeBase
from bots.referral.normalise import MAX_CHARS, l_reading, normalise
from bots.referral.patterns import Pattern
from bots.referral.word_model import Reading

TIER_ORDER = {"crisis": 0, "support": 1, "practical": 2, "signal": 3}


def _words(*words: str) -> frozenset[str]:
    """Words as the matcher sees them: normalised ("stopped" is "stoped", "don't" is "dont")."""
    return frozenset(normalise(word).strip() for word in words)


def _keyed_by(position: int, sequences: Iterable[tuple[str, ...]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Word sequences grouped by their word at `position` (0: first, -1: last): a window of words is checked against
    those that could start or end at each word, not against every one."""
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for words in sequences:
        grouped.setdefault(words[position], []).append(words)
    return {word: tuple(group) for word, group in grouped.items()}


def _any_of(*phrases: str) -> re.Pattern[str]:
    """Any of these whole words or phrases, as the matcher sees them (normalised, spaces around)."""
    return re.compile(" (?:" + "|".join(re.escape(normalise(phrase).strip()) for phrase in phrases) + ") ")


NEGATIONS = _words(
    "not", "never", "don't", "didn't", "doesn't", "won't", "isn't", "aren't", "wasn't", "weren't", "haven't",
    "hasn't", "hadn't", "wouldn't", "ain't", "nor", "neither", "no", "zero", "dnt", "nvr", "neva", "shan't",
    # "I'm nowhere near wanting to die."
    "nowhere",
    # Over and done with: "I used to want to die", "I've stopped self harming".
    "used", "stopped", "quit")
# "No" (and "zero") negates only through these ("no plans to end my life", "no longer suicidal", "no thoughts
# of suicide"): "no, I want to die" is an answer, not a negation.
# A subject right after a negation starts a new clause: "I'm not. I want to die", "but I wasn't, I wish I was dead".
SUBJECTS = _words("i", "i'm", "i've", "i'd", "i'll")
_SUBJECT_STARTS = tuple(f"{subject} " for subject in SUBJECTS)
NO_NEGATES = _words("longer", "plans", "plan", "thoughts", "thought", "intention", "intentions", "way", "desire",
                    "urge", "urges", "wish", "feelings", "feeling", "ideation", "tendencies")
# ... and through a match that is itself a noun ("no self harm, no plan"), when it comes right after the "no".
NO_NOUNS = _words("self", "suicide", "sh", "cutting", "overdose", "overdoses", "attempt", "attempts")
ANSWER_NEGATES = _words("no", "zero")
OVER_AND_DONE = _words("used", "stopped", "quit")
NOT_OVER = NEGATIONS - OVER_AND_DONE | _words("cant", "cannot")
SINCE_LAST = _words("last")
SINCE = _words("since")  # ... after a long time: "years since I wanted to die", "ages since I felt suicidal"
SINCE_WHO = _words("i")
# ... and then only these before the match: not "since I said I wanted to die", nor an attempt ("since I tried to")
SINCE_FILLERS = _words("felt", "thought", "wanted", "even", "really", "ever", "seriously", "had", "a", "any")
ATTEMPTED = _words("tried", "attempted", "attempt", "overdosed", "took", "jumped", "hanged", "hung")  # a crisis
SHORT_SINCE = _words("minute", "minutes", "mins", "hour", "hours", "hrs")  # "an hour since I last cut" is not over
LONG_SINCE_UNITS = _words("months", "years", "yrs", "decades")
LONG_SINCE = [normalise(words).split() for words in ("ages", "a long time", "a long while", "a good while", "forever",
                                                      "been years", "been months", "been decades")]
_SINCE_I = " since i"
UNTIL = _words("until", "till", "til", "yet")  # after a negated match: the negation is over
# ... and a few words on: "never thought about suicide in my life until this year" ("yet" only right after: "I don't
# want to die, not yet anyway" is no crisis).
UNTIL_LATER = UNTIL - _words("yet")
UNTIL_WINDOW = 4
# "No" (or "no more") of thoughts, then a resolve: "no more suicidal thoughts, I've decided", "no suicidal ideas,
# just certainty" (a reviewer's): the thoughts are over because it is decided. Not "plan" or "tonight", which as
# often deny ("no plans to hurt myself, just a plan to stay in bed", "no urges to self harm tonight").
RESOLVED_AFTER_NO = _words("decided", "decision", "certainty", "goodbye", "goodbyes")
RESOLVED_AFTER_NO_PHRASES = [normalise(words).split() for words in ("up my mind", "a plan now", "the plan now")]
RESOLVED_AFTER_WINDOW = 8
# "Less" after it measures: "it doesn't mean I want to die any less".
LESS = _words("less")
# "More than" after it makes "never" a measure: "I've never wanted to be dead more than I do right now".
MORE = _words("more")
MORE_ENDS = _words("than", "now", "today", "tonight", "ever")
# ... and after a denial said after the match, within a few words of it ("never been on my mind more", "was never an
# option, more like the only option left", a reviewer's), not before these ("it's more that I feel nothing", batch
# 97a; "... more of an anxious person", "... more about money") nor after "any" ("any more than the next person").
# Further on it is most often another trouble ("... I just need more sleep", "... wish I had more friends"), as a
# second reviewer's look-alikes showed, unless it goes on ("more and more", "more every day"). "Now", "tonight",
# "until", "before" and "except" count anywhere: "... I'm just sad tonight" is flagged, but "... overdosing tonight
# is" and "... but ive written the notes tonight" are found; "apart from" only before a time ("apart from once",
# "... when"; not "my life is falling apart", "apart from my anxiety I'm ok"), a code reviewer's.
NEAR_DENIAL_WORDS = 2
MORE_NOT_BEFORE = _words("that", "of", "about", "the", "just")
MORE_NOT_AFTER = _words("any")
EXCEPT = _words("except")
APART = _words("apart")  # "apart from once / when / lately", not "my life is falling apart", "apart from my anxiety"
EXCEPT_WHEN = _words("once", "when", "lately", "recently", "last", "this", "that", "now", "tonight", "today")
EITHER = _words("or")  # "... something I'd consider, now or ever"; not "tonight or tomorrow"
EVER_AFTER = _words("ever", "never", "any", "anytime", "later")
MORE_LATER = _words("and", "every", "often", "lately", "recently", "than", "each", "these")  # "more every day"
# ... counted from after the denial's own words and what they are said of: "crossed my mind", "an option for me".
DENIAL_OBJECTS = {tuple(normalise(words).split()) for words in ("my mind", "my head", "for me", "to me", "id consider")}
# "Never wanted to die so much as tonight"; only after "never" ("I wasn't suicidal so much as burnt out" is a no).
_SO_MUCH_AS = tuple(normalise("so much as").split())
_NEVER = _words("never")
# So does "as much as": "never in my life wanted to die as much as I do today", "never wanted it this badly"; "so"
# only with "badly" ("I'd never kill myself, so much to live for").
AS_MUCH = {word: _words("much", "badly", "bad", "strongly", "often") for word in _words("as", "this", "that")} | {
    normalise("so").strip(): _words("badly", "strongly")}
# "Not" after a struggle is the wish held off, not denied: "it's getting hard not to think about ending it"; and
# before one, after a doing: "not self harming right now is so hard" (_struggle_after).
STRUGGLE_NOT = _words("not")
STRUGGLE_AFTER_FILLERS = _words("right", "now", "tonight", "today", "at", "the", "moment", "anymore", "lately", "these",
                                "days", "every", "day")
STRUGGLE_VERBS = _words("is", "was", "feels", "gets", "has", "getting", "becoming")
STRUGGLE_INTENSIFIERS = _words("so", "really", "very", "too", "fucking", "bloody", "actually", "getting", "becoming",
                               "been", "incredibly", "extremely", "impossibly", "genuinely")
STRUGGLING = _words("hard", "harder", "trying", "try", "tried", "difficult", "struggling", "struggle", "impossible",
                    "tough")
_LONGEST_STRUGGLE = max(map(len, STRUGGLING))
# A negation the writer cannot vouch for, or one held off with effort or asked for, is no denial: "I can't promise I
# won't overdose tonight", "not sure I won't end it", "I don't trust myself to not kill myself", "help me not overdose",
# "how do I not kill myself", "doing my best not to", "taking everything in me not to", "telling myself not to" (a red
# team's, all silenced before). These words end just before the negation, or before a few HELD_OFF_FILLERS: "promise"
# alone is a denial ("I promise I'm not going to hurt myself"), as is "no reason. Not thinking about hurting myself".
HELD_OFF = tuple(dict.fromkeys(tuple(normalise(words).split()) for words in (  # "can't" and "cant" read alike
    "can't promise", "cannot promise", "can not promise", "no promises", "not sure", "can't say", "can't guarantee",
    "don't trust myself", "help me", "how do", "how to", "how can", "my best", "my hardest", "everything in me",
    "barely managing", "barely", "telling myself", "tell myself", "told myself", "tell me", "strength")))
HELD_OFF_BY_LAST = _keyed_by(-1, HELD_OFF)
HELD_OFF_FILLERS = _words("i", "i'm", "i'd", "i'll", "if", "that", "to", "do", "can", "myself", "me")
HELD_OFF_WINDOW = 6  # words read before the negation: "not sure if i'm" and the longest of HELD_OFF
_HELD_OFF_CHARS = 25 * (HELD_OFF_WINDOW + 1)  # a word cut at the start of the read is never among those read
# "Before" too, when it ends the sentence ("I'd never felt suicidal before, but..."), not when it has an object
# ("I never thought about ending my life before my diagnosis, and I still don't").
BEFORE = _words("before")
BEFORE_ENDS = _words("but", "now", "this", "last", "today", "tonight", "recently", "lately", "and", "")
# ... unless it goes on to say it is still not there: "I never thought about suicide before and I still don't".
STILL = _words("still")
# A negated act taken up again as a thought: "I'm not going to kill myself but I think about it all the time" (the
# wish stands). Narrow, as two red teams showed ("... but thinking about it, I should see my GP", "... but I think
# about that time", "I don't want to die but I think about it a lot, death scares me", "... a lot as a nurse"): an
# act, not a wish, negated; only fillers before the turn; "I" after it; then thinking of it, and at most how often,
# to the end of the message; or "I can't stop" at its end ("I don't want to hurt myself but I can't stop").
ACTS = _words("kill", "killing", "suicide", "suicidal", "end", "ending", "harm", "harming", "hurt", "hurting",
              "overdose", "overdosing", "cut", "cutting",  # an act, or suicide itself: not a wish to be dead
              "do", "dae", "jump", "jumping")  # "I'm not gonna do it / dae it, I just can't stop picturing it"
TURNS = _words("but", "though", "tho", "although")
BEFORE_TURN = _words("anymore", "really", "tbh", "honestly", "or", "anything", "at", "all", "lol", "like", "that")
TURN_WINDOW = 4
TURN_READ = 8  # words after the turn: "I", fillers, thinking of it and how often; the message must end within them
TURN_FILLERS = _words("do", "still", "really", "just", "honestly", "definitely", "keep", "can't", "cant", "stop")
CANT_STOP = [normalise(words).split() for words in ("can't stop", "cant stop")]
HABITS = _words("harm", "harming", "hurt", "hurting", "cut", "cutting")  # acts one may not be able to stop
THINKING_OF_IT = [normalise(words).split() for words in (
    "think about it", "thinking about it", "think about doing it", "thinking about doing it", "picture it",
    "picturing it", "imagine it", "imagining it", "picture doing it", "picturing doing it",
    "thinkin about it", "picturin it", "imaginin it")]
# ... or with no "but", a new clause that turns by itself: "I'm not gonna do it, I just can't stop picturing it".
UNSAID_TURNS = _words("just", "still")
TURNING_I = _words("i", "a", "ah")  # ... Scots too: "a'm no gonna dae it, a just cannae stop picturin it"
HOW_OFTEN = [normalise(words).split() for words in (
    "a lot", "all the time", "every day", "every night", "every single day", "constantly", "daily", "loads",
    "often", "sometimes", "most days", "most nights", "nonstop", "so much", "way too much", "too much", "lots")]
COPULA_NOT = _words("isn't", "wasn't", "aren't", "weren't")  # "the film wasn't about suicide but I think about it"
TURNABLE = NEGATIONS - OVER_AND_DONE - COPULA_NOT  # not recovery ("two years free from self harm but ...")
THOUGHT_ENDS = _words("lol", "tbh", "honestly", "ngl", "though", "tho", "x", "lately", "recently", "now")
# ... or put off, not ruled out: "I'm not gonna kill myself, at least not tonight", "... while my dog's alive", "...
# probably", "not going to kill myself just yet" (not "... tonight": "I won't hurt myself tonight, my sister is here" is
# how people say they are safe); or turned to what is coming: "I don't want to kill myself but I think I'm going to
# tonight", "I won't overdose but the urges are horrendous" (a red team's).
# An act (not "suicidal") negated by a verb (not "no": "no urge to self harm today" is a good day), then one of these.
PUT_OFF = _words("while", "rn", "probably", "prob", "prolly", "maybe")
PUT_OFF_PAIRS = tuple(tuple(normalise(words).split()) for words in ("just yet", "at least", "for now", "this time"))
NOT_PUT_OFF = _words("or", "and", "either", "ever", "which")  # "... rn or ever", "... maybe ever"
PUT_OFF_ACTS = ACTS - _words("suicide", "suicidal")
COMING = _words("close", "urges", "urge", "planning", "planned", "plan", "decided", "tempted")
# "... but I think I'm going to (tonight)", "but I will if he comes back": not "but I'm going to eat a cheesecake".
COMING_INTENT = _words("going", "gonna", "will")
INTENT_WHEN = _words("tonight", "anyway", "eventually", "soon", "tomorrow", "if", "when", "do", "try", "")
COMING_WINDOW = 5  # words after the turn
# ... or taken back: "I told the nurse I don't want to die. I lied", "I keep saying I'm not suicidal but it's a lie",
# "I'm not suicidal lol who am I kidding", "I'm not self harming... I keep telling myself that", "they think I'm not
# self harming anymore but I am" (a red team's); "but I am" only where the message or its clause ends ("I'm not
# suicidal but I am tired" stands), and never "lie" alone ("I just need to lie down").
TAKEN_BACK_AFTER = tuple(dict.fromkeys(tuple(normalise(words).split()) for words in (  # not "my ex lied": his lie
    "i lied", "i'm lying", "i'm a liar", "i am a liar", "it's a lie", "that's a lie", "who am i kidding",
    "telling myself", "tell myself", "tell everyone", "tell people", "not true")))
BUT_I_AM = tuple(tuple(normalise(words).split()) for words in ("but i am", "but i do", "but im", "but i still am",
                                                                "but i still do"))
BUT_I_AM_ENDS = SUBJECTS | _words("", "and")  # not "... but I'm really struggling"
TAKEN_BACK_BY_FIRST = _keyed_by(0, TAKEN_BACK_AFTER)
BUT_I_AM_BY_FIRST = _keyed_by(0, BUT_I_AM)
TAKEN_BACK_AFTER_WINDOW = 8
# ... or said to have come back: "it's back", "the urges are back", "they came back" (not "my back", "back at work",
# "I want it back", "paying it back": _back_again_after).
BACK_CONTRACTIONS = _words("it's", "they're")
BACK_SUBJECTS = _words("it", "they", "thoughts", "urges", "urge", "feelings", "feeling", "darkness", "voices",
                       "cravings", "craving", "ideation", "demons") | BACK_CONTRACTIONS
BACK_VERBS = _words("is", "are", "came", "coming", "has", "have", "been", "all", "right", "suddenly", "now", "really",
                    "crept", "creeping", "flooding", "rushing")  # not "come": "they come back when I'm stressed" is
# how it goes, not that it is here; only "has come", "it's come" (HAS_COME) say it is
HAS_COME = (normalise("come").strip(), _words("has", "have", "it's", "they've", "'s", "all"))
# "Back in" is a place ("back in school"), except after creeping in or in force: "it's crept back in", "the urges
# are back in full force", "back with a vengeance".
BACK_IN_VERBS = _words("crept", "creeping", "creep", "creeps", "seeping", "flooding")
BACK_IN_FORCE = tuple(tuple(normalise(words).split()) for words in (
    "in full force", "with a vengeance", "in a big way", "with force", "out of nowhere"))
RETURNED_ALONE = _words("returned", "resurfaced")  # "the urge has returned", "it's resurfaced"
_IN = normalise("in").strip()
RELAPSED = _words("relapsed")
RELAPSERS = _words("i", "i've", "just")
BACK_AGAIN_WINDOW = 10
_BACK = normalise("back").strip()
# In a pattern's gap only a plain negation counts: "if he hadn't stopped and talked to me I would have jumped".
GAP_NEGATIONS = NEGATIONS - OVER_AND_DONE - _words("zero")
# Words that may sit between a negation and the phrase it negates: "not really", "never thought of".
# Intensifiers ("so", "this", "more", "as") are deliberately not among them: "I've never felt so suicidal"
# and "never been more ready to end it" say the feeling is at its worst, so the negation stops at them.
NEGATION_FILLERS = _words(
    "really", "actually", "even", "ever", "been", "being", "be", "feeling", "felt", "feel", "thought", "thinking",
    "of", "about", "going", "to", "gonna", "at", "all", "that", "planning", "considered", "considering",
    "am", "i'm", "i", "i'd", "i've", "near",
    "want", "wanted", "wanting", "wanna", "try", "tried", "trying", "have", "had", "having",
    "got", "any", "a", "an", "say", "said", "take", "taking", "took", "taken", "do", "did", "once", "currently",
    "seriously", "honestly", "definitely", "personally", "think", "saying", "like", "one", "remotely", "in",
    "the", "least", "slightest", "particularly", "necessarily", "point", "attempted", "contemplated", "from", "single",
    "whatsoever", "wance",
    *NO_NEGATES)
# ... and these only right before the match: "I would never commit suicide", not "I won't commit, I want to die";
# "I have never done self harm", not "I'm not done, I want to die".
RIGHT_BEFORE_FILLERS = _words("commit", "committing", "done")
# ... and "get" only before "any", or right before a match that does not start with a determiner (then the match is a
# thing got): "I don't get (any) suicidal thoughts", not "they don't get that I want to die" (a reviewer's), "I don't
# get the point of being alive" nor "I didn't get the tablets down" (a red team's).
GET_FILLERS = _words("get", "gets", "getting")
GET_THEN = _words("any")
GET_NOT_BEFORE = _words("the", "a", "an", "any", "no", "my", "his", "her", "their")
# Recovery said before the match: "three years free of suicidal thoughts", "recovered from self harm", "day 100
# without hurting myself" (a count of time, then "without"; "I can't go a day without wanting to die" is none).
RECOVERED = _words("free", "clean", "recovered")
RECOVERED_FROM = _words("of", "from")
WITHOUT = _words("without")
# After a count of time, or "since I (last)", words that say it ended or goes on (as do words that say it came back:
# _came_back): "two weeks without self harm, then I did it again", "... since I felt suicidal like this". Not "gone",
# "keep", "cut": "... the urges have gone", "... keep it up", "I used to burn and cut".
ENDED = _words("then", "until", "till", "til", "again", "broke", "ended", "ruined", "caved", "slipped",
               "failed", "messed", "reset", "impossible", "tonight", "yesterday", "earlier", "did", "constant",
               "happening", "like", "note", "plan", "planning")
ENDED_WINDOW = 8
# ... and "but" after a count of time without it, "but" and "now" after "years since I" ("... but now I do"); not
# after "since I last", whose milestones go on: "18 months since I last had suicidal thoughts. Some days are still
# grey but I'm glad", nor "now" after "100 days without self harm now".
ENDED_WITHOUT = ENDED | _words("but")
ENDED_LONG_SINCE = ENDED_WITHOUT | _words("now")
# "Smiling doesn't mean I don't want to die", "therapy doesn't mean I've stopped wanting to die": two negations.
# ("Doesn't mean" alone is no denial: punctuation is gone, so "they think I don't mean that. I want to die" would be.)
MEANS = _words("mean", "means", "meant")
DOESNT = _words("doesn't", "don't", "didn't", "dont", "doesnt", "didnt")
_DOESNT_MEAN_CHARS = 24
TIME_UNITS = _words("day", "days", "week", "weeks", "month", "months", "year", "years", "yr", "yrs")
NUMBER_WORDS = _words("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                      "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
                      "thirty", "forty", "fifty", "sixty", "hundred", "few", "several", "many")
COULD_NOT = _words("couldn't", "could", "wouldn't", "can", "cannot", "get", "through", "more")
# Far enough for "I have never had a plan to kill myself" (five fillers).
NEGATION_WINDOW = 6
# "I never thought I'd be suicidal", "didn't think I'd ever want to die": a state the writer did not expect, now
# come. Not an act ("I never thought I'd kill myself" may be a denial), nor "I don't think I'd ever be suicidal",
# nor when the writer says it did not come ("... and I wasn't", "but I'm actually doing alright").
UNEXPECTED = _words("never", "didn't", "hadn't")
EXPECTATIONS = _words("thought", "think")
EXPECTERS = _words("i", "id", "i'd")
EXPECTED_FILLERS = _words("ever", "actually", "really", "myself")  # negation fillers ("myself" of "call myself")
BECOMING = _words("be", "feel", "call", "consider")
WISH_STARTS = _words("want", "wanna", "wanting", "wish", "suicidal")
# "Never" before a match that starts with an intensifier or is followed by "more" (then "than", the end, or a time)
# says it is at its worst: "I've never been so close to ending it", "never have I wanted to die more" (the intensifier
# inside the match, where the fillers cannot stop at it); not "I'd never kill myself, more likely I'd move to Spain".
NEVER_WORST = _words("never")
WORST_STARTS = _words("so", "this")
_MORE = normalise("more").strip()
_MORE_CHARS = 40  # "more" and the word after it
MORE_THEN = _words("than", "now", "tonight", "today", "right", "in", "")
# Read through before "to": "it never crossed my mind to hurt myself", "it never occurred to me to". Not when a day is
# counted before ("there isn't a day it doesn't cross my mind to"), nor when the words after the match say it goes on
# ("... to kill myself anymore, it's a plan", "... but I did it last night", "... but now it's all I think about");
# not "never in my life have I wanted to die" ("... like I do right now"), all a red team's. Other words after it are
# read as a message of their own (Matcher._read_on): what follows is most often another trouble ("... I just feel
# lonely since my divorce", "... but lately I've been anxious about money", "... I keep fighting with my mum"), so
# only words that need the match to mean anything ("I did", "it's back", "today's the day") count here.
PRECEDED_FILLERS = {normalise(later).strip(): tuple(normalise(words).strip() for words in earlier)
                    for later, earlier in (
                        ("mind", ("crossed my", "cross my", "entered my", "come into my", "came into my", "in my")),
                        ("head", ("crossed my", "entered my", "come into my", "came into my", "popped into my")),
                        ("me", ("occurred to",)))}
PRECEDED_GOES_ON = _words(
    "anymore", "its", "it's", "until", "till", "now", "sits", "lives", "stays", "again", "tonight", "today", "did",
    "done", "tried", "last", "yesterday", "will", "planning", "plan", "swallowed", "goodbye", "goodbyes", "platform",
    "cliff", "cliffs", "method", "methods")
# ... and the act said again ("... before uni, I do it every week"); "I'm here because" is not "here I am".
PRECEDED_GOES_ON_PHRASES = tuple(normalise(words) for words in (
    "here we are", "here i am", "i do it", "im doing it", "keep doing it"))
# "Now" says it goes on where the words turn ("... but now", "... then he died and now I want to follow him"), not at
# the end of another trouble ("... but I can't afford the rent now").
NOW_TURNS = _words("now")
NOW_TURNS_WITHIN = 2
NOW_TURNS_AFTER = _words("and", "but", "then", "so", "right", "only", "even")
# "Can't" goes on ("... but I can't stop", "... but I can't hold on"), not when another trouble follows it ("... but I
# can't sleep", "... I can't afford the rent", a second reviewer's).
CANT = _words("can't", "cannot")
CANT_OTHER_TROUBLE = _words("sleep", "afford", "eat", "concentrate", "focus", "pay", "get", "cope")
CANT_STOP_CRYING = tuple(normalise(words).split() for words in ("stop crying", "stop worrying", "stop eating"))
# The thought or urge named again ("... but the thought keeps coming back", "... these thoughts are every hour");
# not "the thought of losing my job", "the thought that ...".
BACK_TO_IT = _words("the", "these", "those", "this", "that")
THOUGHT_AGAIN = _words("thought", "thoughts", "urge", "urges")
NOT_THOUGHT_AGAIN = _words("of", "that", "about")
# A message that ends in intent with the act left unsaid: "... but I'm gonna", "... but I'm going to".
ENDS_GOING_TO = tuple(normalise(words).split() for words in ("gonna", "going to"))
COUNTED = _words("day", "days", "night", "nights", "hour", "minute", "moment", "time")
_TO = normalise("to").strip()
# A crisis match this read-through set aside leaves the words after it to be read as a message of their own ("it never
# crossed my mind to kill myself, but the pills are in my hand"): Matcher._read_on.
_READ_THROUGH_ENDINGS = tuple(f" {earlier} {later} {_TO} " for later, earliers in PRECEDED_FILLERS.items()
                              for earlier in earliers)
_SPACED_TO = f" {_TO} "
_READ_THROUGH_CHARS = 120  # the ending and the few fillers after it ("... crossed my mind to actually commit suicide")
# Words read through as fillers when the word before them is one of these: "I wouldn't call myself suicidal", "quiet,
# not because I want to die" (a reason denied; not "I'm not, cos I want to die": "I'm not" is an answer of its own).
# Not "not sad enough to want to die", nor "not the same as wanting to die": a red team's "never thought I'd be
# depressed enough to want to die", "isn't the same as wanting to die, it's worse" (docs/DECISIONS.md). "Anything"
# only in "do anything to": "I'd never do anything to hurt myself", not "I don't feel anything, I want to die".
PAIRED_FILLERS = {normalise(later).strip(): _words(*earlier) for later, earlier in (
    ("myself", ("call", "consider")), ("because", ("not", "never")), ("cos", ("not", "never")),
    ("cause", ("not", "never")), ("more", ("no",)), ("anything", ("do", "did", "done")))}
# ... "more" only right before a match that is a noun, or names one after it ("no more suicidal thoughts", "no more
# self harm"; not "no more. I want to die", a red team's, nor "I can't cope no more, want to die", a reviewer's).
NO_MORE = _words("more")
PAIRED_THEN = {normalise("more").strip(): frozenset({""}), normalise("anything").strip(): _words("to")}
_LONGEST_PAIRED = max(map(len, set().union(*PAIRED_FILLERS.values())))
_COUNTED_CHARS = 120  # the few words before a negation read for a day counted, or after a match for it going on
REASONS = _words("because", "cos", "cause")
# A "not" before one of REASONS, after these, is an answer of its own, and the reason after it the writer's (a red
# team's).
ANSWERED_BY = SUBJECTS | _words("am", "really", "just", "def", "defo", "deffo", "definitely", "probably", "prob",
                                "prolly", "honestly", "nope", "no")
# A longer word is neither a negation nor a filler, so the look-back need not search further for its start.
_LONGEST_NEGATION_WORD = max(map(len, NEGATIONS | NEGATION_FILLERS))
_TURN_CHARS = 20 * (TURN_WINDOW + TURN_READ)  # the words read after a negated match
MAX_PER_PHRASE = 3
# Patterns checked around anchors per message (per reading): a message of 8,000 anchors that never complete a
# pattern ("suicide squad suicide squad ...") must not cost 8,000 checks. Phrases are never capped.
MAX_PATTERN_CHECKS = 200
L_READING_CHARS = 8_192
_ESCAPED_BREAK = re.compile(r"\\r\\n|\\[nr]")  # a line break written out as backslash and letter
READ_ON_CHARS = 600  # the words read on after a match a read-through set aside (Matcher._read_on), about 100 words
# After a denial said before its match, one of these among the first BUT_WORDS words read on says what follows goes
# against it ("I'm not suicidal but ...", "not going to do anything, I swear, but ..."): read as after any denial.
BUT = _words("but", "though", "tho", "however", "yet", "except")
BUT_WORDS = 4
# The writer calling their own words an exaggeration, just after answering no to their own question.
EXAGGERATED = _words("dramatic", "overdramatic", "melodramatic", "overreacting", "exaggerating")
EXAGGERATED_WINDOW = 6
# ... with only these before it: "No. I was just being dramatic", not "No. Nobody would miss me anyway. Dramatic".
EXAGGERATION_LEAD = _words("i", "i'm", "im", "was", "am", "just", "being", "probably", "prob", "lol", "so", "a", "bit",
                           "little", "sorry", "soz", "for", "overly", "too", "really", "ignore", "me", "totally", "um",
                           "haha", "and", "very", "ok", "okay", "fine")
EXAGGERATED_ENDS = 3  # at most these words after it, to the end: "sorry everyone", not a new thought
_EXAGGERATED_CHARS = 25 * (EXAGGERATED_WINDOW + EXAGGERATED_ENDS + 1)
_BUT_CHARS = BUT_WORDS * 25  # enough for BUT_WORDS words of nearly any length (a longer one only ends the look)


class Hit(NamedTuple):  # a tuple, not a dataclass: one or two are built for nearly every message
    topic: str
    tier: str
    phrase: str  # the phrase, or the pattern as written in the KB
    start: int  # in the normalised text
    end: int
    kind: str = "phrase"  # phrase | pattern | model (the phrase is then the score; its span the whole text)


class Suppressed(NamedTuple):
    topic: str
    phrase: str
    reason: str
    kind: str = "phrase"
    read_on_from: int = -1  # where the words after a match set aside by a read-through start (Matcher._read_on)
    # ... or, set aside by a denial, where the match ends: a denial after it has its words skipped in _read_on, and
    # the word model reads the rest less surely (word_model.Reading)
    read_on_warily: bool = False


class MatchResult(NamedTuple):  # a tuple, not a dataclass: one is built for every message
    hits: tuple[Hit, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()

    @property
    def topics(self) -> list[str]:
        return list(dict.fromkeys(hit.topic for hit in self.hits))

    @property
    def tier(self) -> str | None:
        tiers = [hit.tier for hit in self.hits]
        return min(tiers, key=TIER_ORDER.__getitem__) if tiers else None

    def as_json(self) -> dict:
        return {
            "topics": self.topics,
            "tier": self.tier,
            "phrases": list(dict.fromkeys(hit.phrase for hit in self.hits if hit.kind == "phrase")),
            "patterns": list(dict.fromkeys(hit.phrase for hit in self.hits if hit.kind == "pattern")),
            "model": next((hit.phrase for hit in self.hits if hit.kind == "model"), None),
            "suppressed_by": [{"topic": s.topic, s.kind: s.phrase, "reason": s.reason} for s in self.suppressed],
        }


_NO_MATCH = MatchResult()


@dataclass(frozen=True, eq=False)  # each is one line of the KB: identity is equality, and hashes fast
class _Entry:
    kind: str  # phrase | pattern | exclusion
    topic: str
    tier: str
    text: str
    pattern: Pattern | None = None


_CueFound = tuple[int, int, _Entry]  # where a cue was found, and which


class _Key(NamedTuple):
    """What one normalised key stands for: its length and the phrases, pattern anchors and exclusions."""
    length: int
    phrases: tuple[_Entry, ...]
    anchors: tuple[_Entry, ...]  # patterns whose anchor this is
    exclusions: tuple[_Entry, ...]


_ANCHORS_OF = itemgetter(2)  # a _Key's anchors


# Plain tuples, not NamedTuples, for what is built for every message and read only here: a NamedTuple costs several
# times as much to build.
# What _find reports: the phrases and anchors in the order the automaton reports them (by where they end), as their
# starts, ends and keys; and the exclusions' spans (start, end, text) by topic.
_Found = tuple[list[int], list[int], list[_Key], dict[str, list[tuple[int, int, str]]]]
# What _spans reports: the phrases and whole patterns found, sorted by where they end, as their starts, ends, entries
# and any negation in a pattern's gaps; and cues (start, end, entry, negation) apart: they neither outrank a match nor
# are outranked.
_Cue = tuple[int, int, tuple[_Entry, ...], str | None]
_Spans = tuple[Sequence[int], Sequence[int], Sequence[tuple[_Entry, ...]], Sequence[str | None], list[_Cue]]


class _Exclusions:
    """One topic's exclusion spans, sorted by start, with the furthest end reached so far at each."""

    def __init__(self, spans: list[tuple[int, int, str]]):
        spans.sort()
        self.starts = [start for start, _, _ in spans]
        self.reach: list[tuple[int, str]] = list(accumulate([(end, text) for _, end, text in spans], max))

    def overlapping(self, start: int, end: int) -> str | None:
        before = bisect_left(self.starts, end)  # exclusions starting before the span ends
        if before and self.reach[before - 1][0] > start:
            return self.reach[before - 1][1]
        return None


class Matcher:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._automaton = ahocorasick.Automaton()
        entries: dict[str, list[_Entry]] = {}
        for topic in kb.topics.values():
            for kind, texts in (("phrase", topic.phrases), ("exclusion", topic.exclusions)):
                for text in texts:
                    key = normalise(text)
                    if key.strip():
                        entries.setdefault(key, []).append(_Entry(kind, topic.id, topic.tier, text))
            for pattern in topic.patterns:
                entry = _Entry("pattern", topic.id, topic.tier, pattern.text, pattern)
                for key in pattern.anchor_keys():
                    entries.setdefault(key, []).append(entry)
        self._models = [(topic, topic.model) for topic in kb.topics.values() if topic.model is not None]
        for key, values in entries.items():
            phrases, anchors, exclusions = (tuple(e for e in values if e.kind == kind)
                                            for kind in ("phrase", "pattern", "exclusion"))
            self._automaton.add_word(key, _Key(len(key), phrases, anchors, exclusions))
        self.phrase_count = sum(len(t.phrases) for t in kb.topics.values())
        self.pattern_count = sum(len(t.patterns) for t in kb.topics.values())
        if entries:
            self._automaton.make_automaton()

    def match(self, text: str) -> MatchResult:
        """What this message would trigger and why. The text is used here and then discarded. Text copied from a web
        page may keep its HTML entities ("I don&#39;t want to be alive", "&amp;"), and a post written out on one line
        its line breaks escaped ("falling apart.\\nI want to die"): both are read as what they stand for."""
        if "&" in text:  # only what is read (MAX_CHARS): one entity after another costs a call each
            text = html.unescape(text[:MAX_CHARS]) + text[MAX_CHARS:]
        if "\\" in text:
            text = _ESCAPED_BREAK.sub("\n", text)
        return self._match(text, read_on=True)

    def _match(self, text: str, read_on: bool, normalised: str | None = None,
               read_as: Reading = Reading.WHOLE) -> MatchResult:
        if not self.phrase_count and not self.pattern_count:
            return MatchResult()
        if normalised is None:
            normalised = normalise(text)
        found = self._find(normalised)
        hits, suppressed = self._judge(normalised, found)
        if (len(text) <= SENTENCES_READ_CHARS and any(aside.reason.startswith(NEGATED) for aside in suppressed)
                and _SENTENCE_BREAK.search(text) is not None):
            sentence_starts = _sentence_starts(text, normalised)
            if sentence_starts:  # "Mam thinks I'm grand. I'm not. Thinking about ending things most nights."
                hits, suppressed = self._judge(normalised, found, sentence_starts=sentence_starts)
        over = _told_as_over(normalised, hits) if hits else None
        if over is not None:
            suppressed.extend(Suppressed(hit.topic, hit.phrase, f"told as over: {over!r}", hit.kind) for hit in hits
                              if hit.tier == "crisis")
            hits = [hit for hit in hits if hit.tier != "crisis"]
        unread: list[tuple[int, int, str]] = []  # questions answered no and quotes: not the writer's words now
        hits = _unless_asked_or_quoted(text, normalised, hits, suppressed, unread)
        reading = l_reading(text[:L_READING_CHARS])
        if reading is not None:
            l_found = self._find(reading)
            read_as_is = normalised if len(text) <= L_READING_CHARS else normalise(text[:L_READING_CHARS])
            _, _, main_keys, _ = found if len(text) <= L_READING_CHARS else self._find(read_as_is)
            main_counts = Counter(main_keys)
            already = {(hit.topic, hit.phrase) for hit in hits}
            _, _, l_keys, _ = l_found
            revealed = {entry for key, count in Counter(l_keys).items() if count > main_counts[key]
                        for entry in (*key.phrases, *key.anchors) if (entry.topic, entry.text) not in already}
            if revealed:
                more_hits, more_suppressed = self._judge(reading, l_found, revealed)
                hits.extend(_onto_main_reading(more_hits, reading, read_as_is, normalised))
                # (their offsets are the l reading's, which may differ in length: the words after them are not read on)
                suppressed.extend(aside._replace(read_on_from=-1) for aside in more_suppressed)
        if self._models:
            self._score(normalised, found, hits, suppressed, unread, read_as)
        if read_on and suppressed and not any(hit.tier == "crisis" for hit in hits):
            # The rest was read without its punctuation: a question of the writer's answered no, or a quote, is read
            # from the message as written ("... Do I want to die? No.", '... the song says "I want to die"').
            hits.extend(_unless_asked_or_quoted(text, normalised, self._read_on(normalised, suppressed), suppressed))
        if not hits and not suppressed:  # most messages
            return _NO_MATCH
        return MatchResult(tuple(hits), tuple(suppressed))

    def _read_on(self, normalised: str, suppressed: list[Suppressed]) -> list[Hit]:
        """The crisis hits of the words after the last crisis match a read-through or a denial after it set aside,
        read as a message of their own. "It never crossed my mind to kill myself" is a denial, and what follows it is
        most often another trouble ("... I just feel lonely since my divorce"), which the read-through must not take
        for the thought going on; but it may be the crisis said in other words ("... but the pills are in my hand",
        "... but here I am googling how many paracetamol"), which phrases, patterns and the word model can read
        there, once: the words after it are not read on again, and only matches starting within READ_ON_CHARS of them
        count (the words a little further are read too, so that what undoes a match there, "suicide squad", "lol jk",
        is read): further on, the message's own reading reads them, as no read-through reaches so far. After a
        denial said after the match ("Suicide has never crossed my mind. I keep looking up how high the bridge is", a
        reviewer's) the words after the denial's own are read the same way, but the word model reads them against its
        wary bar: on the dev set they are most often how the writer is instead ("... but sometimes I wish I could take
        a year off from being me"). So are those after a denial said before the match ("I'm not going to kill myself
        but I wrote the letters last night"), against a higher bar still where no "but" says they go against it: "I'm
        not suicidal, I've just deleted my socials" (a red team's; word_model.Reading).

        The words after the last such match are read; where an earlier one is near it, the words after that one too
        (a crisis between them, "... but the pills are in my hand, it never crossed my mind to hurt anyone"), but
        only if the first reading found nothing: the later denials inside the longer rest keep the word model from
        it. So a message costs at most three readings, two of them short."""
        starts: dict[int, Reading] = {}  # where the words read on start -> how surely the word model reads them
        for aside in suppressed:
            if aside.read_on_from < 0:
                continue
            if not aside.read_on_warily:
                starts[aside.read_on_from] = Reading.WHOLE
            elif (after := _negation_after_found(normalised, aside.read_on_from)) is not None:
                starts[after[1]] = Reading.LEFT  # the words after the denial's
            else:  # the denial was before the match
                head = normalised[aside.read_on_from:aside.read_on_from + _BUT_CHARS].split()[:BUT_WORDS]
                starts[aside.read_on_from] = Reading.AFTER_DENIAL if BUT.isdisjoint(head) else Reading.LEFT
        if not starts:
            return []
        last, first = max(starts), min(starts)
        found: list[Hit] = []
        for read_on_from in (last, first) if first != last and last - first <= READ_ON_CHARS else (last,):
            rest = normalised[read_on_from:last + READ_ON_CHARS + CONTEXT_CHARS]
            if not rest.endswith(" "):  # cut in a word: up to the word before it
                rest = rest[:rest.rfind(" ") + 1]
            bound = last + READ_ON_CHARS - read_on_from
            # Read as normalised already (normalising twice need not give the same words): offsets only shift.
            found = [hit._replace(start=hit.start + read_on_from, end=hit.end + read_on_from)
                     if hit.kind != "model" else hit._replace(start=read_on_from, end=read_on_from + len(rest))
                     for hit in self._match(rest, read_on=False, normalised=rest, read_as=starts[read_on_from]).hits
                     if hit.tier == "crisis" and (hit.kind == "model" or hit.start < bound)]
            if found:
                break
        return found

    def _score(self, normalised: str, found: _Found, hits: list[Hit], suppressed: list[Suppressed],
               unread: list[tuple[int, int, str]], read_as: Reading = Reading.WHOLE) -> None:
        """A topic's word model, on a message where its phrases and patterns said nothing either way: none matched and
        none was set aside as negated, laughed off, about someone else or outranked. An exclusion is not a no: it
        names an everyday look-alike ("jump in the shower", "to live in" London), so the model reads the message
        without its words ("I don't want to live in this body, I just want to stop being"); nor is a question of the
        writer's answered no, or a quote of someone's: the model reads the words after the answer, or around the
        quotes, against its wary bar (WordModel.threshold_for; a reviewer's, twenty-third session). The weights cannot
        tell whose words they are, so the writer must be in them (I, me, my) or nobody else may be: "want to die",
        "been cutting since uni" leave the I out, as people often do, but "he wants to end it" is someone else's. A
        message naming nobody asks for the model's higher threshold for those (WordModel.threshold_for).

        In a message longer than the model's window a negation is not a no either: it answers the few words around it,
        and the model reads the post in stretches against a higher bar. A long post that says "I haven't set a date"
        among a page of plans, or "I was clean for two years" before a relapse, is read all the same (twenty-first
        session: 14 more held-back crisis posts found, no other held-back message changed)."""
        unsaid = self._models
        negated: set[str] = set()
        if hits or suppressed:
            said = {hit.topic for hit in hits}
            for aside in suppressed:
                if not aside.reason.startswith((EXCLUDED_BY, ASKED_NO, QUOTED)):
                    (negated if aside.reason.startswith(NEGATED) else said).add(aside.topic)
            length = normalised.count(" ") - 1  # its words: single spaces, one at each end
            unsaid = [(topic, model) for topic, model in self._models
                      if topic.id not in said and (topic.id not in negated or length > model.window)]
            if not unsaid:  # most crisis talk has been spoken of: no need to split it
                return
        _, _, _, exclusion_spans = found
        for topic, model in unsaid:
            excluded = [*exclusion_spans.get(topic.id, ()), *unread]
            scored = _without(normalised, excluded).split() if excluded else normalised.split()
            writer_named = not FIRST_PERSON.isdisjoint(scored)
            if not writer_named and not OTHER_PEOPLE.isdisjoint(scored):
                continue
            if topic.id in negated and len(scored) <= model.window:  # long only once its look-alikes are counted
                continue
            probability = model.probability(scored)
            surely = max(read_as, _how_surely_after(normalised, unread))
            if probability >= model.threshold_for(scored, writer_named, surely):
                hits.append(Hit(topic.id, topic.tier, f"score {probability:.2f}", 0, len(normalised), "model"))

    def _find(self, normalised: str) -> _Found:
        starts: list[int] = []
        ends: list[int] = []
        keys: list[_Key] = []
        exclusion_spans: dict[str, list[tuple[int, int, str]]] = {}
        for last, key in self._automaton.iter(normalised):
            length, phrases, anchors, excluded = key
            # Keys carry a space at each end; the span is the words inside them.
            if phrases or anchors:
                starts.append(last - length + 2)
                ends.append(last)
                keys.append(key)
            if excluded and normalised.endswith(_AT, 0, last + 1) and normalised.startswith(_ALL, last):
                excluded = ()  # "wake up at" is a time of day; "I don't want to wake up at all" is not
            for exclusion in excluded:
                exclusion_spans.setdefault(exclusion.topic, []).append((last - length + 2, last, exclusion.text))
        return starts, ends, keys, exclusion_spans

    def _judge(self, normalised: str, found: _Found, only: set[_Entry] | None = None,
               sentence_starts: Sequence[int] = ()) -> tuple[list[Hit], list[Suppressed]]:
        """Hits and suppressions of the phrases found (or of `only` these), first MAX_PER_PHRASE of each. A negation
        before a match is read back only to the start of its sentence, where `sentence_starts` are known."""
        hits: list[Hit] = []
        suppressed: list[Suppressed] = []
        _, _, keys, exclusion_spans = found
        if not keys:
            return hits, suppressed
        exclusions = ({topic: _Exclusions(spans) for topic, spans in exclusion_spans.items()}
                      if exclusion_spans else {})
        spans = _spans(normalised, found, only)
        starts, ends, entries, negations, cue_spans = spans
        longer = (_longer_overlapping(starts, ends, entries)
                  if negations.count(None) == len(negations) else _longer_unless_negated(spans))
        hit_counts: dict[_Entry, int] = {}
        under_crisis: list[tuple[int, int, _Entry, str | None]] = []  # lower tiers a longer crisis match outranked
        someone_elses: list[tuple[int, int]] = []  # crisis matches set aside as someone else's
        suppressed_counts: dict[_Entry, int] = {}
        last_kept: dict[_Entry, int] = {}  # where each entry's last kept suppression is
        read_on_later: dict[_Entry, tuple[int, bool]] = {}
        read_through: dict[str, bool] = {}  # a long text's read-throughs, by the words before the match
        cues: dict[str, dict[str, dict[_Entry, list[_CueFound]]]] = {}  # topic -> group -> each cue -> where
        # What the words around a match say depends only on CONTEXT_CHARS either side: 64 KB of one phrase, negated
        # or laughed off, is read once, not once per occurrence. In a chat-sized message the span itself is the key
        # (several entries share a span), which costs no slicing.
        said: dict[tuple[str | int, int, bool, bool, int, int], str | None] = {}
        long_text = len(normalised) > CACHE_FROM_CHARS
        # The rules that could undo a match here: in most texts none, and none is read around a match. (A long text
        # keeps them all: the cache reads each once, and it holds many clues.)
        rules = _EVERY_RULE if long_text else _rules_with_clues(normalised)
        rows: Iterable[tuple[int, int, tuple[_Entry, ...], str | None, _Entry | None]] = zip(
            starts, ends, entries, negations, longer, strict=True)
        if cue_spans:
            rows = chain(rows, ((start, end, cued, negation, None) for start, end, cued, negation in cue_spans))
        for start, end, matched, gap_negation, outranked_by in rows:
            for entry in matched:
                hit_count = hit_counts.get(entry, 0)
                if hit_count >= MAX_PER_PHRASE or (only is not None and entry not in only):
                    continue
                by_topic = exclusions.get(entry.topic)
                excluded_by = by_topic.overlapping(start, end) if by_topic else None
                negation = None
                if excluded_by is None and outranked_by is None:
                    group = entry.pattern.cue if entry.pattern is not None else None  # a cue's group
                    if not rules:
                        negation = gap_negation
                    else:
                        crisis, cue = entry.tier == "crisis", group is not None
                        floor, ceiling = 0, len(normalised)  # the match's sentence, where sentences are known
                        if sentence_starts:
                            sentence = bisect_right(sentence_starts, start)
                            floor = sentence_starts[sentence - 1] if sentence else 0
                            ceiling = sentence_starts[sentence] if sentence < len(sentence_starts) else ceiling
                        if long_text:
                            begin = max(0, start - CONTEXT_CHARS)
                            key: tuple[str | int, int, bool, bool, int, int] = (
                                normalised[begin:end + CONTEXT_CHARS], start - begin, crisis, cue, floor, ceiling)
                        else:
                            key = (start, end, crisis, cue, floor, ceiling)
                        if key not in said:
                            said[key] = _said_around(normalised, start, end, crisis, cue, rules, floor, ceiling)
                        negation = gap_negation or said[key]
                    if negation is None:
                        hit_counts[entry] = hit_count + 1
                        if group is not None:
                            found_cues = cues.setdefault(entry.topic, {}).setdefault(group, {})
                            found_cues.setdefault(entry, []).append((start, end, entry))
                        else:
                            hits.append(Hit(entry.topic, entry.tier, entry.text, start, end, entry.kind))
                        continue
                if outranked_by is not None and outranked_by.tier == "crisis" and entry.tier != "crisis":
                    under_crisis.append((start, end, entry, gap_negation))
                elif entry.tier == "crisis" and negation is not None and negation.startswith(SOMEONE_ELSES):
                    someone_elses.append((start, end))
                read_on_from, read_on_warily = -1, False
                if negation is not None and entry.tier == "crisis":
                    if long_text:
                        before = normalised[max(0, start - _READ_THROUGH_CHARS):start]
                        if before not in read_through:
                            read_through[before] = _read_through_before(normalised, start)
                        through = read_through[before]
                    else:
                        through = _read_through_before(normalised, start)
                    if through:
                        read_on_from = end
                    elif negation in _AFTER_REASONS or negation in NEGATIONS:  # a denial: read on warily
                        read_on_from, read_on_warily = end, True  # (a denial after it: its words end in _read_on)
                suppressed_count = suppressed_counts.get(entry, 0)
                if suppressed_count < MAX_PER_PHRASE:  # the reason is worded only for those kept
                    suppressed_counts[entry] = suppressed_count + 1
                    last_kept[entry] = len(suppressed)
                    suppressed.append(Suppressed(entry.topic, entry.text, _reason(excluded_by, outranked_by, negation),
                                                 entry.kind, read_on_from, read_on_warily))
                elif read_on_from >= 0:  # ... but the words after the last one set aside are read on (_read_on)
                    read_on_later[entry] = (read_on_from, read_on_warily)  # applied once, after the loop
        for entry, (read_on_from, read_on_warily) in read_on_later.items():
            kept = last_kept[entry]
            suppressed[kept] = suppressed[kept]._replace(read_on_from=read_on_from, read_on_warily=read_on_warily)
        if under_crisis and someone_elses:
            hits.extend(_under_someone_elses_crisis(normalised, under_crisis, someone_elses, rules))
        for by_group in cues.values():
            met = _cues_that_meet(by_group)
            if met:  # one hit over them, named by each
                first = met[0][2]
                hits.append(Hit(first.topic, first.tier, " + ".join(entry.text for _, _, entry in met),
                                met[0][0], max(end for _, end, _ in met), "pattern"))
        return hits, suppressed


def _how_surely_after(normalised: str, unread: list[tuple[int, int, str]]) -> Reading:
    """How surely the word model reads a message with words set aside as not the writer's now: less surely than a whole
    message, and as after a denial where the writer's own question was answered no and then called an exaggeration
    ("Do I want to die? No. I was just being dramatic, sorry everyone"), where little follows it; not "Do I want to die?
    Nah. The void keeps calling me", nor "... No. I am being dramatic. I've been looking at the loft beam" (a red
    team's), which the model must still read)."""
    if not unread:
        return Reading.WHOLE
    if any(reason != ASKED_NO for _, _, reason in unread):
        return Reading.LEFT
    answered = max(end for _, end, _ in unread)
    if len(normalised) - answered > _EXAGGERATED_CHARS:
        return Reading.LEFT  # more follows than an exaggeration owned and an apology
    said = normalised[answered:].split()
    called = next((index for index, word in enumerate(said[:EXAGGERATED_WINDOW]) if word in EXAGGERATED), None)
    if called is None or len(said) - called - 1 > EXAGGERATED_ENDS or not EXAGGERATION_LEAD.issuperset(said[:called]):
        return Reading.LEFT
    return Reading.AFTER_DENIAL


def _onto_main_reading(hits: list[Hit], reading: str, read_as_is: str, normalised: str) -> list[Hit]:
    """The l reading's hits with offsets into the normalised text, which rules after the matcher read (bereavement rooms
    read the words of a hit and before it). The two readings of the same words differ only in letters, so a hit keeps
    its place among the words; where their words do not line up (a word told apart only in one reading), it spans the
    whole message, so a rule reading its words reads them all."""
    if not hits:
        return hits
    if reading.count(" ") != read_as_is.count(" "):
        return [hit._replace(start=0, end=len(normalised)) for hit in hits]
    last_word = max(reading.count(" ", 0, hit.end) for hit in hits)
    spaces = [space.start() for space in islice(_SPACE.finditer(normalised), last_word + 1)]
    moved = []
    for hit in hits:
        first, after_last = reading.count(" ", 0, hit.start) - 1, reading.count(" ", 0, hit.end)
        moved.append(hit._replace(start=spaces[first] + 1, end=spaces[after_last]) if after_last < len(spaces)
                     else hit._replace(start=0, end=len(normalised)))
    return moved


_SPACE = re.compile(" ")


def _under_someone_elses_crisis(normalised: str, under_crisis: list[tuple[int, int, _Entry, str | None]],
                                someone_elses: list[tuple[int, int]], rules: int) -> list[Hit]:
    """Lower-tier matches outranked by a crisis match that was then set aside as someone else's, judged on their own:
    in "my son overdosed last night" the crisis words are his, and the worried parent's support match stands."""
    hits = []
    for start, end, entry, gap_negation in under_crisis:
        if any(other_start < end and start < other_end for other_start, other_end in someone_elses) and (
                gap_negation or _said_around(normalised, start, end, False, False, rules)) is None:
            hits.append(Hit(entry.topic, entry.tier, entry.text, start, end, entry.kind))
    return hits


_AT = " at "
_ALL = normalise("all")  # " al ": double letters are read as one


def _told_as_over(normalised: str, hits: list[Hit]) -> str | None:
    """The words that end a message whose crisis matches all tell a past wish or thought as over (NOW_FINE), or that
    say so shortly before its end (OVER_ANYWHERE)."""
    crisis = [hit for hit in hits if hit.tier == "crisis"]
    if not crisis or not all(_told_in_the_past(normalised, hit) for hit in crisis) or RECENT.search(normalised):
        return None  # (the whole message read last)
    last = max(hit.end for hit in crisis) - 1
    for fine in NOW_FINE.finditer(normalised, max(last, len(normalised) - _ENDING_CHARS)):  # the last words only
        after = normalised[fine.end():].split()
        before = normalised[max(last, fine.start() - _SHORT_WORDS_CHARS):fine.start() + 1].split()  # the word before
        if len(after) <= MAX_ENDING_FILLERS and ENDING_FILLERS.issuperset(after) and (
                not before or before[-1] not in NEGATIONS):
            return fine.group().strip()
    for over in OVER_ANYWHERE.finditer(normalised, last):
        before = normalised[max(last, over.start() - _SHORT_WORDS_CHARS):over.start() + 1].split()
        after = normalised[over.end():over.end() + _OVER_AFTER_CHARS].split()
        if (not before or before[-1] not in NEGATIONS) and len(after) <= MAX_OVER_AFTER and \
                NEGATIONS.isdisjoint(after) and NOT_OVER_AFTER.isdisjoint(after):
            return over.group().strip()
    return None


# The writer's own question answered no: "Wanting to die? No.", "Me? Hurt myself? No chance.", "Am I suicidal? No,
# I'm fine, stop asking", a form's "suicidal thoughts: zero". Punctuation is gone once normalised, so the question and
# its answer are read from the message itself, only where a "?" or ":" is followed by a no that ends there (a few
# closers such as "lol" or "thank god" aside), in its first QUESTION_CHARS and first MAX_QUESTIONS answers (one scan
# in C). Narrow on purpose, as a second reviewer's 38 crisis messages of this shape showed: the question must be the
# crisis match and a few frame words ("do I", "am I", "me", "thoughts"), so "would anyone care if I killed myself?
# no" stays crisis; the no must end its clause ("Never wanted anything more", "zero days off since november", "no
# idea" go on); no question in the message may be answered yes or "also no" ("Do I want to be alive? Also no",
# "want to stop existing? definitely"); and nothing after the answer may decide, plan, time, take back or keep it
# going (GOES_ON_AFTER_NO: "No. I'm going to.", "Nah... aye", "none. that's what I put on the form. truth is ...",
# "never. every night"). A crisis match outside the question stands ("wanting to die? no. I've got the pills ready").
QUESTION_CHARS = 4_096
MAX_QUESTIONS = 16
_NO_WORDS = "no|nope|nah|naw|never|none|zero|not really|not at all|absolutely not|definitely not|not once|no chance"
_ANSWER_FILLERS_RAW = "lol|lmao|haha|honestly|hell|god|um|erm|oh|simple|easy"
_CLOSERS = r"lol|lmao|haha|x+|mate|thank god|thankfully|obviously|honestly|thanks|thank you"
_QUESTION_THEN_NO = re.compile(
    rf"[?:][\s?!.:,*_~-]*+(?:(?:{_ANSWER_FILLERS_RAW})[\s,.!]++)*(?:{_NO_WORDS})(?:[\s,]++(?:{_CLOSERS}))*\s*+"
    r"(?:[.!,;…)]|$)", re.IGNORECASE)  # possessive: a long run of "?" or spaces is scanned once, never backtracked
_ANSWERED_YES_OR_ALSO_NO = re.compile(
    r"[?:][\s?!.,]*+(?:(?:very much|lol|honestly|oh)\s++)?(?:yes|yeah|yep|yup|ya|aye|definitely|absolutely|obviously|"
    r"always|totally|for sure|100|also (?:no|nope|nah|naw))\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.?!:\n]")
# Where the writer ended a sentence: a full stop or "?" before a space, or "!" before a capital; not an ellipsis ("I'm
# not... suicidal, just tired" is one thought), nor a line wrapped without punctuation. Read in messages of up to
# SENTENCES_READ_CHARS characters (a chat message or a post; a longer text is judged once, as before, so that its cost
# stays linear and small).
_SENTENCE_BREAK = re.compile(r"(?:(?<!\.)\.(?!\.)|\?+)(?=\s)|!+(?=\s+[A-Z])")
SENTENCES_READ_CHARS = 4_096
SHORT_QUESTION = 4  # words: "Absolutely not. Kill myself? Over a boy?" asks what the negation denied
# A sentence that only says what the one before meant: "I'm not. Suicidal, I mean." (a second reviewer's).
_MEANT = re.compile(r" (?:i mean|i meant|that is|as in) ")


def _sentence_starts(text: str, normalised: str) -> list[int]:
    """Where each sentence after the first starts in the normalised text (its leading space), in order. Not where
    either side is a single word ("I. Am. Not. Suicidal.", "Zero. Suicidal thoughts"), nor before a short question
    ("Absolutely not. Kill myself? Over a boy?") or a sentence that says what the last one meant; and a sentence whose
    words read differently on their own (a Scots word elsewhere) is left joined to the one before."""
    sentences: list[tuple[int, str, bool]] = []  # where, the words, asked
    searched_from, sentence_start = 0, 0
    for sentence_end in [*(match.end() for match in _SENTENCE_BREAK.finditer(text)), len(text)]:
        piece = text[sentence_start:sentence_end]
        sentence = normalise(piece)
        sentence_start = sentence_end
        if sentence.isspace():
            continue
        at = normalised.find(sentence, searched_from)
        if at >= 0:
            sentences.append((at, sentence, piece.rstrip().endswith("?") and len(sentence.split()) <= SHORT_QUESTION))
            searched_from = at + len(sentence) - 1
    return [at for (_, before, _), (at, sentence, asked) in pairwise(sentences)
            if at > 0 and not asked and len(before.split()) > 1 and len(sentence.split()) > 1
            and _MEANT.search(sentence) is None]


GOES_ON_AFTER_NO = _words(
    "but", "though", "tho", "although", "except", "yet", "maybe", "sometimes", "kinda", "kind", "sort", "idk", "unsure",
    "sure", "lie", "lied", "lying", "liar", "yes", "yeah", "yep", "aye", "ay", "kidding", "jk", "joking", "truth",
    "form", "until", "till", "tonight", "today", "tomorrow", "now", "going", "gonna", "decided", "decide", "plan",
    "plans", "planned", "planning", "logistics", "past", "done", "date", "letters", "letter", "note", "notes", "bridge",
    "rope", "pills", "tablets", "checked", "ready", "edge", "waiting", "already", "every", "night", "nightly", "daily",
    "always", "constantly", "still", "again", "more", "hour", "mind", "stopped", "wish", "want", "need", "after",
    "when", "over",
    # a second reviewer's: "No. I'm desperate to", "Bye everyone"
    "bye", "goodbye", "goodbyes", "knowing", "desperate", "crave", "craving", "intentions", "intention", "believed",
    "bottle",
    # a red team's: "no. I have intent", "... no. the bandages under my sleeve: hi"
    "intent", "bandages")
_REST_CHARS = 1_024  # the words after an answer that may keep it going
QUESTION_FRAME = _words("do", "did", "am", "was", "have", "had", "would", "will", "i", "i'm", "i've", "i'd", "me",
                        "ever", "really", "actually", "seriously", "honestly", "still", "any", "so", "and", "um",
                        "like", "lol", "also", "thoughts", "thought", "urges", "urge", "feelings", "history", "of",
                        "about")
_QUESTION_LOOKBACK = 480  # how far back a question's start is looked for


def _unless_asked_and_denied(text: str, normalised: str, hits: list[Hit], suppressed: list[Suppressed],
                             unread: list[tuple[int, int, str]]) -> list[Hit]:
    """The hits left once those that are the writer's own question answered no (see above) are set aside; the
    questions' spans go to `unread`."""
    if _ANSWERED_YES_OR_ALSO_NO.search(text, 0, QUESTION_CHARS) is not None:
        return hits  # "suicidal? no. done? yes": another question answered yes may be this one in other words
    answers = islice(_QUESTION_THEN_NO.finditer(text, 0, QUESTION_CHARS), MAX_QUESTIONS)
    questions = ((answer, text[_question_start(text, answer.start()):answer.start()]) for answer in answers)
    for answer, start, end in _found_in(normalised, questions):
        asked = [hit for hit in hits if hit.tier == "crisis" and start <= hit.start and hit.end <= end]
        if not asked or not _denied(normalise(text[answer.end():answer.end() + _REST_CHARS]).split()):
            continue
        frame = normalised[start:end]
        for hit in asked:
            frame = frame.replace(normalised[hit.start:hit.end], " ")
        if not QUESTION_FRAME.issuperset(frame.split()):
            continue
        suppressed.extend(Suppressed(hit.topic, hit.phrase, ASKED_NO, hit.kind) for hit in asked)
        # ... with its answer ("Nah" weighs against a crisis) and what came before it, which the answer may answer
        # too ("what's the point? Sure."): the model reads only what comes after
        unread.append((0, _after_words(normalised, end, len(normalise(answer.group()).split())), ASKED_NO))
        hits = [hit for hit in hits if hit not in asked]
    return hits


def _after_words(normalised: str, at: int, count: int) -> int:
    """Where the `count` words after the space at `at` end (at the space after them, or the end of the text)."""
    for _ in range(count):
        space = normalised.find(" ", at + 1)
        if space < 0:
            return len(normalised)
        at = space
    return at


def _told_in_the_past(normalised: str, hit: Hit) -> bool:
    """One of PAST_TELLING in the match or just before it, not in the present perfect: "I wanted to die", not "I've
    wanted to die since my divorce" (still so, a reviewer's)."""
    for told in PAST_TELLING.finditer(normalised, max(0, hit.start - _PAST_REACH), hit.end + 1):
        before = normalised[max(0, told.start() - _SHORT_WORDS_CHARS):told.start() + 1].split()[-1:]
        if not before or before[0] not in PRESENT_PERFECT:
            return True
    return False


_Piece = TypeVar("_Piece")


def _found_in(normalised: str, pieces: Iterable[tuple[_Piece, str]]) -> Iterator[tuple[_Piece, int, int]]:
    """Each piece of the raw message (a question, a quote), in order, with where its words stand in the normalised
    message; a piece whose words read differently once the whole message is normalised, or are empty, is left be."""
    searched_from = 0
    for piece, raw in pieces:
        words = normalise(raw)
        at = normalised.find(words, searched_from)
        if at < 0 or words.isspace():
            continue
        searched_from = at + 1
        yield piece, at + 1, at + len(words) - 1


def _question_start(text: str, asked_at: int) -> int:
    """Where the question ending at `asked_at` starts. One of frame words only asks the one before it again:
    "Suicidal? Me? Nah." """
    start = _start_of_sentence_before(text, asked_at)
    if start > 0 and text[start - 1] == "?" and QUESTION_FRAME.issuperset(normalise(text[start:asked_at]).split()):
        start = _start_of_sentence_before(text, start - 1)
    return start


def _start_of_sentence_before(text: str, at: int) -> int:
    """Where the sentence ending at `at` starts, by the question rule's sentence ends (a ":" ends one too)."""
    return max((m.end() for m in _SENTENCE_END.finditer(text, max(0, at - _QUESTION_LOOKBACK), at)), default=0)


def _denied(rest: list[str]) -> bool:
    """An answer of no (its clause already ended), unless what follows goes on (GOES_ON_AFTER_NO)."""
    return GOES_ON_AFTER_NO.isdisjoint(rest)


def _without(normalised: str, spans: list[tuple[int, int, str]]) -> str:
    """The text with these spans blanked out."""
    parts, kept_from = [], 0
    for start, end, _ in sorted(spans):
        parts.append(normalised[kept_from:max(kept_from, start)])
        kept_from = max(kept_from, end)
    parts.append(normalised[kept_from:])
    return " ".join(parts)


def _reason(excluded_by: str | None, outranked_by: _Entry | None, negation: str | None) -> str:
    if excluded_by is not None:
        return f"{EXCLUDED_BY} {excluded_by!r}"
    if outranked_by is not None:
        return f"longer phrase {outranked_by.text!r} ({outranked_by.topic})"
    assert negation is not None  # one of the three is why a match was set aside
    return negation if negation.startswith(SOMEONE_ELSES) else f"{NEGATED} {negation!r}"


def _cues_that_meet(by_group: dict[str, dict[_Entry, list[_CueFound]]]) -> list[_CueFound]:
    """The first cue of each group when two groups met, else two different cues of a group that meets itself
    (`[cue:gone*]`) on different words, in the order they were written; none when no cues met. Two cues of one
    group over the same words ("picked a date" is a date picked and a time worked out) are one thing said. Each
    cue's first place is tried first (a pair there spans the most words, which a question answered no or a quote must
    then hold whole to set it aside); failing that, a cue said again elsewhere may meet the other there (each cue's
    first MAX_PER_PHRASE places are kept)."""
    if len(by_group) >= 2:
        return sorted((next(iter(found.values()))[0] for found in by_group.values()), key=itemgetter(0))
    for found in by_group.values():
        pattern = next(iter(found)).pattern
        if len(found) >= 2 and pattern is not None and pattern.cue_twice:
            return (_cues_apart([places[0] for places in found.values()])
                    or _cues_apart([place for places in found.values() for place in places]))
    return []


def _cues_apart(places: list[_CueFound]) -> list[_CueFound]:
    """Two places of different cues on different words: the one that ends first, and the first after it."""
    apart = [(first, second) for first in places for second in places
             if second[2] is not first[2] and second[0] >= first[1]]
    if not apart:
        return []
    first, second = min(apart, key=lambda pair: (pair[0][1], pair[1][0]))
    return [first, second]


def _spans(normalised: str, found: _Found, only: set[_Entry] | None) -> _Spans:
    """Phrases found, and patterns checked around their anchors, sorted by where they end.

    Unless a pattern matched (rare), the automaton's order stands and the phrases are not sorted. An anchor is
    not checked inside the last match of its own pattern ("to die to die"), nor after MAX_PATTERN_CHECKS checks.
    """
    found_starts, found_ends, keys, _ = found
    phrases = [key.phrases for key in keys]
    if not any(map(_ANCHORS_OF, keys)):  # many texts: no pattern to check
        return found_starts, found_ends, phrases, [None] * len(phrases), []
    matched: list[tuple[int, int, tuple[_Entry, ...], str | None]] = []  # (end, start, ...): sorted by end
    cues: list[_Cue] = []
    anchor_only = False  # a key that anchors patterns but is no phrase: the phrase lists need filtering
    reached: dict[_Entry, int] = {}
    checks = 0
    for start, end, key in zip(found_starts, found_ends, keys, strict=True):
        if not key.anchors:
            continue
        anchor_only = anchor_only or not key.phrases
        for entry in key.anchors:
            if checks >= MAX_PATTERN_CHECKS or (only is not None and entry not in only):
                continue
            if reached.get(entry, -1) > start:
                continue
            checks += 1
            assert entry.pattern is not None  # every anchor entry has one
            match = entry.pattern.match_at(normalised, start, end, GAP_NEGATIONS)
            if match is not None:
                match_start, match_end, negation = match
                reached[entry] = match_end
                if entry.pattern.cue:
                    cues.append((match_start, match_end, (entry,), negation))
                else:
                    matched.append((match_end, match_start, (entry,), negation))
    if not matched:  # the automaton's order stands
        if not anchor_only:
            return found_starts, found_ends, phrases, [None] * len(phrases), cues
        kept = list(filter(None, phrases))  # the keys that are phrases
        return (list(compress(found_starts, phrases)), list(compress(found_ends, phrases)), kept, [None] * len(kept),
                cues)
    rows = matched + [(end, start, entries, None)
                      for start, end, entries in zip(found_starts, found_ends, phrases, strict=True) if entries]
    if not rows:
        return [], [], [], [], cues
    rows.sort(key=itemgetter(0))  # a pattern may reach past later phrases
    ends, starts, entries, negations = zip(*rows, strict=True)
    return starts, ends, entries, negations, cues


def _longer_unless_negated(spans: _Spans) -> list[_Entry | None]:
    """_longer_overlapping over the matches not negated in their gaps: "if I died tonight I wouldn't mind" is not
    outranked by a longer reading of it that a "wouldn't" in its gap negates. (_judge calls it only when a match
    is negated in its gaps, which is rare.)"""
    starts, ends, entries, negations, _ = spans
    kept = [index for index, negation in enumerate(negations) if negation is None]
    longer: list[_Entry | None] = [None] * len(entries)
    found = _longer_overlapping([starts[i] for i in kept], [ends[i] for i in kept], [entries[i] for i in kept])
    for index, entry in zip(kept, found, strict=True):
        longer[index] = entry
    return longer


def _longer_overlapping(starts: Sequence[int], ends: Sequence[int],
                        entries: Sequence[tuple[_Entry, ...]]) -> list[_Entry | None]:
    """For each match, a strictly longer phrase overlapping it, if any: one sweep from the last end back.

    Matches arrive sorted by end. Walking them backwards, every match already seen ends at or after the
    current one, so it overlaps exactly when it starts before the current one ends. The deque holds the
    seen matches that may still matter, longest first: one is dropped from the back when a longer one
    arrives (which starts earlier, so outlives it for every match still to come; the dropped one is
    outranked by it if they overlap) and from the front once it starts at or after the current end.
    """
    longer: list[_Entry | None] = [None] * len(entries)
    if len(entries) < 2:  # most messages: nothing to outrank
        return longer
    lengths = list(map(sub, ends, starts))
    active: deque[int] = deque()
    for index in range(len(entries) - 1, -1, -1):
        end = ends[index]
        length = lengths[index]
        while active and starts[active[0]] >= end:
            active.popleft()
        if active and lengths[active[0]] > length:
            longer[index] = entries[active[0]][0]
        while active and lengths[active[-1]] < length:
            back = active.pop()
            if starts[back] < end and longer[back] is None:
                longer[back] = entries[index][0]
        active.append(index)
    return longer


def _said_around(normalised: str, start: int, end: int, crisis: bool, cue: bool, rules: int,
                 floor: int = 0, ceiling: int | None = None) -> str | None:
    """Why the words around a match undo it, if they do (see the module docstring), read by those of the `rules`
    (_rules_with_clues) that could; a negation before it is looked for from `floor` on (its sentence's start), and
    recovery after it before `ceiling` (the next sentence's). A cue is often about someone else by nature ("he
    doesn't know why"), so the someone-else rule is not applied to one."""
    said = None
    if rules & _RULE_NEGATION_BEFORE:
        said = _negation_before_unless_over(normalised, start, end, floor)
    if said is None and rules & _RULE_NEGATION_AFTER:
        said = _negation_after(normalised, end)
    if said is None and rules & _RULE_ANSWERED_NO:
        said = _answered_no(normalised, start, end)
    if said is None and rules & _RULE_DENIED_AFTER:
        said = _denied_after(normalised, start, end)
    if said is not None:
        return said
    if rules & _RULE_OVER_OR_LAUGHED:
        said = (_over_or_laughed_after(normalised, end, ceiling=ceiling) if crisis
                else _over_after(normalised, end, ceiling))
    if said is None and crisis and not cue and rules & _RULE_SOMEONE_ELSE:
        said = _someone_else_before(normalised, start, end)
    if said is None and crisis and rules & _RULE_NOT_SO:
        said = _said_not_so(normalised, start, end, floor)
    return said


def _counted_time(before: list[str]) -> bool:
    """A count of time just before "without" ("100 days", "day 100", "two years"), and no "can't" or "couldn't"
    before that: "can't go one more day without" is no recovery."""
    if len(before) < 2 or not NOT_OVER.isdisjoint(before) or not COULD_NOT.isdisjoint(before):
        return False
    unit, count = (before[-1], before[-2]) if before[-1] in TIME_UNITS else (before[-2], before[-1])
    return unit in TIME_UNITS and _is_count(count)


def _is_count(word: str) -> bool:
    return word.isdigit() or word in NUMBER_WORDS


def _words_after(normalised: str, end: int, count: int) -> list[str]:
    """The first `count` words after a match (read from a bounded slice: a message may be 64 KB)."""
    return normalised[end + 1:end + _WORDS_AFTER_CHARS].split()[:count]


def _over_since(normalised: str, since_at: int, end: int, long_ago: bool) -> bool:
    """A match after "since I (last)" told as over: not an attempt ("since I last tried to"), nor a short time ("an hour
    since I last cut"), nor (for "since I" alone) anything but months or years; and not when the words after say it
    came back or goes on ("... and it's back", "... but now", "... like this")."""
    before = normalised[max(0, since_at - _SINCE_BEFORE_CHARS):since_at].split()
    if not ATTEMPTED.isdisjoint(normalised[since_at:end].split()) or not SHORT_SINCE.isdisjoint(before[-2:]):
        return False
    if long_ago and not _long_since(before):
        return False
    return _over_after_time(normalised, end, ENDED_LONG_SINCE if long_ago else ENDED)


def _over_after_time(normalised: str, end: int, ended: frozenset[str]) -> bool:
    """Nothing in the words after the match says it came back, ended or goes on (ENDED, _came_back)."""
    following = _words_after(normalised, end, ENDED_WINDOW)
    return ended.isdisjoint(following) and not _came_back(following)


def _long_since(before: list[str]) -> bool:
    """Months or years, or a long time, end the words before "since": "five years", "ages", "a long time", "been
    years"."""
    if len(before) > 1 and before[-1] in LONG_SINCE_UNITS and _is_count(before[-2]):
        return True
    return any(before[-len(words):] == words for words in LONG_SINCE)


def _negation_before_unless_over(normalised: str, start: int, end: int, floor: int = 0) -> str | None:
    """A negation before the match, unless the words after it end the negation: "I never thought about suicide
    until this year", "I'd never felt suicidal before", "not suicidal yet" all say that now it is there."""
    negation = _negation_before(normalised, start, end, floor)
    if negation is not None:
        following = normalised[end + 1:end + 1 + _TURN_CHARS].split()
        after = [*following[:TURN_WINDOW + TURN_READ], "", ""]
        ends_soon = len(normalised) <= end + 1 + _TURN_CHARS and len(following) <= TURN_WINDOW + TURN_READ
        if (after[0] in UNTIL or not UNTIL_LATER.isdisjoint(after[1:UNTIL_WINDOW]) or not LESS.isdisjoint(after[:2])
                or (negation in ANSWER_NEGATES and _resolved(after[:RESOLVED_AFTER_WINDOW]))
                or (after[0] in BEFORE and after[1] in BEFORE_ENDS and not _still_not(after[2:]))
                or (after[0] in MORE and after[1] in MORE_ENDS) or after[1] in AS_MUCH.get(after[0], ())
                or (negation in TURNABLE and not ACTS.isdisjoint(matched := normalised[start:end].split())
                    and ends_soon and _thought_of_after_all(after, not HABITS.isdisjoint(matched)))
                or (negation in TURNABLE and negation not in ANSWER_NEGATES
                    and not PUT_OFF_ACTS.isdisjoint(normalised[start:end].split()) and _put_off_or_coming(after))
                or (tuple(after[:3]) == _SO_MUCH_AS and negation.split()[0] in _NEVER)
                or (negation in STRUGGLE_NOT and _struggle_after(normalised[start:end].split(), after))
                or _taken_back_after(after) or _back_again_after(after, negation.split()[0] in RECOVERED)):
            return None
    return negation


def _resolved(words: list[str]) -> bool:
    """The words after a "no" of thoughts say it is decided (RESOLVED_AFTER_NO)."""
    return not RESOLVED_AFTER_NO.isdisjoint(words) or any(words[index:index + len(phrase)] == phrase
                                                          for phrase in RESOLVED_AFTER_NO_PHRASES
                                                          for index in range(len(words)))


def _struggle_after(matched: list[str], after: list[str]) -> bool:
    """The negated match is a doing ("not killing myself", "not self harming") that the words after it, but for a time
    (STRUGGLE_AFTER_FILLERS), say is a struggle: "... right now is so hard". `after` ends in padding."""
    if not any(word.endswith("ing") for word in matched):
        return False
    index = 0
    while after[index] in STRUGGLE_AFTER_FILLERS:
        index += 1
    if after[index] not in STRUGGLE_VERBS:
        return False
    index += 1
    while after[index] in STRUGGLE_INTENSIFIERS:
        index += 1
    return after[index] in STRUGGLING


def _held_off(before: list[str]) -> bool:
    """The words just before a negation, but for HELD_OFF_FILLERS, say the writer cannot vouch for it or holds it off
    (HELD_OFF)."""
    for end in range(len(before), 0, -1):
        if any(tuple(before[end - len(words):end]) == words for words in HELD_OFF_BY_LAST.get(before[end - 1], ())):
            return True
        if before[end - 1] not in HELD_OFF_FILLERS:
            return False
    return False


def _put_off_or_coming(after: list[str]) -> bool:
    """The words after a negated act put it off or turn to it coming (PUT_OFF, COMING); `after` ends in padding."""
    if (after[0] in PUT_OFF and after[1] not in NOT_PUT_OFF) or tuple(after[:2]) in PUT_OFF_PAIRS:
        return True
    turn = next((index for index, word in enumerate(after[:TURN_WINDOW]) if word in TURNS), None)
    if turn is None:
        return False
    told = after[turn + 1:turn + 3 + COMING_WINDOW]  # the words read, and two more: `after` is long enough to hold them
    told += [""] * (COMING_WINDOW + 2 - len(told))
    for index, word in enumerate(told[:COMING_WINDOW]):
        when = told[index + 2] if told[index + 1] == _TO else told[index + 1]  # "going (to) tonight"
        if (word in COMING or (word in COMING_INTENT and when in INTENT_WHEN)) and (
                index == 0 or told[index - 1] not in NEGATIONS):
            return True
    return False


def _back_again_after(after: list[str], relapse_counts: bool) -> bool:
    """The words after a negated match say it has come back: "I haven't self harmed in two years but the urges are
    back", "hadn't felt suicidal in months, now it's back"; and, after recovery (`relapse_counts`: "clean from self
    harm"), "I relapsed", which elsewhere is as often about drink or drugs. `after` ends in padding."""
    for index, word in enumerate(after[:BACK_AGAIN_WINDOW]):
        if relapse_counts and index and word in RELAPSED and after[index - 1] in RELAPSERS:
            return True
        if word == _BACK:
            if after[index + 1] in NOT_BACK and not _back_in_earnest(after, index):  # padding is never "back"
                continue
        elif word not in RETURNED_ALONE or (after[index + 1] in NOT_BACK  # "returned to my legs", "to work"
                                            and not _back_in_earnest(after, index)):
            continue
        subject = index - 1
        while subject > 0 and (after[subject] in BACK_VERBS
                               or (after[subject] == HAS_COME[0] and after[subject - 1] in HAS_COME[1])):
            subject -= 1
        said_back = subject < index - 1 or after[subject] in BACK_CONTRACTIONS  # "it came back", "it's back"
        if (said_back and subject >= 0 and after[subject] in BACK_SUBJECTS
                and NOT_RETURNED.isdisjoint(after[max(0, subject - 2):subject])):
            return True
    return False


def _back_in_earnest(after: list[str], index: int) -> bool:
    """`after[index]` is "back" (or "returned") followed by a word that usually makes it a place ("back in school",
    "returned to work") but here does not: "back in full force", "returned out of nowhere", "it's crept back in"."""
    return (any(tuple(after[index + 1:index + 1 + len(force)]) == force for force in BACK_IN_FORCE)
            or (after[index + 1] == _IN and index > 0 and after[index - 1] in BACK_IN_VERBS))


def _taken_back_after(after: list[str]) -> bool:
    """The writer takes the denial back in the words after the match (TAKEN_BACK_AFTER, BUT_I_AM); `after` ends in
    padding."""
    for index in range(min(TAKEN_BACK_AFTER_WINDOW, len(after))):  # said starting within the window
        word = after[index]
        if any(tuple(after[index:index + len(words)]) == words for words in TAKEN_BACK_BY_FIRST.get(word, ())):
            return True
        said = next((words for words in BUT_I_AM_BY_FIRST.get(word, ())
                     if tuple(after[index:index + len(words)]) == words), None)
        if said is not None and after[index + len(said)] in BUT_I_AM_ENDS:
            return True
    return False


def _came_unexpected(between: list[str], normalised: str, start: int, end: int) -> bool:
    """`between` (the words from a negation to the match, after it) is "thought I'd (be)", the match a state, and the
    words after it do not say it did not come."""
    if len(between) < 2 or between[0] not in EXPECTATIONS or between[1] not in EXPECTERS:
        return False
    rest = between[2:]
    if not all(word in EXPECTED_FILLERS or word in BECOMING for word in rest):
        return False
    if BECOMING.isdisjoint(rest) and normalised[start:normalised.find(" ", start)] not in WISH_STARTS:
        return False
    after = normalised[end + 1:end + 1 + _NOT_SO_CHARS].split()[:NOT_SO_GOES_ON + 3]
    # "... and I wasn't", "I'm (still) not", "I'm (actually doing) alright"; not "... I'm not coping"
    return not any(_denial_at(after, index, UNCAME_ENDS) for index in range(min(len(after), NOT_SO_GOES_ON)))


def _thought_of_after_all(after: list[str], habitual: bool) -> bool:
    """The words after a negated match turn to thinking of it now, or (a habit) to not being able to stop, and the
    message ends (see TURNS). `after` ends in padding ("")."""
    turn = next((index for index, word in enumerate(after[:TURN_WINDOW]) if word not in BEFORE_TURN), TURN_WINDOW)
    if turn >= TURN_WINDOW:
        return False
    if after[turn] in TURNS and after[turn + 1] == _I:
        rest = after[turn + 2:]
    elif after[turn] in TURNING_I and after[turn + 1] in UNSAID_TURNS:  # "..., I just can't stop picturing it"
        rest = after[turn + 1:]
    else:
        return False
    fillers = []
    while rest and rest[0] in TURN_FILLERS:
        fillers.append(rest[0])
        rest = rest[1:]
    thinking = next((words for words in THINKING_OF_IT if rest[:len(words)] == words), None)
    if thinking is None:  # "I don't want to hurt myself but I can't stop": the habit goes on (not "... stop crying")
        return habitual and fillers[-2:] in CANT_STOP and all(not word or word in THOUGHT_ENDS for word in rest)
    rest = rest[len(thinking):]
    often = next((words for words in HOW_OFTEN if rest[:len(words)] == words), [])
    return all(not word or word in THOUGHT_ENDS for word in rest[len(often):])


def _doesnt_mean_before(normalised: str, space: int) -> bool:
    """ "doesn't mean" (or "don't", "didn't") ends the text before `space`."""
    before = normalised[max(0, space - _DOESNT_MEAN_CHARS):space].split()[-2:]
    return len(before) == 2 and before[-1] in MEANS and before[-2] in DOESNT


def _start_of_subject(normalised: str, space: int) -> int:
    """Where the subject before `space` starts ("... doesn't mean I don't"), or `space` when there is none."""
    word_start = normalised.rfind(" ", 0, space)
    return word_start if word_start >= 0 and normalised[word_start + 1:space] in SUBJECTS else space


def _still_not(words: list[str]) -> bool:
    """ "(I) still don't", "still haven't": the negation goes on."""
    if words[:1] and words[0] in SUBJECTS:
        words = words[1:]
    return len(words) > 1 and words[0] in STILL and words[1] in NOT_OVER


def _preceded_by(normalised: str, space: int, sequences: tuple[str, ...]) -> str | None:
    """The one of these words that are the whole words just before `space`, if any."""
    return next((words for words in sequences
                 if normalised.startswith(words, space - len(words)) and normalised[space - len(words) - 1] == " "),
                None)


def _negation_before(normalised: str, start: int, end: int, floor: int = 0) -> str | None:
    """The negation among the NEGATION_WINDOW words before `start` and after `floor`, reached across fillers only;
    "no" negates through what the match describes ("no suicidal thoughts": the word after the match's `end`)."""
    reading = start - 1  # the space after the word read next: at first, the one before the match
    after = ""  # the word after the one read; "no" right before the match negates through the match's first word
    for _ in range(NEGATION_WINDOW):
        space = normalised.rfind(" ", max(0, reading - _LONGEST_NEGATION_WORD - 1), reading)
        if space < floor:
            return None  # the start of the text or the sentence, or a word too long to be a negation or filler
        word = normalised[space + 1:reading]
        if word in NEGATIONS:
            if word in NEVER_WORST and (normalised[start:normalised.find(" ", start)] in WORST_STARTS
                                        or _more_after(normalised, end)):
                return None
            if _doesnt_mean_before(normalised, _start_of_subject(normalised, space)):
                return None  # "smiling doesn't mean I don't want to die": two negations
            if word in OVER_AND_DONE:  # but "I never stopped wanting to die": two negations
                previous = normalised[max(0, space - _LONGEST_NEGATION_WORD - 1):space].split()
                if previous and previous[-1] in NOT_OVER:
                    return None
            elif word in STRUGGLE_NOT:
                previous = normalised[max(0, space - _LONGEST_STRUGGLE - 1):space].split()
                if previous and previous[-1] in STRUGGLING:
                    return None
            if _held_off(normalised[max(floor, space - _HELD_OFF_CHARS):space].split()[-HELD_OFF_WINDOW:]):
                return None
            # "... but I wasn't. I wish I was dead": a negation followed by "I" ends its own sentence.
            if after in SUBJECTS if after else normalised.startswith(_SUBJECT_STARTS, start):
                return None
            if (word in UNEXPECTED and after in EXPECTATIONS
                    and _came_unexpected(normalised[reading:start].split(), normalised, start, end)):
                return None  # "I never thought I'd be suicidal": it came
            if word in ANSWER_NEGATES:
                negated = after or normalised[start:normalised.find(" ", start)]
                next_word = "" if after else normalised[end + 1:normalised.find(" ", end + 1)]
                noun = not after and negated in NO_NOUNS
                if negated in NO_MORE:  # "no more" only of a thing: "no more suicidal thoughts", "no more self harm"
                    first = normalised[start:normalised.find(" ", start)]
                    after_match = normalised[end + 1:normalised.find(" ", end + 1)]
                    return word if first in NO_NOUNS or after_match in NO_NEGATES else None
                return word if noun or negated in NO_NEGATES or next_word in NO_NEGATES else None
            return word
        if word in RECOVERED and after in RECOVERED_FROM:
            return f"{word} {after}"
        if word in WITHOUT:
            before = normalised[max(0, space - 8 * (_LONGEST_NEGATION_WORD + 1)):space].split()[-8:]
            if not _counted_time(before) or not _over_after_time(normalised, end, ENDED_WITHOUT):
                return None  # ... unless it ended: "two weeks without self harm, then I did it again"
            return f"{' '.join(before[-2:])} without"
        if word in SINCE_LAST and normalised[max(0, space - len(_SINCE_I)):space] == _SINCE_I:
            # "two years since I last self harmed"
            return "since i last" if _over_since(normalised, space - len(_SINCE_I), end, long_ago=False) else None
        if word in SINCE and after in SINCE_WHO and SINCE_FILLERS.issuperset(normalised[space:start].split()[2:]):
            # "it's been five years since I wanted to die"
            return "long since" if _over_since(normalised, space, end, long_ago=True) else None
        preceding = _preceded_by(normalised, space, PRECEDED_FILLERS.get(word, ())) if after == _TO else None
        if preceding is not None:  # "never crossed my mind to"
            reading, after = space - len(preceding) - 1, preceding.split()[0]
            counted = normalised[max(0, reading - _COUNTED_CHARS):reading].split()[-4:]
            following_words = normalised[end + 1:end + 1 + _COUNTED_CHARS].split()
            ends = len(normalised) <= end + 1 + _COUNTED_CHARS and len(following_words) <= CROSSES_ON_WINDOW
            if reading < floor or not COUNTED.isdisjoint(counted) or _goes_on_after_read_through(
                    following_words[:CROSSES_ON_WINDOW], ends):
                return None
            continue
        if word in PAIRED_FILLERS and (word not in PAIRED_THEN or after in PAIRED_THEN[word]):
            earlier_space = normalised.rfind(" ", max(0, space - _LONGEST_PAIRED - 1), space)
            earlier = normalised[earlier_space + 1:space]
            if earlier_space >= floor and earlier in PAIRED_FILLERS[word]:
                if earlier not in NEGATIONS:  # a describing word goes with its pair ("call myself")
                    reading, after = earlier_space, earlier
                    continue
                said_by = normalised[max(floor, earlier_space - _LONGEST_NEGATION_WORD - 1):earlier_space].split()[-1:]
                if word in REASONS and said_by and said_by[0] in ANSWERED_BY:
                    return None  # "I'm not, cos I want to die", "probably not cos I want to die"
                reading, after = space, word  # the negation is read next ("not because")
                continue
        if word not in NEGATION_FILLERS and (after or word not in RIGHT_BEFORE_FILLERS) and (
                word not in GET_FILLERS or (after not in GET_THEN if after else
                                            normalised[start:normalised.find(" ", start)] in GET_NOT_BEFORE)):
            return None
        reading, after = space, word
    return None


def _more_after(normalised: str, end: int) -> bool:
    """ "More" right after the match, then "than", a time or the end: "never have I wanted to die more (than now)"."""
    following = normalised[end + 1:end + 1 + _MORE_CHARS].split()[:2]
    return bool(following) and following[0] == _MORE and (following[1:] or [""])[0] in MORE_THEN


def _read_through_before(normalised: str, start: int) -> bool:
    """A read-through ("never crossed my mind to") just before `start`, with at most NEGATION_WINDOW fillers between
    ("... to ever seriously commit suicide")."""
    before = normalised[max(0, start - _READ_THROUGH_CHARS):start]
    if _SPACED_TO not in before:  # every ending ends in "to": the usual case, one scan in C
        return False
    for ending in _READ_THROUGH_ENDINGS:
        at = before.rfind(ending)
        between = before[at + len(ending):].split() if at >= 0 else None
        if between is not None and len(between) <= NEGATION_WINDOW and all(
                word in NEGATION_FILLERS or word in RIGHT_BEFORE_FILLERS for word in between):
            return True
    return False


def _goes_on_after_read_through(going_on: list[str], ends: bool) -> bool:
    """The words after a match read through "never crossed my mind to" say the thought or act goes on (see
    PRECEDED_GOES_ON); `ends`: they are the message's last words."""
    for index, word in enumerate(going_on):
        if word in CANT:
            following = going_on[index + 1:index + 3]
            if (following and following[0] in CANT_OTHER_TROUBLE) or following in CANT_STOP_CRYING:
                continue
            return True
        if word in PRECEDED_GOES_ON and (word not in NOW_TURNS or index < NOW_TURNS_WITHIN
                                         or going_on[index - 1] in NOW_TURNS_AFTER) and (
                index == 0 or going_on[index - 1] not in NEGATIONS):  # "... and it never will"
            return True
        if word in THOUGHT_AGAIN and index and going_on[index - 1] in BACK_TO_IT and (
                going_on[index + 1:index + 2] == [] or going_on[index + 1] not in NOT_THOUGHT_AGAIN):
            return True
    said = f" {' '.join(going_on)} "
    return any(phrase in said for phrase in PRECEDED_GOES_ON_PHRASES) or (
        ends and any(going_on[-len(words):] == words for words in ENDS_GOING_TO))


# "Suicide has never crossed my mind", "isn't something I'd consider": a negation just after the match, through
# these words, then one of AFTER_VERBS.
AFTER_FILLERS = _words("has", "have", "had", "honestly", "really", "genuinely", "literally", "just", "ever", "even",
                       "was", "is", "been")
AFTER_NEGATIONS = _words("never", "not", "hasn't", "haven't", "hadn't", "nt", "isn't", "wasn't", "won't", "ain't",
                         "doesn't", "don't", "didn't")  # "... doesn't even cross my mind"
# "has never been on the cards", "won't be happening", "has never once crossed my mind"
AFTER_NEGATION_FILLERS = _words("ever", "been", "be", "even", "once")
# "Suicide isn't something I'd ever consider": "something" stands where the verb would. Some only with the words
# after them: "the urge isn't there anymore", "it never came back", "has never been on the cards", "isn't one of
# them", "was never an option", "has never been part of my illness", "never appealed to me", "has never come into my
# head" (batch 97a), "is never coming in my mind", "never come to me" (batch 98b's English as a second language)
# (not "I want to die, not there yet", "... not on my own"; nor "never came up", said of talk: "... never came up in
# therapy because I lied", but "has never come up for me"; nor "not coming back", said of the writer: "I'm going to
# kill myself, not coming back from this").
AFTER_VERBS: dict[str, tuple[tuple[str, ...], ...]] = {
    normalise(verb).strip(): tuple(tuple(normalise(tail).split()) for tail in tails) for verb, tails in {
        "crossed": (), "entered": (), "occurred": (), "something": (), "happening": (),
        "cross": ("my mind", "my head"), "enter": ("my mind", "my head"),  # ... unless it goes on (CROSSES_ON)
        "there": ("anymore", "any", "for me"),
        **{verb: ("back", "up for me", "into my head", "into my mind", "in my head", "in my mind", "to my mind",
                  "to me") for verb in ("came", "come")},
        "coming": ("into my head", "into my mind", "in my head", "in my mind", "to my mind"),
        "returned": (),
        "appealed": (), "appeal": ("to me",), "part": ("of",),
        "one": ("of them",), "an": ("option",),
        "a": ("option", "thought ive had", "thought i have had", "thought ive ever had", "thing for me"),
        "on": ("the cards", "the table", "the agenda", "my mind", "my radar")}.items()}
_LONGEST_AFTER_TAIL = max(len(tail) for tails in AFTER_VERBS.values() for tail in tails)
_AFTER_REASONS = frozenset(f"{negation} {verb}" for negation in AFTER_NEGATIONS for verb in AFTER_VERBS)
# "Suicide doesn't cross my mind. It never leaves it", "... as a what if anymore, it's a when" (a second reviewer's).
PASSING_VERBS = _words("cross", "enter")
CROSSES_ON = _words("it", "it's", "as", "anymore", "lives", "leaves", "never", "plan", "when", "where", "until", "till",
                    "but", "for", "because", "cos", "just", "always", "stays", "sits")
CROSSES_ON_WINDOW = 8
# These say the negation is of the match only with a verb: "suicide isn't on the cards", "was never an option"; a bare
# "not" or "never" starts a clause of its own ("I want to die, not one of them would notice", "not an option to
# keep living like this").
SAID_OF_IT = _words("on", "one", "an", "a", "happening", "part")
OF_IT_VERBS = _words("is", "was", "has", "have", "had", "been")
BARE_NEGATIONS = _words("not", "never")
# The negation after the match ends where the words after it say it has ("... never crossed my mind until this
# year", "was never on the table for me. now it's all I think about", "never been on my mind more", "this much").
AFTER_UNTIL_WINDOW = 8
AFTER_WORDS = 9  # the fillers, the negation, its own fillers and the verb are all within this many words of the match
NOW = _words("now", "tonight", "today")
_NEGATION_AFTER_CHARS = 240  # the words read after a match: fillers, the negation, its verb and the window after


# A reported question ("she asked if I wanted to die") answered no ("and I said no", "and I honestly haven't").
# Words back to "asked if", and on to the answer. No further: punctuation is gone once normalised, so a wider window
# reads the writer's own next sentences as the question or its answer ("he asked if I was okay. no. I'm not okay. I
# want to kill myself and I haven't got the strength" is no answer to anything).
QUESTION_WINDOW = 8
ASKED = _words("asked", "asks", "asking", "ask")
# A question, not a request: "asked (me straight out) if / whether / about", never "asked me to lend him money" or
# "asked me what was wrong"; or the question as asked, "asked me am I thinking of suicide" (batch 98b's English as a
# second language).
ASKED_WHETHER = _words("if", "whether", "about", "bout", "question", "questions",  # "asked the suicide question"
                       "am", "was")  # not "do", "have": "asked do I want to die and I said no, every day I do"
ASKED_GAP = 3  # words between: "asked me straight out if", "asked gently whether"
YES_ANSWERS = _words("yes", "yeah", "yep", "yea", "ya", "yh")
# A plain no anywhere in the window; a negated clause only as the first few words after the match ("and I said I
# wasn't", "I'm not", "and I honestly haven't"): further on it is the writer going on ("... I want to die and I
# haven't told her", "... I want to kill myself, I'm not going to make it").
PLAIN_NO = _words("no", "nope", "nah", "none")
NO_ANSWERS = PLAIN_NO | _words("not", "never", "haven't", "don't", "wasn't", "isn't", "aren't", "hadn't", "wouldn't")
CLAUSE_ANSWER_WORDS = 6
# A negated clause that goes on is the writer's own words: "I'm not kidding", "I'm not coming back", "I don't know".
CLAUSE_GOES_ON = _words("going", "gonna", "coming", "kidding", "joking", "scared", "able", "know", "want", "wanna",
                        "think", "care", "see", "stop", "stopping", "getting", "doing", "telling", "told", "have")
# ... and no answer at all if the writer takes it back ("I said no. I lied. I am.", "... but that's not true"), or
# says yes before the match or after it ("asked if I had a plan. yes. I'm going to hang myself", "I said no but the
# truth is yes").
TAKEN_BACK = _words("lied", "lie", "liar")  # not "lying": "lying on the floor"
TAKEN_BACK_WINDOW = 2 * QUESTION_WINDOW
_TRUE = normalise("true").strip()  # "that's not true", "isn't true", "not really true"
# ... with a measure between: not "I said no. It's true"
TRUE_MEASURED = _words("really", "quite", "entirely", "strictly", "exactly", "totally", "completely", "100")
TRUTH_TOLD = {tuple(normalise(words).split()) for words in ("truth is", "truth be")}  # "I said no. Truth is every day"
_TAKEN_BACK_CHARS = 240
NOT_AN_ANSWER = _words("sure", "ok", "okay", "fine", "alright", "good", "well", "coping", "safe", "one", "body",
                       "idea", "clue", "point", "reason", "hope", "longer", "matter", "future", "life", "words")
NO_NOT_SAID = NEGATIONS | _words("couldn't", "can't", "cannot", "almost", "nearly", "wanted", "want", "wish",
                                 "tried", "trying", "should", "should've")
NO_NOT_SAID_WINDOW = 3
_WINDOW_CHARS = QUESTION_WINDOW * 25
# ... unless the words before the question or after the answer plan, time, prepare or take it back (narrower than
# BELIEF_GOES_ON: a screening question answered no is told with "I want to live", "it's true", "ending"; two red
# teams' "I said no. I have a date", "... I'm not. I've got the spot picked out by the reservoir", "I said no. Lied").
ANSWER_GOES_ON = _words(
    "tonight", "tomorrow", "date", "plan", "plans", "planned", "planning", "ready", "rope", "pills", "tablets",
    "bridge", "edge", "already", "letters", "letter", "note", "notes", "goodbye", "goodbyes", "bye", "saving", "saved",
    "stash", "stashed", "blade", "blades", "razor", "overdose", "overdosed", "noose", "jump", "jumped", "train",
    "sooner", "weekend", "saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "lied", "lie",
    "liar", "lying", "spot", "collecting", "researching", "googled", "googling", "counting", "sorted", "decided",
    "method", "way", "visions", "imagine", "imagining", "certain", "insurance", "funeral", "hosepipe", "bleach",
    "again")
# ... or turn it after the answer: "I haven't but I do now", "I haven't and I'm scared I will", "... honestly not until
# last night", and, ending the message, "I said no but I want to" (a reviewer's, thirtieth session; not "... but I
# want to get better", "... but now I'm fine").
ANSWER_TURNS = tuple(f" {normalise(words).strip()} " for words in (
    "but i do now", "but now i do", "but i do think about", "but i do want", "scared i will", "scared i might",
    "afraid i will", "afraid i might", "until now", "until last", "not until", "till now", "till last"))
ANSWER_TURNS_AT_END = tuple(f" {normalise(words).strip()} " for words in (
    "but i do", "but i want to", "but i wanna", "but i will", "but i might", "but im going to", "but im gonna"))
ANSWER_TURN_WORDS = 8  # read after the answer for one of ANSWER_TURNS
_AFTER_VERB = _any_of(*AFTER_VERBS)


def _negation_after(normalised: str, end: int) -> str | None:
    found = _negation_after_found(normalised, end)
    return None if found is None else found[0]


def _negation_after_found(normalised: str, end: int) -> tuple[str, int] | None:
    """The negation after the match and where its words end (the space after them): the words after those are read
    on (Matcher._read_on), as after a read-through ("Suicide has never crossed my mind. I keep looking up the
    bridge", a reviewer's)."""
    if _AFTER_VERB.search(normalised, end, end + _WINDOW_CHARS) is None:  # the usual case: one scan in C
        return None
    words = normalised[end + 1:end + 1 + _NEGATION_AFTER_CHARS].split()
    limit = min(AFTER_WORDS, len(words))
    index = 0
    while index < limit and words[index] in AFTER_FILLERS:
        index += 1
    if index + 1 >= limit or words[index] not in AFTER_NEGATIONS:
        return None
    negation, verbs = words[index], words[:index]
    index += 1
    while index < limit and words[index] in AFTER_NEGATION_FILLERS:
        index += 1
    tails = AFTER_VERBS.get(words[index]) if index < limit else None
    if tails is None or (words[index] in SAID_OF_IT and negation in BARE_NEGATIONS and OF_IT_VERBS.isdisjoint(verbs)):
        return None
    following = tuple(words[index + 1:index + 1 + _LONGEST_AFTER_TAIL])
    tail = next((tail for tail in tails if following[:len(tail)] == tail), None) if tails else ()
    if tail is None:
        return None
    if words[index] in PASSING_VERBS and not CROSSES_ON.isdisjoint(words[index + 3:index + 3 + CROSSES_ON_WINDOW]):
        return None
    said = index + 1 + len(tail)
    if tuple(words[said:said + 2]) in DENIAL_OBJECTS:
        said += 2
    if _over_by_now(words[index + 1:index + 1 + AFTER_UNTIL_WINDOW], said - index - 1):
        return None
    return f"{negation} {words[index]}", end + 1 + len(" ".join(words[:said]))


def _over_by_now(words: list[str], denial_words: int) -> bool:
    """ "until this year", "before, but now", "except", "more" (near the denial, or "more and more", "more every
    day"), "as much as": the negation just read has ended. `words` start with the denial's own `denial_words`."""
    near = denial_words + NEAR_DENIAL_WORDS
    padded = [*words, "", ""]
    for index, word in enumerate(words):
        following, then = padded[index + 1], padded[index + 2]
        if word in UNTIL or word in EXCEPT or (word in APART and then in EXCEPT_WHEN) or (
                word in NOW and not (following in EITHER and then in EVER_AFTER)) or (
                word in BEFORE and following in BEFORE_ENDS) or following in AS_MUCH.get(word, ()):
            return True
        if word in MORE and (following in MORE_LATER or (index < near and following not in MORE_NOT_BEFORE and (
                index == 0 or words[index - 1] not in MORE_NOT_AFTER))):
            return True
    return False


# A denial just after the match: "wanted to die most days. not anymore", "thought about ending it a lot. I don't
# now" (only after words in the past: "I want to die, I can't cope, not anymore" is no denial), "suicidal? nah",
# "suicidal? no." (only after a one-word match, and "no" not before these: "suicidal, no one cares").
NOT_ANYMORE_WINDOW = 4  # words between the match and its denial (of up to three words)
PAST = _words("wanted", "thought", "was", "were", "felt", "had", "didn't")
ANSWERS_NO = _words("no", "nah", "nope")
NO_WHAT = _words("one", "body", "joke", "idea", "way", "point", "reason", "matter", "hope", "future", "longer", "more",
                 "plan", "friends", "life", "lie", "cap", "kidding", "really", "seriously", "honestly", "i", "i'm")
# Not "not now": "thought about killing myself. not now, but later tonight" puts it off.
PAST_DENIALS = (" not anymore ", " i dont now ", " i dont anymore ")
# "None" answers only as on a form, after "thoughts of": "thoughts of harming myself: none" (not "kill myself. none
# would miss me", "suicidal thoughts none I can control", "thoughts of suicide, none of which I've told anyone").
_NONE = normalise("none").strip()
NONE_GOES_ON = _words("of", "stop", "the")  # "none of which", "none stop" (non-stop)
FORM = [normalise(f"{noun} {preposition}").split() for noun in ("thoughts", "thought", "urges", "urge")
        for preposition in ("of", "about")]
_FORM_CHARS = 24
_DENIED_AFTER = re.compile(" not any ?more | dont now | dont any ?more | nah | nope | no | none ")
_DENIAL_CHARS = 48


def _denied_after(normalised: str, start: int, end: int) -> str | None:
    """A denial of the match in the next few words (see above)."""
    if _DENIED_AFTER.search(normalised, end, end + _DENIAL_CHARS) is None:  # the usual case: one scan in C
        return None
    matched = normalised[start:end].split()
    after = normalised[end + 1:end + 1 + _DENIAL_CHARS].split()
    tail = " ".join(after[:NOT_ANYMORE_WINDOW + 3]).replace("any more", "anymore")
    if matched[0] in PAST:
        denial = next((denial for denial in PAST_DENIALS if denial in f" {tail} "), None)
        if denial is not None:
            return denial.strip()
    if len(matched) == 1 and after and after[0] in ANSWERS_NO and (
            after[0] != "no" or len(after) == 1 or after[1] not in NO_WHAT):
        return f"answered {after[0]!r}"
    if after[:1] == [_NONE] and (after[1:2] == [] or after[1] not in NONE_GOES_ON) and (
            matched[:2] in FORM or normalised[max(0, start - _FORM_CHARS):start].split()[-2:] in FORM):
        return "answered 'none'"
    return None


# A crisis wish or thought told as past and over, in the message's last words: "I was suicidal at 17. I'm 25 now and
# glad I'm still here", "last time I felt like ending it was 2021. haven't felt it since". Narrow on purpose: each
# crisis match told in the past (one of PAST_TELLING in it or just before it), the message ending on one of NOW_FINE
# with at most a few of ENDING_FILLERS after it ("glad I'm still here, for now" is not over, nor is "... glad I
# stayed. I have the rope ready"), not negated ("I'm not glad to be alive"), and nothing recent or still going on
# anywhere ("I wanted to die last night", "right now"). A past attempt is told in other words ("tried to", "took")
# and stays a crisis, as does a past plan.
# The past a denial after a match knows (PAST), but not "had" or "didn't": "I had a plan" is no wish told as over.
PAST_TELLING = _any_of(*(PAST - _words("had", "didn't")), "used to", "went through")
NOW_FINE = _any_of(
    "glad i'm still here", "glad i am still here", "glad to be alive", "glad to be here", "glad to still be here",
    "glad i'm here", "glad i'm alive", "glad i didn't", "glad i did not", "glad i stayed", "glad i stuck around",
    "haven't felt it", "haven't felt that", "haven't felt like that", "haven't had them", "haven't had those",
    "don't anymore", "don't any more", "those days are behind me", "that's behind me", "it's behind me",
    "those days are over", "those days are gone", "got through it", "got through that")
# ... or, before the end, on one of OVER_ANYWHERE that says the wish itself has gone ("I was suicidal in 2019. Not
# there anymore. Posting so someone knows", "... I'm not there now, therapy worked"), with at most MAX_OVER_AFTER
# words after it and none that turns, takes it back or goes on (NOT_OVER_AFTER, a negation: "I love my life but I
# can't stop thinking about it", "not for years. until now", "doing well now is a lie I tell", "... I'm done"), a red
# team's of session 19.
# Not "not anymore" ("... my dog kept me going. not anymore, he died"), "in a better place" or "out of it" (death
# and drink), "a different person", "it can change" or "it gets better" (what others say): a reviewer's.
OVER_ANYWHERE = _any_of(
    "not there anymore", "not there any more", "not there now", "not in that place anymore",
    "don't feel that way anymore", "don't feel like that anymore", "i don't now", "i don't anymore",
    "thoughts never came back", "feelings never came back", "urges never came back", "it never came back",
    "haven't come back", "a lifetime ago", "i'm not now", "i'm not anymore", "i'm not any more", "i am not now",
    "i am not anymore", "don't recognise that person", "don't recognize that person",
    "love my life", "glad to be alive", "happy to be alive", "not for years", "not for a long time",
    "those feelings have gone", "doing well now", "phase is over")
NOT_OVER_AFTER = GOES_ON_AFTER_NO | _words(
    "until", "til", "apart", "however", "then", "pretend", "pretending", "fake", "faking", "mask", "act", "acting",
    "tell", "told", "say", "says", "said", "supposed", "should", "meant", "can't", "cannot", "worse", "back", "some",
    "creeping", "thinking", "wanna", "decision", "peace", "quiet", "soon", "finished", "rope", "sorted", "written")
MAX_OVER_AFTER = 12
_OVER_AFTER_CHARS = 400  # enough for MAX_OVER_AFTER words and one more
ENDING_FILLERS = _words("now", "and", "i'm", "so", "really", "genuinely", "glad", "thankfully", "honestly", "too",
                        "since", "then", "in", "years", "ages", "x", "xx")
MAX_ENDING_FILLERS = 4
RECENT = _any_of("last night", "last week", "last weekend", "last month", "yesterday", "this morning",
                 "this afternoon", "this evening", "this week", "this weekend", "this month", "today", "tonight",
                 "earlier", "again", "lately", "recently", "right now", "currently", "at the moment", "these days",
                 "for now", "back", "still think", "still want", "still feel", "still wish", "still cut", "still hurt")
_PAST_REACH = 20  # characters before a match that may hold its past telling ("I was so suicidal")
PRESENT_PERFECT = _words("i've", "have", "has", "we've")
_ENDING_CHARS = 120  # enough for the longest of NOW_FINE and MAX_ENDING_FILLERS after it
# Recovery said after the match: "self harm free", "the suicidal thoughts are finally gone".
OVER_NOUNS = _words("thoughts", "thought", "urges", "urge", "feelings", "feeling", "ideation", "phase", "stuff",
                    "period", "episodes")
OVER_FILLERS = _words("are", "is", "have", "has", "had", "were", "was", "all", "finally", "now", "completely",
                      "totally", "mostly", "pretty", "much", "long", "been", "just")
OVER_WORDS = _words("gone", "free", "stopped", "faded", "passed", "eased", "lifted", "disappeared")
# ... and then only when the clause ends there or goes on in one of these words ("... have gone now", "... passed
# and I'm glad", "... stopped since the new meds"): a word of another kind makes it a change, a passage or a state
# that goes on ("have gone up", "have gone quiet", "passed through my head", "stopped scaring me", "eased the pain",
# "gone on for weeks", "passed the point of just thoughts", a red team's).
# Not "so", "that", "as", "with" ("gone so quiet it scares me", "gone as dark as ever", "gone with me everywhere"), nor
# "too" and "off", which read as "to" and "of" ("gone to a dark place", "gone off the scale": a second reviewer's).
OVER_ENDS = _words("now", "away", "completely", "entirely", "totally", "for", "since", "and", "i", "im", "ive", "id",
                   "it", "its", "today", "when", "after", "thankfully", "finally", "but", "which", "x", "lol", "tbh",
                   "honestly", "years", "months", "weeks", "ages", "long", "altogether", "ago", "mostly", "forever",
                   "though", "tho", "thanks", "thank", "phew", "hardly", "feels", "feel")
# ... unless the words after say it came back (RETURNED: "the suicidal thoughts had gone but now they're back", "had
# faded until last night"; not "and haven't come back", "I'm back at uni", "I don't want them back", "sleeping till 8"),
# or creep in again, go on in other words or went only because the writer has decided, whatever the word after these
# (STILL_GOING: "eased but they're creeping in", "... but it's worse at night", "... eased because I've made a plan",
# "... I'm ready to go", a red team's; not "again": "feeling human again").
STILL_GOING = _words("creeping", "crept", "creep", "creeps", "worse", "constant", "plan", "planned", "planning",
                     "decided", "decision", "ready", "chosen", "saving", "saved")
RETURNED = _words("back", "returned", "returning", "returns", "resurfaced", "relapsed", "relapse") | STILL_GOING
NOT_RETURNED = _words("haven't", "hasn't", "never", "not", "didn't", "don't", "won't", "hadn't", "no", "want", "wanted")
NOT_BACK = _words("to", "at", "in", "into", "from", "on", "home", "with", "up", "out", "of",  # "back at uni"
                  "together")
RETURNED_SOON = _words("until", "till", "til")  # ... only just after: "faded until last night"
RETURNED_WINDOW = 10
RETURNED_SOON_WINDOW = 2
OVER_DETERMINERS = _words("that", "the", "those", "these", "this")  # "wanted to be gone. that feeling's gone now"
FREE = _words("free")
FREE_FOR = _words("for", "since", "now", "today", "this")
# A laugh just after the match: hyperbole ("made me want to die lmao", "... 😂", read as "lmao" by normalise.py);
# "lol" is not here: people say real things with a nervous "lol".
LAUGH_WINDOW = 3
LAUGHS = _words("lmao", "lmfao", "rofl", "roflmao", "jk", "jking", "xd", "kidding", "joking", "jokes")
LAUGH_STARTS = ("haha", "hehe", "ahah")
LAUGH_UNDONE = _words("unless")  # "i want to die lol jk... unless 👀": the joke taken back (batch 95b)
LAUGH_DENIAL_FILLERS = _words("literally", "even", "really", "actually", "just", "genuinely", "totally")
_SHORT_WORDS_CHARS = 64  # enough for the few short words read after a match for these
_WORDS_AFTER_CHARS = 2 * _SHORT_WORDS_CHARS + 1  # _words_after's slice
_SINCE_BEFORE_CHARS = 24  # "a long while", "twenty years" before "since"
# Someone else as the subject, reached back across a few of SUBJECT_FILLERS ("she said she'd be better off dead").
# "Hell" is not here: normalised, "he'll" and "hell" are the same word.
THIRD_PERSON = _words("he", "she", "they", "he's", "she's", "they're", "he'd", "she'd", "they'd", "they've",
                      "they'll", "she'll")
EXCLUDED_BY = "exclusion"  # how a match set aside by an exclusion's reason starts
NEGATED = "negation"  # ... by a negation, recovery or a laugh
ASKED_NO = "asked, answered no"  # ... as the writer's own question answered no
QUOTED = "in quotes: "  # ... as someone's words in quotes
SOMEONE_ELSES = "someone else"  # ... by the someone-else rule
FIRST_PERSON = _words("i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself", "mine")
# Anyone a message without I, me or my may be about instead: then the word model does not score it. Not "them" or
# "their", which are as often things ("thinking about the pills again, all of them"); not "we're", "she'll", "she'd",
# which read as "were", "shell", "shed"; and people named without a pronoun ("Dave", "mum's been thinking about life
# after dad") are met only as kin and friends.
RELATIVES = ("mum", "mam", "mom", "mother", "dad", "father", "brother", "sister", "son", "daughter", "wife", "husband",
             "partner", "friend", "mate", "boyfriend", "girlfriend", "gran", "granny", "grandad", "grandma", "grandpa",
             "nan", "auntie", "aunt", "uncle", "cousin")
OTHER_PEOPLE = (THIRD_PERSON - _words("she'll", "she'd")) | _words(
    "him", "her", "his", "hers", "you", "you're", "your", "yours", "u", "ur", "we", "our", "us", *RELATIVES,
    "mum's", "dad's", "baby", "kid", "kids", "cat", "dog")
# ... and kin or friends named as the subject, as often as a pronoun is: "my son's been self harming", "Daughter's
# been self-harming". Only as a subject: the message's first word, or after "my" (or "our", "his", ...) and perhaps
# one describing word, with nothing before them but a word that starts a clause ("but", "I think", "worried").
# Punctuation is gone, so a kin word spoken to or ending a sentence must not read as the subject of the next: "Goodbye
# mum. Ending it tonight", "Stuck at my mum's. Want to end it all", "Spoke to my mate. Still thinking about ending
# it" (a second reviewer's). Nor when with the writer ("me and my sister both self harm").
KIN = _words(*RELATIVES, "pal", "bestie", "flatmate", "niece", "nephew", "ex")
KIN |= {f"{word}s" for word in KIN}  # "my son's been", "mum's", and more than one
KIN_OWNERS = _words("my", "our", "his", "her", "their", "your", "ur")
KIN_DESCRIBED = _words("best", "big", "little", "wee", "older", "younger", "eldest", "youngest", "oldest", "teenage",
                       "teen", "adult", "step", "late")
CLAUSE_OPENERS = _words("but", "so", "because", "cos", "coz", "cause", "bc", "since", "now", "think", "thought",
                        "know", "knew", "worried", "worry", "scared", "afraid", "suspect", "out", "that", "if",
                        "whether", "also", "plus", "then")
SOMEONE_ELSE = THIRD_PERSON | KIN
SUBJECT_FILLERS = _words("be", "is", "was", "were", "just", "really", "still", "would", "could", "might", "will",
                         "has", "had", "have", "been", "keeps", "kept", "actually", "genuinely", "literally",
                         "sometimes", "always", "probably", "totally", "better", "feels", "felt", "thinks")
# ... and, only right before a point or a reason to live, "(doesn't) see" and "(can't) find": "he doesn't see the point
# in living" is his. Not as fillers anywhere else: "they don't. just want to die", "he will see. better off dead"
# (a second reviewer's, session 20).
SEEING = _words("see", "sees", "find", "finds")
NOT_SEEING = _words("doesn't", "don't", "didn't", "can't")
SEEN = tuple(normalise(words).lstrip() for words in (
    "the point", "no point", "any point", "a reason", "any reason", "no reason"))
SUBJECT_WINDOW = 3
_SUBJECT_CHARS = SUBJECT_WINDOW * 25
# "Does anyone else feel like they want to die": "they" is anyone, the writer among them.
GENERIC = _words("anyone", "anybody", "everyone", "everybody", "people", "who")
GENERIC_WINDOW = 5
_GENERIC_CHARS = GENERIC_WINDOW * 25
_SOMEONE_ELSE = _any_of(*SOMEONE_ELSE)
_OVER_OR_LAUGH = re.compile("|".join(sorted(f" {word}" for word in (*OVER_WORDS, *LAUGHS, *LAUGH_STARTS))))


def _came_back(words: list[str]) -> bool:
    """The words after "the thoughts had gone" say they came back ("but now they're back", "until last week")."""
    if not RETURNED_SOON.isdisjoint(words[:RETURNED_SOON_WINDOW]):
        return True
    return any(word in RETURNED and NOT_RETURNED.isdisjoint(words[max(0, index - 3):index])
               and (word in STILL_GOING or (words[index + 1] if index + 1 < len(words) else "") not in NOT_BACK)
               for index, word in enumerate(words))


def _over_after(normalised: str, end: int, ceiling: int | None = None) -> str | None:
    """Recovery said just after the match: "self harm free", "the thoughts have gone"."""
    return _over_or_laughed_after(normalised, end, laughs=False, ceiling=ceiling)


def _over_or_laughed_after(normalised: str, end: int, laughs: bool = True, ceiling: int | None = None) -> str | None:
    """Recovery said just after the match, in its sentence (before `ceiling`, where the sentences are known: "I'm
    suicidal. These thoughts had gone after my last admission" is no recovery), or a laugh that is not denied ("not
    joking")."""
    if _OVER_OR_LAUGH.search(normalised, end, end + _SHORT_WORDS_CHARS) is None:  # the usual case: one scan in C
        return None
    said = _words_after(normalised, end, 5 + RETURNED_WINDOW)
    words = said if ceiling is None or ceiling >= end + _WORDS_AFTER_CHARS else (
        normalised[end + 1:ceiling].split()[:5 + RETURNED_WINDOW])
    if len(words) > 1 and words[0] in OVER_DETERMINERS and words[1] in OVER_NOUNS:
        index = 2
    else:
        index = 1 if words[:1] and words[0] in OVER_NOUNS else 0
    fillers_end = max(3, index + 2)
    while index < len(words) and index < fillers_end and words[index] in OVER_FILLERS:
        index += 1
    if index < len(words) and _said_over(words, index) and not _came_back(
            said[index + 1:index + 1 + RETURNED_WINDOW]):  # read on past the sentence: "... had gone. Now they're back"
        return words[index]
    if laughs:  # a laugh in the next sentence still laughs it off ("... walk into the sea. 😂 It's the theme tune")
        for index, word in enumerate(said[:LAUGH_WINDOW]):
            if ((word in LAUGHS or word.startswith(LAUGH_STARTS)) and not _laugh_denied(said, index)
                    and LAUGH_UNDONE.isdisjoint(said[index + 1:index + 1 + LAUGH_WINDOW])):
                return word
    return None


def _laugh_denied(words: list[str], index: int) -> bool:
    """The laugh at words[index] is denied: "not joking", "not literally joking" (a reviewer's)."""
    before = index - 1
    while before >= 0 and words[before] in LAUGH_DENIAL_FILLERS:
        before -= 1
    return before >= 0 and words[before] in NEGATIONS


def _said_over(words: list[str], index: int) -> bool:
    """words[index] says it is over: said of the thoughts, where the clause ends or goes on plainly ("the thoughts are
    gone (now)", OVER_ENDS), or "free" right after the match, with a time ("self harm free for a year"); not what
    follows a wish ("I want to die, stopped eating", "kill myself, gone by morning", "die free from pain")."""
    if words[index] not in OVER_WORDS:
        return False
    following = words[index + 1:index + 2]
    if index:
        return not following or following[0] in OVER_ENDS
    return words[0] in FREE and following != [] and following[0] in FREE_FOR


def _someone_else_before(normalised: str, start: int, end: int) -> str | None:
    """Someone else as the subject just before the match ("she'd be better off dead", "he was going to end it", "my
    son's been self harming"), unless the match says it is about the writer ("better off without me")."""
    if _SOMEONE_ELSE.search(normalised, max(0, start - _SUBJECT_CHARS), start + 1) is None:  # one scan in C
        return None
    if not FIRST_PERSON.isdisjoint(normalised[start:end].split()):
        return None
    window_start = max(0, start - _SUBJECT_CHARS - _GENERIC_CHARS)
    before = normalised[window_start:start].split()
    if before and before[-1] in SEEING and normalised.startswith(SEEN, start):
        before = before[:-2] if len(before) > 1 and before[-2] in NOT_SEEING else before[:-1]
    for index in range(len(before) - 1, max(-1, len(before) - 1 - SUBJECT_WINDOW), -1):
        if before[index] in SOMEONE_ELSE:
            generic = not GENERIC.isdisjoint(before[max(0, index - GENERIC_WINDOW):index])
            kin = before[index] in KIN
            if generic or (kin and not _kin_is_subject(before[:index], whole=window_start == 0)):
                return None
            return f"{SOMEONE_ELSES}: {before[index]!r}"
        if before[index] not in SUBJECT_FILLERS:
            return None
    return None


def _kin_is_subject(before: list[str], whole: bool) -> bool:
    """Whether a kin word after these words (all the text's words before it when `whole`) is a clause's subject
    (KIN_OWNERS above)."""
    if not before:
        return whole  # the message's first word
    if before[-1] in KIN_DESCRIBED:
        before = before[:-1]
    if not before or before[-1] not in KIN_OWNERS:
        return False
    opener = before[-2] if len(before) > 1 else None
    if opener is None:
        return whole
    return opener in CLAUSE_OPENERS  # not "and": "me and my sister" is the writer too


# An expectation that did not come true ("I thought I'd want to die after the diagnosis, but I don't") or someone
# else's belief the writer denies ("my mum thinks I'm suicidal because of my music. I'm fine"): the match is what was
# expected or believed, just before it, and the first "I" after it says it is not so, and stops there (NOT_SO_ENDS).
# Not for the writer's own belief ("I think I'm suicidal"), nor a denial that goes on ("I don't feel safe tonight",
# "I'm not planning to be here"), nor, for an expectation, when something recent follows ("... last night").
EXPECTING = [normalise(words).split() for words in (
    "thought id", "thought i would", "thought i was going to", "thought i might", "worried id", "worried i would",
    "worried i might", "scared id", "scared i would", "afraid id", "afraid i would")]
EXPECTING_STARTS = frozenset(words[0] for words in EXPECTING)  # most sentences have none: the search is skipped
EXPECTED_GAP = 2  # words between the expectation and the match: "thought I'd feel suicidal"
BELIEVING = _words("thinks", "think", "thought", "assume", "assumes", "assuming", "assumed", "worried",
                   "worries", "worry", "reckon", "reckons", "convinced")
BELIEVERS = OTHER_PEOPLE | _words("people", "everyone", "everybody", "someone", "somebody", "family", "friends",
                                  "parents", "teachers", "teacher", "doctor", "gp", "therapist", "nurse", "counsellor",
                                  "psychiatrist", "tutor", "boss", "colleagues", "lads", "mates", "flatmate",
                                  "flatmates", "housemate", "housemates", "roommate", "classmates", "ex", "bf", "gf")
BELIEVER_FILLERS = _words("still", "always", "just", "probably", "will", "would", "might", "all", "keep", "keeps",
                          "must", "then", "now", "is", "are")
BELIEVED = 3  # words at most between the belief and the match: "thinks (that) I'm", "assume I want to"
# ... and what is believed is not the joking: "the lads think I'm joking about killing myself. I'm not" (a red team's).
JOKING = _words("joking", "kidding", "messing", "faking", "lying", "exaggerating", "dramatic")
# ... nor that it is over: "my therapist has decided I'm past wanting to die. I'm not" (a red team's).
BELIEVED_OVER = _words("past", "over", "beyond", "through", "done", "free", "better", "recovered", "stopped", "quit",
                       "finished", "clean", "out")
# ... and the denial is not trusted when the words around the belief (but for the belief itself) say it is so, or
# decide, plan, time or keep it going, as after a "no" answering the writer's own question (GOES_ON_AFTER_NO), or name
# a way, a place, a time, a past attempt, a goodbye or a countdown: two red teams' "I'm not, I'm ready", "... I'll do
# it the day before", "Tonight's the night. Everyone thinks I'm suicidal. I'm not", "... I'm not. That's the line I'm
# giving everyone", "... I'm not, I'm just clumsy with the lighter on my thighs". Some read as other words once
# normalised ("i'll" as "ill", "noose" as "nose"): here that only costs a false alarm; "soon" (as "son") is left out.
BELIEF_GOES_ON = (GOES_ON_AFTER_NO - TURNS) | _words(
    "i'll", "it'll", "will", "before", "instead", "properly", "quick", "finish", "finished", "took", "taken",
    "forever", "blade", "blades", "razor", "cuts", "cut", "cutting", "gone", "place", "calendar", "bridge", "train",
    "car", "counting", "looked", "searched", "googled", "saved", "saving", "enough", "end", "ending", "let", "found",
    "interrupted", "stop", "stopped", "deeper", "worse", "tomorrow", "weekend", "saturday", "sunday", "monday",
    "tuesday", "wednesday", "thursday", "friday", "christmas", "birthday", "anniversary", "last", "final", "myself",
    "disappear", "wake", "meaning", "anyway", "cliff", "walk", "certain", "peace", "peaceful", "tries", "tried",
    "attempt", "attempts", "attempted", "overdose", "overdoses", "overdosing", "overdosed", "icu", "sectioned",
    "hanging", "hang", "noose", "belt", "farewell", "farewells", "sorry", "dear", "sooner", "longer", "hours",
    "days", "week", "slice", "slicing", "burn", "burning", "burns", "lighter", "knife", "blood", "bleeding", "scars",
    "swallowed", "injected", "gas", "jumped", "hanged", "sorted", "set", "seeing", "tonights", "todays")
REASON_WORDS = _words("after", "when", "stopped", "gone", "want", "need", "every", "always", "night", "still", "again",
                      "more", "now", "today", "last", "days", "week", "hours", "set")  # "... after my post"
REASON_GOES_ON = BELIEF_GOES_ON - REASON_WORDS
AFFIRMED = _words("right", "true", "correct", "wrong", "half", "probably", "might", "secretly", "scared", "afraid",
                  "far", "point", "argue", "knows", "onto", "spot", "hiding", "hide", "hidden", "pretend",
                  "pretending", "mask", "line", "fooled", "convincing", "handy")  # "not far off", "that's the line"
AFFIRMED_PAIRS = [normalise(words).split() for words in (
    "i am", "i do", "i will", "i did", "i have", "i might", "i may", "im going", "im gonna", "i kind of", "i kinda",
    "i sort of", "if only")]  # ... after the denial, unless a negation comes next: "I am not", "I do not"
NOT_SO_WINDOW = 15
NOT_SO_GOES_ON = 8  # words after a denial read for a sign it goes on ...
# ... to a resolve: "my flatmate thinks I'm suicidal. I'm not, I'm just sorting my affairs" (a red team's).
RESOLVED = [normalise(words) for words in (
    "going to do it", "gonna do it", "done with living", "done with it all", "waiting for the right time",
    "already written", "my affairs", "set a date", "saying goodbye", "no future", "made my peace", "going to disappear",
    "gonna disappear", "decided its tonight")]
NOT_SO_AFTER_I = _words("don't", "didn't", "haven't", "never", "wasn't")
NOT_SO_AFTER_IM = _words("fine", "ok", "okay", "alright", "not")
# The denial is the first "I" or "I'm" after the match (not one after "because": "because I wear black. I'm not"), and
# it must end there, or a new clause start: "I don't. I want to fight it", "I'm not, I'm just quiet". Punctuation is
# gone, so "I don't feel safe tonight" and "I'm not strong enough to keep saying no" must read as going on.
NOT_SO_ENDS = _words("i", "i'm", "i've", "i'll", "it", "it's", "that's", "but", "and", "so", "honestly", "lol",
                     "haha", "x", "xx")
UNCAME_ENDS = NOT_SO_ENDS | _words("just")  # ... and after "never thought I'd be": "and I wasn't, just sad"
NOT_SO_REASONS = _words("because", "cos", "cause", "coz", "bc", "since", "as", "when", "after")
# ... though after one of these a denial must end the message ("without everyone thinking I'm suicidal? Because I'm
# not."): "my mum thinks I'm suicidal when I'm not, and when I am she's oblivious" (a red team's).
REASON_DENIAL_ENDS = _words("lol", "haha", "x", "xx")
SAYING = _words("actually", "honestly", "genuinely", "literally", "really", "still", "doing")  # "I'm (still) not"
MEASURES = _words("less", "more", "again", "sooner")
_I, _IM, _THAT, _NOW = (normalise(word).strip() for word in ("i", "i'm", "that", "now"))
_NOT_SO_AFTER = {_I: NOT_SO_AFTER_I, _IM: NOT_SO_AFTER_IM}
_BELIEF_CHARS = 8 * 25
_NOT_SO_CHARS = 240  # the NOT_SO_WINDOW (and NOT_SO_GOES_ON) words after a match


def _said_not_so(normalised: str, start: int, end: int, floor: int = 0) -> str | None:
    """An expectation or someone else's belief just before the match in its sentence (from `floor`), said not to be
    so just after (see above)."""
    before = normalised[max(floor, start - _BELIEF_CHARS):start].split()[-8:]
    expected = not EXPECTING_STARTS.isdisjoint(before) and any(
        before[index:index + len(words)] == words for words in EXPECTING
        for index in range(max(0, len(before) - len(words) - EXPECTED_GAP), len(before) - len(words) + 1))
    believed = 0 if expected else _believed_by_someone_else(before)
    if not expected and not believed:
        return None
    after = normalised[end + 1:end + 1 + _NOT_SO_CHARS].split()[:NOT_SO_WINDOW + NOT_SO_GOES_ON + 3]
    if after[:1] != [] and after[0] in MEASURES:
        return None  # "I thought I'd want to die less on the new meds, but I don't"
    if expected and (_NOW in after or RECENT.search(normalised, start, end + 1 + _NOT_SO_CHARS)):
        return None  # "I thought I was going to kill myself last night and I didn't": it came near
    for index, word in enumerate(after[:NOT_SO_WINDOW]):
        if word not in _NOT_SO_AFTER:
            continue
        reason = index > 0 and after[index - 1] in NOT_SO_REASONS
        denial = _denial_at(after, index, REASON_DENIAL_ENDS if reason else NOT_SO_ENDS)
        if denial is not None:
            denied_to = after.index(denial, index + 1) + 1  # past "I'm (really) not"
            going_on = f" {' '.join(after[denied_to:denied_to + NOT_SO_GOES_ON])} "
            if any(resolve in going_on for resolve in RESOLVED):
                return None  # "I'm not, I'm just waiting for the right time" (a red team's)
            if believed and _belief_goes_on(_words_before(normalised, start, _NOT_SO_CHARS)[:-believed],
                                            after[:index], after[denied_to:]):
                return None  # "Tonight's the night. Mum thinks I'm suicidal. I'm not, I'm ready" (red teams')
            return f"not so: {word} {denial}"
        if reason:
            continue  # the reason for the belief, not the answer to it: "because I'm not eating. I'm fine"
        return None  # only the first "I" after the match can deny it
    return None


def _denial_at(after: list[str], index: int, ends: frozenset[str] = NOT_SO_ENDS) -> str | None:
    """The denial said by the "I" or "I'm" at `after[index]` when it ends there or at a new clause (`ends`): "I don't.",
    "I'm not, I'm just quiet"; not "I don't feel safe", "I'm not coping"."""
    denials = _NOT_SO_AFTER.get(after[index])
    said = [word for word in after[index + 1:index + 4] if word not in SAYING][:2]
    if denials is not None and said and said[0] in denials and (len(said) == 1 or said[1] in ends):
        return said[0]
    return None


def _belief_goes_on(before: list[str], reason: list[str], after: list[str]) -> bool:
    """The words around someone else's belief say it is so or go on (see BELIEF_GOES_ON above): those `before` it,
    the `reason` between the match and the denial (but for a reason's own words, REASON_WORDS), and those `after`
    the denial, where "I am", "I do" ... (AFFIRMED_PAIRS) are read too."""
    goes_on = (not BELIEF_GOES_ON.isdisjoint(before) or not BELIEF_GOES_ON.isdisjoint(after)
               or not REASON_GOES_ON.isdisjoint(reason))
    said_so = not AFFIRMED.isdisjoint(before) or not AFFIRMED.isdisjoint(reason) or not AFFIRMED.isdisjoint(after)
    return goes_on or said_so or any(
        after[index:index + len(pair)] == pair and (index + len(pair) == len(after) or after[index + len(pair)] not in
                                                    NEGATIONS)
        for pair in AFFIRMED_PAIRS for index in range(len(after)))


def _words_before(normalised: str, start: int, chars: int) -> list[str]:
    """The whole words in the `chars` characters before `start` (not the end of one cut there)."""
    begin = max(0, start - chars)
    return normalised[begin:start].split()[int(begin > 0 and normalised[begin - 1] != " "):]


def _believed_by_someone_else(before: list[str]) -> int:
    """How many of the words just before a match are someone else's belief about the writer, from the believer on
    ("my mum (still) thinks (that) I'm", "people assume I"; not "I think I'm"), or 0."""
    for index in range(len(before) - 1, max(-1, len(before) - 2 - BELIEVED), -1):
        if before[index] in BELIEVING:
            between = before[index + 1:]
            if between[:1] == [_THAT]:
                between = between[1:]
            believer = next((at for at in range(index - 1, max(-1, index - 4), -1)
                             if before[at] not in BELIEVER_FILLERS), None)
            if (between[:1] != [] and between[0] in SUBJECTS and believer is not None
                    and before[believer] in BELIEVERS and JOKING.isdisjoint(between)
                    and BELIEVED_OVER.isdisjoint(between)):
                return len(before) - believer
            return 0
    return 0


def _answered_no(normalised: str, start: int, end: int) -> str | None:
    """'No' answering a question reported just before the match: the match is the asker's words."""
    begin = max(0, start - _WINDOW_CHARS)
    if normalised.find(" ask", begin, start) < 0:  # the usual case: one scan in C
        return None
    before = normalised[begin:start].split()[-QUESTION_WINDOW:]
    asked = next((index for index, word in enumerate(before)
                  if word in ASKED and not ASKED_WHETHER.isdisjoint(before[index + 1:index + 2 + ASKED_GAP])), None)
    if asked is None or not YES_ANSWERS.isdisjoint(before[asked:]):
        return None
    after = normalised[end + 1:end + 1 + _TAKEN_BACK_CHARS].split()
    taken_back = after[:TAKEN_BACK_WINDOW]
    padded = ["", "", *taken_back]
    if (not TAKEN_BACK.isdisjoint(taken_back) or not YES_ANSWERS.isdisjoint(taken_back) or any(
            (word == _TRUE and (previous in NO_ANSWERS or (earlier in NO_ANSWERS and previous in TRUE_MEASURED)))
            or (previous, word) in TRUTH_TOLD
            for earlier, previous, word in zip(padded[:-2], padded[1:-1], padded[2:], strict=True))):
        return None
    for index, word in enumerate(after[:QUESTION_WINDOW]):
        if word not in NO_ANSWERS or not NO_NOT_SAID.isdisjoint(after[max(0, index - NO_NOT_SAID_WINDOW):index]):
            continue
        following = after[index + 1] if index + 1 < len(after) else ""
        if word not in PLAIN_NO and (index >= CLAUSE_ANSWER_WORDS or following in CLAUSE_GOES_ON):
            continue
        if following not in NOT_AN_ANSWER:
            if not ANSWER_GOES_ON.isdisjoint(after[index + 1:]) or not ANSWER_GOES_ON.isdisjoint(
                    _words_before(normalised, start, _NOT_SO_CHARS)[:asked - len(before)]):
                return None  # "the nurse asked if I'm suicidal. I said no. I have a date" (a red team's)
            turned = f" {' '.join(after[index + 1:index + 1 + ANSWER_TURN_WORDS])} "
            if any(turn in turned for turn in ANSWER_TURNS) or (
                    len(after) <= index + 1 + ANSWER_TURN_WORDS and turned.endswith(ANSWER_TURNS_AT_END)):
                return None
            return f"asked, answered {word!r}"
    return None


# Each rule of _said_around undoes a match only where one of its clues is in the text: a whole word, or the start of
# one for the prefixes. One scan in C finds the rules whose clues a text holds (in most texts none), and the others
# are not read around its matches. A new rule adds its clues here.
_RULE_NEGATION_BEFORE, _RULE_NEGATION_AFTER, _RULE_ANSWERED_NO, _RULE_DENIED_AFTER, _RULE_OVER_OR_LAUGHED, \
    _RULE_SOMEONE_ELSE, _RULE_NOT_SO = (1 << bit for bit in range(7))
_EVERY_RULE = 2 ** 7 - 1
_CLUES_OF: dict[int, tuple[str, ...]] = {
    _RULE_NEGATION_BEFORE: tuple(f" {word} " for word in NEGATIONS | RECOVERED | WITHOUT | SINCE_LAST | SINCE),
    _RULE_NEGATION_AFTER: tuple(f" {word} " for word in AFTER_VERBS),
    _RULE_ANSWERED_NO: (" ask",),
    # "nah", "nope", "no", "none", and the starts of "not any more", "dont now", "dont any more"
    _RULE_DENIED_AFTER: tuple(f" {word} " for word in ANSWERS_NO | _words("not", "don't", "none")),
    _RULE_OVER_OR_LAUGHED: tuple(f" {prefix}" for prefix in (*OVER_WORDS, *LAUGHS, *LAUGH_STARTS)),
    _RULE_SOMEONE_ELSE: tuple(f" {word} " for word in SOMEONE_ELSE),
    _RULE_NOT_SO: tuple(f" {word} " for word in BELIEVING | _words("scared", "afraid")),
}
_RULES_BY_CLUE: dict[str, int] = {}
for _rule, _clues in _CLUES_OF.items():
    for _clue in _clues:
        _RULES_BY_CLUE[_clue] = _RULES_BY_CLUE.get(_clue, 0) | _rule
_CLUES = ahocorasick.Automaton()
for _clue, _rule in _RULES_BY_CLUE.items():
    _CLUES.add_word(_clue, _rule)
_CLUES.make_automaton()


def _rules_with_clues(normalised: str) -> int:
    """The rules of _said_around (bits) whose clues are in the text: only they can undo a match in it."""
    rules = 0
    for _, clue_rules in _CLUES.iter(normalised):
        rules |= clue_rules
    return rules


# Crisis words only inside quotation marks are someone's words, not the writer's, when the quote is framed as that: a
# song, meme or caption ('the line "I'll end it tonight"', '"i want to die" - me after three flights of stairs'),
# someone else's speech ('my partner said "you'd all be better off without me"'), or the writer's own words taken
# back ('I said "I want to die" but it was about the match'). Not when the writer introduces them as a thought ('keep
# thinking "i could just end it"', 'my first thought was "I'll kill myself"') or claims them ("... and I meant it",
# "it's about me"), and never when a crisis match stands outside the quotes. Read from the message's own quotation
# marks in its first QUOTED_CHARS, as the question rule reads its question marks. (Whole words throughout: every
# phrase here is normalised, so it starts and ends with a space.)
QUOTED_CHARS = 4_096
MAX_QUOTES = 16
# Double and curly quotes only: a straight single quote also opens "'cause", "'til" and closes "my parents' car".
_QUOTE_MARK = re.compile(r'["“”‘’]')
_QUOTED = re.compile(r'"([^"\n]{1,200})"|“([^“”\n]{1,200})”|‘([^‘’\n]{1,200})’')
QUOTE_THINKING = _words("think", "thinking", "thought", "thoughts", "head", "brain", "mind", "voice", "feel",
                        "feeling", "googling", "googled", "google", "searched", "searching", "typed", "keep")
QUOTE_MEDIA = _words("song", "songs", "line", "lyric", "lyrics", "chorus", "film", "movie", "show", "episode",
                     "caption", "meme", "memes", "phrase", "quote", "tiktok", "trend", "album", "book", "character",
                     "category", "sings", "sang", "singing")
QUOTE_OWNERS = _words("my", "i", "im", "i've")  # "my caption", "I put it as my status": the writer's own words
QUOTE_OWN_SPEECH = _words("said", "say", "saying", "wrote", "write", "texted", "posted", "typed", "put", "told",
                          "tweeted", "messaged", "my", "the")  # "I said", "my" or "the" right before: the writer's
QUOTE_SPEECH = _words("said", "says", "saying", "told", "tells", "texted", "posted", "wrote", "writes", "asked",
                      "asks", "messaged", "goes", "went", "screaming", "shouting", "yelling", "keeps")
QUOTE_ASKED = _words("asked", "asks", "asking", "ask")
ANSWERED_YES = _words("yes", "yeah", "yep", "yup", "aye", "nodded", "admitted")
ANSWER_HEDGES = _words("tonight", "today", "yet", "probably", "maybe", "prob", "prolly")
ANSWER_UNDONE = _words("though", "truth", "actually", "lied", "lie", "lying")  # "I said no. I am though"
_I_AM = normalise("i am").strip()
QUOTE_ANSWER_WORDS = 8  # read after an asked question for the writer's yes: "and I couldn't lie, I said yes"
# ... taken back by the writer after their own words: not "she said calm down", "my therapist says it's about".
QUOTE_TAKEN_BACK = [normalise(words) for words in (
    "was about", "was a joke", "was joking", "just joking", "as a joke", "i mean the", "i meant the", "meant my",
    "not real")]
# ... and the writer claiming it anywhere after the quote (a red team's "that song is literally about me rn", "the
# meme is me but unironically", "she said I'd be better off dead and honestly I agree", "... and I meant every word").
QUOTE_MEANT = [normalise(words) for words in (
    "i meant it", "i mean it", "meant every", "it wasnt", "it was not", "not joking", "not a joke", "im serious",
    "serious", "genuinely", "unironically", "no punchline", "i actually do", "i do", "i just do", "i really do",
    "i still do", "and i will", "i will", "not laughing", "about me", "is me", "sums me up", "how i feel", "for me",
    "its real", "my plan", "every day", "every night", "most days", "i agree", "believe it", "right", "same",
    "going to do it", "but i am", "im not fine", "not ok", "im not okay", "but i didnt", "i didnt mean", "a plan",
    "all i think", "thing i think", "is my", "again", "for real", "tonight", "every single", "since the",
    "this week")]
_QUOTE_CLAIM_CHARS = 400  # read after a quote for the writer claiming it
QUOTE_FRAME_WORDS = 4  # words before a quote read for its frame, and after it for a meme's "me" or a media word
QUOTE_AFTER_WORDS = 12  # words after a quote read for the writer taking it back
_QUOTE_READ_CHARS = 25 * QUOTE_AFTER_WORDS  # read on either side of a quote for those words


def _unless_asked_or_quoted(text: str, normalised: str, hits: list[Hit], suppressed: list[Suppressed],
                            unread: list[tuple[int, int, str]] | None = None) -> list[Hit]:
    """The hits left once the writer's own questions answered no and crisis words only quoted are set aside: rules
    read from the message as written, as normalising drops the punctuation they need. The spans of those questions
    and quotes go to `unread`: the word model reads the message without them (Matcher._score)."""
    unread = [] if unread is None else unread
    if hits and _QUESTION_THEN_NO.search(text, 0, QUESTION_CHARS) is not None:  # the usual case: one scan in C
        hits = _unless_asked_and_denied(text, normalised, hits, suppressed, unread)
    if hits and _QUOTE_MARK.search(text, 0, QUOTED_CHARS) is not None:  # most messages quote nothing
        hits = _unless_only_quoted(text, normalised, hits, suppressed, unread)
    return hits


def _unless_only_quoted(text: str, normalised: str, hits: list[Hit], suppressed: list[Suppressed],
                        unread: list[tuple[int, int, str]]) -> list[Hit]:
    """The hits left once crisis matches that stand only inside quotes framed as someone's words (see above) are set
    aside; the quotes' spans go to `unread`."""
    crisis = [hit for hit in hits if hit.tier == "crisis" and hit.kind != "model"]
    if not crisis:
        return hits
    why_quoted: dict[Hit, str] = {}  # each crisis match inside a quote, and why the quote is not the writer's own
    quoted: list[tuple[int, int, str]] = []  # every quote's span: once some are someone's words, all may be
    quotes = islice(_QUOTED.finditer(text, 0, QUOTED_CHARS), MAX_QUOTES)
    inner = ((None, next(group for group in quote.groups() if group is not None)) for quote in quotes)
    for _, start, end in _found_in(normalised, inner):
        quoted.append((start, end, QUOTED))
        words = normalised[start - 1:end + 1]
        if normalised.find(words, start) >= 0 or normalised.rfind(words, 0, start - 1) >= 0:
            return hits  # the same words twice: which of them is quoted cannot be told
        inside = [hit for hit in crisis if start <= hit.start and hit.end <= end]
        if not inside:
            continue
        why = _quoted_as(normalised, start, end)
        if why is None:
            return hits  # a thought of the writer's, meant, or not framed at all: the writer's own
        why_quoted.update(dict.fromkeys(inside, why))
    if len(why_quoted) < len(set(crisis)):
        return hits  # a crisis match outside the quotes stands, and the message with it
    suppressed.extend(Suppressed(hit.topic, hit.phrase, f"{QUOTED}{why_quoted[hit]}", hit.kind) for hit in crisis)
    unread.extend(quoted)
    return [hit for hit in hits if hit not in why_quoted]


def _quoted_as(normalised: str, start: int, end: int) -> str | None:
    """Why the quote at start..end of the normalised text is someone's words and not the writer's own now: a song or
    meme, someone else's speech, or the writer's taken back; None for a thought of the writer's, one meant, or an
    unframed quote."""
    before = normalised[max(0, start - _QUOTE_READ_CHARS):start].split()[-QUOTE_FRAME_WORDS:]
    after = normalised[end:end + _QUOTE_READ_CHARS].split()[:QUOTE_AFTER_WORDS]
    rest = f" {' '.join(after)} "
    claimed = normalised[end:end + _QUOTE_CLAIM_CHARS]
    if not QUOTE_THINKING.isdisjoint(before) or any(meant in claimed for meant in QUOTE_MEANT):
        return None
    # Not a form's or a survey's question (the question rule reads its answer), nor the writer's own bio or status.
    if not QUOTE_MEDIA.isdisjoint(before[-3:]) or not QUOTE_MEDIA.isdisjoint(after[:3]):
        return None if not QUOTE_OWNERS.isdisjoint(before[-3:]) else "a song, meme or quote"
    if after[:1] == ["me"] and after[1:2] != ["too"]:
        return "a meme"
    if any(word in QUOTE_ASKED and index and (before[index - 1] in BELIEVERS or before[index - 1] in KIN)
           for index, word in enumerate(before)):  # a question put to the writer: their answer decides
        answer = after[:QUOTE_ANSWER_WORDS]
        if (not ANSWERED_YES.isdisjoint(answer) or not ANSWER_HEDGES.isdisjoint(answer)
                or not ANSWER_UNDONE.isdisjoint(answer) or f" {_I_AM} " in f" {' '.join(answer)} "
                or _taken_back_after([*answer, "", ""])):
            return None  # "she asked "are you suicidal?" and I said yes", "... no, not tonight", "... no but I lied"
    for index, word in enumerate(before):
        if word in QUOTE_SPEECH and index and (before[index - 1] in OTHER_PEOPLE or before[index - 1] in KIN):
            return "someone else's words"
    own = (bool(before) and before[-1] in QUOTE_OWN_SPEECH) or any(
        word in QUOTE_OWN_SPEECH and before[index - 1] in (_I, "me") for index, word in enumerate(before) if index)
    if own and any(taken_back in rest for taken_back in QUOTE_TAKEN_BACK):
        return "taken back"
    return None


# The most any rule above reads on either side of a match, with room to spare: the cache in Matcher._judge keys on
# this much text, so it must cover them all.
CONTEXT_CHARS = 256
CACHE_FROM_CHARS = 4 * CONTEXT_CHARS  # in a shorter message a match's span is the cache's key
assert max(_WINDOW_CHARS + 1, _TAKEN_BACK_CHARS + 1, _SUBJECT_CHARS + _GENERIC_CHARS, _WORDS_AFTER_CHARS, _DENIAL_CHARS,
           (NEGATION_WINDOW + 8 + 1) * (_LONGEST_NEGATION_WORD + 1), _NEGATION_AFTER_CHARS + 1, _NOT_SO_CHARS + 1,
           _BELIEF_CHARS, _FORM_CHARS, _TURN_CHARS + 1,
           _COUNTED_CHARS + (NEGATION_WINDOW + 1) * (_LONGEST_NEGATION_WORD + 1)) < CONTEXT_CHARS
