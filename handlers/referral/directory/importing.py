"""Importing a package as a whole: find out what it is, read it, check it, then write it.

An import checks every row before it touches the database and reports every problem at once;
only a package without errors replaces the directory, which is never left half imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.referral.directory.reading_csv import read_csv
from handlers.referral.directory.reading_json import read_json
from handlers.referral.directory.tables import TABLES
from handlers.referral.directory.validating import (
    DirectoryImportError,
    ImportError_,
    Package,
    Progress,
    validate,
)
from handlers.referral.directory.writing import replace

#: The largest package imported unless the caller allows more (`lotse`: LOTSE_IMPORT_MAX_MB).
#: A CSV folder of this size (about a million rows) streams in well under 300 MB of memory; a
#: JSON file is parsed whole and needs several times its size.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class ImportReport:
    format: str  # "csv" or "json"
    counts: dict[str, int]  # rows per table, keyed like the CSV files without ".csv"
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _size(count: int) -> str:
    return f"{count / 2**20:,.1f} MB" if count >= 2**20 else f"{count:,} bytes"


def _too_large(path: Path, files: list[Path], max_bytes: int | None) -> ImportError_ | None:
    size = sum(file.stat().st_size for file in files)
    if max_bytes is None or size <= max_bytes:
        return None
    message = (
        f"is {_size(size)}, more than the {_size(max_bytes)} an import may have "
        "(LOTSE_IMPORT_MAX_MB allows more)"
    )
    return ImportError_(path.name, 0, "", message)


async def import_package(
    session: AsyncSession,
    path: Path,
    *,
    progress: Progress | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    batches: bool = True,
) -> ImportReport:
    """Replace the directory with the package at `path` (a CSV folder or a JSON file).

    Every row is checked first; with any problem this raises `DirectoryImportError` listing
    them all and changes nothing. A valid package is then written in chunks, each committed
    (so the directory is incomplete while the import runs, and a crash while writing leaves
    it so until the next import); `batches=False` writes it all in the caller's transaction
    instead, for a small package loaded together with other data (the demo).
    `progress(stage, done, total)` reports the "validate" stage (total 0 while still
    unknown) and the "write" stage.
    """
    if path.is_dir():
        files = [path / table.file for table in TABLES if (path / table.file).is_file()]
        too_large = _too_large(path, files, max_bytes)
        package = Package("csv") if too_large else read_csv(path)
    elif path.is_file() and path.suffix.lower() == ".json":
        too_large = _too_large(path, [path], max_bytes)
        package = Package("json") if too_large else read_json(path)
    else:
        message = "is neither a folder of CSV files nor a .json file"
        raise DirectoryImportError([ImportError_(path.name, 0, "", message)])
    if too_large is not None:
        raise DirectoryImportError([too_large])
    counts = validate(package, progress)
    if package.errors:
        raise DirectoryImportError(package.errors)
    await replace(session, package, sum(counts.values()), progress, batches)
    return ImportReport(
        format=package.format, counts=counts, ignored_columns=package.ignored_columns
    )
