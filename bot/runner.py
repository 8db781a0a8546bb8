"""`lotse run`: every configured transport, their outbox senders and the scheduler, until
stopped by a signal."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import App, open_app
from bot.config import Settings

logger = logging.getLogger(__name__)


async def run_matrix(app: App, stop: asyncio.Event) -> None:
    """The Matrix device lives in one process: its keys cannot be shared between two."""
    from bot.leader import MATRIX_SYNC, Leadership
    from bot.transports.matrix import MatrixTransport

    leadership = Leadership(app.engine, MATRIX_SYNC, "matrix")
    if not await leadership.acquire(stop):
        return
    try:
        await MatrixTransport(app).run(stop)
    finally:
        await leadership.release()


async def run_bot(settings: Settings) -> int:
    app = await open_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks: list[asyncio.Task[None]] = []
    try:
        if settings.telegram_configured:
            from bot.transports.telegram import TelegramTransport

            telegram = TelegramTransport(app)
            tasks.append(asyncio.create_task(telegram.run(stop), name="telegram"))
        if settings.matrix_configured:
            tasks.append(asyncio.create_task(run_matrix(app, stop), name="matrix"))
        from bot.scheduler import run_scheduler

        tasks.append(asyncio.create_task(run_scheduler(app, stop), name="scheduler"))
        logger.info("Lotse is running (%s)", ", ".join(t.get_name() for t in tasks))
        done, _pending = await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task.get_name() != "scheduler" and not task.cancelled() and task.exception():
                logger.error("%s stopped: %r", task.get_name(), task.exception())
                return 1
        return 0
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.close()
