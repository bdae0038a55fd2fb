from bothy.matrix.events import invite_allowed, message_from_event, reaction_from_event, strip_reply_fallback


def source(content: dict, **extra) -> dict:
    return {"type": "m.room.message", "event_id": "$e", "sender": "@alice:example.org",
            "origin_server_ts": 1000, "content": content, **extra}


def test_reply_fallback_is_stripped_so_quoted_words_are_not_the_author_s():
    content = {"msgtype": "m.text", "body": "> <@bob:example.org> I want to die\n> second line\n\nsame here, lol",
               "m.relates_to": {"m.in_reply_to": {"event_id": "$quoted"}}}
    message = message_from_event(source(content), "!r", encrypted=True)
    assert message.body == "same here, lol"
    assert message.reply_to == "$quoted"


def test_a_plain_message_starting_with_a_quote_is_kept_when_it_is_not_a_reply():
    message = message_from_event(source({"msgtype": "m.text", "body": "> a quote I like"}), "!r", False)
    assert message.body == "> a quote I like"


def test_an_edit_is_seen_as_its_new_content():
    content = {"msgtype": "m.text", "body": "* new words",
               "m.new_content": {"msgtype": "m.text", "body": "new words"},
               "m.relates_to": {"rel_type": "m.replace", "event_id": "$original"}}
    message = message_from_event(source(content), "!r", False)
    assert message.body == "new words"
    assert message.replaces == "$original"


def test_non_text_messages_are_not_messages():
    assert message_from_event(source({"msgtype": "m.image", "body": "photo.jpg"}), "!r", False) is None
    assert message_from_event(source({"msgtype": "m.text"}), "!r", False) is None


def test_strip_reply_fallback_without_blank_line():
    assert strip_reply_fallback("> quoted\nmine") == "mine"


def test_reaction():
    reaction = reaction_from_event({"event_id": "$r", "sender": "@a:x", "origin_server_ts": 5, "content": {
        "m.relates_to": {"rel_type": "m.annotation", "event_id": "$t", "key": "✅"}}}, "!r")
    assert (reaction.target_event_id, reaction.key) == ("$t", "✅")
    assert reaction_from_event({"content": {}}, "!r") is None


def test_invites_only_from_allowed_servers():
    allowed = frozenset({"example.org"})
    assert invite_allowed("@sam:example.org", allowed)
    assert not invite_allowed("@troll:elsewhere.net", allowed)
    assert not invite_allowed("@sam:example.org.evil.net", allowed)
