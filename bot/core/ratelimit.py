"""Per-person flood protection: a token bucket per (platform, user) kept in memory.

Someone who sends faster than a person types gets one polite "slow down" and the rest of the
flood is dropped before it touches the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    tokens: float
    updated: float
    warned: bool = False


@dataclass
class RateLimiter:
    capacity: float = 12.0  # a burst of this many updates is fine
    refill_per_second: float = 0.5  # then one every two seconds
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str], Bucket] = field(default_factory=dict)

    def check(self, platform: str, user_id: str) -> str:
        """ "ok", "warn" (first update over the limit: say so once) or "drop"."""
        now = self.clock()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 50_000:
                self._prune(now)
            bucket = self._buckets[key] = Bucket(self.capacity, now)
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

    def _prune(self, now: float) -> None:
        full = self.capacity / self.refill_per_second
        for key in [k for k, b in self._buckets.items() if now - b.updated > full]:
            del self._buckets[key]
