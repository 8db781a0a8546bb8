"""The flood limiter with 100,000 senders: the cost it adds to each message.

In memory (one process, SQLite deployments): 100,000 senders write within the refill
window, then a mix of known and new senders is timed. The limiter before this change, which
scanned every bucket for each new sender once more than 50,000 were counted, is measured
the same way for comparison. Shared table (PostgreSQL, and SQLite for comparison): 100,000
buckets in `flood_buckets`, then one upsert per message is timed.

    python -m bench.flood [--senders 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert

from bot.core.ratelimit import Bucket, RateLimiter, SharedRateLimiter
from db.migrate import upgrade
from db.models import FloodBucket
from db.session import create_engine

STEP = 0.0002  # seconds between messages: 100,000 senders within 20 s, all still counted


@dataclass
class ScanningLimiter:
    """The limiter as it was: a full scan of the buckets per new sender above 50,000."""

    capacity: float = 12.0
    refill_per_second: float = 0.5
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def verdict(self, platform: str, user_id: str) -> str:
        now = self.clock()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 50_000:
                full = self.capacity / self.refill_per_second
                for k in [k for k, b in self._buckets.items() if now - b.updated > full]:
                    del self._buckets[k]
            bucket = self._buckets[key] = Bucket(self.capacity, now)
        bucket.tokens = min(
            self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second
        )
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return "ok"
        return "drop"


def in_memory(kind: str, senders: int, messages: int = 20_000) -> dict[str, float]:
    """Microseconds per message once `senders` are counted; half the timed ones are new."""
    now = [0.0]

    def clock() -> float:
        return now[0]

    limiter: RateLimiter | ScanningLimiter = (
        RateLimiter(clock=clock) if kind == "ordered" else ScanningLimiter(clock=clock)
    )
    for i in range(senders):
        now[0] += STEP
        if isinstance(limiter, ScanningLimiter):  # filled directly: its own way takes minutes
            limiter._buckets[("telegram", str(i))] = Bucket(limiter.capacity - 1, now[0])
        else:
            limiter.verdict("telegram", str(i))
    rng = random.Random(7)
    if kind == "scan":
        messages = min(messages, 500)  # each new sender scans everything: keep it short
    started = time.perf_counter()
    for i in range(messages):
        now[0] += STEP
        user = f"new{i}" if i % 2 else str(rng.randrange(senders))
        limiter.verdict("telegram", user)
    elapsed = time.perf_counter() - started
    return {"us_per_message": elapsed / messages * 1e6, "messages": messages}


async def shared(url: str, senders: int, messages: int = 2000) -> dict[str, float]:
    """Milliseconds per message (p50, p99) with `senders` buckets in the table."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        start = time.time()
        async with engine.begin() as connection:
            await connection.execute(delete(FloodBucket))
            for first in range(0, senders, 10_000):
                await connection.execute(
                    insert(FloodBucket),
                    [
                        {
                            "platform": "telegram",
                            "user_id": str(i),
                            "tokens": 11.0,
                            "updated": start,
                            "verdict": 0,
                        }
                        for i in range(first, min(senders, first + 10_000))
                    ],
                )
        limiter = SharedRateLimiter(engine)
        rng = random.Random(7)
        timings = []
        for i in range(messages):
            user = f"new{i}" if i % 2 else str(rng.randrange(senders))
            t0 = time.perf_counter()
            await limiter.check("telegram", user)
            timings.append((time.perf_counter() - t0) * 1000)
        timings.sort()
        async with engine.begin() as connection:
            await connection.execute(delete(FloodBucket))
        return {
            "p50_ms": statistics.median(timings),
            "p99_ms": timings[int(len(timings) * 0.99) - 1],
            "messages": messages,
        }
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=100_000)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    n = args.senders
    ordered, scan = in_memory("ordered", n), in_memory("scan", n)
    print(f"Flood limiter with {n:,} senders")
    print(f"  in memory, ordered      {ordered['us_per_message']:.2f} µs per message")
    print(f"  in memory, before       {scan['us_per_message']:.0f} µs per message (full scan)")
    sqlite = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lotse-flood-')}/bench.sqlite3"
    result = asyncio.run(shared(sqlite, n))
    print(
        f"  shared table, SQLite    p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms"
    )
    if args.postgres:
        result = asyncio.run(shared(args.postgres, n))
        print(
            f"  shared table, PostgreSQL p50 {result['p50_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms"
        )


if __name__ == "__main__":
    main()
