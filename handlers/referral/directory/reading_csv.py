"""Reading a package that is a folder of CSV files, one per table, streamed row by row.

A CSV folder is not held in memory: the checks and the writer each read it again, so a
package of any length can be imported; the header is checked on the first pass.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from handlers.referral.directory.tables import TABLES, Table
from handlers.referral.directory.validating import ImportError_, Package, Raw

#: What the csv module says, and what the person fixing the spreadsheet should hear.
_CSV_ERRORS = {
    "unexpected end of data": 'a quoted cell that starts in this row is never closed (a " is '
    "missing)",
    "',' expected after '\"'": 'has text after the closing " of a quoted cell (a " inside a '
    'cell must be doubled: "")',
}


@dataclass(kw_only=True)
class CsvPackage(Package):
    """A CSV folder, read again for each pass instead of held in memory."""

    folder: Path

    def read(self, table: Table, errors: list[ImportError_]) -> Iterator[Raw]:
        yield from _read_csv_file(self, table, errors)


def read_csv(folder: Path) -> CsvPackage:
    package = CsvPackage("csv", folder=folder)
    for table in TABLES:
        if table.required_file and not (folder / table.file).is_file():
            package.errors.append(ImportError_(table.file, 0, "", "file is missing"))
    return package


def _read_csv_file(package: CsvPackage, table: Table, errors: list[ImportError_]) -> Iterator[Raw]:
    """Stream one CSV file's rows; the header is checked each time, reported the first."""
    path = package.folder / table.file
    if not path.is_file():
        return
    first_pass = errors is package.errors
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            try:
                header = [name.strip() for name in next(reader)]
            except StopIteration:
                errors.append(ImportError_(table.file, 0, "", "has no header row"))
                return
            if first_pass:
                _check_header(package, table, header)
            number = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    message = _CSV_ERRORS.get(str(exc), f"is not valid CSV: {exc}")
                    errors.append(ImportError_(table.file, number + 1, "", message))
                    return  # the rest of a file with a broken quote cannot be trusted
                number += 1
                if not any(cell.strip() for cell in cells):
                    continue
                if any(cell.strip() for cell in cells[len(header) :]):
                    message = f"has {len(cells)} cells but the header only {len(header)} columns"
                    errors.append(ImportError_(table.file, number, "", message))
                yield Raw(table.file, number, dict(zip(header, cells, strict=False)))
    except UnicodeDecodeError:
        errors.append(ImportError_(table.file, 0, "", "is not UTF-8 text"))


def _check_header(package: CsvPackage, table: Table, header: list[str]) -> None:
    for name in sorted({name for name in header if name and header.count(name) > 1}):
        package.errors.append(ImportError_(table.file, 0, name, "column appears twice"))
    known = {name for spec in table.fields for name in (spec.name, *spec.aliases)}
    ignored = tuple(name for name in header if name and name not in known)
    if ignored:
        package.ignored_columns[table.file] = ignored
    for spec in table.fields:
        if spec.required and not any(name in header for name in (spec.name, *spec.aliases)):
            package.errors.append(ImportError_(table.file, 0, spec.name, "column is missing"))
            package.missing_columns.add((table.key, spec.name))
