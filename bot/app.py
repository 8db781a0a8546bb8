"""Wires settings, database, routers and dispatcher together; transports plug into this.

The features come from the package named in `Settings.features`, imported by name: the core
never depends on a feature (docs/architecture.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.core.dispatcher import Dispatcher
from bot.core.i18n import check_catalogs
from bot.core.ratelimit import limiter_for
from bot.core.router import RouteTable
from bot.core.services import Hooks, Services
from db.migrate import upgrade
from db.session import create_engine, create_session_factory, refresh_statistics
from db.types import utcnow

logger = logging.getLogger(__name__)


def build_routes(features: str = "handlers") -> RouteTable:
    """The routers of the features package named in the settings (imported by name only)."""
    return RouteTable(import_module(features).all_routers())


def build_hooks(features: str = "handlers") -> Hooks:
    hooks: Hooks = import_module(features).hooks()
    return hooks


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    services: Services
    dispatcher: Dispatcher

    async def close(self) -> None:
        await self.engine.dispose()


async def open_app(
    settings: Settings,
    *,
    migrate: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> App:
    """Open the database (upgrading the schema unless told not to) and build the dispatcher."""
    missing = check_catalogs()
    if missing:
        logger.warning("catalogs missing for: %s", ", ".join(missing))
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    await refresh_statistics(engine)
    session_factory = create_session_factory(engine)
    services = Services(
        settings=settings,
        session_factory=session_factory,
        routes=build_routes(settings.features),
        hooks=build_hooks(settings.features),
        clock=clock,
    )
    limiter = limiter_for(engine, settings.flood_burst)
    return App(settings, engine, session_factory, services, Dispatcher(services, limiter))
