"""Webhook mode: Telegram posts updates to us, each with the secret token we set."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import httpx

from bot.app import open_app
from bot.config import Settings
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.telegram import TelegramTransport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def listening(port: int, timeout: float = 10.0) -> None:
    """Wait until the webhook server accepts connections on the port."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def test_webhook_accepts_only_requests_with_the_secret(
    telegram_settings: Settings, bot_api: FakeBotAPI
) -> None:
    port = free_port()
    settings = dataclasses.replace(
        telegram_settings,
        webhook_url=f"http://127.0.0.1:{port}/telegram/hook",
        webhook_listen="127.0.0.1",
        webhook_port=port,
        webhook_secret="s3cret-token",
    )
    app = await open_app(settings, migrate=False)
    transport = TelegramTransport(app)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        await bot_api.wait_for(lambda: bot_api.webhook is not None)
        assert bot_api.webhook is not None
        assert bot_api.webhook["secret_token"] == "s3cret-token"
        assert bot_api.webhook["url"] == f"http://127.0.0.1:{port}/telegram/hook"
        await listening(port)  # setWebhook may come a moment before the server listens
        update = bot_api.says(700, "/help")
        bot_api._updates.clear()  # delivered by webhook, not by getUpdates
        url = f"http://127.0.0.1:{port}/telegram/hook"
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, json=update)
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            assert (refused.status_code, wrong.status_code) == (403, 403)
            await asyncio.sleep(0.3)
            assert bot_api.sent_to(700) == []
            accepted = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-token"}
            )
            assert accepted.status_code == 200
        [reply] = await bot_api.wait_sent(700)
        assert "/help" in reply.text
        assert not any(m == "getUpdates" for m, _ in bot_api.requests)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await app.close()
