"""Per-member facts (and a few per room) that one bot offers the others, without the engine knowing what they are.

A bot that knows something about a member worth tailoring other bots' messages to (say, a setting the
member chose today) registers a provider under a key it declares; another bot asks for that key. The
keys live in the bots' own folders (`bots/facts.py`), so the engine never names a feature, and neither
bot imports the other: a consumer whose provider is not installed simply gets None.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

FactProvider = Callable[[str], Awaitable[str | None]]  # user (or room) ID -> the fact, or None when there is none


class MemberFacts:
    def __init__(self) -> None:
        self._providers: dict[str, FactProvider] = {}

    def provide(self, key: str, provider: FactProvider) -> None:
        if key in self._providers:
            raise ValueError(f"two bots provide the member fact {key!r}")
        self._providers[key] = provider

    async def get(self, key: str, user_id: str) -> str | None:
        """The fact, or None when nobody provides it or it is not known for this member. Call it outside a
        unit of work's transaction: providers read the database."""
        provider = self._providers.get(key)
        return await provider(user_id) if provider is not None else None
