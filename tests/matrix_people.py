"""People on Matrix for the tests: matrix-nio clients with encryption, like Element users."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomEncryptedFile,
    RoomMessageFile,
    RoomMessageNotice,
    RoomMessageText,
)

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@dataclass
class Received:
    room_id: str
    sender: str
    body: str
    formatted: str | None
    msgtype: str
    event_id: str = ""


@dataclass
class MatrixPerson:
    homeserver: str
    user_id: str
    password: str
    store: Path
    received: list[Received] = field(default_factory=list)
    undecrypted: int = 0

    def __post_init__(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            self.homeserver,
            self.user_id,
            store_path=str(self.store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True),
        )
        self.client.add_event_callback(
            self._on_message,
            (RoomMessageText, RoomMessageNotice, RoomMessageFile, RoomEncryptedFile, MegolmEvent),
        )
        self._task: asyncio.Task[None] | None = None

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        if isinstance(event, MegolmEvent):
            self.undecrypted += 1
            return
        if event.sender == self.user_id:
            return
        content = event.source.get("content", {})
        self.received.append(
            Received(
                room.room_id,
                event.sender,
                event.body,
                content.get("formatted_body"),
                content.get("msgtype", ""),
                event.event_id,
            )
        )

    async def start(self) -> MatrixPerson:
        response = await self.client.login(self.password, device_name=f"test-{self.user_id}")
        assert isinstance(response, LoginResponse), response
        await self.client.sync(timeout=0, full_state=True)
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self._task = asyncio.create_task(self.client.sync_forever(timeout=300, full_state=True))
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def create_room(
        self, invite: list[str], *, direct: bool, encrypted: bool = True, name: str | None = None
    ) -> str:
        response = await self.client.room_create(
            is_direct=direct,
            invite=invite,
            name=name,
            initial_state=[ENCRYPTION] if encrypted else [],
        )
        assert isinstance(response, RoomCreateResponse), response
        return response.room_id

    async def join(self, room_id: str) -> None:
        await self.client.join(room_id)

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            room = self.client.rooms.get(room_id)
            if room is not None and user_id in room.users:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{user_id} did not join {room_id}")

    async def say(self, room_id: str, text: str, *, reply_to: str | None = None) -> str:
        """Send a message (as a reply to `reply_to`, an event id); return its event id."""
        if self.client.should_query_keys:
            await self.client.keys_query()
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert hasattr(response, "event_id"), response
        return str(response.event_id)

    def from_bot(self, room_id: str, bot: str) -> list[Received]:
        return [r for r in self.received if r.room_id == room_id and r.sender == bot]

    async def wait_replies(
        self, room_id: str, bot: str, count: int, timeout: float = 30, quiet: float = 0.0
    ) -> list[Received]:
        """Wait until the bot has sent at least `count` messages to the room, then for a
        `quiet` moment in which nothing more arrives."""
        deadline = time.monotonic() + timeout
        while len(self.from_bot(room_id, bot)) < count:
            if time.monotonic() > deadline:
                bodies = [r.body for r in self.from_bot(room_id, bot)]
                raise AssertionError(f"expected {count} replies, got {bodies}")
            await asyncio.sleep(0.05)
        if quiet:
            seen = len(self.from_bot(room_id, bot))
            while True:
                await asyncio.sleep(quiet)
                now = len(self.from_bot(room_id, bot))
                if now == seen:
                    break
                seen = now
        return self.from_bot(room_id, bot)
