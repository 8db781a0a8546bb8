"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App
from db.models import Base


async def test_migrations_match_the_models(app: App) -> None:
    def diff(connection) -> list:  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            d
            for d in compare_metadata(context, Base.metadata)
            if not (
                d[0] in ("remove_table", "remove_index")
                and (
                    d[1].name in ("scheduler_jobs", "ix_dir_search_body")
                    or d[1].name.startswith("dir_search")
                )
            )
        ]

    async with app.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
