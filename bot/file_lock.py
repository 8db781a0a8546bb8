"""Locks beside a SQLite database file: one `lotse run` per database, one leader per task.

SQLite has no advisory locks or sessions that die with a process, so the file system keeps
them: a lock taken with `fcntl` is freed by the kernel when its process ends, even by kill -9,
and the next process can take it at once. A database in memory belongs to one process anyway.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks beside the file
    fcntl = None  # type: ignore[assignment]


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL; None for other databases and for memory."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


class FileLock:
    """An exclusive lock on `path`, held while the object is open.

    `per_process=True` uses POSIX record locks, which a process never conflicts with itself
    on (several leaders' checks inside one process, as in tests, all succeed); otherwise
    `flock`, which also refuses a second holder inside the same process.
    """

    def __init__(self, path: Path, *, per_process: bool = False) -> None:
        self.path = path
        self.per_process = per_process
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self._file is not None:
            return True
        if fcntl is None:  # pragma: no cover
            return True
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held open on purpose
        try:
            if self.per_process:
                fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
