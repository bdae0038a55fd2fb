"""The shipped knowledge base, loaded and compiled once per test session instead of in every test that needs it.

Loading referral_kb/ takes about a second and compiling its matcher most of another; some 300 tests read it (every
parsed config checks it for crisis lines, every referral bot builds one). The folder is read-only, and nothing
changes a loaded KnowledgeBase or Matcher once built, so one of each serves them all. Should its files change
during a session (someone editing them), the next caller gets them loaded afresh, as load_kb would.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bots.referral.kb import KnowledgeBase, load_kb, modified
from bots.referral.matcher import Matcher
from referral_kb import SHIPPED_KB


class _Shipped:
    """The shipped KB and its matcher, built on first use and again only if a file of it has changed."""

    def __init__(self) -> None:
        self._kb: KnowledgeBase | None = None
        self._stamps: dict[Path, float | None] = {}
        self._matcher: Matcher | None = None

    def kb(self) -> KnowledgeBase:
        if self._kb is None or self._changed():
            self._kb = load_kb((SHIPPED_KB,))
            self._stamps = dict(self._kb.files)  # a copy: what the files were when it was loaded
            self._matcher = None
        return self._kb

    def matcher(self) -> Matcher:
        kb = self.kb()
        if self._matcher is None:
            self._matcher = Matcher(kb)
        return self._matcher

    def _changed(self) -> bool:
        """A topic file added, edited or removed, or a word model it names edited or removed (as the bot checks)."""
        now = {path: modified(path) for path in SHIPPED_KB.glob("*.yaml")}
        now.update({path: modified(path) for path in self._stamps if path not in now})
        return now != self._stamps


SHIPPED = _Shipped()


def shipped_kb() -> KnowledgeBase:
    """The shipped knowledge base (shared: only read it)."""
    return SHIPPED.kb()


def shipped_matcher() -> Matcher:
    """The shipped knowledge base's matcher (shared: only read it)."""
    return SHIPPED.matcher()


def load_kb_once(directories: Iterable[Path], *, matching: bool = True) -> KnowledgeBase:
    """load_kb, with the shipped folder alone answered by the shared KB (its topics are the same with or without
    `matching`); any other folders are loaded as ever."""
    directories = tuple(directories)
    return shipped_kb() if directories == (SHIPPED_KB,) else load_kb(directories, matching=matching)


def matcher_once(kb: KnowledgeBase) -> Matcher:
    """Matcher(kb), with the shared KB answered by its shared matcher."""
    return shipped_matcher() if kb is SHIPPED.kb() else Matcher(kb)
