"""An operator who gets the configuration wrong sees one line naming the variable, and
`lotse` exits with 2 before anything starts: no traceback, nothing half started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

POSTGRES = os.environ.get("LOTSE_TEST_DATABASE_URL", "")


def lotse(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`lotse ARGS` in an empty folder (no .env), with only the given settings."""
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("LOTSE_", "TELEGRAM_", "MATRIX_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "lotse", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], variable: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith(f"lotse: configuration error: {variable}:"), lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_data_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = assert_one_line(
        lotse(tmp_path, "db", "upgrade", LOTSE_DATA_DIR=str(blocker / "data")), "LOTSE_DATA_DIR"
    )
    assert "cannot create" in line


def test_a_sqlite_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite+aiosqlite:///{blocker}/db/lotse.sqlite3"
    assert_one_line(lotse(tmp_path, "demo", LOTSE_DATABASE_URL=url), "LOTSE_DATABASE_URL")


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lotse.sqlite3").write_bytes(b"this is no database" * 100)
    line = assert_one_line(lotse(tmp_path, "db", "upgrade"), "LOTSE_DATABASE_URL")
    assert "cannot open" in line


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///"])
def test_an_empty_sqlite_path(tmp_path: Path, url: str) -> None:
    assert_one_line(lotse(tmp_path, "db", "upgrade", LOTSE_DATABASE_URL=url), "LOTSE_DATABASE_URL")


def test_a_superscript_digit_in_a_number(tmp_path: Path) -> None:
    assert_one_line(lotse(tmp_path, "db", "upgrade", LOTSE_FLOOD_BURST="1²"), "LOTSE_FLOOD_BURST")


def test_an_unreachable_postgresql_server(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://lotse:secret-pw@127.0.0.1:{free_port()}/lotse"
    line = assert_one_line(
        lotse(tmp_path, "db", "upgrade", LOTSE_DATABASE_URL=url), "LOTSE_DATABASE_URL"
    )
    assert "cannot reach PostgreSQL at 127.0.0.1" in line and "secret-pw" not in line


@pytest.mark.skipif(not POSTGRES, reason="needs LOTSE_TEST_DATABASE_URL (a PostgreSQL server)")
def test_a_missing_postgresql_database(tmp_path: Path) -> None:
    url = make_url(POSTGRES).set(database="lotse_no_such_database").render_as_string(False)
    line = assert_one_line(lotse(tmp_path, "demo", LOTSE_DATABASE_URL=url), "LOTSE_DATABASE_URL")
    assert "'lotse_no_such_database' does not exist" in line


def test_webhook_mode_on_postgresql_needs_a_shared_secret(tmp_path: Path) -> None:
    result = lotse(
        tmp_path,
        "run",
        LOTSE_DATABASE_URL=f"postgresql+asyncpg://lotse@127.0.0.1:{free_port()}/lotse",
        TELEGRAM_BOT_TOKEN="123:ABC",
        LOTSE_WEBHOOK_URL="https://bot.example.org/telegram/hook",
    )
    assert "several processes" in assert_one_line(result, "LOTSE_WEBHOOK_SECRET")
