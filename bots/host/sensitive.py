"""Whether a new group is about a sensitive subject (`groups.sensitive_tags`), and so waits for a peer worker.

A whole tag, through the synonym list ("#grief" is bereavement), as members' interests are read; and, in its words
and the group's name, a subject said in other words: "#domestic-abuse", "#bipolar-disorder", "#suicidal",
"#eatingdisorder" written as one word, "Suicidal thoughts chat". Read here only, never through the synonym list: a
word that names a sensitive subject in a group's name must not change what members' interests are stored as
("cuttings" are a gardener's). A subject found by chance ("#disabused", say) costs a peer worker's approval, no more.
"""

from __future__ import annotations

from collections.abc import Iterable

from bots.host.tags import Tags, singular, words_of

# Other words for the default sensitive subjects (bots/host/settings.py), to the tag each is: counted only while
# that tag is in `groups.sensitive_tags`.
OTHER_WORDS = {
    "suicidal": "suicide", "suicides": "suicide", "selfharm": "self-harm", "self-harming": "self-harm",
    "self-injury": "self-harm", "anorexia": "eating-disorder", "anorexic": "eating-disorder",
    "bulimia": "eating-disorder", "bulimic": "eating-disorder", "binge-eating": "eating-disorder",
    "arfid": "eating-disorder", "gambler": "gambling", "addict": "addiction", "addicted": "addiction",
    "alcoholic": "alcohol", "alcoholism": "alcohol", "traumatic": "trauma", "traumatised": "trauma",
    "traumatized": "trauma", "psychotic": "psychosis", "schizophrenic": "schizophrenia",
    "manic-depression": "bipolar", "grief": "bereavement", "bereaved": "bereavement", "grieving": "bereavement",
    "sober": "alcohol", "sobriety": "alcohol", "domestic-violence": "abuse", "substance-misuse": "drug",
    "substance-use": "drug", "overdose": "drug",
}
RUN_WORDS = 3  # the longest run of words read as one tag ("eating-disorder-support")
RUN_TOGETHER_CHARS = 5  # a subject this long is looked for inside words run together ("suicideprevention")


def about_sensitive_subject(name: str, tags: Iterable[str], sensitive: frozenset[str], vocabulary: Tags) -> bool:
    tags = list(tags)
    if any(vocabulary.normalise(tag) in sensitive for tag in tags):
        return True
    subjects = {word: subject for word, subject in OTHER_WORDS.items() if subject in sensitive}
    subjects.update((tag, tag) for tag in sensitive)
    run_together = [word.replace("-", "") for word in subjects if len(word.replace("-", "")) >= RUN_TOGETHER_CHARS]
    for text in (name, *tags):
        words = words_of(text)
        runs = ("-".join([*words[start:end - 1], singular(words[end - 1])]) for start in range(len(words))
                for end in range(start + 1, min(len(words), start + RUN_WORDS) + 1))
        if any(run in subjects for run in runs):
            return True
        joined = "".join(words)
        if any(word in joined for word in run_together):
            return True
    return False
