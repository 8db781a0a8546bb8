"""Checks that need the outside world, run before anything starts.

`bot.config` checks what a value looks like; this module checks that it works: the data
folder can be created and written, the SQLite file can be opened, the PostgreSQL server
answers and has the database. Each failure is a `ConfigError` naming the variable, so
`lotse` prints one line and exits with 2 instead of a traceback from deep inside SQLAlchemy
or a transport.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.config import ConfigError, Settings

#: How long to wait for the PostgreSQL server before calling it unreachable.
CONNECT_TIMEOUT = 10.0


def _folder(variable: str, folder: Path) -> None:
    """Create `folder` (with its parents) and make sure we may write into it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"{variable}: cannot create the folder {folder} ({reason})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{variable}: the folder {folder} is not writable")


def _sqlite(settings: Settings, url: URL) -> None:
    path = Path(url.database or "")
    if str(path) == ":memory:":
        return
    inside = path.parent.resolve() == settings.data_dir.resolve()
    _folder("LOTSE_DATA_DIR" if inside else "LOTSE_DATABASE_URL", path.parent)
    if path.is_dir():
        raise ConfigError(f"LOTSE_DATABASE_URL: {path} is a folder, not a database file")
    try:
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"LOTSE_DATABASE_URL: cannot open {path} ({exc})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else error.__class__.__name__


def _root(error: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrappers."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


async def _postgres(settings: Settings, url: URL) -> None:
    """Connect once, as the app will; the password never appears in the line."""
    import asyncpg

    from db.session import create_engine

    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    engine = create_engine(
        settings.database_url, connect_args={"timeout": CONNECT_TIMEOUT}, pool_pre_ping=False
    )
    try:
        async with engine.connect():
            pass
    except Exception as exc:  # whatever the driver raises becomes one line
        root = _root(exc)
        if isinstance(root, asyncpg.InvalidCatalogNameError):
            raise ConfigError(
                f"LOTSE_DATABASE_URL: the database {url.database!r} does not exist on {where} "
                f"(create it with: createdb {url.database})"
            ) from None
        if isinstance(root, asyncpg.InvalidAuthorizationSpecificationError):
            reason = _first_line(root)
            raise ConfigError(
                f"LOTSE_DATABASE_URL: {where} refused the login ({reason})"
            ) from None
        if isinstance(root, TimeoutError):
            raise ConfigError(
                f"LOTSE_DATABASE_URL: cannot reach PostgreSQL at {where} (no answer)"
            ) from None
        if isinstance(root, OSError):
            reason = root.strerror or _first_line(root)
            raise ConfigError(
                f"LOTSE_DATABASE_URL: cannot reach PostgreSQL at {where} ({reason})"
            ) from None
        raise ConfigError(
            f"LOTSE_DATABASE_URL: cannot connect to PostgreSQL at {where} ({_first_line(root)})"
        ) from None
    finally:
        await engine.dispose()


async def check(settings: Settings, *, data_dir_used: bool) -> None:
    """Raise `ConfigError` for the first thing that would stop the bot later.

    `data_dir_used`: the command keeps files there (Matrix keys, the terminal chat's files);
    a folder nobody uses need not exist, so a PostgreSQL deployment may live without it.
    """
    if data_dir_used or settings.matrix_configured:
        _folder("LOTSE_DATA_DIR", settings.data_dir)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        _sqlite(settings, url)
    else:
        await _postgres(settings, url)
