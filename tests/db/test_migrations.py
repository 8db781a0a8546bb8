"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

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


async def test_a_deleted_persons_id_is_never_given_again(app: App) -> None:
    from sqlalchemy import delete

    from db.models import Person

    async with app.session_factory() as session:
        first = Person(platform="fake", platform_user_id="first")
        session.add(first)
        await session.commit()
        await session.execute(delete(Person).where(Person.id == first.id))
        await session.commit()
        second = Person(platform="fake", platform_user_id="second")
        session.add(second)
        await session.commit()
    assert second.id > first.id


async def test_the_upgrade_keeps_everyone_and_their_rows(tmp_path: Path) -> None:
    """0009 changes how SQLite picks people's ids without touching what refers to them."""
    from db.migrate import upgrade
    from db.session import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            for number in (1, 2, 3):
                await conn.execute(
                    text(
                        "INSERT INTO people (id, platform, platform_user_id, created_at, "
                        "last_seen_at) VALUES (:id, 'fake', :user, '2026-11-25 09:00:00', "
                        "'2026-11-25 09:00:00')"
                    ),
                    {"id": number, "user": f"user{number}"},
                )
                await conn.execute(
                    text(
                        "INSERT INTO person_roles (person_id, role, granted_at) "
                        "VALUES (:id, 'volunteer', '2026-11-25 09:00:00')"
                    ),
                    {"id": number},
                )
            await conn.execute(text("DELETE FROM people WHERE id = 3"))
        await upgrade(engine)
        async with engine.begin() as conn:
            roles = (await conn.execute(text("SELECT person_id FROM person_roles"))).scalars()
            assert sorted(roles) == [1, 2]
            await conn.execute(text("DELETE FROM people WHERE id = 2"))
            await conn.execute(
                text(
                    "INSERT INTO people (platform, platform_user_id, created_at, last_seen_at) "
                    "VALUES ('fake', 'new', '2026-11-25 09:00:00', '2026-11-25 09:00:00')"
                )
            )
            new = (
                await conn.execute(text("SELECT id FROM people WHERE platform_user_id = 'new'"))
            ).scalar_one()
            assert new == 3  # not 2; 3 was deleted before the upgrade, where SQLite forgot it
            check = (await conn.execute(text("PRAGMA integrity_check"))).scalar_one()
            assert check == "ok"
            assert (await conn.execute(text("PRAGMA foreign_key_check"))).all() == []
    finally:
        await engine.dispose()
