"""Migration 0009: the private chats people already opened become their direct chats, so
nobody who could be reached before the upgrade has their messages held after it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from db.migrate import alembic_config, upgrade
from db.session import create_engine


async def test_private_chats_opened_before_the_upgrade_are_direct_chats(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as conn:
            for id_, platform, user in (
                (1, "telegram", "501"),  # opened the private chat
                (2, "matrix", "@lina:example.org"),  # talked to the bot in a direct room
                (3, "telegram", "700"),  # only ever wrote in a group
            ):
                await conn.execute(
                    text(
                        "INSERT INTO people (id, platform, platform_user_id, created_at, "
                        "last_seen_at) VALUES (:id, :p, :u, '2026-11-01', '2026-11-01')"
                    ),
                    {"id": id_, "p": platform, "u": user},
                )
            for platform, chat, kind, by in (
                ("telegram", "501", "private", "501"),
                ("matrix", "!dm:example.org", "private", "@lina:example.org"),
                ("telegram", "-1001", "group", "700"),
            ):
                await conn.execute(
                    text(
                        "INSERT INTO chats (platform, platform_chat_id, kind, created_by, "
                        "created_at) VALUES (:p, :c, :k, :b, '2026-11-01')"
                    ),
                    {"p": platform, "c": chat, "k": kind, "b": by},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT person_id, chat_id, state FROM direct_chats ORDER BY person_id")
                )
            ).all()
        assert [tuple(r) for r in rows] == [(1, "501", "ready"), (2, "!dm:example.org", "ready")]

        def downgrade(connection: object) -> None:
            config = alembic_config(str(engine.url))
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")

        async with engine.begin() as conn:
            await conn.run_sync(downgrade)
            tables = set(
                (await conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'")))
                .scalars()
                .all()
            )
        assert "direct_chats" not in tables
    finally:
        await engine.dispose()
