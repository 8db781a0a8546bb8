"""The scheduler keeps its jobs in the bot's database and cleans up after itself."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot import scheduler
from bot.app import App
from bot.core.buttons import TOKEN_TTL
from db.models import ButtonToken, OutboxMessage
from tests.support import Clock


async def test_jobs_are_stored_in_the_database_and_survive_a_restart(app: App) -> None:
    first = scheduler.create_scheduler(app)
    scheduler.install_jobs(first)
    first.start(paused=True)
    first.shutdown(wait=False)
    second = scheduler.create_scheduler(app)
    second.start(paused=True)
    try:
        assert sorted(job.id for job in second.get_jobs()) == [
            "close_polls",
            "events_upkeep",
            "housekeeping",
            "needs_upkeep",
            "privacy_retention",
            "referral_upkeep",
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
