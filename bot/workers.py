"""How many `lotse run` processes share this database right now.

Telegram allows about 30 messages a second per bot, whichever process sends them. Each
process holds a *shared* PostgreSQL advisory lock on one key for as long as it lives (its own
connection, like `bot.leader`); the number of sessions holding it is the number of live
processes, and a process that dies drops out with its session. Each sender then takes its
share of the rate. On SQLite there is one process by design.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

#: The advisory-lock key every live process holds shared (beside bot.leader's keys).
WORKERS = 7_411_010

_HOLDERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND mode = 'ShareLock' AND classid = 0 AND objid = :key AND objsubid = 1"
)


def share(rate: int, processes: int) -> int:
    """This process's part of a rate shared by `processes` (never below 1 a second)."""
    return max(1, rate // max(1, processes))


class WorkerCount:
    """Counts the live processes every `every` seconds and reports changes to `on_change`.

    `ready` is set once the others have had one interval to notice this process: a sender
    that waits for it never sends at a share the others have not yet made room for.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        on_change: Callable[[int], None],
        *,
        every: float = 1.0,
    ) -> None:
        self.engine = engine
        self.on_change = on_change
        self.every = every
        self.count = 1
        self.ready = asyncio.Event()
        self._connection: AsyncConnection | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Be counted, and report the count whenever it changes, until `stop` is set."""
        if self.engine.dialect.name != "postgresql":
            self.ready.set()
            return
        looks = 0
        try:
            while not stop.is_set():
                try:
                    await self._look()
                except Exception as exc:  # the database is away: keep the last count
                    logger.warning("could not count the processes: %s", exc)
                    await self._forget_connection()
                looks += 1
                if looks >= 2:
                    self.ready.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)
        finally:
            self.ready.set()
            await self._forget_connection()

    async def _look(self) -> None:
        if self._connection is None:
            connection = await self.engine.connect()
            await connection.execute(
                text("SELECT pg_advisory_lock_shared(:key)"), {"key": WORKERS}
            )
            await connection.commit()
            self._connection = connection
        count = int(await self._connection.scalar(_HOLDERS, {"key": WORKERS}) or 1)
        await self._connection.commit()
        if count != self.count:
            logger.info("%s processes share this database", count)
            self.count = count
            self.on_change(count)

    async def _forget_connection(self) -> None:
        """Leave the count: unlock, as the connection goes back to the pool, not away."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.execute(
                    text("SELECT pg_advisory_unlock_shared(:key)"), {"key": WORKERS}
                )
                await self._connection.commit()
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = None
