"""Full handling of updates through the terminal transport on a city-sized database:
onboarding steps of new people and need searches of known ones.

Prints updates per second on one core (the median of three rounds) and the p50 and p99
latency (target on SQLite: at least 500 updates/s, p99 under 20 ms).

    python -m bench.updates [--database sqlite|URL] [--updates 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
from pathlib import Path

from bench.population import populate
from bot.app import open_app
from bot.config import Settings
from bot.transports.console import ConsoleTransport

ROUNDS = 3


def script(updates: int) -> list[str]:
    """A realistic mix: 60% onboarding steps of new people, 40% /needs of volunteers."""
    lines: list[str] = []
    person = 0
    while len(lines) < updates:
        person += 1
        if person % 5 < 3:
            name = f"new{person}"
            lines += [f"{name}> /start", "1", "1", "1"]  # Deutsch, agree, volunteer
        else:
            lines.append(f"p{person}> /needs")
    return lines[:updates]


async def measure(url: str, updates: int, populate_first: bool) -> dict[str, float]:
    if populate_first:
        await populate(url)
    folder = Path(tempfile.mkdtemp(prefix="lotse-updates-"))
    app = await open_app(Settings(data_dir=folder, database_url=url), migrate=False)
    console = ConsoleTransport(app, output=io.StringIO())
    lines = script(updates)
    for line in lines[:50]:  # warm up caches and connections
        await console.handle_line(line.replace("new", "warm").replace("p", "q", 1))
    timings: list[float] = []
    rates: list[float] = []
    cpu0 = time.process_time()
    # Three rounds (different people each), and the middle round's rate is reported: on a
    # shared virtual machine one round is now and then much slower for reasons of its own.
    size = -(-len(lines) // ROUNDS)
    for first in range(0, len(lines), size):
        round_lines = lines[first : first + size]
        wall0 = time.perf_counter()
        for line in round_lines:
            started = time.perf_counter()
            await console.handle_line(line)
            timings.append((time.perf_counter() - started) * 1000)
        rates.append(len(round_lines) / (time.perf_counter() - wall0))
    cpu = time.process_time() - cpu0
    await app.close()
    ordered = sorted(timings)
    return {
        "updates": len(lines),
        "per_second": statistics.median(rates),
        "slowest_round_per_second": min(rates),
        "per_cpu_second": len(lines) / cpu,
        "p50_ms": statistics.median(timings),
        "p99_ms": ordered[int(len(ordered) * 0.99)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--updates", type=int, default=3000)
    args = parser.parse_args()
    url = args.database
    if url == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lotse-bench-')}/bench.sqlite3"
    result = asyncio.run(measure(url, args.updates, True))
    print(
        f"Updates through the terminal transport ({url.split(':')[0]}): "
        f"{result['per_second']:.0f}/s "
        f"(slowest round {result['slowest_round_per_second']:.0f}/s), "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
