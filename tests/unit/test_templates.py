import pytest

from bothy.templates import Templates
from bots.installed import INSTALLATION


def test_html_is_autoescaped_and_plain_text_is_not():
    content = Templates().render("unknown_command", prefix="!", word="<b>x</b>", usages=[])
    assert "&lt;b&gt;x&lt;/b&gt;" in content["formatted_body"]
    assert "<b>x</b>" in content["body"]
    assert content["msgtype"] == "m.notice"


def test_words_a_member_chose_never_ping_the_room():
    content = Templates().render("unknown_command", prefix="!", word="@room", usages=[])
    assert "@room" in content["body"] and content["m.mentions"] == {}  # intentional mentions: nobody


def test_every_template_has_both_forms_and_one_owner():
    names: list[str] = []
    for directory in INSTALLATION.templates().directories:
        html = {p.name.removesuffix(".html.j2") for p in directory.glob("*.html.j2")}
        text = {p.name.removesuffix(".txt.j2") for p in directory.glob("*.txt.j2")}
        assert html == text, directory
        names.extend(html)
    assert len(names) == len(set(names)) > 30  # a bot's template never shadows another's by accident


def test_an_organisation_can_override_a_template(tmp_path):
    (tmp_path / "went_wrong.txt.j2").write_text("Our own words.")
    assert Templates(override_dir=tmp_path).render("went_wrong")["body"] == "Our own words."


def test_a_missing_variable_is_an_error_not_a_blank():
    with pytest.raises(Exception):  # noqa: B017 - jinja2 raises UndefinedError
        INSTALLATION.templates().render("status")


def test_an_override_that_will_not_render_falls_back_to_the_shipped_words(tmp_path, caplog):
    """An organisation's crisis template with a typo (a name no message has) raised, and the crisis reply and its
    staff alert, committed together, were lost (a reviewer's, twenty-ninth session)."""
    from pathlib import Path

    from bots.referral.kb import load_kb

    crisis = load_kb([Path(__file__).resolve().parents[2] / "referral_kb"]).topics["crisis"]
    (tmp_path / "crisis_support.txt.j2").write_text("Call {{ helpline_number }} now\n")
    (tmp_path / "crisis_support.html.j2").write_text("<p>Call {{ helpline_number }} now</p>\n")
    (tmp_path / "welcome.txt.j2").write_text("{% for x in y %}unclosed\n")
    shipped = INSTALLATION.templates()
    overridden = Templates([d for d in shipped.directories if d.name == "templates" and d.parent.name != "bothy"],
                           override_dir=tmp_path)
    assert overridden.render("crisis_support", prefix="!", topic=crisis) == \
        shipped.render("crisis_support", prefix="!", topic=crisis)
    assert overridden.render("welcome", prefix="!", volunteers_only=False) == \
        shipped.render("welcome", prefix="!", volunteers_only=False)
    assert caplog.text.count("does not render") == 2
    # Not only jinja2's own errors: sorting by a field some lines lack raises TypeError (a reviewer's, thirtieth).
    sorting = tmp_path / "sorting"
    sorting.mkdir()
    sorted_by_phone = '{% for r in topic.resources|sort(attribute="phone") %}{{ r.name }}\n{% endfor %}\n'
    for suffix in ("txt", "html"):
        (sorting / f"crisis_support.{suffix}.j2").write_text(sorted_by_phone)
    overridden = Templates(overridden.directories[1:-1], override_dir=sorting)
    assert overridden.render("crisis_support", prefix="!", topic=crisis) == \
        shipped.render("crisis_support", prefix="!", topic=crisis)


def test_the_dm_telling_a_member_who_has_their_alert_may_name_a_command(tmp_path):
    """A second reviewer's, thirty-third session: moved to StaffAlerts, it was rendered without `prefix`, so an
    organisation's override naming a command did not render and the shipped words went instead."""
    from types import SimpleNamespace

    from bothy.alerts import StaffAlerts
    from bothy.outbox import Effects

    (tmp_path / "talk_claimed.txt.j2").write_text("{{ worker }} has it. Send {{ prefix }}talk again any time.\n")
    (tmp_path / "talk_claimed.html.j2").write_text("<p>{{ worker }} has it. {{ prefix }}talk</p>\n")
    alerts = StaffAlerts(None, None, INSTALLATION.templates(tmp_path), frozenset(), 1800, SimpleNamespace(clock=None),
                         prefix="?")
    effects = Effects("@bot:x")
    alerts.tell_member_who_has_it(SimpleNamespace(subject_user="@alice:x"), "@sam:x", effects, "talk_claimed")
    assert [item.content["body"] for item in effects.items] == ["@sam:x has it. Send ?talk again any time."]
