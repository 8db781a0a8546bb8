"""Scheduled work on APScheduler 3 with a persistent job store in the bot's own database.

Features declare their jobs on their routers (`Router.job`); every stored job points at
`run_job` with the job's name and plain ids, so a job stored before a restart (or before a
feature moved) runs after it, and this module never imports a feature. Jobs reach the running
app through `current_app()`, set when the scheduler starts.
APScheduler 3's SQLAlchemy job store is synchronous, so it gets a sync engine on the same
database (sqlite3 or psycopg).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import delete
from sqlalchemy.engine import Engine, make_url

from bot.app import App
from bot.core.buttons import purge_expired
from bot.core.reach import expire_held
from bot.core.router import RouteTable
from db.models import OutboxMessage, OutboxStatus
from db.session import refresh_statistics

logger = logging.getLogger(__name__)

JOBS_TABLE = "scheduler_jobs"
SENT_RETENTION = timedelta(days=30)

_app: App | None = None


def current_app() -> App:
    if _app is None:
        raise RuntimeError("the scheduler is not running")
    return _app


def sync_engine_for(url: str) -> Engine:
    """The same database through a synchronous driver, for APScheduler's job store."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return create_sync_engine(parsed.set(drivername="sqlite"))
    return create_sync_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)


def create_scheduler(app: App) -> AsyncIOScheduler:
    store = SQLAlchemyJobStore(
        engine=sync_engine_for(app.settings.database_url), tablename=JOBS_TABLE
    )
    return AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
        timezone=app.settings.timezone,
    )


async def housekeeping() -> None:
    """Forget expired button tokens and delivered outbox messages after a while."""
    app = current_app()
    now = app.services.clock()
    async with app.session_factory() as session:
        tokens = await purge_expired(session, now)
        expired = await expire_held(session, now)
        result = await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.sent_at < now - SENT_RETENTION,
            )
        )
        await session.commit()
    await refresh_statistics(app.engine)
    removed = getattr(result, "rowcount", 0)
    logger.info(
        "housekeeping: %s button tokens and %s sent messages removed, %s held messages expired",
        tokens,
        removed,
        expired,
    )


async def run_job(name: str, *args: Any) -> None:
    """Run the job a feature declared under `name` (`Router.job`); every stored job points
    here, so the store never names a feature's module."""
    app = current_app()
    job = app.services.routes.jobs.get(name)
    if job is None:
        logger.warning("no job is declared as %r (any more); skipped", name)
        return
    await job.handler(app.services, *args)


# Jobs stored before features declared their own point at these names: they keep working.
async def send_reminder(*args: Any) -> None:
    await run_job("event_reminder", *args)


async def needs_upkeep() -> None:
    await run_job("needs_upkeep")


async def privacy_retention() -> None:
    await run_job("privacy_retention")


async def close_polls() -> None:
    await run_job("close_polls")


async def events_upkeep() -> None:
    await run_job("events_upkeep")


async def referral_upkeep() -> None:
    await run_job("tickets_upkeep")
    await run_job("freshness_upkeep")


RUN_JOB = "bot.scheduler:run_job"


def _jobs(scheduler: AsyncIOScheduler, routes: RouteTable) -> list[tuple[str, BaseTrigger]]:
    """The periodic jobs: the core's housekeeping and what the routers declare, by name,
    with their trigger (in the network's time zone)."""
    zone = scheduler.timezone
    wanted: list[tuple[str, BaseTrigger]] = [
        ("housekeeping", CronTrigger(hour=4, minute=17, timezone=zone))
    ]
    for job in routes.jobs.values():
        if job.every is not None:
            wanted.append(
                (job.name, IntervalTrigger(seconds=job.every.total_seconds(), timezone=zone))
            )
        elif job.daily_at is not None:
            hour, minute = job.daily_at
            wanted.append((job.name, CronTrigger(hour=hour, minute=minute, timezone=zone)))
    return wanted


def _same_schedule(stored: BaseTrigger, wanted: BaseTrigger) -> bool:
    if isinstance(stored, IntervalTrigger) and isinstance(wanted, IntervalTrigger):
        return stored.interval == wanted.interval
    return repr(stored) == repr(wanted)


def install_jobs(scheduler: AsyncIOScheduler, routes: RouteTable) -> None:
    """Add the periodic jobs to a started (possibly paused) scheduler.

    A job already stored with the same schedule keeps its next run time: replacing it would
    move a run that fell due while the bot was down to the next day, and it would never run
    within its grace time. Only a changed schedule is replaced; a periodic job no router
    declares any more is removed (date jobs stay: they run once and go).
    """
    if scheduler.state == STATE_STOPPED:
        raise RuntimeError("start the scheduler (paused) before installing jobs")
    wanted = _jobs(scheduler, routes)
    names = {name for name, _trigger in wanted}
    for stored in scheduler.get_jobs():
        if not isinstance(stored.trigger, DateTrigger) and stored.id not in names:
            scheduler.remove_job(stored.id)
    for name, trigger in wanted:
        func: Callable[..., Any] = housekeeping if name == "housekeeping" else run_job
        args = [] if name == "housekeeping" else [name]
        stored = scheduler.get_job(name)
        if stored is not None and _same_schedule(stored.trigger, trigger):
            if stored.func is func and list(stored.args) == args:
                continue
            # an older stored form of the same job: same schedule, same next run
            scheduler.add_job(
                func,
                trigger,
                args=args,
                id=name,
                replace_existing=True,
                next_run_time=stored.next_run_time,
            )
            continue
        scheduler.add_job(func, trigger, args=args, id=name, replace_existing=True)


async def run_scheduler(app: App, stop: asyncio.Event) -> None:
    """Run the scheduler while this process leads; several processes take turns."""
    from bot.leader import SCHEDULER, Leadership

    global _app
    _app = app
    leadership = Leadership(app.engine, SCHEDULER, "scheduler")
    try:
        while not stop.is_set():
            if not await leadership.acquire(stop):
                return
            scheduler = create_scheduler(app)
            scheduler.start(paused=True)
            install_jobs(scheduler, app.services.routes)
            scheduler.resume()  # jobs due while the bot was down run now, within their grace
            app.services.scheduler = scheduler
            try:
                await leadership.watch(stop)
            finally:
                app.services.scheduler = None
                scheduler.shutdown(wait=False)
                await leadership.release()
    finally:
        _app = None
