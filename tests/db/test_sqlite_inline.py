"""SQLite in the event loop's thread: a write that finds the database locked waits for the
holder without stopping the loop that the holder needs in order to finish."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db import sqlite_inline
from db.session import create_engine, create_session_factory


async def _table(path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return engine


async def test_a_locked_write_waits_while_the_loop_runs_on(tmp_path: Path) -> None:
    engine = await _table(tmp_path / "wait.sqlite3")
    sessions = create_session_factory(engine)
    events: list[str] = []
    ticks = 0

    async def holder() -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))  # takes the write lock
            events.append("holder wrote")
            await asyncio.sleep(0.3)  # e.g. a network call in the middle of a handler
            await session.commit()
            events.append("holder committed")

    async def waiter() -> None:
        await asyncio.sleep(0.05)
        async with sessions() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
            await session.commit()
            events.append("waiter committed")

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(20):
            await asyncio.sleep(0.01)
            ticks += 1

    await asyncio.wait_for(asyncio.gather(holder(), waiter(), ticker()), timeout=5)
    assert events == ["holder wrote", "holder committed", "waiter committed"]
    assert ticks == 20
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("SELECT count(*) FROM t")).scalar() == 2
    await engine.dispose()


async def test_a_lock_held_too_long_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.2)
    engine = await _table(tmp_path / "timeout.sqlite3")
    sessions = create_session_factory(engine)
    async with sessions() as holding:
        await holding.execute(text("INSERT INTO t VALUES (1)"))
        async with sessions() as waiting:
            with pytest.raises(OperationalError, match="locked"):
                await waiting.execute(text("INSERT INTO t VALUES (2)"))
        await holding.commit()
    await engine.dispose()
