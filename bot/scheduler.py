"""Scheduled work on APScheduler 3 with a persistent job store in the bot's own database.

Job functions are module-level and take only plain ids, so a job stored before a restart runs
after it. They reach the running app through `current_app()`, set when the scheduler starts.
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
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import delete
from sqlalchemy.engine import Engine, make_url

from bot.app import App
from bot.core.buttons import purge_expired
from bot.core.reach import expire_held
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


async def needs_upkeep() -> None:
    """Expire needs past their end date; ask the next volunteers where too few said yes."""
    from handlers.offers import expire_needs, next_rounds

    app = current_app()
    now = app.services.clock()
    async with app.session_factory() as session:
        expired = await expire_needs(session, app.services, now)
    async with app.session_factory() as session:
        asked = await next_rounds(session, app.services, now)
    if expired or asked:
        logger.info("needs: %s expired, %s more volunteers asked", expired, asked)


async def privacy_retention() -> None:
    """Remind people inactive for the retention period, then delete those who stay away."""
    from handlers.mydata import retention

    app = current_app()
    async with app.session_factory() as session:
        reminded, deleted = await retention(session, app.services, app.services.clock())
    if reminded or deleted:
        logger.info("retention: %s reminded, %s deleted", reminded, deleted)


async def close_polls() -> None:
    """Count the votes whose deadline has passed and announce the results."""
    from handlers.polls import close_due

    app = current_app()
    async with app.session_factory() as session:
        closed = await close_due(session, app.services, app.services.clock())
    if closed:
        logger.info("polls: %s closed", closed)


async def send_reminder(event_id: int, occurrence: str, kind: str) -> None:
    """A day or an hour before an event (a date job in the persistent store)."""
    from handlers.event_alerts import remind

    app = current_app()
    async with app.session_factory() as session:
        await remind(session, app.services, event_id, occurrence, kind, app.services.clock())


async def events_upkeep() -> None:
    """Announcements never made, reminders without a job, and the weekly digests."""
    from handlers.event_alerts import upkeep

    app = current_app()
    async with app.session_factory() as session:
        done = await upkeep(session, app.services, app.services.clock())
    logger.debug("events upkeep: %s", done)


async def referral_upkeep() -> None:
    """Remind coordinators of unanswered questions; ask services to confirm their entries."""
    from handlers.partners import ask_for_confirmation
    from handlers.tickets import remind_tickets

    app = current_app()
    now = app.services.clock()
    async with app.session_factory() as session:
        reminded = await remind_tickets(session, app.services, now)
    async with app.session_factory() as session:
        asked = await ask_for_confirmation(session, app.services, now)
    if reminded or asked:
        logger.info("referral: %s tickets reminded, %s entries to confirm", reminded, asked)


def _jobs(scheduler: AsyncIOScheduler) -> list[tuple[Callable[[], Any], str, BaseTrigger]]:
    """The periodic jobs: function, id and trigger (in the network's time zone)."""
    zone = scheduler.timezone
    return [
        (housekeeping, "housekeeping", CronTrigger(hour=4, minute=17, timezone=zone)),
        (needs_upkeep, "needs_upkeep", IntervalTrigger(minutes=10, timezone=zone)),
        (close_polls, "close_polls", IntervalTrigger(minutes=5, timezone=zone)),
        (events_upkeep, "events_upkeep", IntervalTrigger(minutes=5, timezone=zone)),
        (referral_upkeep, "referral_upkeep", IntervalTrigger(hours=1, timezone=zone)),
        (privacy_retention, "privacy_retention", CronTrigger(hour=3, minute=41, timezone=zone)),
    ]


def _same_schedule(stored: BaseTrigger, wanted: BaseTrigger) -> bool:
    if isinstance(stored, IntervalTrigger) and isinstance(wanted, IntervalTrigger):
        return stored.interval == wanted.interval
    return repr(stored) == repr(wanted)


def install_jobs(scheduler: AsyncIOScheduler) -> None:
    """Add the periodic jobs to a started (possibly paused) scheduler.

    A job already stored with the same schedule keeps its next run time: replacing it would
    move a run that fell due while the bot was down to the next day, and it would never run
    within its grace time. Only a changed schedule is replaced.
    """
    if scheduler.state == STATE_STOPPED:
        raise RuntimeError("start the scheduler (paused) before installing jobs")
    for func, job_id, trigger in _jobs(scheduler):
        stored = scheduler.get_job(job_id)
        if stored is not None and _same_schedule(stored.trigger, trigger):
            continue
        scheduler.add_job(func, trigger, id=job_id, replace_existing=True)


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
            install_jobs(scheduler)
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
