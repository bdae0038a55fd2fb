"""Property-based fuzzing of event conversion: whatever JSON a homeserver relays, conversion returns
None or a well-typed event, and never raises (a raise inside the sync loop was a crash loop)."""

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bothy.matrix.events import (
    CAPTIONED_MSGTYPES,
    MAX_SAFE_INTEGER,
    TEXT_MSGTYPES,
    Membership,
    Message,
    Reaction,
    Redaction,
    membership_from_event,
    message_from_event,
    reaction_from_event,
    redaction_from_event,
    undecryptable_from_event,
)

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included: json.loads accepts "\ud800".
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
HUGE_TEXT = st.builds(lambda piece, times: piece * times, ANY_TEXT, st.integers(0, 20_000))
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | ANY_TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The plausible value or any JSON at all."""
    return value | JSON


def optional_keys(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


EVENT_ID = st.sampled_from(["$a", "$b:example.org"]) | st.text(min_size=1, max_size=20)
EVENT_TYPE = st.sampled_from(["m.room.message", "m.reaction", "m.room.encrypted"])
# Each relation Bothy reads, its fields possibly broken, or any relation at all.
ANNOTATION = st.fixed_dictionaries({"rel_type": maybe(st.just("m.annotation")), "event_id": maybe(EVENT_ID),
                                    "key": maybe(st.sampled_from(["✅", "👍", ""]) | ANY_TEXT)})
REPLACE = st.fixed_dictionaries({"rel_type": maybe(st.just("m.replace")), "event_id": maybe(EVENT_ID)})
REPLY = st.fixed_dictionaries({"m.in_reply_to": maybe(st.fixed_dictionaries({"event_id": maybe(EVENT_ID)}))})
RELATES = ANNOTATION | REPLACE | REPLY | maybe(optional_keys(
    rel_type=maybe(st.sampled_from(["m.thread", "m.reference"])),
    event_id=maybe(EVENT_ID),
    **{"m.in_reply_to": JSON},
))
# Pieces of the HTML clients send with a picked member ("pill"), shuffled and broken, with any text between.
HTML_PIECES = st.sampled_from(['<a href="https://matrix.to/#/@alice:example.org">', '<a href="matrix:u/bob:x.org">',
                               '<a href="https://matrix.to/#/%40c%3Ax">', "</a>", "<mx-reply>", "</mx-reply>", "<br/>",
                               "<a ", "&amp;", "&#xD800;", "<!--", "!checkin "]) | ANY_TEXT
FORMATTED = st.lists(HTML_PIECES, max_size=12).map("".join) | HUGE_TEXT
TEXT_CONTENT = st.fixed_dictionaries({
    "body": maybe(ANY_TEXT | HUGE_TEXT | st.just("> quoted\n\nmine")),
    "msgtype": maybe(st.sampled_from([*TEXT_MSGTYPES, *CAPTIONED_MSGTYPES, "m.location"])),
}, optional={"format": maybe(st.just("org.matrix.custom.html")), "formatted_body": maybe(FORMATTED),
             "filename": maybe(st.sampled_from(["IMG_1.jpg", "> quoted\n\nmine"]) | ANY_TEXT)})
CONTENT = maybe(st.builds(lambda content, extra: {**content, **extra}, TEXT_CONTENT, optional_keys(**{
    "m.relates_to": RELATES, "m.new_content": maybe(TEXT_CONTENT), "session_id": maybe(EVENT_ID)})))
# A sound envelope but for the timestamp, so the fuzzing reaches the relations and bodies behind it.
SOURCE = st.fixed_dictionaries({"type": EVENT_TYPE, "event_id": EVENT_ID, "sender": EVENT_ID,
                                "origin_server_ts": st.integers(0, MAX_SAFE_INTEGER) | SCALARS, "content": CONTENT})
# Anything at all, anywhere, down to the event not being an object.
ANY_SOURCE = JSON | st.fixed_dictionaries({}, optional={
    "type": maybe(EVENT_TYPE), "event_id": maybe(EVENT_ID), "sender": maybe(EVENT_ID),
    "origin_server_ts": maybe(st.integers(0, MAX_SAFE_INTEGER)), "content": CONTENT})


def is_id(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def is_timestamp(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_SAFE_INTEGER


def utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Reported:
    """Collects what on_malformed is told: field names, never values."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def __call__(self, field: str) -> None:
        assert isinstance(field, str)
        self.fields.append(field)


@FUZZ
@given(SOURCE | ANY_SOURCE, st.booleans())
def test_message_conversion_never_raises_and_is_well_typed(source, encrypted):
    reported = Reported()
    message = message_from_event(source, "!room:example.org", encrypted, reported)
    assert len(reported.fields) <= 1
    if message is None:
        return
    assert reported.fields == []
    assert type(message) is Message
    assert all(is_id(v) and utf8(v) for v in (message.room_id, message.event_id, message.sender))
    assert isinstance(message.body, str) and utf8(message.body)
    assert is_timestamp(message.timestamp_ms)
    assert message.msgtype in TEXT_MSGTYPES | CAPTIONED_MSGTYPES
    assert message.encrypted is encrypted
    assert message.replaces is None or is_id(message.replaces)
    assert message.reply_to is None or is_id(message.reply_to)
    assert message.command_text is None or (isinstance(message.command_text, str) and utf8(message.command_text))


@FUZZ
@given(SOURCE | ANY_SOURCE)
def test_reaction_conversion_never_raises_and_is_well_typed(source):
    reported = Reported()
    reaction = reaction_from_event(source, "!room:example.org", reported)
    assert len(reported.fields) <= 1
    if reaction is None:
        return
    assert reported.fields == []
    assert type(reaction) is Reaction
    assert all(is_id(v) and utf8(v) for v in (reaction.event_id, reaction.sender, reaction.target_event_id,
                                                reaction.key))
    assert is_timestamp(reaction.timestamp_ms)


REDACTION_SOURCE = st.fixed_dictionaries({"type": st.just("m.room.redaction")}, optional={
    "event_id": maybe(EVENT_ID), "sender": maybe(EVENT_ID), "origin_server_ts": maybe(st.integers(0, 2**60)),
    "redacts": maybe(EVENT_ID), "content": maybe(optional_keys(redacts=maybe(EVENT_ID)))})


@FUZZ
@given(REDACTION_SOURCE | ANY_SOURCE)
def test_redaction_conversion_never_raises_and_is_well_typed(source):
    reported = Reported()
    redaction = redaction_from_event(source, "!room:example.org", reported)
    assert len(reported.fields) == (redaction is None)
    if redaction is not None:
        assert type(redaction) is Redaction
        assert all(is_id(v) and utf8(v) for v in (redaction.event_id, redaction.sender, redaction.redacts))


MEMBER_SOURCE = st.fixed_dictionaries({"type": st.just("m.room.member")}, optional={
    "state_key": maybe(EVENT_ID), "content": maybe(optional_keys(membership=maybe(st.sampled_from(["leave", "ban"]))))})


@FUZZ
@given(MEMBER_SOURCE | ANY_SOURCE)
def test_membership_conversion_never_raises_and_is_well_typed(source):
    reported = Reported()
    membership = membership_from_event(source, "!room:example.org", reported)
    assert len(reported.fields) == (membership is None)
    if membership is not None:
        assert type(membership) is Membership
        assert all(is_id(v) and utf8(v) for v in (membership.user_id, membership.membership))


@FUZZ
@given(SOURCE | ANY_SOURCE)
def test_undecryptable_conversion_never_raises(source):
    undecryptable = undecryptable_from_event(source, "!room:example.org")
    assert undecryptable is None or (is_id(undecryptable.session_id) and is_timestamp(undecryptable.timestamp_ms))


@FUZZ
@given(st.text(max_size=200), st.sampled_from(sorted(TEXT_MSGTYPES)), st.integers(0, MAX_SAFE_INTEGER))
def test_a_well_formed_text_message_is_never_rejected(body, msgtype, timestamp):
    source = {"type": "m.room.message", "event_id": "$e", "sender": "@alice:example.org",
              "origin_server_ts": timestamp, "content": {"msgtype": msgtype, "body": body}}
    message = message_from_event(source, "!r", False)
    assert message is not None and (message.body, message.timestamp_ms) == (body, timestamp)
