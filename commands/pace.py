"""How fast one member may give commands. A person types a few a minute; a script or a stuck key sends hundreds,
and each would get a reply or write to the database. Over the pace the first command is told kindly to wait a
minute and the rest pass without an answer; their words are still read like any message, so crisis words count
whatever a message starts with. Peer workers and admins are not paced: their commands are their work; nor is
`!talk` (Command.always_answered), a way to reach a person that limits its own repeats. Held in memory only: a
restart forgets it, and nothing about a member is stored. Paced by when Bothy reads a command, not by the time its
event claims (which the sender's homeserver sets, to anything): after an outage one member's backlog of over 30
commands may be told to wait, which is rare and costs a minute."""

from __future__ import annotations

import enum
from collections import deque

COMMANDS_PER_WINDOW = 30  # one every two seconds for a minute: more than anyone types
WINDOW_MS = 60_000
MAX_MEMBERS_TRACKED = 10_000  # past this many, those quiet for a window are forgotten (see _forget_quiet)


class Pace(enum.Enum):
    GO = "go"
    SLOW_DOWN = "slow down"  # the first command over the pace in a window: told so
    QUIET = "quiet"  # the rest of them: told nothing more


class CommandPace:
    """Shared by every bot account's router, so a member is paced once, whichever bot answers."""

    def __init__(self, limit: int = COMMANDS_PER_WINDOW, window_ms: int = WINDOW_MS,
                 max_tracked: int = MAX_MEMBERS_TRACKED):
        self.limit = limit
        self.window_ms = window_ms
        self.max_tracked = max_tracked
        self._recent: dict[str, deque[tuple[int, str]]] = {}  # each member's latest commands run: when, which event
        self._told: dict[str, tuple[int, str]] = {}  # when each member was last told to slow down, and for which event

    def admit(self, sender: str, event_id: str, now_ms: int) -> Pace:
        """The same answer for the same event: one handled again after a failure (the homeserver away, the
        database busy) is not a command more."""
        recent = self._recent.get(sender)
        if recent is None:
            if len(self._recent) >= self.max_tracked:
                self._forget_quiet(now_ms)
            recent = self._recent[sender] = deque(maxlen=self.limit)
        if any(seen == event_id for _, seen in recent):
            return Pace.GO
        if recent and now_ms < recent[-1][0]:  # the clock was set back: what it counted would pace them for as long
            recent.clear()
            self._told.pop(sender, None)
        told_at, told_for = self._told.get(sender, (None, None))
        if told_for == event_id:
            return Pace.SLOW_DOWN  # told again: the first telling was lost with its event's failed handling
        if len(recent) == self.limit and now_ms - recent[0][0] < self.window_ms:
            if told_at is not None and now_ms - told_at < self.window_ms:
                return Pace.QUIET
            self._told[sender] = (now_ms, event_id)
            return Pace.SLOW_DOWN
        recent.append((now_ms, event_id))
        return Pace.GO

    def _forget_quiet(self, now_ms: int) -> None:
        """Forget those quiet for a window; if more than half are still active, everyone, and pace afresh. Either
        way at least half the room is made, so the scan runs once per max_tracked / 2 new members at most, not for
        every one of a crowd active at once (a reviewer's)."""
        since = now_ms - self.window_ms
        self._recent = {sender: recent for sender, recent in self._recent.items() if recent and recent[-1][0] >= since}
        self._told = {sender: told for sender, told in self._told.items() if told[0] >= since}
        if len(self._recent) > self.max_tracked // 2:
            self._recent.clear()
            self._told.clear()
