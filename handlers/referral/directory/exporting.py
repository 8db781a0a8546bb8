"""Exporting the directory as an HSDS 3 package, a CSV folder or one JSON file; importing what
is written gives back exactly the same directory."""

from __future__ import annotations

import csv
import json
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.referral.directory.tables import BY_KEY, TABLES, Table, translation_key


def _sort_key(table: Table) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if table.has_id:
        return lambda values: (values["id"],)
    return translation_key


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


def _row_for(table: Table, values: dict[str, Any]) -> dict[str, Any]:
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
            nested[(table, *_owner(values))].append(_row_for(BY_KEY[table], values))
    for values in tables["languages"]:
        nested[("languages", "service", values["service_id"])].append(
            _row_for(BY_KEY["languages"], values)
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
            **_row_for(BY_KEY["organizations"], values),
            "phones": nested[("phones", *key)],
            "translations": nested[("translations", *key)],
        }

    def location(values: dict[str, Any]) -> dict[str, Any]:
        obj = _row_for(BY_KEY["locations"], values)
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
                **_row_for(BY_KEY["service_at_locations"], link),
                "location": location(locations[link["location_id"]]),
            }
            for link in nested[("service_at_locations", *key)]
        ]
        services.append(
            {
                **_row_for(BY_KEY["services"], values),
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
            _row_for(BY_KEY["taxonomy_terms"], values) for values in tables["taxonomy_terms"]
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
