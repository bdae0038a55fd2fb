from pathlib import Path

import pytest
import yaml

from bothy.config import ConfigError, load_config, parse_config
from bothy.settings import parse_duration
from bots.installed import INSTALLATION

ROOT = Path(__file__).resolve().parents[2]


def example() -> dict:
    return yaml.safe_load((ROOT / "config.example.yaml").read_text())


def filled(**changes) -> dict:
    data = example()
    data["crypto"]["pickle_key"] = "a-real-secret-value"
    for bot in data["bots"].values():
        bot["password"] = "a-real-password"
    for key, value in changes.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def settings_of(bot: str):
    """A bot's settings as the example config gives them (placeholders filled)."""
    return parse_config(filled(), ROOT, INSTALLATION.bots).bot_settings[bot]


def problems(data: dict, base_dir: Path = ROOT) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_config(data, base_dir, INSTALLATION.bots)
    return raised.value.problems


def test_the_example_config_names_every_placeholder_secret():
    found = problems(example())
    assert "crypto.pickle_key: still the example value; set a real secret (or ${ENV_VAR})" in found
    for bot in ("host", "checkin", "mood", "referral"):
        assert any(p.startswith(f"bots.{bot}.password: still the example value") for p in found)
    assert len(found) == 5


def test_the_example_config_loads_once_secrets_are_set():
    config = parse_config(filled(), ROOT, INSTALLATION.bots)
    assert config.staff_room == "#peer-workers:example.org"
    assert config.peer_workers == {"@sam:example.org"}
    assert config.bot_settings["mood"].min_contributors == 5
    assert config.schedules["checkin_sweep"] == "every 10m"
    assert config.database_path == ROOT / "data" / "bothy.sqlite3"
    assert len(config.accounts) == 4


def test_every_problem_is_reported_at_once_with_its_key():
    data = filled(**{"mood.min_contributors": 2, "timezone": "Mars/Olympus", "staff.room": "peer-workers",
                     "schedules.mood_prompt": "at ten", "homeserver.colour": "blue"})
    data["bots"]["host"]["user_id"] = "bothy"
    found = problems(data)
    assert any(p.startswith("mood.min_contributors:") for p in found)
    assert any(p.startswith("timezone:") for p in found)
    assert any(p.startswith("staff.room:") for p in found)
    assert any(p.startswith("schedules.mood_prompt:") for p in found)
    assert "homeserver.colour: unknown key" in found
    assert any(p.startswith("bots.host.user_id:") for p in found)


def test_a_room_climate_baseline_of_years_is_refused():
    """Each counted message sorts a room's hours over the baseline: "999999w" made that seconds a message, ahead of
    the crisis check (a reviewer's)."""
    assert problems(filled(**{"referral.climate.baseline": "200d"})) == ["referral.climate.baseline: must be at "
                                                                        "most 90d"]
    parse_config(filled(**{"referral.climate.baseline": "90d"}), ROOT, INSTALLATION.bots)


@pytest.mark.parametrize("key", ["referral.climate.baseline", "referral.climate.calm_after"])
def test_room_climate_durations_must_be_whole_hours(key):
    """The climate is counted by the hour: "90m" quietly meant one hour."""
    assert problems(filled(**{key: "90m"})) == [f"{key}: must be whole hours, like 6h (it is counted by the hour)"]


def test_allowed_servers_without_the_bots_own_server_is_said_at_once():
    """A host name given for the server name ("matrix.example.org" for @bothy:example.org) would have every invite
    from a member or peer worker ignored (a reviewer's): check-config and the start say so, as a note (a deployment
    may mean it, as a test of ignored invites does)."""
    config = parse_config(filled(**{"community.allowed_servers": ["matrix.example.org"]}), ROOT, INSTALLATION.bots)
    assert any(w.startswith("community.allowed_servers: leaves out example.org") for w in config.warnings)
    assert not parse_config(filled(), ROOT, INSTALLATION.bots).warnings


def test_room_climate_distress_topics_must_be_the_knowledge_bases():
    """A topic misspelt or renamed would count no distress in any room's climate, without a word."""
    found = problems(filled(**{"referral.climate.distress_topics": ["crisis", "mental-health-suport"]}))
    assert len(found) == 1
    assert found[0].startswith("referral.climate.distress_topics: no such topic in the knowledge base: "
                               "mental-health-suport (topics: ")
    assert problems(filled(**{"referral.climate.distress_topics": ["crisis", 7]})) == [
        "referral.climate.distress_topics: every entry must be a topic's id, like crisis"]
    parse_config(filled(**{"referral.climate.distress_topics": ["crisis"]}), ROOT, INSTALLATION.bots)


@pytest.mark.parametrize(("room", "valid"), [
    ("#peer-workers:example.org", True), ("!abc123:example.org", True), ("!abc123:example.org:8448", True),
    ("!x5bsyDlkd8Fz1aBC-_xyZ0123456789abcdefghijk", True),  # room version 12: no server part
    ("#peer-workers", False), ("peer-workers", False), ("!a b:example.org", False), ("#a:", False), ("!a:", False),
])
def test_staff_room_by_alias_or_by_id_of_any_room_version(room, valid):
    if valid:
        assert parse_config(filled(**{"staff.room": room}), ROOT, INSTALLATION.bots).staff_room == room
    else:
        assert any(p.startswith("staff.room:") for p in problems(filled(**{"staff.room": room})))


def test_secrets_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("BOTHY_TEST_PICKLE", "from-the-environment")
    config = parse_config(filled(**{"crypto.pickle_key": "${BOTHY_TEST_PICKLE}"}), ROOT, INSTALLATION.bots)
    assert config.pickle_key == "from-the-environment"
    monkeypatch.delenv("BOTHY_TEST_PICKLE")
    assert "crypto.pickle_key: environment variable BOTHY_TEST_PICKLE is not set" in problems(
        filled(**{"crypto.pickle_key": "${BOTHY_TEST_PICKLE}"}))


def test_bots_left_out_run_on_the_host_account():
    data = filled()
    data["bots"] = {"host": {"user_id": "@bothy:example.org", "password": "a-real-password"}}
    config = parse_config(data, ROOT, INSTALLATION.bots)
    assert {account.user_id for account in config.bots.values()} == {"@bothy:example.org"}
    assert config.bots_on("@bothy:example.org") == ("host", "checkin", "mood", "referral")


@pytest.mark.parametrize(("key", "value", "problem"), [
    # YAML's yes/no/on/off are booleans, which Python counts as numbers: "off" made every command "away"
    ("commands.max_age", False, "commands.max_age: expected str or int, got bool"),
    ("staff.escalate_after", True, "staff.escalate_after: expected str or int, got bool"),
    # a number of seconds or days too large for any setting overflowed SQLite in a sweep, every run
    ("staff.remind_unclaimed_after", "999999999w", "staff.remind_unclaimed_after: must be at most 3650d"),
    # a spec auditor's, thirty-third session: a number alone was seconds, so "min_gap: 14" checked in every sweep
    ("checkin.min_gap", 14, "checkin.min_gap: needs its unit, like 14s, 14m, 14h, 14d or 14w"),
    ("staff.escalate_after", 10, "staff.escalate_after: needs its unit"),
    ("retention.audit_log_days", 10**12, "retention.audit_log_days: must be from 1 to 3650"),
    # a cron day that never comes left its sweep paused for good
    ("schedules.retention_sweep", "0 3 30 2 *", "schedules.retention_sweep: '0 3 30 2 *' never runs: no such day "
                                                "comes"),
    ("schedules.retention_sweep", "every " + "9" * 5000 + "s", "schedules.retention_sweep: "),
    # "@sam:example.org\n" from a block scalar could never be anyone
    ("staff.peer_workers", ["@sam:example.org\n"], "staff.peer_workers[0]: "),
    ("staff.room", "#peer-workers:example.org\n", "staff.room: "),
    ("referral.climate.ratio", float("inf"), "referral.climate.ratio: must be from 1 to 100"),  # no jump, ever
    # an environment variable inside a longer value was taken as written: a folder named "${BOTHY_DATA}"
    ("database.path", "${BOTHY_DATA}/bothy.sqlite3", "database.path: ${ENV_VAR} works only as the whole value"),
    # twenty-ninth session: an override folder misspelt was never read; a host name given for the server name made
    # every invite from a member or peer worker ignored
    ("templates.override_dir", "./no-such-folder", "templates.override_dir: no such folder"),
    ("community.allowed_servers", ["example.org", 42], "community.allowed_servers: every entry must be"),
])
def test_values_that_look_valid_but_are_not_are_refused_with_their_key(key, value, problem):
    """A reviewer's, twenty-eighth session: each was accepted by check-config and misbehaved at run time."""
    assert any(found.startswith(problem) for found in problems(filled(**{key: value})))


def test_a_config_file_that_cannot_be_read_as_intended_is_refused_in_words(tmp_path):
    """Text that is not UTF-8 or nested too deep gave a traceback; a key said twice kept only the last value (a
    second `peer_workers:` dropped the first list's peer workers from every alert)."""
    cases = {"latin1.yaml": "# caf\xe9\nstaff: {}\n".encode("latin-1"), "deep.yaml": b"a: " + b"[" * 10_000,
             "twice.yaml": b"staff:\n  peer_workers: ['@kim:example.org']\n  peer_workers: ['@sam:example.org']\n"}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ConfigError) as raised:
            load_config(tmp_path / name, INSTALLATION.bots)
        assert str(tmp_path / name) in raised.value.problems[0]
    assert "given twice" in raised.value.problems[0]


def test_unknown_bot_and_missing_credentials():
    data = filled()
    data["bots"]["butler"] = {"user_id": "@butler:example.org", "password": "x-real"}
    data["bots"]["mood"] = {"user_id": "@mood:example.org"}
    found = problems(data)
    assert any(p.startswith("bots.butler: unknown bot") for p in found)
    assert "bots.mood: needs a password or an access_token" in found


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError):
        load_config(tmp_path / "absent.yaml", INSTALLATION.bots)
    bad = tmp_path / "bad.yaml"
    bad.write_text("homeserver: [unclosed")
    with pytest.raises(ConfigError) as raised:
        load_config(bad, INSTALLATION.bots)
    assert "not valid YAML" in raised.value.problems[0]


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), ("2w", 1209600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def test_bad_duration():
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_every_declared_schedule_is_documented_in_the_example_config():
    declared = set(example()["schedules"])
    config = parse_config(filled(), ROOT, INSTALLATION.bots)
    assert set(config.schedules) == declared
    for bot in INSTALLATION.bots:
        assert set(bot.schedules) <= declared, bot.name


def test_an_unset_kb_means_the_shipped_one_wherever_the_config_lives(tmp_path):
    from referral_kb import SHIPPED_KB

    config = parse_config(filled(), tmp_path, INSTALLATION.bots)
    assert config.bot_settings["referral"].kb_dirs == (SHIPPED_KB,)
    local = tmp_path / "our-services"
    local.mkdir()
    config = parse_config(filled(**{"referral.extra_kb_dirs": ["our-services"]}), tmp_path, INSTALLATION.bots)
    assert config.bot_settings["referral"].kb_dirs == (SHIPPED_KB, local)


def test_bothy_never_runs_without_crisis_lines(tmp_path):
    (tmp_path / "empty").mkdir()
    found = problems(filled(**{"referral.kb_dirs": ["empty"]}), tmp_path)
    assert any(p.startswith("referral.kb_dirs: no crisis-tier topic") for p in found)
    found = problems(filled(**{"referral.kb_dirs": ["absent"]}), tmp_path)
    assert any(p.startswith("referral.kb_dirs: no such folder") and "absent" in p for p in found)


def test_a_missing_extra_folder_is_named_with_its_own_key(tmp_path):
    found = problems(filled(**{"referral.extra_kb_dirs": ["our-services"]}), tmp_path)
    assert [p for p in found if "our-services" in p] == [
        f"referral.extra_kb_dirs: no such folder: {tmp_path / 'our-services'}"]


def test_a_short_pickle_key_is_refused_and_public_plain_http_is_flagged():
    assert any(p.startswith("crypto.pickle_key: must be at least 16") for p in problems(
        filled(**{"crypto.pickle_key": "short-key"})))
    public = parse_config(filled(**{"stress.public_url": "http://bothy.example.org"}), ROOT, INSTALLATION.bots)
    assert any(w.startswith("stress.public_url:") for w in public.warnings)
    loopback = parse_config(filled(**{"stress.public_url": "http://127.0.0.1:8787"}), ROOT, INSTALLATION.bots)
    assert loopback.warnings == ()


def test_zero_and_huge_durations_are_refused_with_their_key():
    found = problems(filled(**{"checkin.min_gap": "0d", "checkin.window": "99999999999999999999w"}))
    assert any(p.startswith("checkin.min_gap: must be longer than zero") for p in found)
    assert any(p.startswith("checkin.window:") for p in found)


def test_bereavement_rooms_are_room_ids_or_aliases(tmp_path):
    rooms = ["!abc:example.org", "#losing-someone:example.org", "!x5bsyDlkd8Fz1aBC-_xyZ0123"]  # v12: no server
    config = parse_config(filled(**{"referral.bereavement_rooms": rooms}), tmp_path, INSTALLATION.bots)
    assert config.bot_settings["referral"].bereavement_rooms == frozenset(rooms)
    for wrong in ("Losing someone", "#losing-someone", "!a b:example.org"):
        found = problems(filled(**{"referral.bereavement_rooms": [wrong]}), tmp_path)
        assert any(p.startswith("referral.bereavement_rooms: every entry must be a room ID") for p in found), wrong


@pytest.mark.parametrize("key", ["hangout.rooms.low", "hangout.rooms.medium", "hangout.rooms.high",
                                 "community.space"])
def test_the_staff_room_is_refused_as_a_room_for_members(key):
    """Alerts in the staff room name members who may be in crisis: named as a hang-out room (`!hangout invite` would
    invite members into it) or as the community Space, it was taken (a spec auditor's, thirty-third session)."""
    found = problems(filled(**{key: "#peer-workers:example.org"}))  # exactly staff.room, as written there
    assert [p for p in found if "staff room" in p] == [f"{key}: is the staff room (staff.room), whose alerts name "
                                                      "members; give a room of its own"]
    parse_config(filled(**{key: "#hang-out:example.org"}), ROOT, INSTALLATION.bots)  # any other room will do


@pytest.mark.parametrize(("key", "value", "named"), [
    ("bots.checkin", [[]], "bots.checkin"),  # not a mapping of credentials: a TypeError once
    ("timezone", "America", "timezone"),  # a folder of zones, not a zone: an IsADirectoryError once
    ("hangout.prompts_file", "\x00", "hangout.prompts_file"),  # a NUL in a path: a ValueError once
    ("schedules.mood_prompt", "every 9999999999d", "schedules.mood_prompt"),  # OverflowError
    ("schedules.mood_prompt", "every 99999999d", "schedules.mood_prompt"),  # its next run is past year 9999
    ("database.path", "a\x00b", "database.path"),  # ValueError from Path.resolve
    ("crypto.store_dir", "\ud800", "crypto.store_dir"),  # UnicodeEncodeError from Path.resolve
    ("templates.override_dir", "a\x00b", "templates.override_dir"),
    ("referral.extra_kb_dirs", ["\ud800"], "referral.extra_kb_dirs"),
    ("stress.listen", "127.0.0.1:²", "stress.listen"),  # isdigit() but not int(): ValueError
    ("stress.listen", "127.0.0.1:99999", "stress.listen"),  # OverflowError (not OSError) when the webhook starts
])
def test_odd_values_are_problems_named_by_key_not_crashes(key, value, named):
    assert any(p.startswith(f"{named}: ") for p in problems(filled(**{key: value})))


def test_an_unset_environment_variable_is_a_problem_named_by_its_key_wherever_it_is_used(monkeypatch):
    monkeypatch.delenv("BOTHY_TEST_UNSET", raising=False)
    found = problems(filled(**{"schedules.mood_prompt": "${BOTHY_TEST_UNSET}"}))
    assert any(p.startswith("schedules.mood_prompt:") and "BOTHY_TEST_UNSET" in p for p in found)


def test_a_suggestion_cooldown_under_a_day_is_refused():
    """PRODUCT.md: at most one suggestion per member per topic per 24 h; a shorter cooldown was taken (a spec
    auditor's, thirty-second session)."""
    assert any(problem.startswith("referral.cooldown: must be at least 24h")
               for problem in problems(filled(**{"referral.cooldown": "1h"})))
    assert parse_config(filled(**{"referral.cooldown": "2d"}), ROOT, INSTALLATION.bots).bot_settings[
        "referral"].cooldown_s == 2 * 86_400
