"""Settings: sensible defaults, and one clear line naming the variable for a wrong value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings


def settings(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "absent.env")


def test_defaults(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.database_url == "sqlite+aiosqlite:///data/lotse.sqlite3"
    assert (s.default_language, s.timezone, s.telegram_api_url) == (
        "de",
        "Europe/Berlin",
        "https://api.telegram.org",
    )
    assert not s.telegram_configured and not s.matrix_configured


def test_all_values(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        LOTSE_DATA_DIR=str(tmp_path / "d"),
        LOTSE_DEFAULT_LANGUAGE="ar",
        LOTSE_TIMEZONE="Europe/Kyiv",
        LOTSE_NETWORK_NAME="Netzwerk Wiesenfeld",
        LOTSE_COORDINATORS="telegram:12345, matrix:@anna:example.org,console:carla",
        TELEGRAM_BOT_TOKEN="123:ABC",
        TELEGRAM_API_URL="http://127.0.0.1:8081/",
        MATRIX_HOMESERVER="https://matrix.example.org",
        MATRIX_USER_ID="@lotse:example.org",
        MATRIX_ACCESS_TOKEN="syt_x",
    )
    assert s.database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'lotse.sqlite3'}"
    assert s.coordinators == {
        ("telegram", "12345"),
        ("matrix", "@anna:example.org"),
        ("console", "carla"),
    }
    assert s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.telegram_configured and s.matrix_configured


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LOTSE_NETWORK_NAME=From file\nLOTSE_DEFAULT_LANGUAGE=tr\n")
    s = load_settings({"LOTSE_DEFAULT_LANGUAGE": "uk"}, env_file=env_file)
    assert (s.network_name, s.default_language) == ("From file", "uk")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LOTSE_TIMEZONE": "Mars/Olympus"}, "LOTSE_TIMEZONE"),
        ({"LOTSE_DEFAULT_LANGUAGE": "xx"}, "LOTSE_DEFAULT_LANGUAGE"),
        ({"LOTSE_DATABASE_URL": "mysql://x"}, "LOTSE_DATABASE_URL"),
        ({"LOTSE_COORDINATORS": "icq:123"}, "LOTSE_COORDINATORS"),
        ({"LOTSE_COORDINATORS": "telegram"}, "LOTSE_COORDINATORS"),
        ({"TELEGRAM_BOT_TOKEN": "no colon"}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"MATRIX_HOMESERVER": "example.org"}, "MATRIX_HOMESERVER"),
        ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "lotse"}, "MATRIX_USER_ID"),
        ({"MATRIX_HOMESERVER": "https://m.org", "MATRIX_USER_ID": "@l:m.org"}, "MATRIX_PASSWORD"),
        ({"MATRIX_USER_ID": "@l:m.org", "MATRIX_PASSWORD": "x"}, "MATRIX_HOMESERVER"),
        ({"LOTSE_WEBHOOK_PORT": "99999"}, "LOTSE_WEBHOOK_PORT"),
        # digits int() refuses although str.isdigit() accepts them
        ({"LOTSE_WEBHOOK_PORT": "8443²"}, "LOTSE_WEBHOOK_PORT"),
        ({"LOTSE_FLOOD_BURST": "²"}, "LOTSE_FLOOD_BURST"),
        ({"LOTSE_DIGEST_HOUR": "⁸"}, "LOTSE_DIGEST_HOUR"),
        ({"LOTSE_COORDINATORS": "telegram:12345²"}, "LOTSE_COORDINATORS"),
        ({"LOTSE_COORDINATORS": "matrix:anna"}, "LOTSE_COORDINATORS"),
        ({"LOTSE_DATABASE_URL": "sqlite+aiosqlite://"}, "LOTSE_DATABASE_URL"),
        ({"LOTSE_DATABASE_URL": "sqlite+aiosqlite:///"}, "LOTSE_DATABASE_URL"),
        ({"LOTSE_DATABASE_URL": "postgresql+asyncpg://db.example.org"}, "LOTSE_DATABASE_URL"),
        (
            {
                "LOTSE_DATABASE_URL": "postgresql+asyncpg://lotse@db.example.org/lotse",
                "TELEGRAM_BOT_TOKEN": "123:ABC",
                "LOTSE_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
            },
            "LOTSE_WEBHOOK_SECRET",
        ),
    ],
)
def test_wrong_values_name_the_variable(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, **env)
    assert str(error.value).startswith(variable + ":")
    assert "\n" not in str(error.value)


def test_webhook_secret_is_optional_for_a_single_process_on_sqlite(tmp_path: Path) -> None:
    s = settings(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123:ABC",
        LOTSE_WEBHOOK_URL="https://bot.example.org/telegram/hook",
    )
    assert s.webhook_url and s.webhook_secret is None
