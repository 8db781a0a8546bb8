"""Lotse's cost per update on Telegram, next to a bare python-telegram-bot echo bot: both poll
the same fake Bot API server (in its own process) for the same updates, and the CPU time of
the bot's process is compared (target: at most 3x the bare bot).

    python -m bench.telegram_updates [--updates 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.population import populate
from bot.app import open_app
from bot.config import Settings
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.telegram import TelegramTransport


def _post(url: str, payload: object) -> None:
    request = urllib.request.Request(
        url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request).read()


def _sent(url: str) -> int:
    with urllib.request.urlopen(f"{url}/_count") as response:
        return int(json.load(response)["sent"])


def updates(count: int, offset: int) -> list[list[object]]:
    """Half /start of new people (the language question), half /needs of known volunteers
    (a page of five needs): one reply each, as for the echo bot."""
    return [
        [offset + i, "/start"] if i % 2 else [1 + (offset + i) % 20_000, "/needs"]
        for i in range(count)
    ]


async def run_until(url: str, count: int, expected_replies: int) -> tuple[float, float]:
    before = _sent(url)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    _post(f"{url}/_say", updates(count, 1_000_000 + before))
    while _sent(url) < before + expected_replies:
        await asyncio.sleep(0.2)  # (the bot's process pays for each look, so not too often)
    return time.process_time() - cpu0, time.perf_counter() - wall0


async def bare_bot(url: str, count: int) -> tuple[float, float]:
    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_text(update.message.text or "")

    application: Application = (
        ApplicationBuilder()
        .token(FakeBotAPI.token)
        .base_url(f"{url}/bot")
        .concurrent_updates(64)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(timeout=1)
    try:
        return await run_until(url, count, count)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


async def lotse_bot(url: str, count: int, database: str) -> tuple[float, float]:
    folder = Path(tempfile.mkdtemp(prefix="lotse-tg-"))
    settings = Settings(
        data_dir=folder,
        database_url=database,
        telegram_token=FakeBotAPI.token,
        telegram_api_url=url,
        flood_burst=10_000,
    )
    app = await open_app(settings)
    transport = TelegramTransport(app, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        while not transport.application.running:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        return await run_until(url, count, count)
    finally:
        stop.set()
        await task
        await app.close()


async def compare(count: int, database: str | None = None) -> dict[str, float]:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.testing.telegram_api", stdout=asyncio.subprocess.PIPE
    )
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().strip()
    try:
        if database is None:
            database = (
                f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lotse-tgdb-')}/bench.sqlite3"
            )
            await populate(database, platform="telegram")
        bare_cpu, _bare_wall = await bare_bot(url, count)
        lotse_cpu, lotse_wall = await lotse_bot(url, count, database)
    finally:
        server.kill()
        await server.wait()
    return {
        "updates": count,
        "bare_ms": bare_cpu / count * 1000,
        "lotse_ms": lotse_cpu / count * 1000,
        "ratio": lotse_cpu / bare_cpu,
        "lotse_per_second": count / lotse_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=1000)
    args = parser.parse_args()
    result = asyncio.run(compare(args.updates))
    print(
        f"Per update: bare python-telegram-bot {result['bare_ms']:.2f} ms CPU, Lotse "
        f"{result['lotse_ms']:.2f} ms CPU: {result['ratio']:.1f}x (target ≤ 3x)"
    )


if __name__ == "__main__":
    main()
