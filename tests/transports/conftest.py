"""Fixtures for transport tests: the fake Bot API server and a running Telegram transport."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from bot.app import App, open_app
from bot.config import Settings
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.telegram import TelegramTransport


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
