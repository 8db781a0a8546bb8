"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App
from db.models import Base

#: Made by hand in the migrations: tables that are not models, and an expression index that
#: autogenerate cannot compare (its existence is checked below).
NOT_COMPARED = ("scheduler_jobs", "ix_dir_search_body", "ix_needs_listing")


def _compared(difference: tuple) -> bool:  # type: ignore[type-arg]
    kind, item = difference[0], difference[1]
    if kind not in ("add_index", "remove_table", "remove_index"):
        return True
    if kind == "add_index":
        return item.name != "ix_needs_listing"
    return not (item.name in NOT_COMPARED or item.name.startswith("dir_search"))


async def test_migrations_match_the_models(app: App) -> None:
    def diff(connection) -> list:  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [d for d in compare_metadata(context, Base.metadata) if _compared(d)]

    async with app.engine.connect() as connection:
        assert await connection.run_sync(diff) == []


async def test_the_needs_listing_index_exists(app: App) -> None:
    async with app.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'needs'"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = 'needs'"
        names = set((await connection.exec_driver_sql(query)).scalars())
    assert {"ix_needs_listing", "ix_needs_status_until"} <= names
