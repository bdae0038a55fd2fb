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
