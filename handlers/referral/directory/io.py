"""Import and export of the service directory as an Open Referral HSDS 3 package.

A package is either a folder of CSV files, one per table with HSDS 3 column names, or one JSON
file of HSDS 3 service objects with their organization, locations, phones, schedules and
languages nested. Lotse's extensions ride along: `organizations.kind`, `services.topic` and
`services.subtopic`, `locations.district` and a `translations` table.

An import checks every row before it touches the database and reports every problem at once,
so whoever maintains the spreadsheet can fix them in one go; only a package without errors
replaces the directory, which is never left half imported.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.directory import (
    SERVICE_STATUSES,
    SUBTOPICS,
    TOPICS,
    TRANSLATABLE,
    DirLanguage,
    DirLocation,
    DirOrganization,
    DirPhone,
    DirSchedule,
    DirService,
    DirServiceAtLocation,
    DirTaxonomyTerm,
    DirTranslation,
)
from db.models import Base, OrganisationKind

Progress = Callable[[str, int, int], None]
Parser = Callable[[Any], Any]

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


@dataclass(frozen=True)
class ImportReport:
    format: str  # "csv" or "json"
    counts: dict[str, int]  # rows per table, keyed like the CSV files without ".csv"
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- field parsers: take a non-empty value, return what is stored or raise ValueError ---------

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_URL = re.compile(r"https?://\S+")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_DAY = re.compile(r"([+-]?[1-5])?(MO|TU|WE|TH|FR|SA|SU)")
_PHONE = re.compile(r"\+?[0-9 ()/.-]*[0-9][0-9 ()/.-]*")


def _text(max_length: int | None = None) -> Parser:
    def parse(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError("must be text")
        text = str(value).strip()
        if "\x00" in text:
            raise ValueError("contains a NUL character")
        if max_length is not None and len(text) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return text

    return parse


def _pattern(regex: re.Pattern[str], what: str, max_length: int) -> Parser:
    text = _text(max_length)

    def parse(value: Any) -> str:
        result = text(value)
        if not regex.fullmatch(result):
            raise ValueError(f"'{result}' is not {what}")
        return result

    return parse


def _choice(values: Iterable[str], what: str) -> Parser:
    allowed = tuple(values)

    def parse(value: Any) -> str:
        result = _text()(value)
        if result not in allowed:
            raise ValueError(f"unknown {what} '{result}'; expected one of: {', '.join(allowed)}")
        return result

    return parse


def _number(low: float, high: float) -> Parser:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{value}' is not a number") from None
        if not low <= number <= high:
            raise ValueError(f"{number} is not between {low:g} and {high:g}")
        return number

    return parse


def _timestamp(value: Any) -> datetime:
    """An ISO date (midnight UTC) or date-time; one without a zone is taken as UTC."""
    text = _text()(value)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO date (YYYY-MM-DD)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _byday(value: Any) -> str:
    tokens = [token.strip() for token in _text(64)(value).split(",")]
    bad = [token for token in tokens if not _DAY.fullmatch(token)]
    if bad:
        raise ValueError(f"'{', '.join(bad)}' is not a day; use MO, TU, WE, TH, FR, SA, SU")
    return ",".join(tokens)


_identifier = _pattern(_ID, "an id (letters, digits, . _ : / -)", 64)
_email = _pattern(_EMAIL, "an e-mail address", 255)
_url = _pattern(_URL, "a web address starting with http:// or https://", 255)
_language = _pattern(_LANGUAGE, "a language code (ISO 639, 2–3 lowercase letters)", 3)
_clock = _pattern(_TIME, "a time HH:MM", 5)


# --- the tables of a package ------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str  # the HSDS column name
    parse: Parser
    required: bool = False
    ref: str | None = None  # the table whose id this names
    attr: str = ""  # the model attribute when it differs from the column name
    aliases: tuple[str, ...] = ()  # other names accepted on import (HSDS 2 and the like)

    @property
    def key(self) -> str:
        return self.attr or self.name


@dataclass(frozen=True)
class _Table:
    key: str  # CSV file name without ".csv"
    model: type[Base]
    fields: tuple[_Field, ...]
    required_file: bool = False

    @property
    def file(self) -> str:
        return f"{self.key}.csv"

    @property
    def has_id(self) -> bool:
        return self.fields[0].name == "id"


_ID_FIELD = _Field("id", _identifier, required=True)

#: In dependency order: a table only refers to tables before it.
TABLES: tuple[_Table, ...] = (
    _Table(
        "taxonomy_terms",
        DirTaxonomyTerm,
        (
            _ID_FIELD,
            _Field("code", _text(64)),
            _Field("name", _text(255), required=True),
            _Field("description", _text()),
            _Field("parent_id", _identifier, ref="taxonomy_terms"),
            _Field("taxonomy", _text(255)),
        ),
    ),
    _Table(
        "organizations",
        DirOrganization,
        (
            _ID_FIELD,
            _Field("name", _text(255), required=True),
            _Field("description", _text()),
            _Field("email", _email),
            _Field("website", _url, attr="url", aliases=("url",)),
            _Field("kind", _choice((kind.value for kind in OrganisationKind), "kind")),
        ),
        required_file=True,
    ),
    _Table(
        "locations",
        DirLocation,
        (
            _ID_FIELD,
            _Field("organization_id", _identifier, ref="organizations"),
            _Field("name", _text(255)),
            _Field("description", _text()),
            _Field("address_1", _text(255)),
            _Field("city", _text(100)),
            _Field("postal_code", _text(16)),
            _Field("district", _text(100)),
            _Field("latitude", _number(-90, 90)),
            _Field("longitude", _number(-180, 180)),
        ),
    ),
    _Table(
        "services",
        DirService,
        (
            _ID_FIELD,
            _Field("organization_id", _identifier, required=True, ref="organizations"),
            _Field("name", _text(255), required=True),
            _Field("description", _text()),
            _Field("url", _url),
            _Field("email", _email),
            _Field("status", _choice(SERVICE_STATUSES, "status"), required=True),
            _Field("assured_date", _timestamp),
            _Field("last_modified", _timestamp),
            _Field("topic", _choice(TOPICS, "topic"), required=True),
            _Field("subtopic", _text(64)),
        ),
        required_file=True,
    ),
    _Table(
        "service_at_locations",
        DirServiceAtLocation,
        (
            _ID_FIELD,
            _Field("service_id", _identifier, required=True, ref="services"),
            _Field("location_id", _identifier, required=True, ref="locations"),
        ),
    ),
    _Table(
        "phones",
        DirPhone,
        (
            _ID_FIELD,
            _Field("service_id", _identifier, ref="services"),
            _Field("organization_id", _identifier, ref="organizations"),
            _Field("location_id", _identifier, ref="locations"),
            _Field("number", _pattern(_PHONE, "a phone number", 64), required=True),
            _Field("description", _text(255)),
        ),
    ),
    _Table(
        "schedules",
        DirSchedule,
        (
            _ID_FIELD,
            _Field("service_id", _identifier, ref="services"),
            _Field("location_id", _identifier, ref="locations"),
            _Field("freq", _choice(("WEEKLY", "MONTHLY"), "freq")),
            _Field("byday", _byday),
            _Field("opens_at", _clock),
            _Field("closes_at", _clock),
            _Field("description", _text()),
        ),
    ),
    _Table(
        "languages",
        DirLanguage,
        (
            _ID_FIELD,
            _Field("service_id", _identifier, required=True, ref="services"),
            _Field("code", _language, required=True, attr="language", aliases=("language",)),
        ),
    ),
    _Table(
        "translations",
        DirTranslation,
        (
            _Field("record_type", _choice(TRANSLATABLE, "record_type"), required=True),
            _Field("record_id", _identifier, required=True),
            _Field("field", _choice(("name", "description"), "field"), required=True),
            _Field("language", _language, required=True),
            _Field("text", _text(), required=True),
        ),
    ),
)
_BY_KEY = {table.key: table for table in TABLES}
_RECORD_TABLES = {"service": "services", "organization": "organizations", "location": "locations"}
_SINGULAR = {
    "taxonomy_terms": "taxonomy term",
    "organizations": "organization",
    "locations": "location",
    "services": "service",
}


def _translation_key(values: dict[str, Any]) -> tuple[Any, ...]:
    return (values["record_type"], values["record_id"], values["field"], values["language"])


# --- reading ------------------------------------------------------------------------------------

#: The largest package imported unless the caller allows more (`lotse`: LOTSE_IMPORT_MAX_MB).
#: A CSV folder of this size (about a million rows) streams in well under 300 MB of memory; a
#: JSON file is parsed whole and needs several times its size.
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
#: HSDS nests about six levels deep; deeper JSON is refused before anything walks it.
MAX_JSON_DEPTH = 32
#: What the csv module says, and what the person fixing the spreadsheet should hear.
_CSV_ERRORS = {
    "unexpected end of data": 'a quoted cell that starts in this row is never closed (a " is '
    "missing)",
    "',' expected after '\"'": 'has text after the closing " of a quoted cell (a " inside a '
    'cell must be doubled: "")',
}


@dataclass
class _Raw:
    """One row or object as found, before validation."""

    file: str
    row: int | str
    values: dict[str, Any]

    @property
    def where(self) -> str:
        return _where(self.row)


def _where(row: int | str) -> str:
    return f"row {row}" if isinstance(row, int) else row


def _clean(value: Any) -> Any:
    """Empty cells and nulls are missing values; text is stripped."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _lookup(raw: _Raw, spec: _Field) -> tuple[str, Any]:
    for name in (spec.name, *spec.aliases):
        if name in raw.values:
            return name, _clean(raw.values[name])
    return spec.name, None


@dataclass
class _Package:
    """What was found; a CSV folder is read again for each pass instead of held in memory."""

    format: str
    folder: Path | None = None  # CSV
    rows: dict[str, list[_Raw]] = field(default_factory=lambda: {t.key: [] for t in TABLES})
    errors: list[ImportError_] = field(default_factory=list)
    missing_columns: set[tuple[str, str]] = field(default_factory=set)
    ignored_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def read(self, table: _Table, errors: list[ImportError_]) -> Iterator[_Raw]:
        """The rows of one table; problems met while reading go to `errors`."""
        if self.folder is None:
            yield from self.rows[table.key]
        else:
            yield from _read_csv_file(self, table, errors)


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


def _read_csv(folder: Path) -> _Package:
    package = _Package("csv", folder)
    for table in TABLES:
        if table.required_file and not (folder / table.file).is_file():
            package.errors.append(ImportError_(table.file, 0, "", "file is missing"))
    return package


def _read_csv_file(package: _Package, table: _Table, errors: list[ImportError_]) -> Iterator[_Raw]:
    """Stream one CSV file's rows; the header is checked each time, reported the first."""
    assert package.folder is not None
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
                yield _Raw(table.file, number, dict(zip(header, cells, strict=False)))
    except UnicodeDecodeError:
        errors.append(ImportError_(table.file, 0, "", "is not UTF-8 text"))


def _check_header(package: _Package, table: _Table, header: list[str]) -> None:
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


def _too_deep(data: Any) -> str | None:
    """Where the document is nested deeper than MAX_JSON_DEPTH, walked without recursion."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where
        if isinstance(value, dict):
            stack.extend(
                (item, f"{where}.{key}" if where else str(key), depth + 1)
                for key, item in value.items()
            )
        elif isinstance(value, list):
            stack.extend(
                (item, f"{where}[{index}]", depth + 1) for index, item in enumerate(value)
            )
    return None


class _JsonReader:
    """Flattens nested HSDS service objects into table rows; an organization or location
    nested in several services appears once, and must be the same each time."""

    def __init__(self, package: _Package, file: str) -> None:
        self.package = package
        self.file = file
        self.seen: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}

    def error(self, where: str, name: str, message: str) -> None:
        self.package.errors.append(ImportError_(self.file, where, name, message))

    def objects(self, parent: dict[str, Any], key: str, where: str) -> list[tuple[str, Any]]:
        items = parent.get(key)
        if items is None:
            return []
        if not isinstance(items, list):
            self.error(where, key, "must be a list")
            return []
        found = []
        for index, item in enumerate(items):
            path = f"{where}.{key}[{index}]" if where else f"{key}[{index}]"
            if isinstance(item, dict):
                found.append((path, item))
            else:
                self.error(path, "", "must be an object")
        return found

    def nested(self, parent: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
        item = parent.get(key)
        if item is None:
            return None
        if not isinstance(item, dict):
            self.error(where, key, "must be an object")
            return None
        return item

    def add(self, table: str, where: str, obj: dict[str, Any], **parents: Any) -> str | None:
        """Record one row (unless it is a repeat) and return its id for nested children."""
        spec = _BY_KEY[table]
        names = {name for f in spec.fields for name in (f.name, *f.aliases)}
        values = {name: value for name, value in obj.items() if name in names}
        for name, parent in parents.items():
            if parent is None:
                continue
            given = _clean(values.get(name))
            if given is None:
                values[name] = parent
            elif given != parent:
                self.error(where, name, f"is '{given}' but the object is nested in '{parent}'")
        raw_id = _clean(values.get("id"))
        if spec.has_id:
            identity: tuple[Any, ...] | None = (table, raw_id) if isinstance(raw_id, str) else None
        else:
            identity = (table, *(_clean(values.get(f.name)) for f in spec.fields[:4]))
        if identity is not None:
            first = self.seen.get(identity)
            if first is not None:
                if first[1] != values:
                    name = "id" if spec.has_id else "text"
                    self.error(where, name, f"appears again with other data than at {first[0]}")
                return raw_id if isinstance(raw_id, str) else None
            self.seen[identity] = (where, values)
        self.package.rows[table].append(_Raw(self.file, where, values))
        return raw_id if isinstance(raw_id, str) else None

    def translations(self, obj: dict[str, Any], where: str, kind: str, key: str | None) -> None:
        for path, item in self.objects(obj, "translations", where):
            self.add("translations", path, item, record_type=kind, record_id=key)

    def organization(self, obj: dict[str, Any], where: str) -> str | None:
        key = self.add("organizations", where, obj)
        for path, item in self.objects(obj, "phones", where):
            self.add("phones", path, item, organization_id=key)
        self.translations(obj, where, "organization", key)
        return key

    def location(self, obj: dict[str, Any], where: str) -> str | None:
        flat = dict(obj)
        addresses = [item for _, item in self.objects(obj, "addresses", where)]
        physical = [a for a in addresses if a.get("address_type") in (None, "physical")]
        for address in (physical or addresses)[:1]:
            for name in ("address_1", "city", "postal_code"):
                if _clean(flat.get(name)) is None:
                    flat[name] = address.get(name)
        key = self.add("locations", where, flat)
        for path, item in self.objects(obj, "phones", where):
            self.add("phones", path, item, location_id=key)
        for path, item in self.objects(obj, "schedules", where):
            self.add("schedules", path, item, location_id=key)
        self.translations(obj, where, "location", key)
        return key

    def service(self, obj: dict[str, Any], where: str) -> None:
        organization = self.nested(obj, "organization", where)
        org_key = None
        if organization is not None:
            org_key = self.organization(organization, f"{where}.organization")
        key = self.add("services", where, obj, organization_id=org_key)
        for path, item in self.objects(obj, "service_at_locations", where):
            location = self.nested(item, "location", path)
            location_key = None
            if location is not None:
                location_key = self.location(location, f"{path}.location")
            self.add("service_at_locations", path, item, service_id=key, location_id=location_key)
        for table in ("phones", "schedules", "languages"):
            for path, item in self.objects(obj, table, where):
                self.add(table, path, item, service_id=key)
        self.translations(obj, where, "service", key)


def _read_json(path: Path) -> _Package:
    package = _Package("json")
    reader = _JsonReader(package, path.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        reader.error("", "", "is not UTF-8 text")
        return package
    except json.JSONDecodeError as exc:
        reader.error("", "", f"is not valid JSON: {exc}")
        return package
    except RecursionError:
        reader.error("", "", f"is nested deeper than {MAX_JSON_DEPTH} levels")
        return package
    deep = _too_deep(data)
    if deep is not None:
        reader.error(deep, "", f"is nested deeper than {MAX_JSON_DEPTH} levels")
        return package
    if isinstance(data, list):
        data = {"services": data}
        prefix = ""
    elif isinstance(data, dict) and "contents" in data and "services" not in data:
        data = {**data, "services": data["contents"]}  # an HSDS API page
        prefix = "contents"
    else:
        prefix = "services"
    if not isinstance(data, dict) or "services" not in data:
        reader.error("", "", "expected a list of services or an object with 'services'")
        return package
    for where, item in reader.objects(data, "services", ""):
        reader.service(item, where.replace("services", prefix, 1))
    for where, item in reader.objects(data, "organizations", ""):
        reader.organization(item, where)
    for where, item in reader.objects(data, "locations", ""):
        reader.location(item, where)
    for where, item in reader.objects(data, "taxonomy_terms", ""):
        reader.add("taxonomy_terms", where, item)
    return package


# --- validation ---------------------------------------------------------------------------------

Sink = Callable[[_Raw, str, str], None]


def _parse(
    table: _Table, raw: _Raw, package: _Package, error: Sink
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

    def check(self, raw: _Raw, values: dict[str, Any], error: Sink) -> None:
        value = self.key(values)
        if None in value:
            return
        if value in self.first:
            error(raw, self.name, f"{self.message} again (also in {_where(self.first[value])})")
        else:
            self.first[value] = raw.row


def _validate(package: _Package, progress: Progress | None) -> dict[str, int]:
    """Check every row, reading each table once and keeping only ids and unique keys, so a
    package of any length fits in memory. Returns the number of rows per table."""
    errors = package.errors

    def error(raw: _Raw, name: str, message: str) -> None:
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
        "translations": _Unique(_translation_key, "language", "translates the same field"),
    }
    ids: dict[str, dict[str, int | str]] = {}
    terms: list[tuple[_Raw, dict[str, Any]]] = []  # the taxonomy refers to itself; it is small
    counts: dict[str, int] = {}
    done = 0
    for table in TABLES:
        ids[table.key] = {}
        counts[table.key] = 0
        for raw in package.read(table, errors):
            values, given = _parse(table, raw, package, error)
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
                    error(raw, spec.name, f"no {_SINGULAR[ref]} has the id '{value}'")
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
    raw: _Raw,
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
        if kind is not None and key is not None and key not in ids[_RECORD_TABLES[kind]]:
            error(raw, "record_id", f"no {kind} has the id '{key}'")


def _check_taxonomy(
    terms: list[tuple[_Raw, dict[str, Any]]], known: dict[str, int | str], error: Sink
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


# --- writing ------------------------------------------------------------------------------------


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


def _values(package: _Package, table: _Table) -> Iterator[dict[str, Any]]:
    """The rows of a checked package again, as stored; a file that changed since it was
    checked stops the import."""
    errors: list[ImportError_] = []

    def error(raw: _Raw, name: str, message: str) -> None:
        errors.append(ImportError_(raw.file, raw.row, name, message))

    for raw in package.read(table, errors):
        values, _given = _parse(table, raw, package, error)
        if errors:
            break
        yield values
    if errors:
        changed = ImportError_(table.file, 0, "", "changed while it was imported; import again")
        raise DirectoryImportError([changed, *errors])


async def _replace(
    session: AsyncSession,
    package: _Package,
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
    table: _Table,
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
        package = _Package("csv") if too_large else _read_csv(path)
    elif path.is_file() and path.suffix.lower() == ".json":
        too_large = _too_large(path, [path], max_bytes)
        package = _Package("json") if too_large else _read_json(path)
    else:
        message = "is neither a folder of CSV files nor a .json file"
        raise DirectoryImportError([ImportError_(path.name, 0, "", message)])
    if too_large is not None:
        raise DirectoryImportError([too_large])
    counts = _validate(package, progress)
    if package.errors:
        raise DirectoryImportError(package.errors)
    await _replace(session, package, sum(counts.values()), progress, batches)
    return ImportReport(
        format=package.format, counts=counts, ignored_columns=package.ignored_columns
    )


# --- export -------------------------------------------------------------------------------------


def _sort_key(table: _Table) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if table.has_id:
        return lambda values: (values["id"],)
    return _translation_key


async def _snapshot(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """Every directory row as {model attribute: value}, in a stable order."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        result = await session.execute(select(table.model.__table__))
        rows = [dict(row._mapping) for row in result]
        rows.sort(key=_sort_key(table))
        tables[table.key] = rows
    return tables


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    return str(value)


def _as_json(value: Any) -> Any:
    if value is None or isinstance(value, float | int):
        return value
    return _as_text(value)


def _row_for(table: _Table, values: dict[str, Any]) -> dict[str, Any]:
    """One row under HSDS names; translations are nested in their records instead."""
    return {spec.name: _as_json(values[spec.key]) for spec in table.fields}


def _write_csv(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in TABLES:
        path = folder / table.file
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([spec.name for spec in table.fields])
            for values in tables[table.key]:
                writer.writerow([_as_text(values[spec.key]) for spec in table.fields])
        written.append(path)
    return written


def _owner(values: dict[str, Any]) -> tuple[str, Any]:
    """Where a phone or schedule is nested: its service, else its location, else its org."""
    if values.get("service_id") is not None:
        return "service", values["service_id"]
    if values.get("location_id") is not None:
        return "location", values["location_id"]
    return "organization", values.get("organization_id")


def _json_document(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """HSDS 3 service objects with everything nested, plus Lotse's top-level lists for what
    no service reaches (organizations and locations without services, the taxonomy)."""
    nested: dict[tuple[str, str, Any], list[dict[str, Any]]] = defaultdict(list)
    for table in ("phones", "schedules"):
        for values in tables[table]:
            nested[(table, *_owner(values))].append(_row_for(_BY_KEY[table], values))
    for values in tables["languages"]:
        nested[("languages", "service", values["service_id"])].append(
            _row_for(_BY_KEY["languages"], values)
        )
    for values in tables["service_at_locations"]:
        nested[("service_at_locations", "service", values["service_id"])].append(values)
    for values in tables["translations"]:
        nested[("translations", values["record_type"], values["record_id"])].append(
            {name: values[name] for name in ("field", "language", "text")}
        )

    def organization(values: dict[str, Any]) -> dict[str, Any]:
        key = ("organization", values["id"])
        return {
            **_row_for(_BY_KEY["organizations"], values),
            "phones": nested[("phones", *key)],
            "translations": nested[("translations", *key)],
        }

    def location(values: dict[str, Any]) -> dict[str, Any]:
        obj = _row_for(_BY_KEY["locations"], values)
        address = {name: obj.pop(name) for name in ("address_1", "city", "postal_code")}
        obj["location_type"] = "physical"
        obj["addresses"] = []
        if any(value is not None for value in address.values()):
            address_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"lotse:address:{values['id']}"))
            obj["addresses"].append(
                {
                    "id": address_id,
                    "location_id": values["id"],
                    **address,
                    "address_type": "physical",
                }
            )
        key = ("location", values["id"])
        obj["phones"] = nested[("phones", *key)]
        obj["schedules"] = nested[("schedules", *key)]
        obj["translations"] = nested[("translations", *key)]
        return obj

    organizations = {values["id"]: values for values in tables["organizations"]}
    locations = {values["id"]: values for values in tables["locations"]}
    services = []
    for values in tables["services"]:
        key = ("service", values["id"])
        links = [
            {
                **_row_for(_BY_KEY["service_at_locations"], link),
                "location": location(locations[link["location_id"]]),
            }
            for link in nested[("service_at_locations", *key)]
        ]
        services.append(
            {
                **_row_for(_BY_KEY["services"], values),
                "organization": organization(organizations[values["organization_id"]]),
                "service_at_locations": links,
                "phones": nested[("phones", *key)],
                "schedules": nested[("schedules", *key)],
                "languages": nested[("languages", *key)],
                "translations": nested[("translations", *key)],
            }
        )
    with_services = {values["organization_id"] for values in tables["services"]}
    linked = {link["location_id"] for link in tables["service_at_locations"]}
    return {
        "services": services,
        "organizations": [
            organization(values)
            for values in tables["organizations"]
            if values["id"] not in with_services
        ],
        "locations": [
            location(values) for values in tables["locations"] if values["id"] not in linked
        ],
        "taxonomy_terms": [
            _row_for(_BY_KEY["taxonomy_terms"], values) for values in tables["taxonomy_terms"]
        ],
    }


async def export_package(session: AsyncSession, path: Path, fmt: str = "csv") -> list[Path]:
    """Write the directory as a CSV folder at `path`, or with fmt="json" as one JSON file at
    `path`; importing what is written gives back exactly the same directory."""
    tables = await _snapshot(session)
    if fmt == "csv":
        return _write_csv(path, tables)
    if fmt != "json":
        raise ValueError(f"unknown format {fmt!r}; use 'csv' or 'json'")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_json_document(tables), ensure_ascii=False, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return [path]
