"""SQLite in the event loop's own thread, behind aiosqlite's interface.

Why: aiosqlite runs every call (cursor, execute, fetch, close, commit) in a helper thread and
wakes the loop through a pipe for each one. An update costs a dozen indexed statements of a few
microseconds each, so those thread round trips were most of the time the bot spent on an update
(8 ms of CPU for about 0.5 ms of SQLite work). The statements we run are short lookups by index,
so running them directly is both faster and simpler.

What must not change: a statement that finds the database locked by another connection must
wait without blocking the loop, because the holder is often another task of this very process
(two updates at once, the outbox sender, the scheduler). SQLite's own busy handler would sleep
inside the loop thread and the holder could never finish; so the connection's busy timeout is
zero and a locked statement is retried here, with `asyncio.sleep` between attempts, until the
same ten seconds the busy timeout used to allow. A write that finds the lock taken fails before
it changes anything, so running it again is safe.

`create_async_engine(..., async_creator=...)` plugs this into SQLAlchemy's aiosqlite dialect,
which keeps its SQL, types and pool unchanged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: How long a statement waits for another connection's write to finish (as busy_timeout did).
LOCK_WAIT_SECONDS = 10.0
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.02


def _locked(error: sqlite3.OperationalError) -> bool:
    # Only plain SQLITE_BUSY: an extended code such as BUSY_SNAPSHOT cannot succeed on a retry.
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


async def _with_lock_wait(call: Callable[[], T]) -> T:
    pause = _FIRST_PAUSE
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _locked(error) or time.monotonic() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


class InlineCursor:
    """The part of `aiosqlite.Cursor` that SQLAlchemy's adapter uses."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self._cursor
        if parameters is None:
            await _with_lock_wait(lambda: cursor.execute(sql))
        else:
            await _with_lock_wait(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(parameters)  # a retry needs the rows again
        cursor = self._cursor
        await _with_lock_wait(lambda: cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    def __aiter__(self) -> InlineCursor:
        return self

    async def __anext__(self) -> Any:
        row = self._cursor.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _ImmediateQueue:
    """SQLAlchemy sets `isolation_level` by queueing a call on aiosqlite's thread; run it now."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class InlineConnection:
    """The part of `aiosqlite.Connection` that SQLAlchemy's adapter uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = connection
        self._tx = _ImmediateQueue(connection)

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """aiosqlite's name; SQLAlchemy checks it before commit and rollback."""
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        connection = self._open()
        await _with_lock_wait(connection.commit)

    async def rollback(self) -> None:
        self._open().rollback()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self) -> None:
        """Forced close (SQLAlchemy's terminate), e.g. when a connection is garbage collected."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._open().isolation_level = value  # type: ignore[assignment]

    @property
    def in_transaction(self) -> bool:
        return self._open().in_transaction

    @property
    def total_changes(self) -> int:
        return self._open().total_changes


def connector(database: str, **options: Any) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for `create_async_engine`: each call opens one connection."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(database, check_same_thread=False, **options)
        return InlineConnection(connection)

    return connect
