"""Peak memory (RSS) of a `lotse run` process on the city-sized data set, after it has handled
a few hundred Telegram updates (target: under 250 MB).

    python -m bench.memory
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from bench.population import populate
from bench.telegram_updates import _post, _sent, updates
from bot.testing.telegram_api import FakeBotAPI


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(count: int = 400) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="lotse-rss-"))
    database = f"sqlite+aiosqlite:///{folder}/bench.sqlite3"
    await populate(database, platform="telegram")
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.testing.telegram_api", stdout=asyncio.subprocess.PIPE
    )
    assert server.stdout is not None
    url = (await server.stdout.readline()).decode().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_"))}
    env.update(
        {
            "LOTSE_DATABASE_URL": database,
            "LOTSE_DATA_DIR": str(folder),
            "TELEGRAM_BOT_TOKEN": FakeBotAPI.token,
            "TELEGRAM_API_URL": url,
            "LOTSE_FLOOD_BURST": "10000",
        }
    )
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lotse",
        "run",
        env=env,
        cwd=folder,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        while True:  # wait until it polls
            await asyncio.sleep(0.5)
            with urllib.request.urlopen(f"{url}/_stats") as response:
                json.load(response)
            if bot.returncode is not None:
                raise RuntimeError("lotse run exited")
            if _sent(url) >= 0 and Path(f"/proc/{bot.pid}").exists():
                break
        await asyncio.sleep(3)
        _post(f"{url}/_say", updates(count, 2_000_000))
        expected = count // 2 * 7
        for _ in range(600):
            if _sent(url) >= expected:
                break
            await asyncio.sleep(0.2)
        return {"peak_rss_mb": peak_rss_mb(bot.pid), "replies": _sent(url)}
    finally:
        bot.terminate()
        await bot.wait()
        server.kill()
        await server.wait()


def main() -> None:
    result = asyncio.run(measure())
    print(f"Peak RSS of lotse run: {result['peak_rss_mb']:.0f} MB (target < 250 MB)")


if __name__ == "__main__":
    main()
