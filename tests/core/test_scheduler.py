"""The scheduler keeps its jobs in the bot's database and cleans up after itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

import apscheduler.executors.base
import apscheduler.schedulers.base
import pytest
from sqlalchemy import func, select

from bot import scheduler
from bot.app import App
from bot.core.buttons import TOKEN_TTL
from db.models import ButtonToken, OutboxMessage
from tests.support import Clock


@pytest.fixture
def scheduler_clock(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    """APScheduler asks `datetime.now()` when jobs are due and whether they are too late:
    it gets the test's clock, like the rest of the bot."""

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Pinned:
            moment = clock().astimezone(tz)
            return cls.combine(moment.date(), moment.timetz())

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", Pinned)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", Pinned)
    yield clock


async def test_a_job_due_while_the_bot_was_down_runs_after_the_restart(
    app: App, scheduler_clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = scheduler_clock
    clock.now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 04:00 in Berlin
    async with app.session_factory() as session:
        session.add(
            ButtonToken(
                token="stale",
                platform="fake",
                chat_id="a",
                action="x",
                created_at=clock() - TOKEN_TTL - timedelta(days=1),
            )
        )
        await session.commit()
    before = scheduler.create_scheduler(app)
    before.start(paused=True)
    scheduler.install_jobs(before, app.services.routes)
    before.shutdown(wait=False)  # the bot goes down; housekeeping is due at 04:17
    clock.now = datetime(2026, 11, 25, 3, 40, tzinfo=UTC)  # back at 04:40, within the grace
    monkeypatch.setattr(scheduler, "_app", app)
    after = scheduler.create_scheduler(app)  # a new process on the same database
    after.start(paused=True)
    scheduler.install_jobs(after, app.services.routes)
    job = after.get_job("housekeeping")
    assert job is not None and job.next_run_time == datetime(2026, 11, 25, 3, 17, tzinfo=UTC)
    after.resume()
    try:
        for _ in range(200):
            async with app.session_factory() as session:
                if await session.scalar(select(func.count()).select_from(ButtonToken)) == 0:
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("housekeeping did not run after the restart")
    finally:
        after.shutdown(wait=False)


async def test_jobs_are_stored_in_the_database_and_survive_a_restart(app: App) -> None:
    first = scheduler.create_scheduler(app)
    first.start(paused=True)
    scheduler.install_jobs(first, app.services.routes)
    first.shutdown(wait=False)
    second = scheduler.create_scheduler(app)
    second.start(paused=True)
    try:
        assert sorted(job.id for job in second.get_jobs()) == [
            "close_polls",
            "events_upkeep",
            "freshness_upkeep",
            "housekeeping",
            "needs_upkeep",
            "privacy_retention",
            "tickets_upkeep",
        ]
    finally:
        second.shutdown(wait=False)


async def test_housekeeping_forgets_old_tokens_and_sent_messages(app: App, clock: Clock) -> None:
    async with app.session_factory() as session:
        session.add(
            ButtonToken(
                token="old",
                platform="fake",
                chat_id="a",
                action="x",
                created_at=clock() - TOKEN_TTL - timedelta(days=1),
            )
        )
        session.add(
            ButtonToken(token="new", platform="fake", chat_id="a", action="x", created_at=clock())
        )
        session.add(
            OutboxMessage(
                platform="fake",
                chat_id="a",
                payload={},
                status="sent",
                sent_at=clock() - timedelta(days=40),
            )
        )
        session.add(OutboxMessage(platform="fake", chat_id="a", payload={}, status="pending"))
        await session.commit()
    stop = asyncio.Event()
    runner = asyncio.create_task(scheduler.run_scheduler(app, stop))
    await asyncio.sleep(0.1)
    try:
        await scheduler.housekeeping()
    finally:
        stop.set()
        await runner
    async with app.session_factory() as session:
        assert list(await session.scalars(select(ButtonToken.token))) == ["new"]
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
