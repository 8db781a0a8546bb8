"""Settings from the environment (and an optional `.env` file).

Every value is checked once at start-up so that a typo stops the bot with one line naming the
variable, instead of a traceback deep inside a transport hours later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.i18n import SHIPPED_LANGUAGES

PLATFORMS = ("telegram", "matrix", "console")
#: The demo city's districts; a real network sets LOTSE_DISTRICTS to its own.
DEFAULT_DISTRICTS = (
    "Altstadt",
    "Nordviertel",
    "Südstadt",
    "Weststadt",
    "Hafenviertel",
    "Oststadt",
)


class ConfigError(ValueError):
    """A setting has a wrong value; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    default_language: str = "de"
    timezone: str = "Europe/Berlin"
    network_name: str = "Lotse"
    coordinators: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    telegram_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    matrix_homeserver: str | None = None
    matrix_user_id: str | None = None
    matrix_password: str | None = None
    matrix_access_token: str | None = None
    districts: tuple[str, ...] = DEFAULT_DISTRICTS
    match_wait_hours: float = 24.0
    flood_burst: int = 12  # updates a person may send at once before being slowed down
    retention_days: int = 365  # inactive this long: reminded, then deleted after the grace
    retention_grace_days: int = 30
    worker_id: str = "main"  # distinct per process when several share one PostgreSQL
    telegram_rate: int = 30  # messages per second to Telegram, shared by all processes
    freshness_months: int = 6  # ask services to confirm their entry this often
    #: The package with the agency's features (routers, hooks, jobs); `bot` never imports
    #: it by name, so the core stays below the features (docs/architecture.md).
    features: str = "handlers"
    stale_months: int = 12  # entries unconfirmed this long are shown with a warning
    ticket_remind_hours: int = 24  # unanswered hand-over questions are reminded after this
    digest_weekday: int = 0  # Monday; the weekly event digest goes out then …
    digest_hour: int = 8  # … at this hour in each recipient's time zone
    import_max_mb: int = 100  # the largest directory package `lotse directory import` takes

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_token)

    @property
    def matrix_configured(self) -> bool:
        return bool(
            self.matrix_homeserver
            and self.matrix_user_id
            and (self.matrix_password or self.matrix_access_token)
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _read_env(env: Mapping[str, str] | None, env_file: Path | None) -> dict[str, str]:
    """The process environment wins over `.env`, as in twelve-factor tools."""
    values: dict[str, str] = {}
    path = env_file if env_file is not None else Path(".env")
    if path.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    values.update(os.environ if env is None else env)
    return {k: v.strip() for k, v in values.items()}


def _check_url(name: str, value: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"{name}: expected a URL starting with {' or '.join(schemes)}://")
    return value.rstrip("/")


def _is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit()` also accepts `²`, which `int()` refuses."""
    return re.fullmatch(r"[0-9]+", text) is not None


def _check_database_url(url: str) -> None:
    """A URL SQLAlchemy can parse; for SQLite one that names a file (an empty path would be
    a database in memory, lost at exit)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ConfigError("LOTSE_DATABASE_URL: not a valid database URL") from None
    if parsed.get_backend_name() == "sqlite":
        database = (parsed.database or "").strip()
        if not database or database.endswith("/"):
            raise ConfigError(
                "LOTSE_DATABASE_URL: the SQLite URL names no file; use "
                "sqlite+aiosqlite:///path/to/lotse.sqlite3"
            )
    elif not parsed.database:
        raise ConfigError(
            "LOTSE_DATABASE_URL: the PostgreSQL URL names no database; use "
            "postgresql+asyncpg://user:password@host/database"
        )


def _parse_coordinators(value: str) -> frozenset[tuple[str, str]]:
    result = set()
    for item in filter(None, (part.strip() for part in value.split(","))):
        platform, sep, user_id = item.partition(":")
        if not sep or platform not in PLATFORMS or not user_id:
            raise ConfigError(
                f"LOTSE_COORDINATORS: {item!r} is not platform:id "
                f"(platform one of {', '.join(PLATFORMS)})"
            )
        if platform == "telegram" and not _is_number(user_id):
            raise ConfigError(
                f"LOTSE_COORDINATORS: {item!r}: a Telegram user id is a number, like "
                "telegram:12345"
            )
        if platform == "matrix" and not (user_id.startswith("@") and ":" in user_id):
            raise ConfigError(
                f"LOTSE_COORDINATORS: {item!r}: a Matrix id looks like matrix:@anna:example.org"
            )
        result.add((platform, user_id))
    return frozenset(result)


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read and validate all settings; raises ConfigError with the variable's name."""
    v = _read_env(env, env_file)
    data_dir = Path(v.get("LOTSE_DATA_DIR") or "./data")
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"LOTSE_DATA_DIR: {data_dir} exists and is not a directory")
    url = v.get("LOTSE_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'lotse.sqlite3'}"
    if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            "LOTSE_DATABASE_URL: use sqlite+aiosqlite:///path or postgresql+asyncpg://..."
        )
    _check_database_url(url)
    language = v.get("LOTSE_DEFAULT_LANGUAGE") or "de"
    if language not in SHIPPED_LANGUAGES:
        raise ConfigError(
            f"LOTSE_DEFAULT_LANGUAGE: {language!r} is not shipped "
            f"(one of {', '.join(SHIPPED_LANGUAGES)})"
        )
    timezone = v.get("LOTSE_TIMEZONE") or "Europe/Berlin"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"LOTSE_TIMEZONE: unknown time zone {timezone!r}") from None
    webhook_url = v.get("LOTSE_WEBHOOK_URL") or None
    if webhook_url:
        webhook_url = _check_url("LOTSE_WEBHOOK_URL", webhook_url, ("https", "http"))
    port_text = v.get("LOTSE_WEBHOOK_PORT") or "8443"
    if not _is_number(port_text) or not 0 < int(port_text) < 65536:
        raise ConfigError("LOTSE_WEBHOOK_PORT: expected a port number between 1 and 65535")
    token = v.get("TELEGRAM_BOT_TOKEN") or None
    if token and (":" not in token or any(c.isspace() for c in token)):
        raise ConfigError("TELEGRAM_BOT_TOKEN: expected the token BotFather gave, like 123:ABC…")
    homeserver = v.get("MATRIX_HOMESERVER") or None
    if homeserver:
        homeserver = _check_url("MATRIX_HOMESERVER", homeserver, ("https", "http"))
    user_id = v.get("MATRIX_USER_ID") or None
    if user_id and not (user_id.startswith("@") and ":" in user_id):
        raise ConfigError("MATRIX_USER_ID: expected a full Matrix ID like @lotse:example.org")
    password = v.get("MATRIX_PASSWORD") or None
    access_token = v.get("MATRIX_ACCESS_TOKEN") or None
    if homeserver and not user_id:
        raise ConfigError("MATRIX_USER_ID: required when MATRIX_HOMESERVER is set")
    if homeserver and not (password or access_token):
        raise ConfigError(
            "MATRIX_PASSWORD: set it or MATRIX_ACCESS_TOKEN when MATRIX_HOMESERVER is set"
        )
    if user_id and not homeserver:
        raise ConfigError("MATRIX_HOMESERVER: required when MATRIX_USER_ID is set")
    districts = tuple(d.strip() for d in (v.get("LOTSE_DISTRICTS") or "").split(",") if d.strip())
    if any(len(d) > 100 for d in districts):
        raise ConfigError("LOTSE_DISTRICTS: a district name is longer than 100 characters")
    wait_text = v.get("LOTSE_MATCH_WAIT_HOURS") or "24"
    try:
        match_wait = float(wait_text)
    except ValueError:
        match_wait = -1
    if not 0 < match_wait <= 24 * 14:
        raise ConfigError("LOTSE_MATCH_WAIT_HOURS: expected hours between 0 and 336")
    numbers = {}
    for name, default, low, high in (
        ("LOTSE_FLOOD_BURST", 12, 1, 10_000),
        ("LOTSE_RETENTION_DAYS", 365, 30, 3650),
        ("LOTSE_RETENTION_GRACE_DAYS", 30, 1, 365),
        ("LOTSE_FRESHNESS_MONTHS", 6, 1, 36),
        ("LOTSE_STALE_MONTHS", 12, 1, 60),
        ("LOTSE_TICKET_REMIND_HOURS", 24, 1, 720),
        ("LOTSE_TELEGRAM_RATE", 30, 1, 30),
        ("LOTSE_IMPORT_MAX_MB", 100, 1, 100_000),
    ):
        text = v.get(name) or str(default)
        if not _is_number(text) or not low <= int(text) <= high:
            raise ConfigError(f"{name}: expected a whole number from {low} to {high}")
        numbers[name] = int(text)
    worker_id = v.get("LOTSE_WORKER_ID") or "main"
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", worker_id):
        raise ConfigError("LOTSE_WORKER_ID: use letters, digits, . _ - (at most 64)")
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    digest_day = (v.get("LOTSE_DIGEST_DAY") or "mon").lower()[:3]
    if digest_day not in days:
        raise ConfigError("LOTSE_DIGEST_DAY: expected a weekday like mon, tue … sun")
    digest_hour = v.get("LOTSE_DIGEST_HOUR") or "8"
    if not _is_number(digest_hour) or int(digest_hour) > 23:
        raise ConfigError("LOTSE_DIGEST_HOUR: expected an hour from 0 to 23")
    webhook_secret = v.get("LOTSE_WEBHOOK_SECRET") or None
    if webhook_url and token and not webhook_secret and url.startswith("postgresql"):
        raise ConfigError(
            "LOTSE_WEBHOOK_SECRET: required for webhook mode on PostgreSQL, where several "
            "processes share the webhook; give them all the same secret"
        )
    return Settings(
        digest_weekday=days.index(digest_day),
        digest_hour=int(digest_hour),
        flood_burst=numbers["LOTSE_FLOOD_BURST"],
        freshness_months=numbers["LOTSE_FRESHNESS_MONTHS"],
        telegram_rate=numbers["LOTSE_TELEGRAM_RATE"],
        import_max_mb=numbers["LOTSE_IMPORT_MAX_MB"],
        worker_id=worker_id,
        stale_months=numbers["LOTSE_STALE_MONTHS"],
        ticket_remind_hours=numbers["LOTSE_TICKET_REMIND_HOURS"],
        retention_days=numbers["LOTSE_RETENTION_DAYS"],
        retention_grace_days=numbers["LOTSE_RETENTION_GRACE_DAYS"],
        districts=districts or DEFAULT_DISTRICTS,
        match_wait_hours=match_wait,
        data_dir=data_dir,
        database_url=url,
        default_language=language,
        timezone=timezone,
        network_name=v.get("LOTSE_NETWORK_NAME") or "Lotse",
        coordinators=_parse_coordinators(v.get("LOTSE_COORDINATORS", "")),
        telegram_token=token,
        telegram_api_url=_check_url(
            "TELEGRAM_API_URL",
            v.get("TELEGRAM_API_URL") or "https://api.telegram.org",
            ("https", "http"),
        ),
        webhook_url=webhook_url,
        webhook_listen=v.get("LOTSE_WEBHOOK_LISTEN") or "127.0.0.1",
        webhook_port=int(port_text),
        webhook_secret=webhook_secret,
        matrix_homeserver=homeserver,
        matrix_user_id=user_id,
        matrix_password=password,
        matrix_access_token=access_token,
    )
