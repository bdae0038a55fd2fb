"""Safe messaging: every message a member may get in a DM ends with a way to get urgent help, gives each urgent
number once, and never puts Breathing Space (evenings and weekends only) under "any time"."""

import html
import re
from pathlib import Path

import pytest
import yaml

from bots.installed import INSTALLATION
from commands.framework import Choice, Command
from referral_kb import SHIPPED_KB
from tests.unit.shipped import shipped_kb

TEMPLATES = INSTALLATION.templates()
KB = shipped_kb()
URGENT_NUMBERS = ("999", "116 123", "111", "0800 83 85 87")
BREATHING_SPACE = "0800 83 85 87"
ROUND_THE_CLOCK = re.compile(r"any ?time|24 hours|24/7|day (?:and|or) night|round the clock", re.IGNORECASE)
# Sent only to peer workers (the staff room, or a staff command's reply): every other template may reach a
# member's DM, so a new template needs the urgent-help footer unless it is added here.
STAFF_ONLY = frozenset({
    "alert_claimed", "alert_unclaimed", "alert_reminder", "staff_place_only", "status",
    "alert_chat", "alert_stress", "checkin_declined", "checkin_sent", "checkin_recent", "quiet_list",
    "alert_crisis", "refer_sent", "alert_checkback_chat", "referrals_report",
    "alert_mood", "mood_report", "mood_report_empty", "mood_report_rooms", "mood_share_withdrawn",
    "stress_share_withdrawn",
    "alert_group_request", "group_dormant_staff", "group_not_made_staff", "group_approved", "group_declined",
    "group_not_pending",
    "alert_already_done", "alert_closed", "alert_done", "alert_escalated", "alert_escalation_note", "alert_report",
    "alert_room_climate", "alert_talk", "alert_talk_again", "alert_unknown", "alerts_list", "audit_list",
    "mod_dismissed", "mod_guidelines_already", "report_again",
    "mod_failed", "mod_unmute_failed", "mod_guidelines_sent", "mod_muted", "mod_removed", "mod_bot_account",
})
# Posted in a group room for everyone, never in a DM: a warm tally or an invitation, not a message to one member.
ROOM_NOTICES = frozenset({"mood_weather", "hangout_prompt", "group_topic", "group_welcome", "group_archived_notice",
                          "meetup_posted", "meetup_reminder", "meetup_cancelled_notice"})


async def _noop(ctx) -> None:
    return None


SAMPLE_COMMAND = Command("checkins", "checkin", "whether I check in", _noop, params=(Choice("setting", ("on", "off")),),
                         private=True, aliases=("checkin",))
SAMPLE = {
    "prefix": "!", "commands": [SAMPLE_COMMAND], "staff_commands": [SAMPLE_COMMAND], "unknown": "nope",
    "command": SAMPLE_COMMAND, "in_dm": True, "rows": 3, "minutes": 10, "tables": ["checkins"], "days": 30,
    "worker": "@sam:example.org", "member": "@alice:example.org", "url": "https://example.org/s/1", "token": "t0k",
    "threshold": 70, "usage": "!checkins on|off", "problem": "Please say on or off.", "summary": "check-ins",
    "word": "nope", "usages": ["!checkins on|off"], "admins_only": False, "volunteers_only": False,
    "first": True, "k": 5, "mood": 3, "energy": "low", "typed": False, "room": "Tea and chat", "fit": None,
    "spaces": [("low", "https://matrix.to/#/#quiet-corner:example.org")], "result": "failed",
    "link": "https://matrix.to/#/#quiet-corner:example.org",
    "tags": ["gardening"], "title": "Allotment club", "join": "allotment-club", "tag": "gardening", "most": 2,
    "reason": "it overlaps with a group we already run", "listed": True, "on": True, "invites": True,
    "added": ["gardening"], "removed": ["walking"],
    "group": {"name": "Allotment club", "listed": True, "state": "ready"}, "reports": 2, "back": "at 9am on Monday",
    "groups": [{"name": "Allotment club", "tags": ["gardening"], "size": 6, "last_active": "this week",
                "join": "allotment-club"}], "hidden": 0,
    "id": 3, "when": "Tuesday 10 March at 7pm", "where": "at the community hall", "going": 2,
    "calendar": True, "day_before": True, "here": True, "creator": True, "asked": "drinking",
    "filename": "bothy-my-data.json",
    "meetups": [{"id": 3, "when": "Tuesday 10 March at 7pm", "where": "online", "going": 2, "room": "Tea and chat"}],
}


def member_templates() -> list[str]:
    names = {path.name.removesuffix(".txt.j2") for directory in TEMPLATES.directories
             for path in directory.glob("*.txt.j2")}
    return sorted(name for name in names if not name.startswith("_") and name not in STAFF_ONLY | ROOM_NOTICES)


def as_text(formatted_body: str) -> str:
    """HTML as a member reads it: paragraphs and line breaks kept, list items as "- " lines."""
    text = re.sub(r"\s*\n\s*", " ", re.sub(r">\s+<", "><", formatted_body))
    text = re.sub(r"<br\s*/?>", "\n  ", re.sub(r"</li>", "\n", text))
    text = re.sub(r"</p>|</ul>", "\n\n", text)
    text = re.sub(r"<li>", "- ", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def occurrences(number: str, text: str) -> int:
    return len(re.findall(rf"(?<!\d)(?<!\d ){re.escape(number)}(?! ?\d)", text))


def entries(text: str) -> list[str]:
    """Lines, with a list item's indented continuation (its notes) joined to it: one resource is one entry."""
    joined: list[str] = []
    for line in text.splitlines():
        if line.startswith("  ") and joined:
            joined[-1] += line
        else:
            joined.append(line)
    return joined


def safe_messaging_problems(text: str) -> list[str]:
    """A number is listed once however often its own entry mentions it ("call 999, then press 55")."""
    problems = [f"{number} listed {count} times" for number in URGENT_NUMBERS
                if (count := sum(1 for entry in entries(text) if occurrences(number, entry))) != 1]
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if not any(occurrences(number, paragraphs[-1]) for number in URGENT_NUMBERS):
        problems.append("does not end with a way to get urgent help")
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if BREATHING_SPACE not in line:
            continue
        context = [line]
        if line.lstrip().startswith("- "):  # a list item: the line introducing the list counts too
            context += [next((before for before in reversed(lines[:index])
                              if before.strip() and not before.startswith(("- ", "  "))), "")]
        problems += [f"Breathing Space under {m.group(0)!r}" for c in context for m in ROUND_THE_CLOCK.finditer(c)]
    return problems


@pytest.mark.parametrize("name", member_templates())
@pytest.mark.parametrize("topic", sorted(KB.topics))
def test_every_message_to_a_member_ends_with_urgent_help_each_number_once(name, topic):
    chosen = KB.topics[topic]
    suggested = [t for t in KB.topics.values() if t.tier != "crisis"]  # a crisis match sends crisis lines alone
    others = [t for t in suggested if t is not chosen][:2]
    topics = [chosen, *others] if chosen in suggested else others
    content = TEMPLATES.render(name, **SAMPLE, topic=chosen, topics=topics)
    assert safe_messaging_problems(content["body"]) == [], content["body"]
    assert safe_messaging_problems(as_text(content["formatted_body"])) == [], content["formatted_body"]


def test_the_rule_catches_what_it_is_for():
    footer = "Need help urgently? Call 999, Samaritans on 116 123 or NHS 24 on 111.\nBreathing Space: 0800 83 85 87."
    assert safe_messaging_problems(footer) == []
    assert safe_messaging_problems("Thanks.\n\n" + footer + "\nOr 999.") == ["999 listed 2 times"]
    assert safe_messaging_problems(footer + "\n\nThanks.") == ["does not end with a way to get urgent help"]
    listed = "Urgent help, any time:\n- Breathing Space: 0800 83 85 87\n- Samaritans: 116 123\n- 999\n- 111"
    assert safe_messaging_problems(listed) == ["Breathing Space under 'any time'"]
    assert occurrences("111", "StepChange 0800 138 1111, or 111") == 1
    assert safe_messaging_problems(footer.replace("999,", "999 (if you can't speak, call 999 then 55),")) == []


def test_the_footer_gives_breathing_space_the_hours_we_ship():
    crisis = yaml.safe_load((Path(SHIPPED_KB) / "crisis.yaml").read_text())
    hours = next(r["hours"] for r in crisis["resources"] if r.get("phone") == BREATHING_SPACE)
    for name in ("_urgent_help.txt.j2", "_urgent_help.html.j2"):
        assert hours in (Path(TEMPLATES.directories[-1]) / name).read_text()
