"""Matrix through matrix-nio, with end-to-end encryption (vodozemac).

The bot keeps its device: after the first password login the device id and access token are
written to the data directory, and the crypto store lives next to them, so a restart reuses
the same device and keys. It joins rooms it is invited to; a room with the bot and one person
is a private chat, a larger one a group (power level 50 or more counts as group admin).

Devices of the people it talks with are trusted on first use (TOFU): the first keys seen for a
device are accepted; a device whose keys later change is not trusted again silently.

The sync token is stored in the database after the events of a sync are handled: on the very
first start history is skipped, after a restart what arrived meanwhile is handled exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    InviteMemberEvent,
    JoinError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateResponse,
    RoomMemberEvent,
    RoomMessageText,
    RoomSendError,
    RoomSendResponse,
    SyncError,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)

from bot.app import App
from bot.core import reach
from bot.core.outbox import (
    OutboxSender,
    Parts,
    PermanentFailure,
    RetryLater,
    TransientError,
    Unreachable,
    enqueue,
)
from bot.core.types import (
    Actor,
    Capabilities,
    Chat,
    ChatKind,
    Incoming,
    OutgoingMessage,
    Reach,
)
from bot.transports.matrix_render import (
    OPTIONS_KEY,
    contact_html,
    options_of,
    render_html,
    render_plain,
    replied_event_id,
    without_reply_fallback,
)
from db.models import KeyValue
from db.types import utcnow

logger = logging.getLogger(__name__)

PLATFORM = "matrix"
#: Messages to a person need a direct room, found or made (bot/core/reach.py).
CAPABILITIES = Capabilities(
    inline_buttons=False, edits=False, native_polls=False, html=True, reach=Reach.ROOM
)
SYNC_TIMEOUT_MS = 30_000
MAX_BACKOFF = 60.0
MODERATOR = 50
#: How often, at most, the bot looks for people who need a direct room made.
REACH_INTERVAL = 5.0
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


class MatrixTransport:
    def __init__(
        self, app: App, *, sync_timeout_ms: int = SYNC_TIMEOUT_MS, worker: str | None = None
    ) -> None:
        settings = app.settings
        if not (settings.matrix_homeserver and settings.matrix_user_id):
            raise ValueError("MATRIX_HOMESERVER and MATRIX_USER_ID must be set")
        self.app = app
        self.user_id = settings.matrix_user_id
        self.folder = settings.data_dir / "matrix"
        self.store = self.folder / "store"
        self.credentials_file = self.folder / "credentials.json"
        self.sync_timeout_ms = sync_timeout_ms
        self.token_key = f"matrix:{self.user_id}:next_batch"
        self.client = AsyncClient(
            settings.matrix_homeserver,
            self.user_id,
            store_path=str(self.store),
            config=AsyncClientConfig(
                encryption_enabled=True,
                store_sync_tokens=False,
                max_limit_exceeded=0,
                max_timeouts=2,
            ),
        )
        self.sender = OutboxSender(
            app.session_factory,
            PLATFORM,
            self.deliver,
            worker=worker or app.settings.worker_id,
            clock=app.services.clock,
            in_parts=True,
        )
        self._paused_until = 0.0
        self.ready = asyncio.Event()
        self.backoff_start = 1.0
        self._undecryptable_told: set[str] = set()
        services = app.services
        services.capabilities[PLATFORM] = CAPABILITIES
        services.group_admin_checks[PLATFORM] = self.is_group_admin
        services.contact_builders[PLATFORM] = contact_html
        services.outbox_listeners.append(self.sender.wake)
        self._reach_wake = asyncio.Event()
        services.outbox_listeners.append(self._reach_wake.set)

    # --- login and device ---------------------------------------------------------------
    async def login(self) -> None:
        """Reuse the stored device; log in with the password only the first time."""
        settings = self.app.settings
        self.store.mkdir(parents=True, exist_ok=True)
        if self.credentials_file.is_file():
            saved = json.loads(self.credentials_file.read_text())
            if saved.get("user_id") == self.user_id:
                self.client.restore_login(self.user_id, saved["device_id"], saved["access_token"])
                logger.info("Matrix: reusing device %s", saved["device_id"])
                return
        if settings.matrix_access_token:
            self.client.access_token = settings.matrix_access_token
            whoami = await self.client.whoami()
            if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
                raise RuntimeError(f"MATRIX_ACCESS_TOKEN was not accepted: {whoami}")
            self.client.restore_login(self.user_id, whoami.device_id, settings.matrix_access_token)
            self._save_credentials(whoami.device_id, settings.matrix_access_token)
            return
        response = await self.client.login(settings.matrix_password or "", device_name="Lotse")
        if not isinstance(response, LoginResponse):
            raise RuntimeError(f"Matrix login failed: {response}")
        self._save_credentials(response.device_id, response.access_token)
        logger.info("Matrix: logged in as %s, new device %s", self.user_id, response.device_id)

    def _save_credentials(self, device_id: str, access_token: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.credentials_file
        path.write_text(
            json.dumps(
                {"user_id": self.user_id, "device_id": device_id, "access_token": access_token}
            )
        )
        os.chmod(path, 0o600)

    # --- the sync loop ---------------------------------------------------------------------
    async def _load_token(self) -> str | None:
        async with self.app.session_factory() as session:
            row = await session.get(KeyValue, self.token_key)
            return row.value if row else None

    async def _save_token(self, token: str) -> None:
        async with self.app.session_factory() as session:
            row = await session.get(KeyValue, self.token_key)
            if row is None:
                session.add(KeyValue(key=self.token_key, value=token, updated_at=utcnow()))
            else:
                row.value = token
            await session.commit()

    async def _keys(self) -> None:
        """Keep our keys uploaded and know the devices of everyone in our rooms."""
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        if self.client.should_query_keys:
            await self.client.keys_query()
        if self.client.should_claim_keys:
            await self.client.keys_claim(self.client.get_users_for_key_claiming())
        self._trust_on_first_use()

    def _trust_on_first_use(self) -> None:
        for user_id in self.client.device_store.users:
            if user_id == self.user_id:
                continue
            for device in self.client.device_store.active_user_devices(user_id):
                if not device.verified and not device.blacklisted:
                    self.client.verify_device(device)

    async def sync_once(self, since: str | None) -> str | None:
        """One sync: handle every event, then return the token to store."""
        first = since is None
        response = await self.client.sync(
            timeout=0 if first else self.sync_timeout_ms, since=since, full_state=first
        )
        if isinstance(response, SyncError):
            raise ConnectionError(f"sync failed: {response.message}")
        assert isinstance(response, SyncResponse)
        await self.client.send_to_device_messages()
        await self._keys()
        for room_id in response.rooms.invite:
            await self._join(room_id)
        if not first:  # the very first sync only learns where we are: no history
            await self._handle_sync(response)
            await self._memberships(response)
        for room_id in response.rooms.leave:
            await self._left(room_id)
        return response.next_batch

    async def _memberships(self, response: SyncResponse) -> None:
        """Direct rooms follow their members: the person joining the room made for them
        releases what was held; a third member makes it a group at once (nothing personal
        goes there any more), the person leaving ends it."""
        for room_id, info in response.rooms.join.items():
            events = [*info.state, *info.timeline.events]
            if not any(isinstance(e, RoomMemberEvent) for e in events):
                continue
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            others = [u for u in room.users if u != self.user_id]
            now = self.app.services.clock()
            async with self.app.session_factory() as session:
                if len(others) == 1 and others[0] not in room.invited_users:
                    changed = await reach.joined(session, PLATFORM, room_id, others[0], now)
                else:
                    changed = await reach.forget_room(
                        session, PLATFORM, room_id, now, group=len(others) > 1
                    )
                await session.commit()
            if changed:
                self.sender.wake()
                self._reach_wake.set()

    async def _join(self, room_id: str) -> None:
        result = await self.client.join(room_id)
        if isinstance(result, JoinError):
            logger.warning("could not join %s: %s", room_id, result.message)
        else:
            logger.info("joined %s", room_id)

    async def _handle_sync(self, response: SyncResponse) -> None:
        """Every event of the batch is handled, each behind its own guard, so one failure
        does not stop the others; a room's events in order, rooms in parallel."""

        async def room_in_order(room: MatrixRoom, events: list[Any]) -> None:
            for event in self.new_events(events):
                await self._guarded(room, event)

        rooms = [
            (self.client.rooms.get(room_id), info.timeline.events)
            for room_id, info in response.rooms.join.items()
        ]
        await asyncio.gather(
            *(room_in_order(room, events) for room, events in rooms if room is not None)
        )

    def new_events(self, events: list[Any]) -> list[Any]:
        """Events to answer: not our own, and not history from before we joined the room."""
        start = 0
        for index, event in enumerate(events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
                and event.prev_membership != "join"
            ):
                start = index + 1
        return [e for e in events[start:] if getattr(e, "sender", None) != self.user_id]

    async def _guarded(self, room: MatrixRoom, event: Any) -> None:
        try:
            await self._on_event(room, event)
        except Exception:
            logger.exception("handling a Matrix event in %s failed", room.room_id)

    async def _on_event(self, room: MatrixRoom, event: Any) -> None:
        if isinstance(event, MegolmEvent):
            await self._undecryptable(room, event)
            return
        if isinstance(event, InviteMemberEvent):
            return
        if not isinstance(event, RoomMessageText):
            return
        incoming = self.to_incoming(room, event)
        replied_to = replied_event_id(event)
        if incoming.command is None and replied_to is not None:
            options = await self._options_of(room.room_id, replied_to)
            if options:  # a reply to one of our messages with options answers that one
                incoming = dataclasses.replace(incoming, reply_options=options)
        if incoming.command is not None and incoming.reply_to_user is None:
            replied = replied_event_id(event)
            if replied is not None:  # e.g. /report as a reply: whom it is about
                author = await self._author_of(room.room_id, replied)
                if author is not None:
                    incoming = dataclasses.replace(
                        incoming,
                        reply_to_user=author,
                        reply_to_bot=author == self.user_id or incoming.reply_to_bot,
                    )
        handled = await self.app.dispatcher.handle(incoming)
        for message in handled.all_messages(incoming.chat.chat_id):
            await self.send_direct(message)

    async def _options_of(self, room_id: str, event_id: str) -> tuple[tuple[str, str], ...]:
        """The options of our message `event_id` (its `org.lotse.options`), decrypted where
        the room is encrypted; none if it is not ours or cannot be read."""
        try:
            response = await self.client.room_get_event(room_id, event_id)
        except Exception as exc:
            logger.info("could not look up a replied-to event: %s", exc)
            return ()
        if not isinstance(response, RoomGetEventResponse):
            return ()
        event = response.event
        if getattr(event, "sender", None) != self.user_id:
            return ()
        if isinstance(event, MegolmEvent):
            try:
                event = self.client.decrypt_event(event)
            except Exception as exc:  # no key for it (any more): answered as typed
                logger.info("could not decrypt a replied-to event: %s", exc)
                return ()
        content = (getattr(event, "source", None) or {}).get("content") or {}
        raw = content.get(OPTIONS_KEY)
        if not isinstance(raw, list):
            return ()
        return tuple(
            (str(item[0]), str(item[1]))
            for item in raw[:100]
            if isinstance(item, list) and len(item) == 2
        )

    async def _author_of(self, room_id: str, event_id: str) -> str | None:
        """Who wrote the message a command replies to. One request, made for commands only:
        the sender is not encrypted, so this works in encrypted rooms too."""
        try:
            response = await self.client.room_get_event(room_id, event_id)
        except Exception as exc:  # the command still works, just without the author
            logger.info("could not look up a replied-to event: %s", exc)
            return None
        if not isinstance(response, RoomGetEventResponse):
            return None
        sender = getattr(response.event, "sender", None)
        return sender if isinstance(sender, str) else None

    def to_incoming(self, room: MatrixRoom, event: RoomMessageText) -> Incoming:
        kind = ChatKind.PRIVATE if room.member_count <= 2 else ChatKind.GROUP
        text = event.body or ""
        if replied_event_id(event) is not None:
            text = without_reply_fallback(text)
        own_names = {self.user_id, room.user_name(self.user_id) or ""} - {""}
        mentioned = any(name and name in text for name in own_names)
        relates = (event.source.get("content") or {}).get("m.relates_to") or {}
        return Incoming(
            Actor(PLATFORM, event.sender, room.user_name(event.sender), None),
            Chat(
                PLATFORM, room.room_id, kind, room.display_name if kind == ChatKind.GROUP else None
            ),
            text=text,
            reply_to_bot=mentioned or "m.in_reply_to" in relates,
            raw=event,
        )

    async def _undecryptable(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """Ask for the key; tell the person once so a message is not silently lost."""
        try:
            await self.client.request_room_key(event)
        except Exception as exc:  # already requested, or no session to ask
            logger.debug("room key request: %s", exc)
        if event.session_id in self._undecryptable_told:
            return
        self._undecryptable_told.add(event.session_id)
        from bot.core.i18n import _, use_locale

        with use_locale(self.app.settings.default_language):
            text = _("I could not decrypt your last message. Please send it again.")
        await self.send_direct(OutgoingMessage(room.room_id, text))

    async def _left(self, room_id: str) -> None:
        incoming = Incoming(
            Actor(PLATFORM, self.user_id),
            Chat(PLATFORM, room_id, ChatKind.GROUP),
            event="bot_removed",
        )
        await self.app.dispatcher.handle(incoming)

    async def run(self, stop: asyncio.Event) -> None:
        await self.login()
        since = await self._load_token()
        sender: asyncio.Task[None] | None = None
        reacher: asyncio.Task[None] | None = None
        backoff = self.backoff_start
        try:
            while not stop.is_set():
                try:
                    sync = asyncio.create_task(self.sync_once(since))
                    stopper = asyncio.create_task(stop.wait())
                    await asyncio.wait([sync, stopper], return_when=asyncio.FIRST_COMPLETED)
                    stopper.cancel()
                    if not sync.done():
                        sync.cancel()
                        break
                    token = sync.result()
                    backoff = self.backoff_start
                except Exception as exc:
                    logger.warning("Matrix sync failed (%r); retrying in %.0fs", exc, backoff)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                if token and token != since:
                    await self._save_token(token)
                    since = token
                if not self.ready.is_set():
                    self.ready.set()
                    sender = asyncio.create_task(self.sender.run(stop), name="matrix-outbox")
                    reacher = asyncio.create_task(self.reach_loop(stop), name="matrix-reach")
        finally:
            if sender is not None:
                stop.set()
                await sender
            if reacher is not None:
                await reacher
            await self.client.close()

    # --- direct rooms ----------------------------------------------------------------------
    async def reach_loop(self, stop: asyncio.Event) -> None:
        """Make direct rooms for people with held messages, when woken or now and then."""
        while not stop.is_set():
            self._reach_wake.clear()
            try:
                await self.open_direct_rooms()
            except Exception:
                logger.exception("making direct rooms failed; retrying")
            waiters = [
                asyncio.create_task(self._reach_wake.wait()),
                asyncio.create_task(stop.wait()),
            ]
            _done, pending = await asyncio.wait(
                waiters, timeout=REACH_INTERVAL, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def open_direct_rooms(self) -> int:
        """For each person something is held for: find their direct room or make one."""
        async with self.app.session_factory() as session:
            wanted = await reach.wanted_rooms(session, PLATFORM)
        for person_id, user_id in wanted:
            found = self._shared_direct_room(user_id, await self._listed_direct_rooms(user_id))
            joined = found is not None and found[1]
            room_id = found[0] if found is not None else await self._make_direct_room(user_id)
            if room_id is None:
                continue
            now = self.app.services.clock()
            async with self.app.session_factory() as session:
                await reach.room_made(session, person_id, PLATFORM, room_id, now)
                if joined:
                    await reach.joined(session, PLATFORM, room_id, user_id, now)
                await session.commit()
            if joined:
                self.sender.wake()
        return len(wanted)

    async def _listed_direct_rooms(self, user_id: str) -> list[str]:
        """The rooms our `m.direct` account data lists for this person."""
        response = await self.client.list_direct_rooms()
        if not isinstance(response, DirectRoomsResponse):
            return []
        return list(response.rooms.get(user_id, []))

    def _shared_direct_room(self, user_id: str, listed: list[str]) -> tuple[str, bool] | None:
        """A room with only us and them (listed in m.direct first); and whether they joined."""
        rooms = [self.client.rooms[r] for r in listed if r in self.client.rooms]
        rooms += [r for r in self.client.rooms.values() if r.room_id not in listed]
        for room in rooms:
            if set(room.users) == {self.user_id, user_id}:
                return room.room_id, user_id not in room.invited_users
        return None

    def _prefers_encryption(self, user_id: str) -> bool:
        """Encrypted, unless every room we share with the person is not."""
        shared = [r for r in self.client.rooms.values() if user_id in r.users]
        return not shared or any(r.encrypted for r in shared)

    async def _make_direct_room(self, user_id: str) -> str | None:
        encrypted = self._prefers_encryption(user_id)
        response = await self.client.room_create(
            is_direct=True, invite=[user_id], initial_state=[ENCRYPTION] if encrypted else []
        )
        if not isinstance(response, RoomCreateResponse):
            logger.warning("could not make a direct room: %s", response)
            return None
        logger.info("made a direct room %s (encrypted: %s)", response.room_id, encrypted)
        await self._list_as_direct(user_id, response.room_id)
        return str(response.room_id)

    async def _list_as_direct(self, user_id: str, room_id: str) -> None:
        """Record the room in our `m.direct`, as Matrix clients do for direct chats."""
        response = await self.client.list_direct_rooms()
        rooms = dict(response.rooms) if isinstance(response, DirectRoomsResponse) else {}
        rooms[user_id] = [room_id, *(r for r in rooms.get(user_id, []) if r != room_id)]
        path = (
            f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
            f"?access_token={quote(self.client.access_token)}"
        )
        try:
            await self.client.send("PUT", path, json.dumps(rooms))
        except Exception as exc:  # the room works without; it is a courtesy to clients
            logger.info("could not update m.direct: %s", exc)

    # --- platform questions --------------------------------------------------------------
    async def is_group_admin(self, chat_id: str, user_id: str) -> bool:
        """A moderator (power level 50 or more), or a creator of a room version 12+ room,
        where creators outrank everyone without being listed in the power levels."""
        room = self.client.rooms.get(chat_id)
        if room is None:
            return False
        if room.power_levels.get_user_level(user_id) >= MODERATOR:
            return True
        return user_id in await self._privileged_creators(chat_id)

    async def _privileged_creators(self, room_id: str) -> set[str]:
        response = await self.client.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            return set()
        for event in response.events:
            if event.get("type") != "m.room.create":
                continue
            content = event.get("content") or {}
            version = str(content.get("room_version", "1"))
            if not version.isdecimal() or int(version) < 12:
                return set()
            return {event.get("sender", ""), *content.get("additional_creators", [])}
        return set()

    # --- messages out --------------------------------------------------------------------
    def _contents(
        self, room_id: str, message: OutgoingMessage
    ) -> list[Callable[[], Awaitable[dict[str, Any]]]]:
        """The events one message takes, built when sent: the file is uploaded only for the
        part that shows it, so a retry after the file went out does not upload it again."""
        contents: list[Callable[[], Awaitable[dict[str, Any]]]] = []
        if message.attachment is not None:
            contents.append(functools.partial(self._file_content, room_id, message))
        text: dict[str, Any] = {
            "msgtype": "m.notice",
            "body": render_plain(message),
            "format": "org.matrix.custom.html",
            "formatted_body": render_html(message),
        }
        if message.buttons:
            text[OPTIONS_KEY] = options_of(message)

        async def notice() -> dict[str, Any]:
            return text

        contents.append(notice)
        return contents

    async def _file_content(self, room_id: str, message: OutgoingMessage) -> dict[str, Any]:
        assert message.attachment is not None
        attachment = message.attachment
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        data = attachment.content
        response, keys = await self.client.upload(
            lambda *_: data,
            content_type=attachment.mime_type,
            filename=attachment.filename,
            encrypt=encrypt,
            filesize=len(data),
        )
        if not isinstance(response, UploadResponse):
            raise TransientError(f"upload failed: {response}")
        content: dict[str, Any] = {
            "msgtype": "m.image" if attachment.mime_type.startswith("image/") else "m.file",
            "body": attachment.filename,
            "info": {"mimetype": attachment.mime_type, "size": len(data)},
        }
        if encrypt and keys:
            content["file"] = {**keys, "url": response.content_uri}
        else:
            content["url"] = response.content_uri
        return content

    async def send(self, message: OutgoingMessage, parts: Parts | None = None) -> None:
        """Send to a room, each part not yet sent; raise the outbox's verdicts on failure.

        An outbox message's parts carry stable transaction ids, so if the homeserver accepted
        a part but we never learnt it (a timeout, a kill), sending it again is deduplicated.
        """
        room = self.client.rooms.get(message.chat_id)
        if message.outbox_id is not None and not message.is_group:
            others = [] if room is None else [u for u in room.users if u != self.user_id]
            if len(others) != 1:  # no longer a direct room: never post personal data there
                async with self.app.session_factory() as session:
                    held = await reach.forget_room(
                        session,
                        PLATFORM,
                        message.chat_id,
                        self.app.services.clock(),
                        group=len(others) > 1,
                    )
                    await session.commit()
                if held:  # the reach loop makes a new direct room for them
                    self._reach_wake.set()
                    raise RetryLater(
                        0, "not a direct room any more; held for a new one", counts=False
                    )
                if others:
                    raise PermanentFailure("the private chat has become a group")
        if room is None:
            raise Unreachable("not in this room")
        parts = parts or Parts()
        contents = self._contents(message.chat_id, message)
        if parts.sent >= len(contents):
            return
        await self._keys()
        while parts.sent < len(contents):
            paused = self._paused_until - time.monotonic()
            if paused > 0:  # the homeserver's limit is for the whole account
                raise RetryLater(paused, "rate limited", counts=False)
            content = await contents[parts.sent]()
            async with parts.part(len(contents)):
                await self._send_event(message, content, parts.sent)

    async def _send_event(
        self, message: OutgoingMessage, content: dict[str, Any], index: int
    ) -> None:
        tx_id = None if message.outbox_id is None else f"lotse.{message.outbox_id}.{index}"
        try:
            response = await self.client.room_send(
                message.chat_id,
                "m.room.message",
                content,
                tx_id=tx_id,
                ignore_unverified_devices=True,
            )
        except (TimeoutError, OSError) as exc:
            raise TransientError(repr(exc)) from exc
        if isinstance(response, RoomSendResponse):
            return
        assert isinstance(response, RoomSendError)
        code = response.status_code or ""
        if code == "M_LIMIT_EXCEEDED":
            seconds = (response.retry_after_ms or 1000) / 1000
            self._paused_until = time.monotonic() + seconds
            raise RetryLater(seconds, response.message)
        if code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN_TOKEN"):
            raise Unreachable(f"{code}: {response.message}")
        if code.startswith("M_"):
            raise PermanentFailure(f"{code}: {response.message}")
        raise TransientError(f"{code}: {response.message}")

    async def deliver(self, message: OutgoingMessage, parts: Parts | None = None) -> None:
        await self.send(message, parts)

    async def send_direct(self, message: OutgoingMessage) -> None:
        """A direct reply; if the homeserver asks us to wait, the outbox takes it over."""
        try:
            await self.send(message)
        except RetryLater:
            async with self.app.session_factory() as session:
                enqueue(session, PLATFORM, message)
                await session.commit()
            self.sender.wake()
        except (Unreachable, PermanentFailure, TransientError) as exc:
            logger.warning("reply to %s failed: %s", message.chat_id, exc)
