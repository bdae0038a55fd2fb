"""A real Matrix member for the end-to-end tests: matrix-nio with E2EE, syncing in the background,
collecting what it receives so tests can await messages instead of sleeping."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

WAIT_S = 30.0


@dataclass(frozen=True)
class Received:
    room_id: str
    event_id: str
    sender: str
    type: str
    content: dict[str, Any]

    @property
    def body(self) -> str:
        return self.content.get("body", "")

    @property
    def html(self) -> str:
        return self.content.get("formatted_body", "")


class Member:
    def __init__(self, homeserver: str, user_id: str, password: str, store_dir: Path):
        store_dir.mkdir(parents=True, exist_ok=True)
        self.user_id = user_id
        self.password = password
        self.client = nio.AsyncClient(
            homeserver, user_id, store_path=str(store_dir),
            config=nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False,
                                         pickle_key="test-member-pickle-key"),
        )
        self.received: list[Received] = []
        self.invites: list[str] = []
        self.joined: dict[str, set[str]] = {}
        self._changed = asyncio.Condition()
        self._sync_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in on a new device; what happened before (history, old invites) is not 'received'."""
        response = await self.client.login(self.password, device_name="e2e member")
        assert isinstance(response, nio.LoginResponse), response
        await self.client.sync(timeout=0, full_state=True)
        self.client.add_event_callback(self._on_event, nio.Event)
        self.client.add_event_callback(self._on_invite, nio.InviteMemberEvent)
        self._sync_task = asyncio.create_task(self.client.sync_forever(timeout=5000))

    async def stop(self) -> None:
        if self._sync_task:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
        await self.client.close()

    async def _on_event(self, room: nio.MatrixRoom, event: nio.Event) -> None:
        source = getattr(event, "source", {}) or {}
        if isinstance(event, nio.RoomMemberEvent):
            async with self._changed:
                members = self.joined.setdefault(room.room_id, set())
                (members.add if event.membership == "join" else members.discard)(event.state_key)
                self._changed.notify_all()
            return
        if source.get("type") not in {"m.room.message", "m.reaction"} or event.sender == self.user_id:
            return
        async with self._changed:
            self.received.append(Received(room.room_id, event.event_id, event.sender, source["type"],
                                          source.get("content", {})))
            self._changed.notify_all()

    async def _on_invite(self, room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            async with self._changed:
                self.invites.append(room.room_id)
                self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[Received], bool], after: int = 0,
                       timeout: float = WAIT_S) -> Received:
        """The first received message (from index `after`) that matches."""
        async def find() -> Received:
            async with self._changed:
                while True:
                    for item in self.received[after:]:
                        if predicate(item):
                            return item
                    await self._changed.wait()
        return await asyncio.wait_for(find(), timeout)

    def mark(self) -> int:
        return len(self.received)

    def messages_in(self, room_id: str, since: int = 0) -> list[Received]:
        return [r for r in self.received[since:] if r.room_id == room_id and r.type == "m.room.message"]

    async def wait_for_invite(self, timeout: float = WAIT_S, room_id: str | None = None) -> str:
        """The next invitation (or the one to `room_id`: a member shared across tests may hold older ones)."""
        async def find() -> str:
            async with self._changed:
                while not self.invites or (room_id is not None and room_id not in self.invites):
                    await self._changed.wait()
                return self.invites.pop(self.invites.index(room_id) if room_id is not None else 0)
        return await asyncio.wait_for(find(), timeout)

    async def accept_invite(self, timeout: float = WAIT_S, room_id: str | None = None) -> str:
        """Join the next room this member is invited to (a bot opening a DM), or `room_id`; return its ID."""
        room_id = await self.wait_for_invite(timeout, room_id)
        await self.join(room_id)
        return room_id

    async def open_dm(self, bot_user_id: str, encrypted: bool = True) -> str:
        """What Element does: an encrypted room flagged is_direct, inviting the bot; returns once it joined. (Not
        encrypted: what a plain client or a script may open.)"""
        response = await self.client.room_create(
            is_direct=True, invite=[bot_user_id], preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[{"type": "m.room.encryption", "state_key": "",
                            "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else [],
        )
        assert isinstance(response, nio.RoomCreateResponse), response
        await self.wait_joined(response.room_id, bot_user_id)
        return response.room_id

    async def create_room(self, invite: list[str], encrypted: bool = False, name: str = "group",
                          moderators: tuple[str, ...] = (), admins: tuple[str, ...] = ()) -> str:
        state = [{"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        # Room version 12 gives creators power implicitly (and refuses them in this map).
        users = {**{m: 50 for m in moderators}, **{a: 100 for a in admins}}
        levels = {"users": users} if users else None
        response = await self.client.room_create(name=name, invite=invite, initial_state=state,
                                                 power_level_override=levels)
        assert isinstance(response, nio.RoomCreateResponse), response
        for user_id in invite:
            await self.wait_joined(response.room_id, user_id)
        return response.room_id

    async def wait_joined(self, room_id: str, user_id: str, timeout: float = WAIT_S) -> None:
        """Awaits the member event in this client's own sync stream."""
        async def joined() -> None:
            async with self._changed:
                while user_id not in self.joined.get(room_id, set()):
                    await self._changed.wait()
        await asyncio.wait_for(joined(), timeout)

    async def wait_left(self, room_id: str, user_id: str, timeout: float = WAIT_S) -> None:
        """Awaits `user_id` leaving the room, in this client's own sync stream."""
        async def left() -> None:
            async with self._changed:
                while user_id in self.joined.get(room_id, set()):
                    await self._changed.wait()
        await asyncio.wait_for(left(), timeout)

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        assert isinstance(response, nio.JoinResponse), response
        await self.wait_joined(room_id, self.user_id)  # until this client has synced the room

    async def send(self, room_id: str, body: str, content: dict[str, Any] | None = None) -> str:
        content = content or {"msgtype": "m.text", "body": body}
        response = await self.client.room_send(room_id, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(response, nio.RoomSendResponse), response
        return response.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.client.room_send(room_id, "m.reaction", content, ignore_unverified_devices=True)
        assert isinstance(response, nio.RoomSendResponse), response
        return response.event_id

    async def redact(self, room_id: str, event_id: str) -> None:
        """Take an event back, as Element does when a reaction is clicked again."""
        response = await self.client.room_redact(room_id, event_id)
        assert isinstance(response, nio.RoomRedactResponse), response

    async def event_exists(self, room_id: str, event_id: str) -> bool:
        """False once the event is redacted (its content is gone)."""
        response = await self.client.room_get_event(room_id, event_id)
        if not isinstance(response, nio.RoomGetEventResponse):
            return False
        return bool(response.event.source.get("content"))
