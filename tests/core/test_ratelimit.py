"""The flood limiter: a flood stays limited however many others write, idle senders are
forgotten without scanning everyone, and on a shared database two processes count together."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from bot.core.ratelimit import RateLimiter, SharedRateLimiter
from db.models import FloodBucket


class Seconds:
    """A pinned clock in seconds, moved by the test."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


async def test_a_flood_stays_limited_while_thousands_of_others_come_and_go() -> None:
    clock = Seconds()
    limiter = RateLimiter(capacity=3, refill_per_second=0.5, clock=clock)
    verdicts = [await limiter.check("telegram", "spammer") for _ in range(5)]
    assert verdicts == ["ok", "ok", "ok", "warn", "drop"]
    for round_ in range(4):
        clock.now += 0.4  # a fifth of a token for the spammer each round
        for i in range(5000):
            assert await limiter.check("telegram", f"r{round_}-{i}") == "ok"
        assert await limiter.check("telegram", "spammer") == "drop"
    # everyone idle long enough to be full again is forgotten as newcomers arrive
    clock.now += 60
    assert await limiter.check("matrix", "@new:example.org") == "ok"
    assert limiter.senders == 1
    # and the spammer, back after a pause, starts with a full bucket like anyone else
    assert [await limiter.check("telegram", "spammer") for _ in range(4)] == [
        "ok",
        "ok",
        "ok",
        "warn",
    ]


async def test_two_processes_share_one_flood_count(app: App) -> None:
    clock = Seconds()
    first = SharedRateLimiter(app.engine, capacity=4, refill_per_second=0.5, clock=clock)
    second = SharedRateLimiter(app.engine, capacity=4, refill_per_second=0.5, clock=clock)
    assert await first.check("telegram", "7") == "ok"
    assert await second.check("telegram", "7") == "ok"
    assert await first.check("telegram", "7") == "ok"
    assert await second.check("telegram", "7") == "ok"
    assert await first.check("telegram", "7") == "warn"  # the limit of 4 holds across both
    assert await second.check("telegram", "7") == "drop"  # said once, then silence
    assert await second.check("telegram", "8") == "ok"  # others are not affected
    clock.now += 2  # one token back
    assert await second.check("telegram", "7") == "ok"
    assert await first.check("telegram", "7") == "warn"


async def test_the_shared_table_forgets_idle_senders(app: App) -> None:
    clock = Seconds()
    limiter = SharedRateLimiter(app.engine, capacity=4, refill_per_second=0.5, clock=clock)
    for i in range(20):
        await limiter.check("telegram", str(i))
    clock.now += 120  # everyone is full again; the next check past the interval prunes
    assert await limiter.check("telegram", "new") == "ok"
    async with app.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(FloodBucket)) == 1
