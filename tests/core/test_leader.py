"""Leadership on SQLite: a lock file beside the database, so two processes never lead at once,
and the next one takes over as soon as the leader's process is gone."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from bot.leader import SCHEDULER, Leadership

TRY_TO_LEAD = """
import asyncio, sys
from sqlalchemy.ext.asyncio import create_async_engine
from bot.leader import Leadership, SCHEDULER

async def main() -> None:
    engine = create_async_engine(sys.argv[1])
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.0, stop.set)
    leads = await Leadership(engine, SCHEDULER, "scheduler", retry=0.1).acquire(stop)
    print("leads" if leads else "waits")
    await engine.dispose()

asyncio.run(main())
"""


def other_process_leads(url: str) -> str:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", TRY_TO_LEAD, url],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


async def test_on_sqlite_only_one_process_leads(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lotse.sqlite3'}"
    engine = create_async_engine(url)
    try:
        leader = Leadership(engine, SCHEDULER, "scheduler")
        assert await leader.acquire(asyncio.Event())
        assert await asyncio.to_thread(other_process_leads, url) == "waits"
        await leader.release()
        assert await asyncio.to_thread(other_process_leads, url) == "leads"
    finally:
        await engine.dispose()
