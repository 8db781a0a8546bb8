"""`make bench`: every benchmark, then one table of figures against their targets.

    python -m bench [--quick] [--postgres URL]

--quick uses smaller broadcast and update counts (a few minutes instead of about ten).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import tempfile

from bench import (
    directory_import,
    flood,
    matching,
    memory,
    telegram_broadcast,
    telegram_updates,
    updates,
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Run all Lotse benchmarks.")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--postgres", default=os.environ.get("LOTSE_BENCH_POSTGRES", ""))
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    count = 1000 if args.quick else 3000
    sqlite = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='lotse-bench-')}/bench.sqlite3"
    result = asyncio.run(updates.measure(sqlite, count, True))
    rows.append(
        (
            "Updates, terminal transport, SQLite (50k people, 5k needs, 1k services)",
            f"{result['per_second']:.0f}/s "
            f"(slowest round {result['slowest_round_per_second']:.0f}/s), "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms",
            "≥ 500/s, p99 < 20 ms",
        )
    )
    if args.postgres:
        result = asyncio.run(updates.measure(args.postgres, count, True))
        rows.append(
            (
                "Updates, terminal transport, PostgreSQL (same data)",
                f"{result['per_second']:.0f}/s "
                f"(slowest round {result['slowest_round_per_second']:.0f}/s), "
                f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms",
                "–",
            )
        )
    result = asyncio.run(telegram_updates.compare(500 if args.quick else 1000))
    rows.append(
        (
            "Per-update CPU, Lotse vs bare python-telegram-bot echo bot",
            f"{result['lotse_ms']:.2f} vs {result['bare_ms']:.2f} ms: {result['ratio']:.1f}x",
            "≤ 3x",
        )
    )
    result = matching.run(100_000, 10_000, 100 if args.quick else 200)
    rows.append(
        (
            "Matching: top 20 of 100k volunteers",
            f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms",
            "p95 < 50 ms",
        )
    )
    result = asyncio.run(telegram_broadcast.broadcast(600 if args.quick else 5000))
    rows.append(
        (
            f"Telegram broadcast to {result['recipients']:,} (server enforces limits)",
            f"{result['messages_per_second']:.1f}/s, {result['too_many_requests']} x 429, "
            f"{result['lost']} lost, {result['duplicated']} twice, "
            f"{result['cpu_seconds_per_1000']:.1f} s CPU/1000",
            "≥ 27/s, 0 x 429, 0 lost, 0 twice",
        )
    )
    ordered, scan = flood.in_memory("ordered", 100_000), flood.in_memory("scan", 100_000)
    rows.append(
        (
            "Flood limiter in memory, 100k senders, per message (before: full scan)",
            f"{ordered['us_per_message']:.1f} µs (before {scan['us_per_message']:.0f} µs)",
            "< 50 µs",
        )
    )
    shared = asyncio.run(flood.shared(sqlite, 100_000))
    rows.append(
        (
            "Flood limiter, shared table of 100k buckets, SQLite",
            f"p50 {shared['p50_ms']:.2f} ms, p99 {shared['p99_ms']:.2f} ms",
            "–",
        )
    )
    if args.postgres:
        shared = asyncio.run(flood.shared(args.postgres, 100_000))
        rows.append(
            (
                "Flood limiter, shared table of 100k buckets, PostgreSQL",
                f"p50 {shared['p50_ms']:.2f} ms, p99 {shared['p99_ms']:.2f} ms",
                "–",
            )
        )
    result = asyncio.run(memory.measure())
    rows.append(
        ("Peak RSS of lotse run with that data", f"{result['peak_rss_mb']:.0f} MB", "< 250 MB")
    )
    result = directory_import.measure(30_000 if args.quick else 300_000)
    rows.append(
        (
            f"Directory import, {result['rows']:,} rows of HSDS CSV, SQLite",
            f"{result['seconds']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB; writes "
            f"beside it wait at most {result['probe_max_wait_ms']:.0f} ms, "
            f"{result['probe_failed']} failed",
            "< 300 MB; writes go on",
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"\nLotse benchmarks on {machine()}\n")
    print(f"{'what'.ljust(width)} | {'measured':<60} | target")
    print(f"{'-' * width}-|-{'-' * 60}-|-------")
    for what, measured, target in rows:
        print(f"{what.ljust(width)} | {measured:<60} | {target}")


if __name__ == "__main__":
    main()
