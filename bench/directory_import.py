"""`lotse directory import` of a 300,000-row HSDS CSV package: time, peak memory (RSS) of the
import process, and how long a write from another connection waited meanwhile (the bot's
writes, while the import runs beside it on the same SQLite file).

    python -m bench.directory_import [ROWS]

Targets: peak RSS under 300 MB; no write from the other connection waits for the whole
import (the import commits in batches).
"""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from handlers.referral.topics import TOPICS

#: Rows per service in the generated package: the service, its location, the link between
#: them, a phone, a schedule and a language, plus one organization for every ten services.
ROWS_PER_SERVICE = 6.1
DISTRICTS = ("Altstadt", "Nordviertel", "Südstadt", "Weststadt", "Hafenviertel", "Oststadt")
LANGUAGES = ("de", "en", "ar", "uk", "fa", "tr", "ru")


def write_package(folder: Path, rows: int) -> int:
    """An HSDS CSV package of about `rows` rows, written as it is generated (no lists held);
    returns the exact number of rows."""
    folder.mkdir(parents=True, exist_ok=True)
    services = max(10, round(rows / ROWS_PER_SERVICE))
    topics = list(TOPICS)
    tables = {
        "organizations.csv": ["id", "name", "description", "email", "website", "kind"],
        "locations.csv": [
            "id",
            "organization_id",
            "name",
            "address_1",
            "city",
            "postal_code",
            "district",
            "latitude",
            "longitude",
        ],
        "services.csv": ["id", "organization_id", "name", "description", "status", "topic"],
        "service_at_locations.csv": ["id", "service_id", "location_id"],
        "phones.csv": ["id", "service_id", "number", "description"],
        "schedules.csv": ["id", "service_id", "freq", "byday", "opens_at", "closes_at"],
        "languages.csv": ["id", "service_id", "code"],
    }
    handles = {name: (folder / name).open("w", encoding="utf-8", newline="") for name in tables}
    try:
        writers = {
            name: csv.writer(handle, lineterminator="\n") for name, handle in handles.items()
        }
        for name, header in tables.items():
            writers[name].writerow(header)
        count = 0
        for n in range(services // 10):
            writers["organizations.csv"].writerow(
                [
                    f"org-{n}",
                    f"Initiative {n}",
                    "Beratung, Begleitung und ein Sprachcafé, jeden Dienstag.",
                    f"kontakt{n}@example.org",
                    f"https://initiative-{n}.example.org",
                    "welcome_initiative",
                ]
            )
            count += 1
        for n in range(services):
            org = f"org-{n % (services // 10)}"
            writers["locations.csv"].writerow(
                [
                    f"loc-{n}",
                    org,
                    f"Treffpunkt {n}",
                    f"Lindenallee {n % 200 + 1}",
                    "Wiesenfeld",
                    "38104",
                    DISTRICTS[n % len(DISTRICTS)],
                    "52.2684",
                    "10.5209",
                ]
            )
            writers["services.csv"].writerow(
                [
                    f"svc-{n}",
                    org,
                    f"Beratung {n}",
                    "Offene Sprechstunde mit Dolmetschenden; bitte Unterlagen mitbringen.",
                    "active",
                    topics[n % len(topics)],
                ]
            )
            writers["service_at_locations.csv"].writerow([f"sal-{n}", f"svc-{n}", f"loc-{n}"])
            writers["phones.csv"].writerow([f"tel-{n}", f"svc-{n}", "+49 555 201 000", "Büro"])
            writers["schedules.csv"].writerow(
                [f"sch-{n}", f"svc-{n}", "WEEKLY", "MO,WE", "10:00", "12:00"]
            )
            writers["languages.csv"].writerow(
                [f"lang-{n}", f"svc-{n}", LANGUAGES[n % len(LANGUAGES)]]
            )
            count += 6
        return count
    finally:
        for handle in handles.values():
            handle.close()


class WriteProbe(threading.Thread):
    """Writes one row every 50 ms through its own connection, as the bot would, and keeps
    how long each write waited for the lock."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.waits: list[float] = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        connection = sqlite3.connect(self.database, timeout=60, isolation_level=None)
        connection.execute("CREATE TABLE IF NOT EXISTS bench_probe (at REAL)")
        while not self.stop.wait(0.05):
            started = time.perf_counter()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("INSERT INTO bench_probe VALUES (?)", (started,))
                connection.execute("COMMIT")
            except sqlite3.OperationalError:
                self.failed += 1
                continue
            self.waits.append(time.perf_counter() - started)
        connection.close()


def measure(rows: int = 300_000) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="lotse-import-"))
    written = write_package(folder / "package", rows)
    size_mb = sum(p.stat().st_size for p in (folder / "package").iterdir()) / 2**20
    database = folder / "lotse.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_"))}
    env.update(
        {"LOTSE_DATA_DIR": str(folder), "LOTSE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    )
    lotse = [sys.executable, "-m", "lotse"]
    subprocess.run([*lotse, "db", "upgrade"], env=env, cwd=folder, check=True, capture_output=True)
    probe = WriteProbe(database)
    probe.start()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*lotse, "directory", "import", str(folder / "package")],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    probe.stop.set()
    probe.join()
    if process.returncode != 0:
        raise RuntimeError(f"import failed: {stderr.decode()[-500:]}")
    waits = sorted(probe.waits) or [float("nan")]
    return {
        "rows": written,
        "megabytes": size_mb,
        "seconds": seconds,
        "rows_per_second": written / seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "probe_writes": len(probe.waits),
        "probe_failed": probe.failed,
        "probe_max_wait_ms": waits[-1] * 1000,
        "probe_p99_wait_ms": waits[int(len(waits) * 0.99)] * 1000 if probe.waits else waits[0],
    }


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    result = measure(rows)
    print(
        f"Directory import of {result['rows']:,} rows ({result['megabytes']:.0f} MB of CSV): "
        f"{result['seconds']:.1f} s ({result['rows_per_second']:,.0f} rows/s), "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (target < 300 MB); "
        f"{result['probe_writes']} writes beside it, longest wait "
        f"{result['probe_max_wait_ms']:.0f} ms, p99 {result['probe_p99_wait_ms']:.0f} ms, "
        f"{result['probe_failed']} failed"
    )


if __name__ == "__main__":
    main()
