"""Per-person flood protection: a token bucket per (platform, user).

Someone who sends faster than a person types gets one polite "slow down" and the rest of the
flood is dropped before it touches the rest of the bot.

Two implementations of one interface (`FloodLimiter`):
- `RateLimiter` keeps the buckets in memory, in order of each sender's last message, so
  forgetting idle senders looks only at the oldest few: constant time per message however many
  people write (SQLite runs one process, so memory is the whole truth there).
- `SharedRateLimiter` keeps them in the `flood_buckets` table with one atomic upsert per
  message, so that several processes on PostgreSQL count the same flood once, not once each.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import Double, case, delete, func, literal
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from db.models import FloodBucket

logger = logging.getLogger(__name__)

Verdict = Literal["ok", "warn", "drop"]
#: The `verdict` column of `flood_buckets`, in order.
VERDICTS: tuple[Verdict, ...] = ("ok", "warn", "drop")


class FloodLimiter(Protocol):
    async def check(self, platform: str, user_id: str) -> Verdict:
        """ "ok", "warn" (first update over the limit: say so once) or "drop"."""
        ...


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float
    warned: bool = False


@dataclass
class RateLimiter:
    capacity: float = 12.0  # a burst of this many updates is fine
    refill_per_second: float = 0.5  # then one every two seconds
    clock: Callable[[], float] = time.monotonic
    #: Least recently heard sender first: an idle bucket is found at the front.
    _buckets: OrderedDict[tuple[str, str], Bucket] = field(default_factory=OrderedDict)

    async def check(self, platform: str, user_id: str) -> Verdict:
        return self.verdict(platform, user_id)

    def verdict(self, platform: str, user_id: str) -> Verdict:
        now = self.clock()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._prune(now)
            bucket = self._buckets[key] = Bucket(self.capacity, now)
        else:
            self._buckets.move_to_end(key)
        bucket.tokens = min(
            self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return "ok"
        if bucket.warned:
            return "drop"
        bucket.warned = True
        return "warn"

    @property
    def senders(self) -> int:
        """How many senders are counted now (idle ones are forgotten as others arrive)."""
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        """Forget senders whose bucket has refilled completely: it would act like a new one.

        The oldest are at the front, so this stops at the first sender still counted; each
        bucket is removed at most once after being added, so the cost per message is constant
        on average instead of a scan of every sender.
        """
        full = self.capacity / self.refill_per_second
        buckets = self._buckets
        while buckets:
            key, oldest = next(iter(buckets.items()))
            if now - oldest.updated <= full:
                return
            del buckets[key]


@dataclass
class SharedRateLimiter:
    engine: AsyncEngine
    capacity: float = 12.0
    refill_per_second: float = 0.5
    #: Wall-clock seconds: processes share it, unlike a monotonic clock.
    clock: Callable[[], float] = time.time
    prune_every: float = 60.0
    _next_prune: float = 0.0

    async def check(self, platform: str, user_id: str) -> Verdict:
        now = self.clock()
        try:
            async with self.engine.begin() as connection:
                verdict = (await connection.execute(self._upsert(platform, user_id, now))).scalar()
                if now >= self._next_prune:
                    self._next_prune = now + self.prune_every
                    full = self.capacity / self.refill_per_second
                    await connection.execute(
                        delete(FloodBucket).where(FloodBucket.updated < now - full)
                    )
        except SQLAlchemyError:
            # Rather let a flood through than lock everyone out while the database is away.
            logger.warning("flood limiter: the database did not answer; letting it through")
            return "ok"
        return VERDICTS[verdict or 0]

    def _upsert(self, platform: str, user_id: str, now: float) -> Executable:
        """One statement that refills, takes a token and tells ok / warn / drop, atomically
        (concurrent messages of one sender serialise on the row)."""
        table = FloodBucket
        postgresql = self.engine.dialect.name == "postgresql"
        insert = postgresql_insert if postgresql else sqlite_insert
        smaller = func.least if postgresql else func.min
        at = literal(now, Double)
        refilled = smaller(
            literal(self.capacity, Double),
            table.tokens + (at - table.updated) * literal(self.refill_per_second, Double),
        )
        return (
            insert(FloodBucket)
            .values(
                platform=platform,
                user_id=user_id,
                tokens=self.capacity - 1,
                updated=now,
                verdict=0,
            )
            .on_conflict_do_update(
                index_elements=[table.platform, table.user_id],
                set_={
                    "tokens": case((refilled >= 1, refilled - 1), else_=refilled),
                    "updated": at,
                    "verdict": case((refilled >= 1, 0), (table.verdict == 0, 1), else_=2),
                },
            )
            .returning(table.verdict)
        )


def limiter_for(engine: AsyncEngine, capacity: float) -> FloodLimiter:
    """Shared buckets where several processes may serve one bot (PostgreSQL), else memory."""
    if engine.dialect.name == "postgresql":
        return SharedRateLimiter(engine, capacity=capacity)
    return RateLimiter(capacity=capacity)
