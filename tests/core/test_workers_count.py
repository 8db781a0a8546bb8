"""Processes on one PostgreSQL count each other, so that each sends its share of Telegram's
30 messages a second."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.workers import WorkerCount, share
from db.session import create_engine


def test_each_process_sends_its_share() -> None:
    assert [share(30, n) for n in (1, 2, 3, 4, 40)] == [30, 15, 10, 7, 1]


async def test_a_process_that_starts_or_stops_changes_the_count(app: App) -> None:
    if app.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite there is one process by design")
    other_engine = create_engine(app.settings.database_url)
    seen: list[int] = []
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = WorkerCount(app.engine, seen.append, every=0.1)
    second = WorkerCount(other_engine, lambda n: None, every=0.1)
    tasks = [asyncio.create_task(first.run(first_stop))]
    await asyncio.wait_for(first.ready.wait(), 5)
    tasks.append(asyncio.create_task(second.run(second_stop)))
    try:
        await asyncio.wait_for(second.ready.wait(), 5)
        assert first.count == 2 and second.count == 2
        second_stop.set()
        await tasks[1]
        for _ in range(50):
            if first.count == 1:
                break
            await asyncio.sleep(0.1)
        assert seen == [2, 1]
    finally:
        first_stop.set()
        second_stop.set()
        await asyncio.gather(*tasks)
        await other_engine.dispose()


async def test_on_sqlite_the_sender_may_start_at_once(app: App) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    counter = WorkerCount(app.engine, lambda n: None)
    await counter.run(asyncio.Event())
    assert counter.ready.is_set() and counter.count == 1
