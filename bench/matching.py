"""Matching at city scale: 100,000 volunteers and 10,000 open needs in SQLite.

Prints the median and 95th percentile time to choose the top 20 volunteers for a new need
(target: p95 under 50 ms) and the size of the database.

    python -m bench.matching [--volunteers 100000] [--needs 10000] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from db.matching import candidates, iso_week
from db.migrate import upgrade
from db.models import (
    Need,
    Person,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
)
from db.session import create_engine, create_session_factory, refresh_statistics
from handlers.basics.taxonomy import ACTIVITIES, TIMES, slot_bit

DISTRICTS = ("Altstadt", "Nordviertel", "Südstadt", "Weststadt", "Hafenviertel", "Oststadt")
LEVELS = ("basic", "good", "native")
COMMON = ("ar", "uk", "ru", "fa", "tr", "en", "ps", "ku", "ti", "so")


async def populate(url: str, volunteers: int, needs: int, rng: random.Random) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    activities = list(ACTIVITIES)
    chunk = 10_000
    async with engine.begin() as conn:
        for start in range(0, volunteers, chunk):
            ids = range(start + 1, min(volunteers, start + chunk) + 1)
            await conn.execute(
                insert(Person),
                [
                    {
                        "id": i,
                        "platform": "telegram",
                        "platform_user_id": str(10_000_000 + i),
                        "language": "de",
                        "consent_version": 1,
                        "consent_at": now,
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(VolunteerProfile),
                [
                    {
                        "person_id": i,
                        "first_name": f"V{i}",
                        "district": rng.choice(DISTRICTS),
                        "availability_bits": rng.getrandbits(21),
                        "availability_kind": "regular",
                        "max_offers_per_week": rng.choice((1, 2, 3, 5, 10)),
                        "quiet_start": rng.choice((None, 22, 21)),
                        "quiet_end": 7,
                        "status": "paused" if rng.random() < 0.1 else "active",
                        "offers_this_week": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(
                insert(VolunteerActivity),
                [
                    {"person_id": i, "activity": a}
                    for i in ids
                    for a in rng.sample(activities, rng.randint(1, 4))
                ],
            )
            await conn.execute(
                insert(VolunteerLanguage),
                [
                    {"person_id": i, "language": code, "level": rng.choice(LEVELS)}
                    for i in ids
                    for code in {"de", *rng.sample(COMMON, rng.randint(0, 2))}
                ],
            )
        rows = []
        for n in range(needs):
            langs = rng.sample(COMMON, rng.randint(0, 1))
            rows.append(
                {
                    "title": f"Bedarf {n}",
                    "description": "",
                    "activity": rng.choice(activities),
                    "language_codes": "," + "".join(f"{c}," for c in langs),
                    "district": rng.choice(DISTRICTS),
                    "place": "",
                    "when_kind": "flexible",
                    "volunteers_needed": 2,
                    "helpers_count": 0,
                    "until": now + timedelta(days=30),
                    "status": "open",
                    "match_round": 1,
                    "created_at": now,
                    "published_at": now,
                }
            )
        await conn.execute(insert(Need), rows)
    await engine.dispose()


async def measure(url: str, samples: int, rng: random.Random) -> list[float]:
    engine = create_engine(url)
    await refresh_statistics(engine)  # as `lotse run` does at start-up
    factory = create_session_factory(engine)
    now = datetime.now(UTC)
    timings = []
    async with factory() as session:
        for index in range(samples):
            need = Need(
                id=10_000_000 + index,
                activity=rng.choice(list(ACTIVITIES)),
                district=rng.choice(DISTRICTS),
                when_kind="date",
                volunteers_needed=rng.randint(1, 5),
                helpers_count=0,
            )
            need.languages = rng.sample(COMMON, rng.randint(0, 1))
            started = time.perf_counter()
            chosen = await candidates(
                session,
                need,
                limit=20,
                local_hour=rng.randint(0, 23),
                week=iso_week(now),
                slot_bit=slot_bit(rng.randint(0, 6), rng.choice(list(TIMES))),
            )
            timings.append((time.perf_counter() - started) * 1000)
            assert len(chosen) <= 20
    await engine.dispose()
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def run(volunteers: int, needs: int, samples: int) -> dict[str, float]:
    rng = random.Random(4711)
    folder = Path(tempfile.mkdtemp(prefix="lotse-matching-"))
    path = folder / "matching.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    started = time.perf_counter()
    asyncio.run(populate(url, volunteers, needs, rng))
    load_seconds = time.perf_counter() - started
    timings = asyncio.run(measure(url, samples, rng))
    size = sum(p.stat().st_size for p in folder.iterdir())
    return {
        "volunteers": volunteers,
        "needs": needs,
        "median_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 0.95),
        "db_mb": size / 1e6,
        "load_seconds": load_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    result = run(args.volunteers, args.needs, args.samples)
    print(
        f"Matching: {result['volunteers']:,} volunteers, {result['needs']:,} open needs (SQLite)"
    )
    print(
        f"  top 20 for a new need   median {result['median_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms (target p95 < 50 ms)"
    )
    print(
        f"  database size           {result['db_mb']:.0f} MB "
        f"(loaded in {result['load_seconds']:.0f} s)"
    )


if __name__ == "__main__":
    main()
