"""Checking a package before it touches the database, and the errors it reports.

Every row is checked first and every problem reported at once, so whoever maintains the
spreadsheet can fix them in one go; only a package without errors is written. The readers
fill a `Package`; `validate` walks it table by table, keeping only ids and unique keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from handlers.referral.directory.tables import (
    RECORD_TABLES,
    SINGULAR,
    TABLES,
    Field,
    Table,
    translation_key,
)
from handlers.referral.topics import SUBTOPICS, TOPICS

Progress = Callable[[str, int, int], None]

#: How many rows go into one INSERT and between two progress reports.
CHUNK = 500


@dataclass(frozen=True)
class ImportError_:
    """One problem in a package: `row` is the 1-based data row of a CSV file (the row after
    the header is 1, 0 means the whole file) or the index path of a JSON object."""

    file: str
    row: int | str
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row:
            where += f", row {self.row}" if isinstance(self.row, int) else f", {self.row}"
        if self.field:
            where += f", {self.field}"
        return f"{where}: {self.message}"


class DirectoryImportError(Exception):
    """The package has errors; nothing was changed."""

    def __init__(self, errors: list[ImportError_]) -> None:
        self.errors = errors
        shown = "; ".join(str(error) for error in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"{len(errors)} error(s) in the directory package: {shown}{more}")


@dataclass
class Raw:
    """One row or object as found, before validation."""

    file: str
    row: int | str
    values: dict[str, Any]

    @property
    def where(self) -> str:
        return _where(self.row)


def _where(row: int | str) -> str:
    return f"row {row}" if isinstance(row, int) else row


def clean(value: Any) -> Any:
    """Empty cells and nulls are missing values; text is stripped."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _lookup(raw: Raw, spec: Field) -> tuple[str, Any]:
    for name in (spec.name, *spec.aliases):
        if name in raw.values:
            return name, clean(raw.values[name])
    return spec.name, None


@dataclass
class Package:
    """What was found: the rows of a JSON file, held in memory (a CSV folder is a
    `CsvPackage`, read again for each pass), and the problems met while reading."""

    format: str
    rows: dict[str, list[Raw]] = field(default_factory=lambda: {t.key: [] for t in TABLES})
    errors: list[ImportError_] = field(default_factory=list)
    missing_columns: set[tuple[str, str]] = field(default_factory=set)
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def read(self, table: Table, errors: list[ImportError_]) -> Iterator[Raw]:
        """The rows of one table; problems met while reading go to `errors`."""
        yield from self.rows[table.key]


Sink = Callable[[Raw, str, str], None]


def parse(
    table: Table, raw: Raw, package: Package, error: Sink
) -> tuple[dict[str, Any], set[str]]:
    """The row's values as stored, and the columns that had a value (valid or not)."""
    values: dict[str, Any] = {}
    given: set[str] = set()
    for spec in table.fields:
        name, value = _lookup(raw, spec)
        values[spec.key] = None
        if value is None:
            if spec.required and (table.key, spec.name) not in package.missing_columns:
                error(raw, name, "is required")
            continue
        given.add(spec.name)
        try:
            values[spec.key] = spec.parse(value)
        except ValueError as exc:
            error(raw, name, str(exc))
    return values, given


@dataclass
class _Unique:
    """A combination of columns that may appear once in a table."""

    key: Callable[[dict[str, Any]], tuple[Any, ...]]
    name: str
    message: str
    first: dict[tuple[Any, ...], int | str] = field(default_factory=dict)

    def check(self, raw: Raw, values: dict[str, Any], error: Sink) -> None:
        value = self.key(values)
        if None in value:
            return
        if value in self.first:
            error(raw, self.name, f"{self.message} again (also in {_where(self.first[value])})")
        else:
            self.first[value] = raw.row


def validate(package: Package, progress: Progress | None) -> dict[str, int]:
    """Check every row, reading each table once and keeping only ids and unique keys, so a
    package of any length fits in memory. Returns the number of rows per table."""
    errors = package.errors

    def error(raw: Raw, name: str, message: str) -> None:
        errors.append(ImportError_(raw.file, raw.row, name, message))

    uniques = {
        "service_at_locations": _Unique(
            lambda v: (v["service_id"], v["location_id"]),
            "location_id",
            "links the same service and location",
        ),
        "languages": _Unique(
            lambda v: (v["service_id"], v["language"]),
            "code",
            "lists the same language for the service",
        ),
        "translations": _Unique(translation_key, "language", "translates the same field"),
    }
    ids: dict[str, dict[str, int | str]] = {}
    terms: list[tuple[Raw, dict[str, Any]]] = []  # the taxonomy refers to itself; it is small
    counts: dict[str, int] = {}
    done = 0
    for table in TABLES:
        ids[table.key] = {}
        counts[table.key] = 0
        for raw in package.read(table, errors):
            values, given = parse(table, raw, package, error)
            key = values.get("id")
            if table.has_id and key is not None:
                first = ids[table.key].get(key)
                if first is None:
                    ids[table.key][key] = raw.row
                else:
                    error(raw, "id", f"duplicate id '{key}' (also in {_where(first)})")
            for spec in table.fields:
                value = values[spec.key]
                ref = spec.ref
                if (
                    ref is not None
                    and ref != table.key
                    and value is not None
                    and value not in ids[ref]
                ):
                    error(raw, spec.name, f"no {SINGULAR[ref]} has the id '{value}'")
            _check_row(table.key, raw, values, given, ids, error)
            if table.key in uniques:
                uniques[table.key].check(raw, values, error)
            if table.key == "taxonomy_terms":
                terms.append((raw, values))
            counts[table.key] += 1
            done += 1
            if progress is not None and done % CHUNK == 0:
                progress("validate", done, 0)
    _check_taxonomy(terms, ids["taxonomy_terms"], error)
    if progress is not None:
        progress("validate", done, done)
    return counts


def _check_row(
    table: str,
    raw: Raw,
    values: dict[str, Any],
    given: set[str],
    ids: dict[str, dict[str, int | str]],
    error: Sink,
) -> None:
    """Rules that span the fields of one row."""
    if table == "services":
        topic, subtopic = values["topic"], values["subtopic"]
        if subtopic is not None and topic in TOPICS and subtopic not in SUBTOPICS.get(topic, {}):
            known = ", ".join(SUBTOPICS.get(topic, {})) or "none"
            error(raw, "subtopic", f"'{subtopic}' is not a subtopic of {topic} ({known})")
    elif table == "phones":
        if not given & {"service_id", "organization_id", "location_id"}:
            error(raw, "service_id", "needs a service_id, organization_id or location_id")
    elif table == "schedules":
        if not given & {"service_id", "location_id"}:
            error(raw, "service_id", "needs a service_id or location_id")
        byday = values["byday"] or ""
        if values["freq"] != "MONTHLY" and any(c.isdigit() for c in byday):
            error(raw, "byday", "numbered days like 2MO need freq MONTHLY")
    elif table == "translations":
        kind, key = values["record_type"], values["record_id"]
        if kind is not None and key is not None and key not in ids[RECORD_TABLES[kind]]:
            error(raw, "record_id", f"no {kind} has the id '{key}'")


def _check_taxonomy(
    terms: list[tuple[Raw, dict[str, Any]]], known: dict[str, int | str], error: Sink
) -> None:
    """Parents must exist and must not lead back to the term."""
    parents = {values["id"]: values["parent_id"] for _, values in terms if values["id"]}
    for raw, values in terms:
        parent = values["parent_id"]
        if parent is not None and parent not in known:
            error(raw, "parent_id", f"no taxonomy term has the id '{parent}'")
        start, seen = values["id"], set()
        current = parents.get(start)
        while current is not None and current not in seen:
            if current == start:
                error(raw, "parent_id", "the parents of this term lead back to it")
                break
            seen.add(current)
            current = parents.get(current)
