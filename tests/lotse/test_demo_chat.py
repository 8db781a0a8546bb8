"""`make run` is a whole running bot: the scheduler works while you try it, and what it sends
to terminal people is printed while you are still typing."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from bot import scheduler as scheduler_module
from bot.config import Settings
from lotse.demo_chat import run_demo_chat
from tests.support import Clock


async def wait_for(condition, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("waited in vain")


async def test_the_scheduler_runs_and_its_pushes_are_printed_while_you_type(
    settings: Settings, clock: Clock
) -> None:
    output = io.StringIO()

    async def person_at_the_keyboard() -> AsyncIterator[str]:
        yield "anna> /start"
        await wait_for(lambda: scheduler_module._app is not None)
        app = scheduler_module.current_app()
        await wait_for(lambda: app.services.scheduler is not None)
        jobs = {job.id for job in app.services.scheduler.get_jobs()}
        assert {"needs_upkeep", "close_polls", "events_upkeep", "privacy_retention"} <= jobs
        # a day passes without enough volunteers saying yes: the next round is due
        clock.advance(hours=25)
        printed = len(output.getvalue())
        app.services.scheduler.modify_job("needs_upkeep", next_run_time=datetime.now(UTC))
        # nobody types; the offers of the next round appear all the same
        await wait_for(lambda: "[to " in output.getvalue()[printed:])
        yield "# done"

    await run_demo_chat(
        settings, lines=person_at_the_keyboard(), output=output, clock=clock, deliver_every=0.2
    )
    pushed = output.getvalue().split("[to anna]")[-1]
    assert "[to " in pushed, output.getvalue()
