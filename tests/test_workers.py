"""Several `lotse run` processes on one PostgreSQL: every outbox message is sent by exactly one
of them, and only one runs the scheduler — another takes over when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import App
from bot.config import Settings
from bot.core.outbox import enqueue
from bot.core.types import OutgoingMessage
from bot.leader import SCHEDULER
from bot.testing.telegram_api import FakeBotAPI
from tests.support import max_per_second

pytestmark = pytest.mark.slow


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self, settings: Settings, bot_api: FakeBotAPI, folder: Path) -> Worker:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LOTSE_", "TELEGRAM_", "MATRIX_"))
        }
        env.update(
            {
                "LOTSE_DATABASE_URL": settings.database_url,
                "LOTSE_DATA_DIR": str(folder / self.name),
                "LOTSE_WORKER_ID": self.name,
                "TELEGRAM_BOT_TOKEN": bot_api.token,
                "TELEGRAM_API_URL": bot_api.url,
            }
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "lotse",
            "run",
            env=env,
            cwd=folder,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    def leads_scheduler(self) -> bool:
        return any("scheduler: this process leads now" in line for line in self.lines)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(sig)
            await asyncio.wait_for(self.process.wait(), 30)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)


async def lock_holders(app: App) -> int:
    async with app.engine.connect() as conn:
        return int(
            await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key "
                    "AND granted"
                ),
                {"key": SCHEDULER},
            )
            or 0
        )


async def test_two_workers_share_the_outbox_and_take_turns_with_the_scheduler(
    app: App, settings: Settings, bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("several workers need PostgreSQL")
    messages = [(30_000 + i, f"Rundbrief {i}") for i in range(2000)]
    async with app.session_factory() as session:
        for chat_id, body in messages:
            enqueue(session, "telegram", OutgoingMessage(str(chat_id), body))
        await session.commit()
    bot_api.enforce_limits = True  # Telegram's 30 a second is for both processes together
    first = await Worker("w1").start(settings, bot_api, tmp_path)
    second = await Worker("w2").start(settings, bot_api, tmp_path)
    try:
        await bot_api.wait_for(lambda: len(bot_api.sent) >= len(messages), timeout=180)
        await asyncio.sleep(1.0)
        sent = Counter((s.chat_id, s.text) for s in bot_api.sent)
        assert sent == Counter(messages), "lost or duplicated messages"
        assert bot_api.too_many == 0, "the two together went over Telegram's limit"
        assert max_per_second([s.at for s in bot_api.sent]) <= 30
        # both took part in sending, one leads the scheduler
        await bot_api.wait_for(lambda: first.leads_scheduler() or second.leads_scheduler())
        assert [first.leads_scheduler(), second.leads_scheduler()].count(True) == 1
        assert await lock_holders(app) == 1
        leader, other = (first, second) if first.leads_scheduler() else (second, first)
        started = asyncio.get_running_loop().time()
        await leader.stop(signal.SIGKILL)
        await bot_api.wait_for(other.leads_scheduler, timeout=20)
        assert asyncio.get_running_loop().time() - started < 15
        assert await lock_holders(app) == 1
    finally:
        await first.stop()
        await second.stop()
