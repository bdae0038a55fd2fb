"""`!resources WORDS` and `!refer @user WORDS` find a topic from the words people type, through the real router
and bots: crisis words always bring crisis lines, only words of loss bring bereavement support, words that fit
two topics get a question, and words that fit none get the list of topics."""

from __future__ import annotations

from pathlib import Path

import pytest

from bothy.clock import Clock
from bothy.matrix.events import Message
from bothy.outbox import Effects, Outgoing
from bots.installed import INSTALLATION
from bots.referral.kb import load_kb
from bots.referral.topic_lookup import TopicFinder, TopicWords
from commands.pace import CommandPace
from commands.router import CommandRouter
from tests.unit.shipped import shipped_kb
from tests.unit.test_engine import shared_config
from tests.unit.test_unknown_commands import ALICE, DM, HOST, STAFF, Account

SAM, BOB = "@sam:example.org", "@bob:example.org"  # SAM is a peer worker in the example config
KB = shipped_kb()
HEADINGS = {topic.id: "Urgent help" if topic.tier == "crisis" else topic.title for topic in KB.topics.values()}

TYPED = [
    # what people call a topic
    ("mental health", "mental-health-support"), ("anxiety", "mental-health-support"),
    ("someone to talk to", "mental-health-support"), ("alcohol", "alcohol-and-drugs"),
    ("drinking", "alcohol-and-drugs"), ("Drugs", "alcohol-and-drugs"), ("drug abuse", "alcohol-and-drugs"),
    ("grief", "bereavement"), ("bereavement", "bereavement"), ("bereaved", "bereavement"),
    ("housing problems", "housing"), ("homeless", "housing"), ("debt help", "debt"), ("DEBTS", "debt"),
    ("benefits", "benefits"), ("universal credit", "benefits"), ("housing benefit", "benefits"),
    ("domestic violence", "domestic-abuse"), ("bullying", "young-people"),
    # its id or title, as before
    ("Alcohol-and-Drugs", "alcohol-and-drugs"), ("help with debt", "debt"), ("young people", "young-people"),
    # safety first: anything of suicide, self-harm or crisis is crisis lines...
    ("suicide", "crisis"), ("suicidal", "crisis"), ("SUICIDAL thoughts", "crisis"), ("suïcide", "crisis"),
    ("kill myself", "crisis"), ("crisis", "crisis"), ("self harm", "crisis"), ("self-harm", "crisis"),
    ("selfharm", "crisis"), ("urgent help", "crisis"), ("suicide prevention", "crisis"),
    ("suicide and debt", "crisis"), ("self harm and drinking", "crisis"),
    # ...unless the words clearly mean losing someone
    ("suicide bereavement", "suicide-bereavement"), ("bereaved by suicide", "suicide-bereavement"),
    ("lost someone to suicide", "suicide-bereavement"), ("bereavement after suicide", "suicide-bereavement"),
    ("grief after suicide", "suicide-bereavement"), ("lost my son to suicide", "suicide-bereavement"),
]


@pytest.fixture
def router(registry) -> CommandRouter:
    """The real router over the real bots (the referral bot on the shipped knowledge base), unpaced: the table is
    typed by one member faster than anyone types."""
    return CommandRouter(shared_config(), registry, Account(), INSTALLATION.templates(), Clock(), lambda: STAFF,
                         CommandPace(limit=len(TYPED) + 1))


async def typed(router: CommandRouter, body: str, sender: str = ALICE, room_id: str = DM) -> list[Outgoing]:
    effects = Effects(HOST)
    assert await router.handle(Message(room_id, "$typed", sender, body, Clock().ms(), "m.text", encrypted=True),
                               effects)
    return [item for item in effects.items if item.action == "message"]


async def test_resources_finds_the_topic_from_the_words_people_type(router):
    """The whole table at once, so a change to the words file shows every row it moves."""
    by_heading = {heading: topic_id for topic_id, heading in HEADINGS.items()}
    found = {}
    for words, _ in TYPED:
        [reply] = await typed(router, f"!resources {words}")
        assert reply.room_id == DM
        found[words] = by_heading.get(reply.content["body"].split(":\n")[0], reply.content["body"])
    assert found == dict(TYPED)


@pytest.mark.parametrize(("words", "candidates"), [
    ("money", ["debt", "benefits"]),
    ("alcohol and debt", ["alcohol-and-drugs", "debt"]),
])
async def test_words_that_fit_two_topics_get_just_those_two_to_choose_from(router, words, candidates):
    [reply] = await typed(router, f"!resources {words}")
    body = reply.content["body"]
    assert f'"{words}" could mean more than one topic' in body
    shown = [topic_id for topic_id in KB.topics if f"!resources {topic_id} (" in body]
    assert sorted(shown) == sorted(candidates)
    assert not any(resource.name in body for topic_id in candidates for resource in KB.topics[topic_id].resources)


async def test_words_that_fit_no_topic_get_the_list_of_topics(router):
    [reply] = await typed(router, "!resources gardening")
    body = reply.content["body"]
    assert "I don't have a topic called \"gardening\"" in body
    assert all(topic_id in body for topic_id, topic in KB.topics.items() if topic.tier != "signal")


async def test_a_topic_that_is_only_counted_is_never_offered_or_sent(router):
    """Hostility is a signal for the room climate: it has no resources, so it is neither listed nor found."""
    [listing] = await typed(router, "!resources")
    [asked] = await typed(router, "!resources hostility")
    assert "hostility" not in listing.content["body"].casefold()
    assert "I don't have a topic called \"hostility\"" in asked.content["body"]


async def test_refer_sends_the_topic_found_and_tells_the_peer_worker_which(router):
    sent, answer = await typed(router, f"!refer {BOB} drinking", sender=SAM, room_id=STAFF)
    assert sent.to_user == BOB and "Drinkline Scotland" in sent.content["body"]
    assert answer.room_id == STAFF
    assert answer.content["body"] == (f'Sent {BOB} the resources for Alcohol and drugs (the topic I found for '
                                      f'"drinking").')
    _, exact = await typed(router, f"!refer {BOB} housing", sender=SAM, room_id=STAFF)
    assert exact.content["body"] == f"Sent {BOB} the resources for Housing and homelessness."


async def test_refer_with_crisis_words_sends_crisis_lines(router):
    sent, answer = await typed(router, f"!refer {BOB} self harm", sender=SAM, room_id=STAFF)
    assert sent.to_user == BOB and "\nUrgent help:\n" in sent.content["body"]
    assert "Urgent help, any time" in answer.content["body"]


@pytest.mark.parametrize(("sender", "body", "answer"), [
    (ALICE, f"!refer {BOB} alcohol", "peer workers"),               # a member may not refer
    (SAM, "!refer bob alcohol", "Matrix ID, like @alice:example.org"),  # a name is not a Matrix ID
    (SAM, f"!refer {BOB} money", f"!refer {BOB} debt (Help with debt)"),  # two topics: which?
    (SAM, f"!refer {BOB} gardening", "I don't have a topic called"),
])
async def test_refer_sends_nothing_unless_a_peer_worker_names_a_member_and_one_topic(router, sender, body, answer):
    replies = await typed(router, body, sender=sender, room_id=STAFF)
    assert [reply.room_id for reply in replies] == [STAFF]
    assert answer in replies[0].content["body"], replies[0].content["body"]


# --- the finder on its own: what topic_words.yaml and a knowledge base of one's own can and cannot change ---


def test_every_topic_named_in_the_shipped_words_is_a_shipped_topic():
    assert set(TopicWords.load().entries) <= set(KB.topics)


def topic_file(folder: Path, topic_id: str, title: str, tier: str, phrases: list[str]) -> None:
    lines = [f"id: {topic_id}", f"title: {title}", f"tier: {tier}", "phrases:", *(f"  - {p}" for p in phrases),
             "resources:", "  - name: A line", '    phone: "0800 000 000"']
    (folder / f"{topic_id}.yaml").write_text("\n".join(lines) + "\n")


def test_only_the_words_file_can_send_crisis_words_to_another_topic(tmp_path):
    """An organisation's topic whose title and phrases use crisis words still leaves them to crisis lines."""
    topic_file(tmp_path, "crisis", "Urgent help", "crisis", ["suicidal"])
    topic_file(tmp_path, "suicide-training", "Suicide prevention training", "support", ["suicidal friend", "asist"])
    topic_file(tmp_path, "hostility", "Hostility", "signal", ["drinking"])
    words = TopicWords({"crisis": ["suicide", "suicidal"], "missing-topic": ["training"]}, frozenset())
    finder = TopicFinder(load_kb([tmp_path]), words)
    found = {text: finder.find(text).topic for text in ("suicide", "suicidal friend", "training", "asist", "drinking")}
    assert {text: topic.id if topic else None for text, topic in found.items()} == {
        "suicide": "crisis", "suicidal friend": "crisis", "training": "suicide-training", "asist": "suicide-training",
        "drinking": None,  # a signal-tier topic offers nothing to send
    }


def test_a_words_file_yaml_reads_wrongly_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "words.yaml"
    path.write_text("topics:\n  debt: [money]\nignore: [and, on]\n")
    with pytest.raises(ValueError, match='quote any word YAML reads otherwise, like "on"'):
        TopicWords.load(path)
