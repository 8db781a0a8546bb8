"""Only one process at a time: a PostgreSQL advisory lock, held on its own connection.

With several `lotse run` processes on one PostgreSQL, the scheduler, the Telegram long poll and
the Matrix sync must each run in exactly one of them. The lock belongs to a database session:
if its holder dies, PostgreSQL ends the session and frees the lock, and another process takes
over within a few seconds. On SQLite the lock is a file beside the database (`bot.file_lock`),
which the kernel frees when its process dies: two processes never lead at once there either.
A SQLite database in memory belongs to one process, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.file_lock import FileLock, sqlite_file

logger = logging.getLogger(__name__)

SCHEDULER = 7_411_001
TELEGRAM_POLLING = 7_411_002
MATRIX_SYNC = 7_411_003


class Leadership:
    def __init__(
        self,
        engine: AsyncEngine,
        key: int,
        name: str,
        *,
        retry: float = 2.0,
        heartbeat: float = 2.0,
    ) -> None:
        self.engine = engine
        self.key = key
        self.name = name
        self.retry = retry
        self.heartbeat = heartbeat
        self._connection: AsyncConnection | None = None
        database = sqlite_file(engine.url.render_as_string(hide_password=False))
        self._file_lock = (
            None
            if database is None
            else FileLock(
                database.with_name(f"{database.name}.leader-{key}.lock"), per_process=True
            )
        )

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process leads (True), or until `stop` is set (False)."""
        if self._file_lock is not None:
            return await self._acquire_file(self._file_lock, stop)
        if not self.shared:
            return True
        while not stop.is_set():
            connection = await self.engine.connect()
            try:
                got = await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                )
                await connection.commit()
            except Exception:
                await connection.close()
                raise
            if got:
                self._connection = connection
                logger.warning("%s: this process leads now", self.name)
                return True
            await connection.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.retry)
        return False

    async def _acquire_file(self, lock: FileLock, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            if lock.acquire():
                logger.warning("%s: this process leads now", self.name)
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.retry)
        return False

    async def watch(self, stop: asyncio.Event) -> None:
        """Return when `stop` is set or the lock's connection is lost."""
        if not self.shared or self._connection is None:
            await stop.wait()
            return
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.heartbeat)
            try:
                await self._connection.scalar(text("SELECT 1"))
                await self._connection.commit()
            except Exception:
                logger.warning("%s: lost the database session; leadership ends", self.name)
                return

    async def release(self) -> None:
        if self._file_lock is not None:
            self._file_lock.release()
        if self._connection is None:
            return
        with contextlib.suppress(Exception):
            await self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
            )
            await self._connection.commit()
        with contextlib.suppress(Exception):
            await self._connection.close()
        self._connection = None
