"""`lotse run`: every configured transport, their outbox senders and the scheduler, until
stopped by a signal."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.core.i18n import _, use_locale
from bot.file_lock import FileLock, sqlite_file

if TYPE_CHECKING:
    from bot.app import App

#: Exit status when another `lotse run` already serves this SQLite database.
ALREADY_RUNNING = 2

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


class AlreadyRunning(Exception):
    """Another `lotse run` holds this SQLite database."""


def lock_database(settings: Settings) -> FileLock | None:
    """On SQLite, one `lotse run` per database file: take the lock beside it.

    Two processes on one SQLite file would each send the outbox and each lead the scheduler;
    several processes need PostgreSQL. Returns None where no lock is needed (PostgreSQL, a
    database in memory); raises AlreadyRunning when another process holds it.
    """
    database = sqlite_file(settings.database_url)
    if database is None:
        return None
    lock = FileLock(database.with_name(f"{database.name}.run.lock"))
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
        taken = lock.acquire()
    except OSError:  # no folder to lock in: opening the database says why, in its words
        return None
    if not taken:
        raise AlreadyRunning(str(database))
    return lock


async def run_bot(settings: Settings) -> int:
    try:
        lock = lock_database(settings)
    except AlreadyRunning as exc:
        with use_locale(settings.default_language):
            line = _(
                "Lotse is already running on this database ({path}). Stop it first; "
                "several processes need PostgreSQL."
            ).format(path=exc)
        print(f"lotse: {line}", file=sys.stderr)
        return ALREADY_RUNNING
    try:
        return await _run_bot(settings)
    finally:
        if lock is not None:
            lock.release()


async def _run_bot(settings: Settings) -> int:
    from bot.app import open_app  # after the lock: a refused start says one line only

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
