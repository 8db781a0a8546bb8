"""The outbox: queued with the change that caused it, delivered once, nothing lost."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.core.outbox import (
    LEASE,
    MAX_ATTEMPTS,
    OutboxSender,
    Parts,
    RetryLater,
    TransientError,
    Unreachable,
    claim,
    enqueue,
)
from bot.core.presence import Presence
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


async def test_pacing_waits_do_not_count_as_failed_attempts(app: App, clock: Clock) -> None:
    await queue(app, "busy")

    async def deliver(message: OutgoingMessage) -> None:
        raise RetryLater(1, "pacing", counts=False)

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    for _ in range(20):
        await sender.drain()
        clock.advance(seconds=2)
    assert await statuses(app) == [("busy", "pending")]


async def test_a_message_the_platform_keeps_refusing_ends_as_failed(
    app: App, clock: Clock
) -> None:
    """A 429 on every try must not loop forever: it counts, and the row says why it stopped."""
    await queue(app, "flooded")
    tries = 0

    async def deliver(message: OutgoingMessage) -> None:
        nonlocal tries
        tries += 1
        raise RetryLater(5, "Too Many Requests: retry after 5")

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    for _ in range(20):
        await sender.drain()
        clock.advance(seconds=6)
    assert await statuses(app) == [("flooded", "failed")]
    assert tries == MAX_ATTEMPTS
    async with app.session_factory() as session:
        error = await session.scalar(select(OutboxMessage.last_error))
    assert error is not None and "Too Many Requests" in error and "gave up" in error


async def test_parts_already_sent_are_never_sent_again(app: App, clock: Clock) -> None:
    """A file and two pieces of text: the second piece fails twice (a 429, then a network
    error); each retry continues with it, and the file and first piece go out once."""
    await queue(app, "anna")
    calls: list[str] = []
    refusals = [RetryLater(3, "Too Many Requests"), TransientError("connection reset")]

    async def deliver(message: OutgoingMessage, parts: Parts) -> None:
        names = ["file", "text 1", "text 2"]
        while parts.sent < len(names):
            async with parts.part(len(names)):
                name = names[parts.sent]
                calls.append(name)
                if name == "text 2" and refusals:
                    raise refusals.pop(0)

    sender = OutboxSender(
        app.session_factory, "fake", deliver, clock=clock, in_parts=True, retry_base=1
    )
    for _ in range(5):
        await sender.drain()
        clock.advance(seconds=5)
    assert calls == ["file", "text 1", "text 2", "text 2", "text 2"]
    assert await statuses(app) == [("anna", "sent")]
    async with app.session_factory() as session:
        assert await session.scalar(select(OutboxMessage.parts_sent)) == 3


async def test_a_claim_taken_over_by_another_sender_is_left_alone(app: App, clock: Clock) -> None:
    """A sender that stalled past its lease finds its claim taken and sends nothing more."""
    await queue(app, "ben")
    sent: list[str] = []
    stalled = OutboxSender(app.session_factory, "fake", lambda m: asyncio.sleep(0), clock=clock)
    async with app.session_factory() as session:
        (item,) = await claim(session, "fake", stalled.owner, clock())
    clock.advance(seconds=LEASE.total_seconds() + 1)  # e.g. a long database lock

    async def deliver(message: OutgoingMessage, parts: Parts) -> None:
        async with parts.part(1):
            sent.append(message.chat_id)

    other = OutboxSender(app.session_factory, "fake", deliver, clock=clock, in_parts=True)
    assert await other.drain() == 1
    stalled.deliver = deliver
    stalled.in_parts = True
    assert await stalled._deliver_one(item, claimed_at=0.0)  # an old claim: checked first
    assert sent == ["ben"]
    assert await statuses(app) == [("ben", "sent")]


async def test_repeated_failures_give_up_with_backoff(app: App, clock: Clock) -> None:
    await queue(app, "broken")

    async def deliver(message: OutgoingMessage) -> None:
        raise TransientError("timeout")

    sender = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    for _ in range(12):
        await sender.drain()
        clock.advance(seconds=timedelta(minutes=10).total_seconds())
    assert await statuses(app) == [("broken", "failed")]


async def test_on_postgresql_a_dead_senders_claims_are_freed_at_once_a_living_ones_kept(
    app: App, clock: Clock
) -> None:
    """Several processes share a PostgreSQL outbox: one that died (its presence lock is gone)
    leaves its claims to the others at once, without waiting a minute for their lease; one
    that lives keeps them."""
    if app.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite one process sends, and frees every claim when it starts")
    await queue(app, "a", "b")

    async def deliver(message: OutgoingMessage) -> None:
        raise AssertionError("not this one")

    living = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    dead = OutboxSender(app.session_factory, "fake", deliver, clock=clock)
    async with app.session_factory() as session:
        await claim(session, "fake", living.owner, clock(), limit=1)
    async with app.session_factory() as session:
        await claim(session, "fake", dead.owner, clock(), limit=1)
    async with Presence(app.engine, living.owner), Presence(app.engine, dead.owner):
        pass  # the dead one's process ends here; the living one's presence is taken again
    async with Presence(app.engine, living.owner):
        delivered: list[str] = []

        async def deliver_here(message: OutgoingMessage) -> None:
            delivered.append(message.chat_id)

        other = OutboxSender(app.session_factory, "fake", deliver_here, clock=clock)
        async with Presence(app.engine, other.owner):
            assert await other.recover() == 1
            assert await other.drain() == 1
    assert delivered == ["b"]
    assert await statuses(app) == [("a", "sending"), ("b", "sent")]
