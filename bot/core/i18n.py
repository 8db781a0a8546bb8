"""Translations and locale-aware formatting, one locale per update.

The locale lives in a context variable that the dispatcher sets for each update (and that the
outbox switches when it renders a message for someone else), so two people in two languages are
served at the same time. We never call `gettext.install()`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import lists as babel_lists
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"

#: Languages with a complete catalog, in the order the language menu shows them.
SHIPPED_LANGUAGES: tuple[str, ...] = ("de", "en", "ar", "uk", "fa", "tr", "ru")

#: Each language named in itself, so people find theirs whatever the chat's language is.
LANGUAGE_NAMES: dict[str, str] = {
    "de": "Deutsch",
    "en": "English",
    "ar": "العربية",
    "uk": "Українська",
    "fa": "فارسی",
    "tr": "Türkçe",
    "ru": "Русский",
}

RTL_LANGUAGES = frozenset({"ar", "fa"})
SOURCE_LANGUAGE = "en"

_language: ContextVar[str] = ContextVar("lotse_language", default="de")
_timezone: ContextVar[str] = ContextVar("lotse_timezone", default="Europe/Berlin")

# Unicode bidi controls: FSI/PDI isolate a fragment, RLM gives a line right-to-left direction.
FSI, PDI, RLM = "\u2068", "\u2069", "\u200f"


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


@cache
def _translations(language: str) -> NullTranslations:
    """Load the compiled catalog, compiling the .po in memory when the .mo is missing or stale."""
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if po.is_file():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    if language != SOURCE_LANGUAGE:
        logger.warning("no catalog for %s", language)
    return NullTranslations()


def check_catalogs() -> list[str]:
    """Return the shipped languages whose catalog cannot be found (checked at start-up)."""
    missing = []
    for language in SHIPPED_LANGUAGES:
        folder = LOCALES_DIR / language / "LC_MESSAGES"
        if not (folder / f"{DOMAIN}.po").is_file() and not (folder / f"{DOMAIN}.mo").is_file():
            missing.append(language)
    return missing


def current_language() -> str:
    return _language.get()


def current_timezone() -> ZoneInfo:
    return ZoneInfo(_timezone.get())


def is_rtl(language: str | None = None) -> bool:
    return (language or _language.get()) in RTL_LANGUAGES


def set_locale(language: str, timezone: str | None = None) -> None:
    """Set the locale for the rest of this task (the dispatcher does this once per update)."""
    _language.set(language if language in SHIPPED_LANGUAGES else SHIPPED_LANGUAGES[0])
    if timezone:
        _timezone.set(timezone)


@contextmanager
def use_locale(language: str, timezone: str | None = None) -> Iterator[None]:
    """Render in someone else's language for a moment, e.g. a message to another person."""
    lang_token = _language.set(language if language in SHIPPED_LANGUAGES else _language.get())
    tz_token = _timezone.set(timezone) if timezone else None
    try:
        yield
    finally:
        _language.reset(lang_token)
        if tz_token is not None:
            _timezone.reset(tz_token)


def gettext(message: str) -> str:
    return _translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(_translations(_language.get()).pgettext(context, message))


_ = gettext


def match_language(code: str | None) -> str | None:
    """Map a platform's language code (`de`, `pt-BR`, `uk_UA`) to a shipped language."""
    if not code:
        return None
    try:
        locale = Locale.parse(code.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    return locale.language if locale.language in SHIPPED_LANGUAGES else None


def resolve_language(saved: str | None, platform_code: str | None, default: str) -> str:
    """The person's saved choice, else the platform's language, else the network's default."""
    if saved in SHIPPED_LANGUAGES:
        return saved
    return match_language(platform_code) or default


def isolate(value: object) -> str:
    """Wrap text that came from a person (a name, an address) so it cannot flip the line's
    direction: an Arabic name in a German sentence, or a Latin one in an Arabic sentence."""
    return f"{FSI}{value}{PDI}"


def directed(text: str, language: str | None = None) -> str:
    """Give every line of a right-to-left message a right-to-left start.

    Chat apps pick a paragraph's direction from its first strong letter; a line of Arabic that
    starts with `/help` or a number would otherwise be laid out left-to-right.
    """
    if not is_rtl(language) or not text:
        return text
    return "\n".join(
        RLM + line if line and not line.startswith(RLM) else line for line in text.split("\n")
    )


def _babel_locale() -> Locale:
    return Locale.parse(_language.get())


def _localise(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; store and pass UTC-aware times")
    return value.astimezone(current_timezone())


#: The digits of the numbering systems our locales use besides the Latin one.
_DIGITS = {"arabext": "۰۱۲۳۴۵۶۷۸۹", "arab": "٠١٢٣٤٥٦٧٨٩"}


def localise_digits(text: str) -> str:
    """Write the digits of a date or time the way the reader's locale writes numbers.

    Babel uses a locale's own separators when asked, but always Latin digits; CLDR's Persian
    writes numbers, dates and times in Persian digits (۱۴:۳۰), as Farsi readers expect.
    """
    digits = _DIGITS.get(_babel_locale().default_numbering_system)
    return text.translate(str.maketrans("0123456789", digits)) if digits else text


def format_datetime(value: datetime, format: str = "medium") -> str:
    """A moment in the reader's language and time zone."""
    return localise_digits(
        babel_dates.format_datetime(_localise(value), format=format, locale=_babel_locale())
    )


def format_moment(value: datetime) -> str:
    """Weekday, date and time the way people say them: "Fr., 27. Nov. 2026, 10:15"."""
    local = _localise(value)
    locale = _babel_locale()
    pattern = str(locale.datetime_formats["medium"])
    day = babel_dates.format_skeleton("yMMMEd", local, locale=locale)
    clock = babel_dates.format_time(local, "short", locale=locale)
    return localise_digits(pattern.replace("{1}", day).replace("{0}", clock))


def format_date(value: date | datetime, format: str = "medium") -> str:
    if isinstance(value, datetime):
        value = _localise(value).date()
    return localise_digits(babel_dates.format_date(value, format=format, locale=_babel_locale()))


def format_time(value: time | datetime, format: str = "short") -> str:
    if isinstance(value, datetime):
        value = _localise(value)
    return localise_digits(babel_dates.format_time(value, format=format, locale=_babel_locale()))


def format_number(value: int | float) -> str:
    """A count in the reader's digits and separators (Persian digits in Farsi: ۱۲)."""
    return localise_digits(
        babel_numbers.format_decimal(value, locale=_babel_locale(), numbering_system="default")
    )


def format_list(items: Iterable[str]) -> str:
    """An enumeration the locale's way: "A, B und C", "A، B و C"."""
    return babel_lists.format_list(list(items), locale=_babel_locale())


def comma() -> str:
    """The separator between the parts of a composed phrase (a place and its district)."""
    return "، " if is_rtl() else ", "


def semicolon() -> str:
    """The separator between groups of parts (opening hours of several days)."""
    return "؛ " if is_rtl() else "; "


def join_parts(parts: Iterable[str]) -> str:
    """Parts of one phrase, such as an address, joined with the reader's comma."""
    return comma().join(part for part in parts if part)
