"""The service directory travels as an HSDS 3 package: checked row by row, all or nothing,
and an export imports back to exactly the same directory."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.directory_import import write_package
from bot.app import App
from db.directory import (
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
from db.models import Base
from handlers.referral.directory import (
    DirectoryImportError,
    ImportError_,
    export_package,
    import_package,
)
from handlers.referral.topics import SUBTOPICS, TOPICS
from tests.support import Conversation

DEMO = Path(__file__).resolve().parents[3] / "lotse" / "demo_data" / "directory"
MODELS: tuple[Any, ...] = (
    DirOrganization,
    DirService,
    DirLocation,
    DirServiceAtLocation,
    DirPhone,
    DirSchedule,
    DirLanguage,
    DirTaxonomyTerm,
    DirTranslation,
)


async def _tables(app: App) -> None:
    """The dir_* tables have no migration yet; create them on the migrated database."""
    async with app.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)


async def _import(app: App, path: Path, **kwargs: Any) -> Any:
    async with app.session_factory() as session:
        report = await import_package(session, path, **kwargs)
        await session.commit()
    return report


async def _export(app: App, path: Path, fmt: str = "csv") -> list[Path]:
    async with app.session_factory() as session:
        return await export_package(session, path, fmt)


async def _snapshot(app: App) -> dict[str, list[tuple[Any, ...]]]:
    """All directory rows (without the translations' autoincrement id), sorted."""
    snapshot = {}
    async with app.session_factory() as session:
        for model in MODELS:
            columns = [
                c for c in model.__table__.columns if model is not DirTranslation or c.name != "id"
            ]
            rows = (await session.execute(select(*columns))).all()
            snapshot[model.__tablename__] = sorted(tuple(row) for row in rows)
    return snapshot


def _edit(path: Path, change: Any) -> None:
    """Rewrite a CSV file through `change(rows)`, where rows are dicts keyed by header."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = list(reader.fieldnames or []), list(reader)
    change(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


async def test_demo_package_covers_every_topic(app: App) -> None:
    await _tables(app)
    report = await _import(app, DEMO)
    assert report.format == "csv" and report.ignored_columns == {}
    counts = report.counts
    assert counts["organizations"] >= 20 and counts["services"] >= 45
    assert all(counts[key] > 0 for key in counts)

    async with app.session_factory() as session:
        services = list(await session.scalars(select(DirService)))
        assert len(services) == counts["services"]
        per_topic = Counter(service.topic for service in services)
        assert set(per_topic) == set(TOPICS) and min(per_topic.values()) >= 2
        subtopics = {(s.topic, s.subtopic) for s in services if s.subtopic}
        assert subtopics == {(t, sub) for t, subs in SUBTOPICS.items() for sub in subs}
        assert (
            await session.scalar(select(func.count()).select_from(DirOrganization))
            == (counts["organizations"])
        )

        translated = Counter(
            (t.record_id, t.language)
            for t in await session.scalars(
                select(DirTranslation).where(DirTranslation.record_type == "service")
            )
        )
        for language in ("en", "ar", "uk"):
            fully = {key for (key, lang), n in translated.items() if lang == language and n == 2}
            assert len(fully) >= 15, language

        multilingual = await session.scalar(
            select(func.count()).select_from(
                select(DirLanguage.service_id)
                .group_by(DirLanguage.service_id)
                .having(func.count() >= 3)
                .subquery()
            )
        )
        assert multilingual is not None and multilingual >= 30

    dates = sorted(s.assured_date for s in services if s.assured_date is not None)
    newest = dates[-1]
    stale = [d for d in dates if newest - d > timedelta(days=274)]
    assert 3 <= len(stale) < len(dates) / 4  # some stale, most recent
    assert all(d.tzinfo is not None for d in dates)


async def test_broken_package_reports_every_error_and_changes_nothing(
    app: App, tmp_path: Path
) -> None:
    await _tables(app)
    await _import(app, DEMO)
    before = await _snapshot(app)

    broken = tmp_path / "broken"
    shutil.copytree(DEMO, broken)

    def services(rows: list[dict[str, str]]) -> None:
        rows[2]["name"] = "  "  # row 3: required field missing
        rows[4]["organization_id"] = "no-such-organisation"  # row 5
        rows[6]["topic"] = "cooking"  # row 7
        rows[8]["assured_date"] = "31.12.2025"  # row 9

    def schedules(rows: list[dict[str, str]]) -> None:
        rows[0]["opens_at"] = "25:00"  # row 1
        rows[1]["byday"] = "MO,XX"  # row 2

    def organizations(rows: list[dict[str, str]]) -> None:
        rows.append(dict(rows[0], name="Doppelt"))  # duplicate id in the last row

    def languages(rows: list[dict[str, str]]) -> None:
        rows[0]["code"] = "Deutsch"

    _edit(broken / "services.csv", services)
    _edit(broken / "schedules.csv", schedules)
    _edit(broken / "organizations.csv", organizations)
    _edit(broken / "languages.csv", languages)
    organizations_count = len(before["dir_organizations"]) + 1

    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, broken)
        await session.commit()  # even a commit after the failure changes nothing

    found = {(e.file, e.row, e.field) for e in caught.value.errors}
    assert found == {
        ("services.csv", 3, "name"),
        ("services.csv", 5, "organization_id"),
        ("services.csv", 7, "topic"),
        ("services.csv", 9, "assured_date"),
        ("schedules.csv", 1, "opens_at"),
        ("schedules.csv", 2, "byday"),
        ("organizations.csv", organizations_count, "id"),
        ("languages.csv", 1, "code"),
    }
    messages = {(e.file, e.field): e.message for e in caught.value.errors}
    assert "cooking" in messages["services.csv", "topic"]
    assert "no-such-organisation" in messages["services.csv", "organization_id"]
    assert "duplicate id" in messages["organizations.csv", "id"]
    assert "services.csv, row 3, name: is required" in str(caught.value)
    assert await _snapshot(app) == before


async def test_missing_files_columns_and_cross_row_rules(app: App, tmp_path: Path) -> None:
    await _tables(app)
    package = tmp_path / "package"
    shutil.copytree(DEMO, package)
    (package / "organizations.csv").unlink()
    _edit(package / "translations.csv", lambda rows: rows.append(dict(rows[0])))

    def services(rows: list[dict[str, str]]) -> None:
        health = next(i for i, row in enumerate(rows) if row["topic"] == "health")
        rows[health]["subtopic"] = "flat_search"

    _edit(package / "services.csv", services)
    with (package / "phones.csv").open("a", encoding="utf-8") as fh:
        fh.write("lonely-phone,,,,+49 555 000,\n")

    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, package)
    errors = caught.value.errors
    assert ImportError_("organizations.csv", 0, "", "file is missing") in errors
    fields = Counter((e.file, e.field) for e in errors)
    # every service now names a missing organization
    assert fields["services.csv", "organization_id"] == len(_rows(DEMO / "services.csv"))
    assert fields["services.csv", "subtopic"] == 1
    assert fields["translations.csv", "language"] == 1  # the same field translated twice
    assert fields["phones.csv", "service_id"] == 1  # a phone belonging to nothing


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


async def test_csv_export_import_export_gives_identical_files(app: App, tmp_path: Path) -> None:
    await _tables(app)
    await _import(app, DEMO)
    first = await _export(app, tmp_path / "first")
    original = await _snapshot(app)

    report = await _import(app, tmp_path / "first")
    assert await _snapshot(app) == original
    second = await _export(app, tmp_path / "second")

    assert [p.name for p in first] == [p.name for p in second]
    assert len(first) == 9 and report.total == sum(len(rows) for rows in original.values())
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    header = (tmp_path / "first" / "services.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:3] == ["id", "organization_id", "name"]
    assert "topic" in header and "subtopic" in header


async def test_json_round_trip_keeps_everything(app: App, tmp_path: Path) -> None:
    await _tables(app)
    await _import(app, DEMO)
    async with app.session_factory() as session:  # records that no service reaches
        session.add(DirOrganization(id="org-alone", name="Ohne Angebote"))
        await session.flush()
        session.add(DirLocation(id="loc-alone", organization_id="org-alone", latitude=52.25))
        await session.flush()
        session.add_all(
            [
                DirPhone(id="tel-1", organization_id="org-alone", number="+49 555 1"),
                DirPhone(
                    id="tel-2", location_id="loc-alone", organization_id="org-alone", number="2"
                ),
                DirSchedule(id="sch-alone", location_id="loc-alone", byday="SA", opens_at="10:00"),
                DirTranslation(
                    record_type="organization",
                    record_id="org-alone",
                    field="name",
                    language="en",
                    text="Without services",
                ),
            ]
        )
        await session.commit()
    original = await _snapshot(app)

    [path] = await _export(app, tmp_path / "directory.json", "json")
    document = json.loads(path.read_text(encoding="utf-8"))
    service = document["services"][0]
    assert service["organization"]["id"] == service["organization_id"]
    assert {"service_at_locations", "phones", "schedules", "languages"} <= set(service)
    assert [org["id"] for org in document["organizations"]] == ["org-alone"]
    assert [loc["id"] for loc in document["locations"]] == ["loc-alone"]
    addresses = service["service_at_locations"][0]["location"]["addresses"]
    assert addresses and addresses[0]["city"] == "Wiesenfeld"

    # replace the directory with something else first, so the import really has to restore it
    small = tmp_path / "small"
    small.mkdir()
    (small / "organizations.csv").write_text("id,name\norg-1,Eine Initiative\n", "utf-8")
    (small / "services.csv").write_text(
        "id,organization_id,name,status,topic\nsvc-1,org-1,Sprachcafé,active,language_courses\n",
        "utf-8",
    )
    await _import(app, small)
    assert (await _snapshot(app))["dir_services"] != original["dir_services"]

    report = await _import(app, path)
    assert report.format == "json"
    assert await _snapshot(app) == original
    [again] = await _export(app, tmp_path / "again.json", "json")
    assert again.read_bytes() == path.read_bytes()


async def test_json_errors_name_the_object(app: App, tmp_path: Path) -> None:
    await _tables(app)
    path = tmp_path / "services.json"
    organization = {"id": "org-1", "name": "Beratungsstelle"}
    services: list[dict[str, Any]] = [
        {
            "id": "svc-1",
            "name": "Beratung",
            "status": "active",
            "topic": "health",
            "organization": organization,
            "schedules": [{"id": "sch-1", "byday": "MO", "opens_at": "9 Uhr"}],
            "languages": [{"id": "lang-1", "code": "ar"}],
        },
        {
            "id": "svc-2",
            "name": "Beratung",
            "status": "active",
            "topic": "housing",
            "organization": {**organization, "name": "Anders"},
        },
    ]
    path.write_text(json.dumps(services), "utf-8")
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, path)
    found = {(e.file, e.row, e.field) for e in caught.value.errors}
    assert found == {
        ("services.json", "[0].schedules[0]", "opens_at"),
        ("services.json", "[1].organization", "id"),
    }

    services[0]["schedules"] = []
    services[1]["organization"] = organization
    path.write_text(json.dumps({"services": services}), "utf-8")
    report = await _import(app, path)
    assert report.counts["organizations"] == 1 and report.counts["services"] == 2
    async with app.session_factory() as session:
        language = await session.scalar(select(DirLanguage))
    assert language is not None and language.service_id == "svc-1"


async def test_progress_is_reported(app: App) -> None:
    await _tables(app)
    calls: list[tuple[str, int, int]] = []
    report = await _import(app, DEMO, progress=lambda *args: calls.append(args))
    stages = {stage for stage, _, _ in calls}
    assert stages == {"validate", "write"}
    assert ("validate", report.total, report.total) in calls
    assert ("write", report.total, report.total) == calls[-1]
    writes = [done for stage, done, _ in calls if stage == "write"]
    assert writes == sorted(writes) and len(writes) >= report.total // 500


# --- broken files, big files, and the bot beside a long import ---------------------------------


def _small_package(folder: Path) -> Path:
    folder.mkdir()
    (folder / "organizations.csv").write_text("id,name\norg-1,Eine Initiative\n", "utf-8")
    (folder / "services.csv").write_text(
        "id,organization_id,name,status,topic\n"
        "svc-1,org-1,Sprachcafé,active,language_courses\n"
        "svc-2,org-1,Beratung,active,health\n"
        "svc-3,org-1,Kleiderkammer,active,everyday_help\n",
        "utf-8",
    )
    return folder


async def test_a_nul_in_a_cell_is_a_row_error(app: App, tmp_path: Path) -> None:
    package = _small_package(tmp_path / "package")
    services = package / "services.csv"
    services.write_text(services.read_text("utf-8").replace("Beratung", "Bera\x00tung"), "utf-8")
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, package)
    assert caught.value.errors == [
        ImportError_("services.csv", 2, "name", "contains a NUL character")
    ]


async def test_an_unbalanced_quote_is_a_row_error(app: App, tmp_path: Path) -> None:
    package = _small_package(tmp_path / "package")
    services = package / "services.csv"
    services.write_text(
        services.read_text("utf-8").replace("Beratung", '"Beratung, offen'), "utf-8"
    )
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, package)
    [error] = caught.value.errors
    assert (error.file, error.row) == ("services.csv", 2)
    assert "never closed" in error.message

    services.write_text(
        services.read_text("utf-8").replace('"Beratung, offen', '"Beratung" offen'), "utf-8"
    )
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, package)
    [error] = caught.value.errors
    assert (error.file, error.row) == ("services.csv", 2)
    assert "closing" in error.message


async def test_json_nested_too_deeply_is_refused(app: App, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, "utf-8")  # past the parser's recursion
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, path)
    assert caught.value.errors == [
        ImportError_("deep.json", "", "", "is nested deeper than 32 levels")
    ]

    nested: Any = "Beratung"
    for _ in range(40):  # within the parser's limit, but no HSDS package is like this
        nested = [nested]
    service = {"id": "svc-1", "name": "x", "status": "active", "topic": "health"}
    path.write_text(json.dumps([{**service, "description": nested}]), "utf-8")
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, path)
    [error] = caught.value.errors
    assert error.row.startswith("[0].description[0][0]") and "deeper than 32" in error.message


async def test_a_package_over_the_size_limit_is_refused_before_reading(
    app: App, tmp_path: Path
) -> None:
    package = _small_package(tmp_path / "package")
    async with app.session_factory() as session:
        with pytest.raises(DirectoryImportError) as caught:
            await import_package(session, package, max_bytes=100)
        report = await import_package(session, package, max_bytes=10_000)
    [error] = caught.value.errors
    assert error.file == "package" and "more than the 100 bytes" in error.message
    assert "LOTSE_IMPORT_MAX_MB" in error.message
    assert report.counts["services"] == 3


async def test_people_are_answered_while_a_large_directory_is_imported(
    app: App, chat: Conversation, tmp_path: Path
) -> None:
    """The import commits in batches: on SQLite a transaction holds the only write lock,
    and an import of 300,000 rows takes a minute. Another connection can take the lock
    between two batches, and a person talking to the bot meanwhile gets answers."""
    rows = write_package(tmp_path / "package", 6_000)
    database = app.settings.database_url.removeprefix("sqlite+aiosqlite:///")
    sqlite = app.engine.dialect.name == "sqlite"
    seen_between: list[int] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage != "write" or not sqlite or done == total:
            return
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if the import held the lock
            other.execute("ROLLBACK")
            seen_between.append(other.execute("SELECT count(*) FROM dir_services").fetchone()[0])
        finally:
            other.close()

    async def importing() -> Any:
        async with app.session_factory() as session:
            return await import_package(session, tmp_path / "package", progress=progress)

    task = asyncio.create_task(importing())
    answers = []
    while not task.done():
        answers += await chat.say("lea", "/help", lang="en")
    report = await task
    assert report.total == rows
    assert len(answers) >= 3 and not any("went wrong" in a.text for a in answers)
    if sqlite:
        assert len(seen_between) >= 10
        assert seen_between == sorted(seen_between) and 0 < seen_between[-1] <= 1_000


def test_the_command_lists_row_errors_without_a_traceback(tmp_path: Path) -> None:
    package = _small_package(tmp_path / "package")
    (package / "organizations.csv").write_text('id,name\norg-1,"Eine Initiative\n', "utf-8")
    services = package / "services.csv"
    services.write_text(services.read_text("utf-8").replace("Beratung", "Bera\x00tung"), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_"))}
    env["LOTSE_DATA_DIR"] = str(tmp_path / "data")
    result = subprocess.run(
        [sys.executable, "-m", "lotse", "directory", "import", str(package)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    unclosed = "organizations.csv, row 1: a quoted cell that starts in this row is never closed"
    assert f'{unclosed} (a " is missing)' in lines
    assert "services.csv, row 2, name: contains a NUL character" in lines
    assert lines[-1] == "lotse: 5 error(s); nothing was imported."
