"""The referral knowledge base: one YAML file per topic, validated with file and line for every problem.

A topic file has `id`, `title`, `tier` (crisis, support, practical), `phrases`, optional `patterns` (templates
that allow inflections and small gaps, see patterns.py) with the optional `word_lists` they use, optional
`exclusions` and `resources`, and an optional `model`: a file of word weights beside it (word_model.py). An
organisation adds its own local services in its own folder without editing ours: a file with `add_to: <topic
id>` adds resources (and phrases and patterns) to an existing topic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bots.referral.normalise import normalise
from bots.referral.patterns import Pattern, PatternError, check_word_list, compile_pattern
from bots.referral.word_model import ModelError, WordModel, load_model

TIERS = ("crisis", "support", "practical", "signal")  # signal: only counted (room climate), never suggested
TOPIC_KEYS = {"id", "title", "tier", "phrases", "patterns", "word_lists", "exclusions", "resources", "add_to",
              "model"}
# libyaml's parser where PyYAML was built with it (the wheels are): the shipped crisis topic is large, and every
# start and reload parses it; the pure-Python one builds the same nodes, with the same line numbers, three times slower.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
RESOURCE_KEYS = {"name", "phone", "text", "url", "hours", "region", "notes", "checked"}
CONTACT_KEYS = ("phone", "text", "url")


@dataclass(frozen=True)
class Resource:
    name: str
    phone: str | None = None
    text: str | None = None
    url: str | None = None
    hours: str | None = None
    region: str | None = None
    notes: str | None = None
    checked: str | None = None


@dataclass
class Topic:
    id: str
    title: str
    tier: str
    phrases: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    word_lists: dict[str, list[str]] = field(default_factory=dict)  # for its patterns: `<name>`
    source: str = ""
    model: WordModel | None = None


@dataclass
class KnowledgeBase:
    topics: dict[str, Topic]
    problems: list[str]
    files: dict[Path, float | None]  # path -> mtime (None: missing), to notice edits

    def topic(self, name: str) -> Topic | None:
        wanted = normalise(name).strip()
        for topic in self.topics.values():
            if wanted in {normalise(topic.id).strip(), normalise(topic.title).strip()}:
                return topic
        return None


class _Node:
    """A YAML value with the line it starts on, so every problem can say where it is."""

    def __init__(self, node: yaml.Node):
        self.line = node.start_mark.line + 1
        self.value: Any
        if isinstance(node, yaml.MappingNode):
            self.value = {str(k.value): (_Node(v), k.start_mark.line + 1) for k, v in node.value}
        elif isinstance(node, yaml.SequenceNode):
            self.value = [_Node(item) for item in node.value]
        else:
            self.value = node.value if node.tag != "tag:yaml.org,2002:null" else None


def _text(node: _Node | None) -> str | None:
    return node.value if node is not None and isinstance(node.value, str) and node.value.strip() else None


def _parse_file(path: Path, problems: list[str]) -> tuple[dict[str, Any], dict[str, int]] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.append(f"{path}:1: not UTF-8 text (save it as UTF-8)")
        return None
    except OSError as error:
        problems.append(f"{path}:1: cannot be read ({error.strerror or error})")
        return None
    try:
        root = yaml.compose(text, Loader=YAML_LOADER)
    except (yaml.YAMLError, RecursionError) as error:  # RecursionError: nested too deep to compose
        mark = getattr(error, "problem_mark", None)
        # libyaml marks a file left open at its end ("id: [unclosed") on the line after the last
        line = min(mark.line + 1, len(text.splitlines()) or 1) if mark else 1
        problems.append(f"{path}:{line}: not valid YAML ({getattr(error, 'problem', error)})")
        return None
    if root is None or not isinstance(root, yaml.MappingNode):
        problems.append(f"{path}:1: a topic file must be a mapping with id, title, tier, phrases and resources")
        return None
    alias_line = _alias_line(root)
    if alias_line is not None:
        problems.append(f"{path}:{alias_line}: anchors and aliases (& and *) are not allowed in topic files; "
                        "write the words out")
        return None
    node = _Node(root)
    return {k: v[0] for k, v in node.value.items()}, {k: v[1] for k, v in node.value.items()}


def _alias_line(root: yaml.Node) -> int | None:
    """The line of a node met twice (an alias): a file that refers to itself would never finish reading, and nine
    aliases of nine would build billions of values; each node is visited once here, so this is linear."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return node.start_mark.line + 1
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend(item for pair in node.value for item in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return None


def _strings(node: _Node | None, where: str, key: str, problems: list[str]) -> list[tuple[str, int]]:
    if node is None:
        return []
    if not isinstance(node.value, list):
        problems.append(f"{where}:{node.line}: {key} must be a list")
        return []
    items = []
    for item in node.value:
        if isinstance(item.value, str) and item.value.strip():
            items.append((item.value, item.line))
        else:
            problems.append(f"{where}:{item.line}: each of {key} must be a non-empty piece of text")
    return items


def _word_lists(node: _Node | None, where: str, problems: list[str]) -> dict[str, list[str]]:
    if node is None:
        return {}
    if not isinstance(node.value, dict):
        problems.append(f"{where}:{node.line}: word_lists must be a mapping of names to lists of words")
        return {}
    lists = {}
    for name, (words_node, line) in node.value.items():
        words = [text for text, _ in _strings(words_node, where, f"word list {name!r}", problems)]
        problem = check_word_list(name, words)
        if problem is None:
            lists[name] = words
        else:
            problems.append(f"{where}:{line}: {problem}")
    return lists


def _resources(node: _Node | None, where: str, problems: list[str]) -> list[Resource]:
    if node is None:
        return []
    if not isinstance(node.value, list):
        problems.append(f"{where}:{node.line}: resources must be a list")
        return []
    resources = []
    for item in node.value:
        if not isinstance(item.value, dict):
            problems.append(f"{where}:{item.line}: each resource must be a mapping with a name and a way to contact")
            continue
        fields = {key: value[0] for key, value in item.value.items()}
        for key, (_, line) in item.value.items():
            if key not in RESOURCE_KEYS:
                known = ", ".join(sorted(RESOURCE_KEYS))
                problems.append(f"{where}:{line}: unknown resource key {key!r} (known: {known})")
        name = _text(fields.get("name"))
        if name is None:
            problems.append(f"{where}:{item.line}: resource needs a name")
        if not any(_text(fields.get(key)) for key in CONTACT_KEYS):
            problems.append(f"{where}:{item.line}: resource {name or '?'} needs a phone, text or url")
        url = _text(fields.get("url"))
        if url and not url.startswith("https://"):
            problems.append(f"{where}:{fields['url'].line}: url must start with https://")
        checked = fields.get("checked")
        if checked is not None and not isinstance(checked.value, str | dt.date):
            problems.append(f"{where}:{checked.line}: checked must be a date like 2026-11-25")
        elif checked is not None:
            try:
                dt.date.fromisoformat(str(checked.value))
            except ValueError:
                problems.append(f"{where}:{checked.line}: checked must be a date like 2026-11-25")
        resources.append(Resource(
            name=name or "?", phone=_text(fields.get("phone")), text=_text(fields.get("text")), url=url,
            hours=_text(fields.get("hours")), region=_text(fields.get("region")),
            notes=_text(fields.get("notes")), checked=str(checked.value) if checked else None,
        ))
    return resources


def load_kb(directories: tuple[Path, ...] | list[Path], *, matching: bool = True) -> KnowledgeBase:
    """Load every `*.yaml` in the folders, in order; later folders may add to earlier topics.

    matching=False leaves out what only matching needs, compiling patterns and loading word models (most of the
    time): its topics are the same, for a caller that only asks which there are (config's crisis-lines check), but
    its problems leave out those of patterns and models."""
    problems: list[str] = []
    topics: dict[str, Topic] = {}
    additions: list[tuple[str, str, int, list, list, dict, list, list]] = []
    files: dict[Path, float | None] = {}
    phrase_owner: dict[str, tuple[str, str]] = {}
    for directory in directories:
        if not directory.is_dir():
            what = "is a file, not a folder of topic files" if directory.exists() else "no such folder"
            problems.append(f"{directory}: {what}")
            continue
        for path in sorted(directory.glob("*.yaml")):
            files[path] = modified(path)
            parsed = _parse_file(path, problems)
            if parsed is None:
                continue
            fields, lines = parsed
            for key, line in lines.items():
                if key not in TOPIC_KEYS:
                    problems.append(f"{path}:{line}: unknown key {key!r} (known: {', '.join(sorted(TOPIC_KEYS))})")
            phrases = _strings(fields.get("phrases"), str(path), "phrases", problems)
            patterns = _strings(fields.get("patterns"), str(path), "patterns", problems)
            word_lists = _word_lists(fields.get("word_lists"), str(path), problems)
            exclusions = _strings(fields.get("exclusions"), str(path), "exclusions", problems)
            resources = _resources(fields.get("resources"), str(path), problems)
            target = _text(fields.get("add_to"))
            if target and "model" in fields:
                problems.append(f"{path}:{lines['model']}: a model belongs to the topic's own file, not an add_to")
            if target:
                additions.append((target, str(path), lines["add_to"], phrases, patterns, word_lists, exclusions,
                                  resources))
                continue
            topic_id, title, tier = (_text(fields.get(k)) for k in ("id", "title", "tier"))
            for key, value in (("id", topic_id), ("title", title), ("tier", tier)):
                if value is None:
                    problems.append(f"{path}:1: {key} is required")
            if tier is not None and tier not in TIERS:
                problems.append(f"{path}:{lines['tier']}: tier must be one of {', '.join(TIERS)}, not {tier!r}")
            if not phrases and not patterns:
                problems.append(f"{path}:1: a topic needs at least one phrase or pattern")
            if not resources and tier != "signal":
                problems.append(f"{path}:1: a topic needs at least one resource")
            if topic_id is None:
                continue
            if topic_id in topics:
                used_by = topics[topic_id].source
                problems.append(f"{path}:{lines['id']}: topic id {topic_id!r} is already used by {used_by}")
                continue
            topics[topic_id] = Topic(topic_id, title or topic_id, tier or "support", resources=resources,
                                     word_lists=word_lists, source=str(path),
                                     model=_model(fields.get("model"), path, files, problems) if matching else None)
            _add_phrases(topics[topic_id], phrases, exclusions, str(path), phrase_owner, problems)
            if matching:
                _add_patterns(topics[topic_id], patterns, str(path), phrase_owner, problems)
    for target, where, line, phrases, patterns, word_lists, exclusions, resources in additions:
        topic = topics.get(target)
        if topic is None:
            problems.append(f"{where}:{line}: add_to names no known topic {target!r}")
            continue
        topic.resources.extend(resources)
        _add_phrases(topic, phrases, exclusions, where, phrase_owner, problems)
        if matching:
            _add_patterns(topic, patterns, where, phrase_owner, problems, {**topic.word_lists, **word_lists})
    return KnowledgeBase(topics, problems, files)


def _model(node: _Node | None, path: Path, files: dict[Path, float | None],
           problems: list[str]) -> WordModel | None:
    """The topic's word model, from the file it names beside its YAML (watched for edits like the YAML)."""
    if node is None:
        return None
    name = _text(node)
    if name is None or Path(name).name != name:
        problems.append(f"{path}:{node.line}: model must name a file in the same folder, like crisis-model.json")
        return None
    model_path = path.parent / name
    files[model_path] = modified(model_path)  # watched even when broken or missing, so a fix is noticed
    try:
        return load_model(model_path)
    except ModelError as error:
        problems.append(f"{path}:{node.line}: model {name!r} {error}")
        return None


def modified(path: Path) -> float | None:
    """When the file was last changed; None once it is gone (a change too)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def has_crisis_lines(kb: KnowledgeBase) -> bool:
    """Bothy never runs without crisis lines: `bothy run` refuses, and `bothy kb check` fails, a KB without."""
    return any(topic.tier == "crisis" for topic in kb.topics.values())


def _add_phrases(topic: Topic, phrases: list[tuple[str, int]], exclusions: list[tuple[str, int]], where: str,
                 phrase_owner: dict[str, tuple[str, str]], problems: list[str]) -> None:
    excluded = [(text, normalise(text)) for text in [*topic.exclusions, *(e for e, _ in exclusions)]]
    for phrase, line in phrases:
        key = normalise(phrase).strip()
        if not key:
            problems.append(f"{where}:{line}: phrase {phrase!r} has no letters or digits left to match")
            continue
        blocking = next((text for text, excluded_key in excluded if excluded_key in f" {key} "), None)
        if blocking is not None:
            problems.append(f"{where}:{line}: phrase {phrase!r} can never match: its topic excludes {blocking!r}")
            continue
        owner = phrase_owner.get(key)
        if owner is not None:
            problems.append(f"{where}:{line}: phrase {phrase!r} is also in topic {owner[0]!r} ({owner[1]})")
            continue
        phrase_owner[key] = (topic.id, f"{where}:{line}")
        topic.phrases.append(phrase)
    for exclusion, line in exclusions:
        if not normalise(exclusion).strip():
            problems.append(f"{where}:{line}: exclusion {exclusion!r} has no letters or digits left to match")
            continue
        topic.exclusions.append(exclusion)


def _add_patterns(topic: Topic, patterns: list[tuple[str, int]], where: str, owner: dict[str, tuple[str, str]],
                  problems: list[str], word_lists: dict[str, list[str]] | None = None) -> None:
    """Compile each pattern, with the file's word lists (an addition's and its topic's); a problem names the file
    and line, as for phrases."""
    for text, line in patterns:
        try:
            pattern = compile_pattern(text, topic.word_lists if word_lists is None else word_lists)
        except PatternError as error:
            problems.append(f"{where}:{line}: pattern {text!r}: {error}")
            continue
        key = "pattern " + " ".join(text.split())
        if key in owner:
            problems.append(f"{where}:{line}: pattern {text!r} is also in topic {owner[key][0]!r} ({owner[key][1]})")
            continue
        owner[key] = (topic.id, f"{where}:{line}")
        topic.patterns.append(pattern)
