"""Property-based fuzzing of config loading: whatever an admin writes at whatever key, `parse_config` returns a
Config or raises ConfigError whose every problem names a key of the file (or a key Bothy knows), never anything else."""

import copy
import functools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bothy.config import Config, ConfigError, parse_config
from bothy.settings import DURATION
from bots.installed import INSTALLATION
from bots.referral import settings as referral_settings
from tests.unit.test_config import ROOT, filled

# The one fixture only caches knowledge-base loading, the same for every example.
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FILLED = filled()


def key_paths(node: Any, prefix: str = "") -> set[str]:
    """Every dotted key in a YAML tree, inner ones included: 'bots', 'bots.host', 'bots.host.user_id', ..."""
    if not isinstance(node, Mapping):
        return set()
    found = set()
    for name, child in node.items():
        found |= {f"{prefix}{name}", *key_paths(child, f"{prefix}{name}.")}
    return found


def lookup(data: Mapping, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def mostly(usual: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` three times in four."""
    return st.sampled_from([usual] * 3 + [other]).flatmap(lambda chosen: chosen)


KNOWN = frozenset(key_paths(FILLED))  # every key config.example.yaml has
EXAMPLE_VALUES = {key: value for key in KNOWN if not isinstance(value := lookup(FILLED, key), Mapping)}

TEXT = st.text(max_size=30)  # any code point, NUL and lone surrogates included
NUMBER = st.integers(-(10**20), 10**20).map(str) | st.sampled_from(["0", "٣", "²", "１２", "9" * 30, "-1", "1.5"])
UNITS = st.sampled_from(["s", "m", "h", "d", "w", "y", ""])
DURATIONS = st.builds(lambda n, unit, space: f"{n}{space}{unit}", NUMBER, UNITS, st.sampled_from(["", " "]))
SCHEDULES = (st.builds(lambda n, unit: f"every {n}{unit}", NUMBER, st.sampled_from(["s", "m", "h", "d", "w"]))
             | st.lists(NUMBER | st.sampled_from(["*", "*/0", "*/5", "1-0", "mon", "L", "?", "60", "32"]),
                        min_size=4, max_size=6).map(" ".join))
USER_IDS = st.sampled_from(["@sam:example.org", "@Sam:example.org", "@sam", "sam:example.org", "@s:x:99999999"]) | TEXT
URLS = st.sampled_from(["http://127.0.0.1:8008", "https://x", "ftp://x", "http://", "http://[::1", "127.0.0.1:99999",
                        "h:²", "0.0.0.0:0", ":8080", "host:", "http://127.0.0.1:8787/"]) | TEXT
ZONES = st.sampled_from(["Europe/London", "UTC", "America", "../etc/passwd", "/etc/localtime", "Europe/London\x00",
                         "a" * 300, "Mars/Olympus", "posixrules", ""]) | TEXT
PATHS = st.sampled_from([".", "", "/", "data", "/nonexistent/x", "a\x00b", "\ud800", "~", "../../.."]) | TEXT
ENV = st.sampled_from(["${BOTHY_FUZZ_UNSET}", "${HOME}", "${}", "${1X}"])
STRINGS = st.one_of(TEXT, DURATIONS, SCHEDULES, USER_IDS, URLS, ZONES, PATHS, ENV)
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | STRINGS)
KEYS = st.sampled_from(sorted(KNOWN | {name.rsplit(".", 1)[-1] for name in KNOWN})) | TEXT | st.integers(-2, 2)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)


def fitting(key: str) -> st.SearchStrategy[Any]:
    """Values of the kind the key takes, odd ones included (what an admin might mistype)."""
    leaf = key.rsplit(".", 1)[-1]
    if key.startswith("schedules."):
        return SCHEDULES
    if leaf in {"url", "listen", "public_url"}:
        return URLS
    if leaf == "timezone":
        return ZONES
    if leaf == "user_id":
        return USER_IDS
    if leaf in {"peer_workers", "admins", "volunteers", "allowed_servers"}:
        return st.lists(USER_IDS, max_size=3)
    if leaf in {"path", "store_dir", "override_dir"}:
        return PATHS
    if leaf.endswith("kb_dirs"):
        return st.lists(PATHS, max_size=3)
    if isinstance(EXAMPLE_VALUES.get(key), str) and DURATION.match(EXAMPLE_VALUES[key]):
        return DURATIONS
    return SCALARS


# A change at any key of the example (inner mappings included) or a new key under one; `...` removes the key.
KNOWN_KEY = st.sampled_from(sorted(KNOWN))
NEW_KEY = st.builds(lambda known, extra: f"{known}.{extra}", KNOWN_KEY, TEXT.filter(lambda key: "." not in key))
CHANGE = (KNOWN_KEY.flatmap(lambda key: st.tuples(st.just(key), mostly(fitting(key), VALUES | st.just(...))))
          | st.tuples(NEW_KEY, VALUES))


def changed(changes: list[tuple[str, Any]]) -> dict:
    """The filled-in example with each change made; `...` deletes the key."""
    data = copy.deepcopy(FILLED)
    for key, value in changes:
        node: Any = data
        *parents, last = key.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data


@pytest.fixture
def kb_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each folder's knowledge base parsed once, not at every example: it is most of parse_config's time."""
    monkeypatch.setattr(referral_settings, "load_kb", functools.cache(referral_settings.load_kb))


@FUZZ
@given(st.lists(CHANGE, min_size=1, max_size=6))
# What the fuzzing found (each a crash once; test_config.py checks the key each is reported under):
@example([("bots.checkin", [[]])])
@example([("schedules.mood_prompt", "every 9999999999d")])
@example([("database.path", "a\x00b"), ("crypto.store_dir", "\ud800"), ("referral.extra_kb_dirs", ["\ud800"])])
@example([("stress.listen", "h:²")])
def test_any_config_is_loaded_or_refused_with_problems_named_by_key(kb_loaded_once, changes):
    data = changed(changes)
    try:
        config = parse_config(data, ROOT, INSTALLATION.bots)
    except ConfigError as error:
        keys = key_paths(data) | KNOWN
        assert error.problems
        for problem in error.problems:
            assert any(problem.startswith((f"{key}: ", f"{key}[")) for key in keys), problem
    else:
        assert isinstance(config, Config)
