"""Whether the process that made an outbox claim is still alive, on PostgreSQL.

Several `lotse run` processes may drain one PostgreSQL outbox. A claim names its process
(`process_owner`); without more, a claim left by a killed process waits for its lease to run out
(a minute) before anyone sends it. Each sender therefore holds a session-level advisory lock
named after its owner id on a connection of its own for as long as it runs. PostgreSQL frees
that lock when the session ends, which it does as soon as the process dies (its socket
closes). Another sender that can take the lock knows for certain that the owner is gone and
may free its claims at once; one that cannot leaves them to their lease.

A process that merely lost its connection looks gone too: its claims are taken over while it may
still be sending one part, which it then cannot record (its claim is no longer its own), so at
most that one part goes out twice — the same bound as a kill.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

#: The first half of the two-key advisory lock: keeps these apart from `bot.leader`'s keys.
NAMESPACE = 7412


def owner_key(owner: str) -> int:
    """A stable signed 32-bit key for an owner id (the second half of the advisory lock)."""
    return int.from_bytes(
        hashlib.blake2b(owner.encode(), digest_size=4).digest(), "big", signed=True
    )


class Presence:
    """This process's mark of life: an advisory lock held on its own connection."""

    def __init__(self, engine: AsyncEngine, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Presence:
        connection = await self.engine.connect()
        try:
            await connection.execute(
                text("SELECT pg_advisory_lock(:ns, :key)"),
                {"ns": NAMESPACE, "key": owner_key(self.owner)},
            )
            await connection.commit()
        except Exception:
            await connection.close()
            raise
        self._connection = connection
        return self

    async def __aexit__(self, *exc: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:  # the connection goes back to the pool, its session (and a lock in it) lives on
            await connection.execute(
                text("SELECT pg_advisory_unlock(:ns, :key)"),
                {"ns": NAMESPACE, "key": owner_key(self.owner)},
            )
            await connection.commit()
        except Exception:  # the session is broken: dropping the connection ends it
            await connection.invalidate()
        finally:
            await connection.close()


async def gone(engine: AsyncEngine, owners: list[str]) -> list[str]:
    """Those of `owners` whose process no longer holds its presence lock."""
    found: list[str] = []
    if not owners:
        return found
    async with engine.connect() as connection:
        for owner in owners:
            key = {"ns": NAMESPACE, "key": owner_key(owner)}
            got = await connection.scalar(text("SELECT pg_try_advisory_lock(:ns, :key)"), key)
            if got:
                await connection.scalar(text("SELECT pg_advisory_unlock(:ns, :key)"), key)
                found.append(owner)
        await connection.commit()
    return found
