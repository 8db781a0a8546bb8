"""What a handler may reach besides its update: settings, database, routes, clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.core.router import RouteTable
from bot.core.types import Capabilities
from db.types import utcnow

if TYPE_CHECKING:
    from bot.core.context import Context

ContextHook = Callable[["Context"], Awaitable[None]]
GroupAdminCheck = Callable[[str, str], Awaitable[bool]]


@dataclass
class Hooks:
    """Answers the core needs from the flows without importing them (set by `bot.app`)."""

    consent_version: int
    ask_for_consent: ContextHook
    not_understood: ContextHook
    #: May this person use this command ("command", name) or button ("button", action)?
    allowed: Callable[[Context, str, str], Awaitable[bool]]


@dataclass
class Services:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    routes: RouteTable
    hooks: Hooks
    capabilities: dict[str, Capabilities] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    #: Called after a commit that queued outbox messages, so senders wake up at once.
    outbox_listeners: list[Callable[[], None]] = field(default_factory=list)
    #: Per platform: is this user an admin of that group chat? (asked of the platform)
    group_admin_checks: dict[str, GroupAdminCheck] = field(default_factory=dict)
    #: Per platform: a link that opens the bot with a deep-link payload (t.me/<bot>?start=…).
    link_builders: dict[str, Callable[[str], str]] = field(default_factory=dict)
    #: The APScheduler instance when `lotse run` runs one (handlers add one-off jobs to it).
    scheduler: Any = None
    #: Jobs to add once the current transaction has committed: the job store writes through
    #: its own connection, which SQLite would block while our transaction holds the lock.
    pending_jobs: list[dict[str, Any]] = field(default_factory=list)
    #: Ids of jobs to remove after the commit (a moved event's old reminders), for the same
    #: reason; removed before `pending_jobs` are added, so a job re-added under its id stays.
    pending_removals: list[str] = field(default_factory=list)
    #: Per platform: HTML that lets one person reach another (a profile link or handle).
    contact_builders: dict[str, Callable[[str, str], str]] = field(default_factory=dict)

    def capabilities_of(self, platform: str) -> Capabilities:
        return self.capabilities.get(platform, Capabilities())

    async def is_group_admin(self, platform: str, chat_id: str, user_id: str) -> bool:
        check = self.group_admin_checks.get(platform)
        return bool(check and await check(chat_id, user_id))

    def deep_link(self, platform: str, payload: str) -> str | None:
        build = self.link_builders.get(platform)
        return build(payload) if build else None

    def contact_html(self, platform: str, user_id: str, name: str) -> str:
        """How to reach someone, for the double-consent hand-over (escaped HTML)."""
        import html

        build = self.contact_builders.get(platform)
        if build:
            return build(user_id, name)
        return f"<b>{html.escape(name)}</b> ({html.escape(platform)}: {html.escape(user_id)})"

    def add_job_after_commit(self, **job: Any) -> None:
        self.pending_jobs.append(job)

    def run_job_at(self, name: str, when: Any, args: list[Any], job_id: str) -> None:
        """Run the declared job `name` (see `Router.job`) with `args` at `when`, once this
        update has committed. The stored job names the job, not a feature's module."""
        self.add_job_after_commit(
            func="bot.scheduler:run_job",
            trigger="date",
            run_date=when,
            args=[name, *args],
            id=job_id,
            replace_existing=True,
        )

    def remove_job_after_commit(self, job_id: str) -> None:
        self.pending_removals.append(job_id)

    def flush_jobs(self) -> None:
        jobs, self.pending_jobs = self.pending_jobs, []
        removals, self.pending_removals = self.pending_removals, []
        if self.scheduler is not None:
            for job_id in removals:
                if self.scheduler.get_job(job_id) is not None:
                    self.scheduler.remove_job(job_id)
            for job in jobs:
                self.scheduler.add_job(**job)

    def outbox_changed(self) -> None:
        for listener in self.outbox_listeners:
            listener()
