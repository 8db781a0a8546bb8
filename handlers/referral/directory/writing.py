"""Writing a checked package into the database: the old directory is deleted and the new one
inserted in chunks, each committed, so the bot goes on answering while a long import runs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.referral.directory.tables import TABLES, Table
from handlers.referral.directory.validating import (
    CHUNK,
    DirectoryImportError,
    ImportError_,
    Package,
    Progress,
    Raw,
    parse,
)


def _parents_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Taxonomy terms in an order that inserts every parent before its children."""
    by_id = {row["id"]: row for row in rows}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def place(row: dict[str, Any]) -> None:
        if row["id"] in placed:
            return
        parent = row["parent_id"]
        if parent is not None and parent in by_id:
            place(by_id[parent])
        placed.add(row["id"])
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered


def _values(package: Package, table: Table) -> Iterator[dict[str, Any]]:
    """The rows of a checked package again, as stored; a file that changed since it was
    checked stops the import."""
    errors: list[ImportError_] = []

    def error(raw: Raw, name: str, message: str) -> None:
        errors.append(ImportError_(raw.file, raw.row, name, message))

    for raw in package.read(table, errors):
        values, _given = parse(table, raw, package, error)
        if errors:
            break
        yield values
    if errors:
        changed = ImportError_(table.file, 0, "", "changed while it was imported; import again")
        raise DirectoryImportError([changed, *errors])


async def replace(
    session: AsyncSession,
    package: Package,
    total: int,
    progress: Progress | None,
    batches: bool,
) -> None:
    """Delete the old directory, then insert the new one a chunk at a time, committing each
    chunk: on SQLite a transaction holds the database's only write lock, and the bot must go
    on answering (and writing) while a long import runs."""
    for table in reversed(TABLES):
        await session.execute(delete(table.model).execution_options(synchronize_session=False))
    if batches:
        await session.commit()
    done = 0
    for table in TABLES:
        rows: Iterable[dict[str, Any]] = _values(package, table)
        if table.key == "taxonomy_terms":
            rows = _parents_first(list(rows))
        chunk: list[dict[str, Any]] = []
        for values in rows:
            chunk.append(values)
            if len(chunk) == CHUNK:
                done = await _insert(session, table, chunk, done, total, progress, batches)
                chunk = []
        if chunk:
            done = await _insert(session, table, chunk, done, total, progress, batches)
    if progress is not None and total == 0:
        progress("write", 0, 0)


async def _insert(
    session: AsyncSession,
    table: Table,
    chunk: list[dict[str, Any]],
    done: int,
    total: int,
    progress: Progress | None,
    batches: bool,
) -> int:
    await session.execute(insert(table.model), chunk)
    if batches:
        await session.commit()
        await asyncio.sleep(0)  # let the bot's own tasks in between, when it shares the process
    done += len(chunk)
    if progress is not None:
        progress("write", done, total)
    return done
