"""The outbox: everything the bot sends that is not the direct reply to an update.

A message is stored in the same transaction as the change that caused it (a published need,
an approved organisation), then a sender per transport claims it with a lease, delivers it and
only then marks it sent. A crash before delivery lets the lease expire and the message is sent
by the next claim; nothing is lost, and a message is never claimed by two senders at once.

A message may take several platform calls (a file and its text, a long text in pieces). Each
part is recorded right after the platform accepted it (`parts_sent`), so a retry or a restart
continues with the next part and never repeats one. Each sender sends one part at a time and
records it before the next, so a kill -9 can repeat at most the one part in flight. Claims carry
the id of the process that made them; while it lives it renews their lease, and only claims
whose lease ran out (their process died or lost the database) are taken over by others; on
PostgreSQL a process that is certainly dead (`bot.core.presence`) loses its claims at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.presence import Presence, gone
from bot.core.types import Attachment, Format, OutgoingMessage, SentButton
from db.models import ChatRecord, OutboxMessage, OutboxStatus
from db.types import utcnow

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8


class DeliveryError(Exception):
    """Base for what a transport reports when a delivery did not happen."""


class RetryLater(DeliveryError):
    """Not now: the platform asked us to wait (Telegram 429 `retry_after`, Matrix
    `M_LIMIT_EXCEEDED`), or our own pacing has a later slot for this chat.

    A refusal by the platform `counts` as an attempt, so a message that is refused again and
    again ends as failed instead of looping; our own pacing (`counts=False`) never does.
    """

    def __init__(
        self, seconds: float, reason: str = "rate limited", *, counts: bool = True
    ) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.counts = counts


class TransientError(DeliveryError):
    """Network trouble or a 5xx: try again with backoff."""


class Unreachable(DeliveryError):
    """The bot was blocked or removed: stop sending to this chat."""


class PermanentFailure(DeliveryError):
    """The platform refused this message for good (e.g. 400); keep it for inspection."""


class Superseded(DeliveryError):
    """Our claim on the message ran out and another sender took it: leave it to them."""


class Parts:
    """How far a message that takes several platform calls got: parts before `sent` went out.

    A transport skips the parts already sent and wraps each platform call in `part()`, which
    records it as soon as the call returns. This plain version keeps count in memory (a direct
    reply that is not in the outbox); `ClaimedParts` records each part in the outbox row.
    """

    def __init__(self, sent: int = 0) -> None:
        self.sent = sent

    @asynccontextmanager
    async def part(self, total: int) -> AsyncIterator[None]:
        """Around one platform call; `total` is how many parts the whole message takes."""
        yield
        self.sent += 1


def to_payload(message: OutgoingMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": message.text,
        "buttons": [[[b.label, b.token, b.handle] for b in row] for row in message.buttons],
        "format": message.format.value,
        "rtl": message.rtl,
        "group": message.is_group,
    }
    if message.attachment is not None:
        payload["attachment"] = {
            "filename": message.attachment.filename,
            "mime_type": message.attachment.mime_type,
            "content": base64.b64encode(message.attachment.content).decode(),
        }
    return payload


def from_payload(
    chat_id: str, payload: dict[str, Any], outbox_id: int | None = None
) -> OutgoingMessage:
    attachment = None
    if payload.get("attachment"):
        a = payload["attachment"]
        attachment = Attachment(a["filename"], base64.b64decode(a["content"]), a["mime_type"])
    return OutgoingMessage(
        chat_id=chat_id,
        text=payload["text"],
        buttons=tuple(tuple(SentButton(*button) for button in row) for row in payload["buttons"]),
        format=Format(payload.get("format", "plain")),
        attachment=attachment,
        rtl=bool(payload.get("rtl")),
        outbox_id=outbox_id,
        is_group=bool(payload.get("group")),
    )


def enqueue(
    session: AsyncSession,
    platform: str,
    message: OutgoingMessage,
    *,
    person_id: int | None = None,
    not_before: datetime | None = None,
    broadcast_id: int | None = None,
    held: bool = False,
) -> OutboxMessage:
    """Store a message to send; `held` keeps it back until its person can be reached
    (see bot/core/reach.py)."""
    row = OutboxMessage(
        platform=platform,
        chat_id=message.chat_id,
        person_id=person_id,
        payload=to_payload(message),
        status=OutboxStatus.HELD if held else OutboxStatus.PENDING,
        not_before=not_before or utcnow(),
        broadcast_id=broadcast_id,
    )
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    platform: str
    chat_id: str
    attempts: int
    message: OutgoingMessage
    parts_sent: int = 0


async def claim(
    session: AsyncSession, platform: str, worker: str, now: datetime, limit: int = 50
) -> list[Claimed]:
    """Take up to `limit` due messages for this platform, oldest first, under a lease.

    On PostgreSQL the candidate rows are locked with SKIP LOCKED, so several processes can
    drain one outbox and each message goes to exactly one of them.
    """
    due = or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )
    candidates = (
        select(OutboxMessage.id)
        .where(OutboxMessage.platform == platform, due)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(await session.scalars(candidates))
    if not ids:
        return []
    rows = (
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), due)
            .values(
                status=OutboxStatus.SENDING,
                claimed_until=now + LEASE,
                claimed_by=worker,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.chat_id,
                OutboxMessage.payload,
                OutboxMessage.attempts,
                OutboxMessage.parts_sent,
            )
        )
    ).all()
    await session.commit()
    return sorted(
        (
            Claimed(
                row.id,
                platform,
                row.chat_id,
                row.attempts,
                from_payload(row.chat_id, row.payload, row.id),
                row.parts_sent or 0,
            )
            for row in rows
        ),
        key=lambda c: c.id,
    )


def _held(message_id: int, owner: str | None) -> Any:
    """The row is still claimed, and (when `owner` is given) by that sender."""
    held = and_(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.SENDING)
    return held if owner is None else and_(held, OutboxMessage.claimed_by == owner)


async def mark_sent(
    session: AsyncSession, message_id: int, now: datetime, *, owner: str | None = None
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(_held(message_id, owner))
        .values(status=OutboxStatus.SENT, sent_at=now, claimed_until=None, last_error=None)
    )
    await session.commit()


async def release(
    session: AsyncSession,
    message_id: int,
    not_before: datetime,
    error: str,
    *,
    count_attempt: bool = True,
    owner: str | None = None,
) -> None:
    """Put a message back in the queue for later (rate limit or transient failure)."""
    values: dict[str, Any] = {
        "status": OutboxStatus.PENDING,
        "not_before": not_before,
        "claimed_until": None,
        "last_error": error[:500],
    }
    if not count_attempt:
        values["attempts"] = OutboxMessage.attempts - 1
    await session.execute(update(OutboxMessage).where(_held(message_id, owner)).values(**values))
    await session.commit()


async def fail(
    session: AsyncSession, message_id: int, error: str, *, owner: str | None = None
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(_held(message_id, owner))
        .values(status=OutboxStatus.FAILED, claimed_until=None, last_error=error[:500])
    )
    await session.commit()


async def mark_unreachable(
    session: AsyncSession, platform: str, chat_id: str, now: datetime, error: str
) -> None:
    """The bot was blocked or kicked: note it on the chat and drop what is queued for it."""
    await session.execute(
        update(ChatRecord)
        .where(ChatRecord.platform == platform, ChatRecord.platform_chat_id == chat_id)
        .values(unreachable_at=now)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.platform == platform,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
        )
        .values(status=OutboxStatus.FAILED, claimed_until=None, last_error=error[:500])
    )
    await session.commit()


Deliver = Callable[[OutgoingMessage], Awaitable[None]]
DeliverInParts = Callable[[OutgoingMessage, Parts], Awaitable[None]]


def process_owner(worker: str) -> str:
    """An id for this sender in this process: claims name it, so no other process (even one
    configured with the same LOTSE_WORKER_ID) mistakes them for its own."""
    return f"{worker[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class ClaimedParts(Parts):
    """Parts of a claimed outbox message, each recorded in its row right after it went out.

    Only one part of the sender is between "sent" and "recorded" at any moment (the sender's
    gate), so a process killed at any instant leaves at most one part to be sent again. Before
    the first part, a claim older than a quarter lease is checked to be still ours: a process
    that stalled (a long database lock) must not send what another has taken over.
    """

    def __init__(self, sender: OutboxSender, item: Claimed, claimed_at: float) -> None:
        super().__init__(item.parts_sent)
        self.sender = sender
        self.item = item
        self.checked_at = claimed_at
        #: The last part's record marked the message sent: nothing more to write.
        self.finished = False

    @asynccontextmanager
    async def part(self, total: int) -> AsyncIterator[None]:
        sender = self.sender
        async with sender.gate:
            if time.monotonic() - self.checked_at > LEASE.total_seconds() / 4:
                if not await sender.renew([self.item.id]):
                    raise Superseded(f"outbox message {self.item.id} was taken over")
                self.checked_at = time.monotonic()
            yield
            self.sent += 1
            await self._record(total)

    async def _record(self, total: int) -> None:
        sender = self.sender
        now = sender.clock()
        values: dict[str, Any] = {"parts_sent": self.sent, "claimed_until": now + LEASE}
        if self.sent >= total:
            values.update(
                status=OutboxStatus.SENT, sent_at=now, claimed_until=None, last_error=None
            )
        async with sender.session_factory() as session:
            result = await session.execute(
                update(OutboxMessage).where(_held(self.item.id, sender.owner)).values(**values)
            )
            await session.commit()
        self.checked_at = time.monotonic()
        if not getattr(result, "rowcount", 1):
            raise Superseded(f"outbox message {self.item.id} was taken over")
        self.finished = self.sent >= total


def backoff(attempts: int, base: float = 2.0, cap: float = 300.0) -> float:
    return min(cap, base * 2 ** max(0, attempts - 1))


class OutboxSender:
    """Drains one platform's outbox through a transport's `deliver`.

    The transport raises RetryLater/TransientError/Unreachable/PermanentFailure; the sender
    turns those into re-queueing with the platform's wait, backoff, or giving up on a chat.
    Pacing within a platform's rate limits is the transport's `deliver` business. A transport
    that sends a message in several calls passes `in_parts=True` and gets a `Parts` to record
    each call with.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        platform: str,
        deliver: Deliver | DeliverInParts,
        *,
        worker: str = "main",
        clock: Callable[[], datetime] = utcnow,
        batch: int = 50,
        max_retry_after: float = 600.0,
        concurrency: int = 8,
        retry_base: float = 2.0,
        in_parts: bool = False,
    ) -> None:
        self.session_factory = session_factory
        self.platform = platform
        self.deliver = deliver
        self.in_parts = in_parts
        self.worker = worker
        self.owner = process_owner(worker)
        self.clock = clock
        self.batch = batch
        self.max_retry_after = max_retry_after
        self.concurrency = concurrency
        self.retry_base = retry_base
        #: One part between "sent" and "recorded" at a time: what a kill can repeat.
        self.gate = asyncio.Lock()
        self._working: set[int] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def drain_once(self) -> int:
        """Claim one batch and try each message once; return how many were handled.

        Chats are served concurrently (a slow or rate-limited chat does not hold up the
        others), each chat's messages in order.
        """
        async with self.session_factory() as session:
            claimed = await claim(session, self.platform, self.owner, self.clock(), self.batch)
        claimed_at = time.monotonic()
        self._working.update(item.id for item in claimed)
        by_chat: dict[str, list[Claimed]] = {}
        for item in claimed:
            by_chat.setdefault(item.chat_id, []).append(item)
        gate = asyncio.Semaphore(self.concurrency)

        async def serve(items: list[Claimed]) -> None:
            async with gate:
                try:
                    for item in items:
                        delivered = await self._deliver_one(item, claimed_at)
                        self._working.discard(item.id)
                        if not delivered:
                            break  # the chat is gone; mark_unreachable dropped the rest
                finally:
                    self._working.difference_update(item.id for item in items)

        await asyncio.gather(*(serve(items) for items in by_chat.values()))
        return len(claimed)

    async def drain(self) -> int:
        """Deliver everything that is due now (used by the terminal chat after each line)."""
        total = 0
        while handled := await self.drain_once():
            total += handled
        return total

    async def _deliver_one(self, item: Claimed, claimed_at: float | None = None) -> bool:
        """Try one message; False when its chat turned out to be unreachable."""
        owner = self.owner
        parts: ClaimedParts | None = None
        try:
            if self.in_parts:
                parts = ClaimedParts(
                    self, item, time.monotonic() if claimed_at is None else claimed_at
                )
                await cast(DeliverInParts, self.deliver)(item.message, parts)
            else:
                await cast(Deliver, self.deliver)(item.message)
        except Superseded as exc:
            logger.warning("%s", exc)
        except RetryLater as exc:
            wait = min(exc.seconds, self.max_retry_after)
            async with self.session_factory() as session:
                if exc.counts and item.attempts >= MAX_ATTEMPTS:
                    await fail(
                        session,
                        item.id,
                        f"gave up after {item.attempts} tries: {exc}",
                        owner=owner,
                    )
                else:
                    await release(
                        session,
                        item.id,
                        self.clock() + timedelta(seconds=wait),
                        str(exc),
                        count_attempt=exc.counts,
                        owner=owner,
                    )
        except Unreachable as exc:
            logger.info("chat %s on %s is unreachable: %s", item.chat_id, self.platform, exc)
            async with self.session_factory() as session:
                await mark_unreachable(
                    session, self.platform, item.chat_id, self.clock(), str(exc)
                )
            return False
        except PermanentFailure as exc:
            logger.warning("outbox message %s refused: %s", item.id, exc)
            async with self.session_factory() as session:
                await fail(session, item.id, str(exc), owner=owner)
        except Exception as exc:  # network errors, 5xx, anything unexpected: back off
            level = logging.INFO if isinstance(exc, TransientError) else logging.WARNING
            logger.log(
                level, "outbox message %s failed (attempt %s): %r", item.id, item.attempts, exc
            )
            async with self.session_factory() as session:
                if item.attempts >= MAX_ATTEMPTS:
                    await fail(
                        session,
                        item.id,
                        f"gave up after {item.attempts} tries: {exc!r}",
                        owner=owner,
                    )
                else:
                    await release(
                        session,
                        item.id,
                        self.clock() + timedelta(seconds=backoff(item.attempts, self.retry_base)),
                        repr(exc),
                        owner=owner,
                    )
        else:
            if parts is None or not parts.finished:
                async with self.session_factory() as session:
                    await mark_sent(session, item.id, self.clock(), owner=owner)
        return True

    async def renew(self, ids: list[int]) -> bool:
        """Extend our lease on these claims; False if any of them is no longer ours."""
        if not ids:
            return True
        async with self.session_factory() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.claimed_by == self.owner,
                )
                .values(claimed_until=self.clock() + LEASE)
            )
            await session.commit()
        return int(getattr(result, "rowcount", len(ids))) == len(ids)

    async def heartbeat(self, stop: asyncio.Event) -> None:
        """While this process lives, the claims it is still to work on keep their lease."""
        every = LEASE.total_seconds() / 4
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            try:
                await self.renew(sorted(self._working))
                if self._shared_engine() is not None and await self.recover():
                    self.wake()  # another process died: its messages are ours to send now
            except Exception as exc:  # the database is away: the lease may run out
                logger.warning("could not renew the outbox lease: %r", exc)

    async def recover(self) -> int:
        """Free claims left by a sender that died, where that is certain now.

        On SQLite one process sends (`lotse run` holds a lock beside the database file), so
        at start every claim still open was made by a process that is gone. On PostgreSQL
        other processes may be working on theirs: claims whose process no longer holds its
        presence lock (`bot.core.presence`) are freed; the rest are taken over only once their
        lease runs out, which `claim` does.
        """
        async with self.session_factory() as session:
            bind = session.bind
            whose = OutboxMessage.status == OutboxStatus.SENDING
            if bind is not None and bind.dialect.name != "sqlite":
                engine = self._shared_engine()
                if engine is None:
                    return 0
                owners = await session.scalars(
                    select(OutboxMessage.claimed_by)
                    .where(
                        OutboxMessage.platform == self.platform,
                        whose,
                        OutboxMessage.claimed_by != self.owner,
                    )
                    .distinct()
                )
                dead = await gone(engine, [o for o in owners if o])
                if not dead:
                    return 0
                whose = and_(whose, OutboxMessage.claimed_by.in_(dead))
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.platform == self.platform, whose)
                .values(
                    status=OutboxStatus.PENDING,
                    claimed_until=None,
                    attempts=OutboxMessage.attempts - 1,
                )
            )
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def next_due_in(self) -> float | None:
        """Seconds until the next queued message is due, if any is waiting."""
        async with self.session_factory() as session:
            when = await session.scalar(
                select(OutboxMessage.not_before)
                .where(
                    OutboxMessage.platform == self.platform,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .order_by(OutboxMessage.not_before)
                .limit(1)
            )
        if when is None:
            return None
        return max(0.0, (when - self.clock()).total_seconds())

    async def run(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Drain until `stop` is set; sleep until woken, the next due message, or `idle`."""
        async with contextlib.AsyncExitStack() as stack:
            engine = self._shared_engine()
            if engine is not None:
                await stack.enter_async_context(Presence(engine, self.owner))
            recovered = await self.recover()
            if recovered:
                logger.info(
                    "%s: %s messages claimed before a crash are queued again",
                    self.platform,
                    recovered,
                )
            beating = asyncio.create_task(self.heartbeat(stop), name=f"{self.platform}-lease")
            try:
                await self._run(stop, idle)
            finally:
                beating.cancel()
                await asyncio.gather(beating, return_exceptions=True)

    def _shared_engine(self) -> AsyncEngine | None:
        """The engine when several processes may share this outbox (PostgreSQL), else None."""
        bind = self.session_factory.kw.get("bind")
        if isinstance(bind, AsyncEngine) and bind.dialect.name == "postgresql":
            return bind
        return None

    async def _run(self, stop: asyncio.Event, idle: float) -> None:
        while not stop.is_set():
            # Cleared before looking, not after: a wake-up while we look must not be lost,
            # or a message queued in that moment would wait for the idle timeout.
            self._wake.clear()
            try:
                if await self.drain_once():
                    continue
                due = await self.next_due_in()
            except Exception:
                logger.exception("outbox sender for %s failed; retrying", self.platform)
                due = idle
            timeout = idle if due is None else min(idle, max(due, 0.05))
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            _done, pending = await asyncio.wait(
                waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()
