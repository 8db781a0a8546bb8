"""The tables of an HSDS 3 package, their columns and how each value is checked and parsed.

A package is either a folder of CSV files, one per table with HSDS 3 column names, or one JSON
file of HSDS 3 service objects with their organization, locations, phones, schedules and
languages nested. Lotse's extensions ride along: `organizations.kind`, `services.topic` and
`services.subtopic`, `locations.district` and a `translations` table. This module only
describes them, so that the readers, the checks, the writer and the export agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from db.directory import (
    SERVICE_STATUSES,
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
from handlers.referral.topics import TOPICS

Parser = Callable[[Any], Any]


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
class Field:
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
class Table:
    key: str  # CSV file name without ".csv"
    model: type[Base]
    fields: tuple[Field, ...]
    required_file: bool = False

    @property
    def file(self) -> str:
        return f"{self.key}.csv"

    @property
    def has_id(self) -> bool:
        return self.fields[0].name == "id"


_ID_FIELD = Field("id", _identifier, required=True)

#: In dependency order: a table only refers to tables before it.
TABLES: tuple[Table, ...] = (
    Table(
        "taxonomy_terms",
        DirTaxonomyTerm,
        (
            _ID_FIELD,
            Field("code", _text(64)),
            Field("name", _text(255), required=True),
            Field("description", _text()),
            Field("parent_id", _identifier, ref="taxonomy_terms"),
            Field("taxonomy", _text(255)),
        ),
    ),
    Table(
        "organizations",
        DirOrganization,
        (
            _ID_FIELD,
            Field("name", _text(255), required=True),
            Field("description", _text()),
            Field("email", _email),
            Field("website", _url, attr="url", aliases=("url",)),
            Field("kind", _choice((kind.value for kind in OrganisationKind), "kind")),
        ),
        required_file=True,
    ),
    Table(
        "locations",
        DirLocation,
        (
            _ID_FIELD,
            Field("organization_id", _identifier, ref="organizations"),
            Field("name", _text(255)),
            Field("description", _text()),
            Field("address_1", _text(255)),
            Field("city", _text(100)),
            Field("postal_code", _text(16)),
            Field("district", _text(100)),
            Field("latitude", _number(-90, 90)),
            Field("longitude", _number(-180, 180)),
        ),
    ),
    Table(
        "services",
        DirService,
        (
            _ID_FIELD,
            Field("organization_id", _identifier, required=True, ref="organizations"),
            Field("name", _text(255), required=True),
            Field("description", _text()),
            Field("url", _url),
            Field("email", _email),
            Field("status", _choice(SERVICE_STATUSES, "status"), required=True),
            Field("assured_date", _timestamp),
            Field("last_modified", _timestamp),
            Field("topic", _choice(TOPICS, "topic"), required=True),
            Field("subtopic", _text(64)),
        ),
        required_file=True,
    ),
    Table(
        "service_at_locations",
        DirServiceAtLocation,
        (
            _ID_FIELD,
            Field("service_id", _identifier, required=True, ref="services"),
            Field("location_id", _identifier, required=True, ref="locations"),
        ),
    ),
    Table(
        "phones",
        DirPhone,
        (
            _ID_FIELD,
            Field("service_id", _identifier, ref="services"),
            Field("organization_id", _identifier, ref="organizations"),
            Field("location_id", _identifier, ref="locations"),
            Field("number", _pattern(_PHONE, "a phone number", 64), required=True),
            Field("description", _text(255)),
        ),
    ),
    Table(
        "schedules",
        DirSchedule,
        (
            _ID_FIELD,
            Field("service_id", _identifier, ref="services"),
            Field("location_id", _identifier, ref="locations"),
            Field("freq", _choice(("WEEKLY", "MONTHLY"), "freq")),
            Field("byday", _byday),
            Field("opens_at", _clock),
            Field("closes_at", _clock),
            Field("description", _text()),
        ),
    ),
    Table(
        "languages",
        DirLanguage,
        (
            _ID_FIELD,
            Field("service_id", _identifier, required=True, ref="services"),
            Field("code", _language, required=True, attr="language", aliases=("language",)),
        ),
    ),
    Table(
        "translations",
        DirTranslation,
        (
            Field("record_type", _choice(TRANSLATABLE, "record_type"), required=True),
            Field("record_id", _identifier, required=True),
            Field("field", _choice(("name", "description"), "field"), required=True),
            Field("language", _language, required=True),
            Field("text", _text(), required=True),
        ),
    ),
)
BY_KEY = {table.key: table for table in TABLES}
RECORD_TABLES = {"service": "services", "organization": "organizations", "location": "locations"}
SINGULAR = {
    "taxonomy_terms": "taxonomy term",
    "organizations": "organization",
    "locations": "location",
    "services": "service",
}


def translation_key(values: dict[str, Any]) -> tuple[Any, ...]:
    return (values["record_type"], values["record_id"], values["field"], values["language"])
