"""One bot offers a per-member fact; another asks for it by key, without either importing the other."""

import pytest

from bothy.facts import MemberFacts


async def test_a_fact_comes_from_its_provider_and_is_none_without_one():
    facts = MemberFacts()

    async def colour(user_id: str) -> str | None:
        return "green" if user_id == "@alice:x" else None

    assert await facts.get("colour", "@alice:x") is None
    facts.provide("colour", colour)
    assert await facts.get("colour", "@alice:x") == "green"
    assert await facts.get("colour", "@bob:x") is None
    with pytest.raises(ValueError):
        facts.provide("colour", colour)
