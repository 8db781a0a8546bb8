"""`lotse run --demo-chat` (what `make run` runs): the terminal chat as a whole running bot.

It does what `lotse run` does with a messenger (the scheduler sends reminders and digests,
closes polls, asks the next volunteers, reminds and deletes the inactive), with the terminal as
the messenger: what the scheduler queues for terminal people is printed while you type. The
demo network is loaded only into a database that holds none yet, so a second `make run` keeps
what people changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TextIO

from bot.config import Settings
from db.types import utcnow
from lotse.demo import DemoSummary

#: How often pushes queued by the scheduler are printed, in seconds.
DELIVER_EVERY = 2.0


def describe(summary: DemoSummary) -> str:
    """The one line `lotse demo` and `make run` print after loading the demo."""
    return (
        f"Demo network loaded: {summary.organisations_added} organisations added, "
        f"{summary.organisations_updated} updated; {summary.volunteers} volunteers and "
        f"{summary.needs} open needs, {summary.events} upcoming events, "
        f"{summary.services} services in the directory."
    )


async def run_demo_chat(
    settings: Settings,
    *,
    lines: AsyncIterator[str] | None = None,
    output: TextIO | None = None,
    clock: Callable[[], datetime] = utcnow,
    deliver_every: float = DELIVER_EVERY,
) -> None:
    """Load the demo if the database holds no network, then chat until the input ends, with
    the scheduler running (standard input and output unless told otherwise)."""
    from bot.app import open_app
    from bot.scheduler import run_scheduler
    from bot.transports.console import ConsoleTransport
    from lotse.demo import holds_a_network, load_demo

    app = await open_app(settings, clock=clock)
    stop = asyncio.Event()
    scheduler: asyncio.Task[None] | None = None
    try:
        if await holds_a_network(app.session_factory):
            print(
                "The database already holds a network: kept as it is, with everything "
                "changed in earlier runs (`lotse demo --reset` starts over with the demo).",
                file=sys.stderr,
            )
        else:
            summary = await load_demo(app.session_factory, settings.tz, now=app.services.clock())
            print(describe(summary), file=sys.stderr)
        print(
            "No messenger configured: opening the terminal chat on the demo network, with "
            "the scheduler running. Type /start; Ctrl-D quits.",
            file=sys.stderr,
        )
        chat = ConsoleTransport(app, user="you", output=output)
        scheduler = asyncio.create_task(run_scheduler(app, stop), name="scheduler")
        await chat.run(lines, deliver_every=deliver_every)
    finally:
        stop.set()
        if scheduler is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(scheduler, 10)
        await app.close()
