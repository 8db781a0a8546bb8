"""Reading a package that is one JSON file of HSDS 3 service objects, nested as HSDS nests
them; they are flattened into the same table rows a CSV folder has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handlers.referral.directory.tables import BY_KEY
from handlers.referral.directory.validating import ImportError_, Package, Raw, clean

#: HSDS nests about six levels deep; deeper JSON is refused before anything walks it.
MAX_JSON_DEPTH = 32


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

    def __init__(self, package: Package, file: str) -> None:
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
        spec = BY_KEY[table]
        names = {name for f in spec.fields for name in (f.name, *f.aliases)}
        values = {name: value for name, value in obj.items() if name in names}
        for name, parent in parents.items():
            if parent is None:
                continue
            given = clean(values.get(name))
            if given is None:
                values[name] = parent
            elif given != parent:
                self.error(where, name, f"is '{given}' but the object is nested in '{parent}'")
        raw_id = clean(values.get("id"))
        if spec.has_id:
            identity: tuple[Any, ...] | None = (table, raw_id) if isinstance(raw_id, str) else None
        else:
            identity = (table, *(clean(values.get(f.name)) for f in spec.fields[:4]))
        if identity is not None:
            first = self.seen.get(identity)
            if first is not None:
                if first[1] != values:
                    name = "id" if spec.has_id else "text"
                    self.error(where, name, f"appears again with other data than at {first[0]}")
                return raw_id if isinstance(raw_id, str) else None
            self.seen[identity] = (where, values)
        self.package.rows[table].append(Raw(self.file, where, values))
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
                if clean(flat.get(name)) is None:
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


def read_json(path: Path) -> Package:
    package = Package("json")
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
