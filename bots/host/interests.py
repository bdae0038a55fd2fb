"""`!interests`: a member's private interest tags, and whether they would like invitations to new groups
that share one. Answered in the member's DM; nobody else sees the tags."""

from __future__ import annotations

import aiosqlite

from bothy.clock import Clock
from bots.host.storage import MAX_INTERESTS, InterestRepository
from bots.host.tags import Tags
from commands.framework import Choice, Command, CommandContext, Text, UsageError

MAX_TAGS_TEXT = 300


class InterestCommands:
    def __init__(self, bot: str, tags: Tags, repository: InterestRepository, clock: Clock):
        self.bot = bot
        self.tags = tags
        self.repository = repository
        self.clock = clock

    def commands(self) -> list[Command]:
        tags = (Text("tags", MAX_TAGS_TEXT),)
        return [
            Command("interests", self.bot, "your private interest tags, and whether you'd like group invitations",
                    self.show, private=True),
            Command("interests add", self.bot, "add interests, separated by commas", self.add, params=tags,
                    private=True),
            Command("interests remove", self.bot, "remove interests", self.remove, params=tags, private=True),
            Command("interests invites", self.bot, "whether I may invite you to new groups that share an interest",
                    self.invites, params=(Choice("setting", ("on", "off")),), private=True),
        ]

    async def show(self, ctx: CommandContext) -> None:
        tags, invites = await self.repository.of(ctx.sender)
        ctx.reply("interests_list", tags=tags, invites=invites)

    def _parse(self, text: str) -> list[str]:
        tags, odd = self.tags.parse_list(text)
        if not tags:
            raise UsageError("Please give interests as words, separated by commas, like: gardening, walking.")
        if odd:
            raise UsageError(f"I couldn't make {len(odd)} of those into an interest: please use letters and "
                             "numbers, separated by commas.")
        return tags

    async def add(self, ctx: CommandContext) -> None:
        wanted = self._parse(ctx.params["tags"])
        current, invites = await self.repository.of(ctx.sender)
        new = [tag for tag in wanted if tag not in current]
        if len(current) + len(new) > MAX_INTERESTS:
            raise UsageError(f"That would be more than {MAX_INTERESTS} interests: please remove some first.")
        now = self.clock.ms()

        async def write(db: aiosqlite.Connection) -> None:
            await InterestRepository.add(db, ctx.sender, new, now)

        ctx.effects.record(write)
        ctx.reply("interests_added", added=wanted, tags=sorted({*current, *new}), invites=invites)

    async def remove(self, ctx: CommandContext) -> None:
        wanted = self._parse(ctx.params["tags"])
        current, invites = await self.repository.of(ctx.sender)

        async def write(db: aiosqlite.Connection) -> None:
            await InterestRepository.remove(db, ctx.sender, wanted)

        ctx.effects.record(write)
        ctx.reply("interests_removed", removed=[tag for tag in wanted if tag in current],
                  tags=[tag for tag in current if tag not in wanted], invites=invites)

    async def invites(self, ctx: CommandContext) -> None:
        on = ctx.params["setting"] == "on"

        async def write(db: aiosqlite.Connection) -> None:
            await InterestRepository.set_invites(db, ctx.sender, on)

        ctx.effects.record(write)
        tags, _ = await self.repository.of(ctx.sender)
        ctx.reply("interests_invites", on=on, tags=tags)
