"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
an app on it with a controllable clock, and a conversation driver."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App, open_app
from bot.config import Settings
from db.migrate import upgrade
from db.models import Base
from db.session import create_engine
from tests.support import Clock, Conversation

POSTGRES_URL = os.environ.get("LOTSE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the file (much faster than migrating again)."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await engine.dispose()

    asyncio.run(migrate())
    return path


_postgres_migrated = False


async def _fresh_postgres() -> str:
    global _postgres_migrated
    engine = create_engine(POSTGRES_URL)
    try:
        if not _postgres_migrated:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await upgrade(engine)
            _postgres_migrated = True
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await conn.execute(text("DROP TABLE IF EXISTS scheduler_jobs"))
    finally:
        await engine.dispose()
    return POSTGRES_URL


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    if request.param == "postgresql":
        return await _fresh_postgres()
    path = tmp_path / "lotse.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        default_language="de",
        timezone="Europe/Berlin",
        network_name="Netzwerk Wiesenfeld",
        coordinators=frozenset({("fake", "carla"), ("console", "carla")}),
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[App]:
    app = await open_app(settings, migrate=False, clock=clock)
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
def chat(app: App) -> Conversation:
    return Conversation(app)
