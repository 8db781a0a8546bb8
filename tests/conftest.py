"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
an app on it with a controllable clock, and a conversation driver."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App, open_app
from bot.config import Settings
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.telegram import TelegramTransport
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
        tables = ", ".join([*(f'"{t.name}"' for t in Base.metadata.sorted_tables), "dir_search"])
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
        flood_burst=10_000,  # tests talk faster than people; flooding has its own test
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


# --- Matrix: a real Synapse for the whole session ---------------------------------------------
@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.synapse import Synapse, SynapseUnavailable

    try:
        server = Synapse(tmp_path_factory.mktemp("synapse")).start()
    except SynapseUnavailable as exc:
        if os.environ.get("LOTSE_REQUIRE_SYNAPSE"):  # CI: a skipped Matrix suite is a failure
            pytest.fail(f"Synapse is required but not available: {exc}")
        pytest.skip(f"Synapse is not available here: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def matrix_settings(synapse, tmp_path: Path, sqlite_template: Path) -> Settings:  # type: ignore[no-untyped-def]
    """Matrix tests run on SQLite only: they test the transport, not the database."""
    path = tmp_path / "matrix.sqlite3"
    shutil.copy(sqlite_template, path)
    bot = synapse.register(f"lotse{len(synapse.passwords)}")
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{path}",
        network_name="Netzwerk Wiesenfeld",
        flood_burst=10_000,
        matrix_homeserver=synapse.url,
        matrix_user_id=bot,
        matrix_password=synapse.passwords[bot],
    )


async def start_matrix(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.transports.matrix import MatrixTransport

    app = await open_app(settings, migrate=False)
    transport = MatrixTransport(app, sync_timeout_ms=1000)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    await asyncio.wait_for(transport.ready.wait(), 60)

    async def shutdown() -> None:
        stop.set()
        await asyncio.wait_for(task, 30)
        await app.close()

    return transport, shutdown


@pytest.fixture
async def matrix_bot(matrix_settings: Settings):  # type: ignore[no-untyped-def]
    transport, shutdown = await start_matrix(matrix_settings)
    try:
        yield transport
    finally:
        await shutdown()


# --- the shared conversation suite runs on every transport ------------------------------------
def _sqlite_settings(tmp_path: Path, template: Path) -> Settings:
    path = tmp_path / "shared.sqlite3"
    shutil.copy(template, path)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{path}",
        network_name="Netzwerk Wiesenfeld",
        flood_burst=10_000,
    )


@pytest.fixture(params=["fake", "telegram", "matrix"])
async def driver(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path):  # type: ignore[no-untyped-def]
    """The same people, the same conversation, on each transport (SQLite underneath)."""
    from tests.drivers import FakeDriver, MatrixDriver, TelegramDriver

    if request.param == "fake":
        app = await open_app(_sqlite_settings(tmp_path, sqlite_template), migrate=False)
        try:
            yield FakeDriver(Conversation(app))
        finally:
            await app.close()
    elif request.param == "telegram":
        server = await FakeBotAPI().start()
        settings = dataclasses.replace(
            _sqlite_settings(tmp_path, sqlite_template),
            telegram_token=server.token,
            telegram_api_url=server.url,
        )
        app = await open_app(settings, migrate=False)
        transport = TelegramTransport(app, poll_timeout=1)
        stop = asyncio.Event()
        task = asyncio.create_task(transport.run(stop))
        try:
            await server.wait_for(lambda: transport.application.running)
            yield TelegramDriver(server, app)
        finally:
            stop.set()
            await asyncio.wait_for(task, 20)
            await app.close()
            await server.stop()
        assert server.violations == []
    else:
        synapse = request.getfixturevalue("synapse")
        settings = request.getfixturevalue("matrix_settings")
        bot, shutdown = await start_matrix(settings)
        matrix = MatrixDriver(synapse, bot, tmp_path / "people")
        try:
            yield matrix
        finally:
            await matrix.close()
            await shutdown()


# --- Telegram: the fake Bot API server and a running transport ---------------------------------
@pytest.fixture
async def bot_api() -> AsyncIterator[FakeBotAPI]:
    server = await FakeBotAPI().start()
    try:
        yield server
    finally:
        await server.stop()
    assert server.violations == [], server.violations


@pytest.fixture
def telegram_settings(settings: Settings, bot_api: FakeBotAPI) -> Settings:
    return dataclasses.replace(
        settings,
        telegram_token=bot_api.token,
        telegram_api_url=bot_api.url,
        coordinators=frozenset({("telegram", "900")}),
    )


@pytest.fixture
async def telegram(telegram_settings: Settings) -> AsyncIterator[TelegramTransport]:
    """Lotse on Telegram, long polling the fake server (real python-telegram-bot, real HTTP)."""
    app: App = await open_app(telegram_settings, migrate=False)
    transport = TelegramTransport(app, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        for _ in range(200):
            if transport.application.running and transport.username:
                break
            await asyncio.sleep(0.02)
        yield transport
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await app.close()
