"""The outbox: queued with the change that caused it, delivered once, nothing lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.core.outbox import (
    LEASE,
    OutboxSender,
    RetryLater,
    TransientError,
    Unreachable,
    claim,
    enqueue,
)
from bot.core.types import OutgoingMessage
from db.models import ChatRecord, OutboxMessage
from tests.support import Clock


async def queue(app: App, *chat_ids: str) -> None:
    async with app.session_factory() as session:
        for chat_id in chat_ids:
            enqueue(
                session,
                "fake",
                OutgoingMessage(chat_id, f"hello {chat_id}"),
                not_before=app.services.clock(),
            )
        await session.commit()


async def statuses(app: App) -> list[tuple[str, str]]:
    async with app.session_factory() as session:
        rows = await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.status).order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_each_message_is_delivered_once_in_order(app: App, clock: Clock) -> None:
    await queue(app, "a", "b", "c")
    delivered: list[str] = []

    async def deliver(message: OutgoingMessage) -> None:
        delivered.append(message.text)

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    assert await sender.drain() == 3
    assert await sender.drain() == 0
    assert delivered == ["hello a", "hello b", "hello c"]
    assert await statuses(app) == [("a", "sent"), ("b", "sent"), ("c", "sent")]


async def test_a_crash_after_claiming_loses_nothing(app: App, clock: Clock) -> None:
    """A sender claims and dies before delivering: after the lease the next one sends it."""
    await queue(app, "a")
    async with app.session_factory() as session:
        assert len(await claim(session, "fake", "dead-worker", clock())) == 1
    delivered: list[str] = []

    async def deliver(message: OutgoingMessage) -> None:
        delivered.append(message.chat_id)

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    assert await sender.drain() == 0  # still leased by the dead worker: not sent twice
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await sender.drain() == 1
    assert delivered == ["a"]


async def test_rate_limits_and_errors_requeue(app: App, clock: Clock) -> None:
    await queue(app, "slow", "flaky", "gone")
    calls: dict[str, int] = {}

    async def deliver(message: OutgoingMessage) -> None:
        calls[message.chat_id] = calls.get(message.chat_id, 0) + 1
        if message.chat_id == "slow" and calls["slow"] == 1:
            raise RetryLater(30)
        if message.chat_id == "flaky" and calls["flaky"] == 1:
            raise TransientError("502 Bad Gateway")
        if message.chat_id == "gone":
            raise Unreachable("Forbidden: bot was blocked by the user")

    async with app.session_factory() as session:
        session.add(ChatRecord(platform="fake", platform_chat_id="gone", kind="private"))
        await session.commit()
    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    await sender.drain()
    assert await statuses(app) == [("slow", "pending"), ("flaky", "pending"), ("gone", "failed")]
    clock.advance(seconds=31)
    await sender.drain()
    assert await statuses(app) == [("slow", "sent"), ("flaky", "sent"), ("gone", "failed")]
    async with app.session_factory() as session:
        gone = await session.scalar(
            select(ChatRecord).where(ChatRecord.platform_chat_id == "gone")
        )
        assert gone is not None and gone.unreachable_at is not None
    assert calls == {"slow": 2, "flaky": 2, "gone": 1}


async def test_rate_limit_waits_do_not_count_as_failed_attempts(app: App, clock: Clock) -> None:
    await queue(app, "busy")

    async def deliver(message: OutgoingMessage) -> None:
        raise RetryLater(1)

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    for _ in range(20):
        await sender.drain()
        clock.advance(seconds=2)
    assert await statuses(app) == [("busy", "pending")]


async def test_repeated_failures_give_up_with_backoff(app: App, clock: Clock) -> None:
    await queue(app, "broken")

    async def deliver(message: OutgoingMessage) -> None:
        raise TransientError("timeout")

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    for _ in range(12):
        await sender.drain()
        clock.advance(seconds=timedelta(minutes=10).total_seconds())
    assert await statuses(app) == [("broken", "failed")]
