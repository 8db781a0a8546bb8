"""Every shipped language is complete; locale choice and formatting follow the reader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.catalog_tools import gaps
from bot.core.i18n import (
    LANGUAGE_NAMES,
    RLM,
    SHIPPED_LANGUAGES,
    directed,
    format_datetime,
    match_language,
    resolve_language,
    use_locale,
)
from tests.support import tn


@pytest.mark.parametrize("language", SHIPPED_LANGUAGES)
def test_catalog_is_complete(language: str) -> None:
    """No missing, empty or fuzzy entry, and no placeholder the source does not have."""
    problems = gaps(language)
    assert not problems, "\n".join(f"{g.problem}: {g.msgid[:80]!r}" for g in problems[:20])


def test_seven_languages_named_in_themselves() -> None:
    assert SHIPPED_LANGUAGES == ("de", "en", "ar", "uk", "fa", "tr", "ru")
    assert list(LANGUAGE_NAMES.values()) == [
        "Deutsch",
        "English",
        "العربية",
        "Українська",
        "فارسی",
        "Türkçe",
        "Русский",
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("uk_UA", "uk"),
        ("fa-IR", "fa"),
        ("ar-SY", "ar"),
        ("pt-BR", None),
        ("", None),
        (None, None),
        ("??", None),
        ("en-GB", "en"),
    ],
)
def test_platform_language_codes(code: str | None, expected: str | None) -> None:
    assert match_language(code) == expected


def test_saved_choice_beats_platform_beats_default() -> None:
    assert resolve_language("ar", "de", "en") == "ar"
    assert resolve_language(None, "tr-TR", "de") == "tr"
    assert resolve_language(None, "xx", "de") == "de"
    assert resolve_language("xx", None, "ru") == "ru"


def test_right_to_left_lines_get_a_direction_mark() -> None:
    text = "/help – مساعدة\n\n123 شارع"
    assert directed(text, "ar") == f"{RLM}/help – مساعدة\n\n{RLM}123 شارع"
    assert directed(text, "de") == text


def test_dates_follow_the_readers_locale_and_time_zone() -> None:
    moment = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)
    with use_locale("de", "Europe/Berlin"):
        assert format_datetime(moment, "short") == "05.03.26, 18:30"
    with use_locale("en", "America/New_York"):
        assert format_datetime(moment, "short") == "3/5/26, 12:30\u202fPM"
    with use_locale("ar", "Europe/Berlin"):
        assert format_datetime(moment, "short") == "5\u200f/3\u200f/2026، 6:30 م"
    with use_locale("uk", "Europe/Kyiv"):
        assert format_datetime(moment, "short") == "05.03.26, 19:30"


def test_naive_datetimes_are_refused() -> None:
    with use_locale("de"), pytest.raises(ValueError):
        format_datetime(datetime(2026, 1, 1, 12, 0))


def test_counts_take_the_plural_form_of_each_language() -> None:
    """'1 question', '2 questions': German has two forms, Russian three, Arabic six."""
    one, many = "The survey has {count} question.", "The survey has {count} questions."
    german = {tn("de", one, many, n, count=n) for n in (1, 2)}
    russian = {tn("ru", one, many, n, count=n).split()[-1] for n in (1, 2, 5)}
    arabic = {tn("ar", one, many, n, count=n).replace(str(n), "") for n in (0, 1, 2, 3, 11, 100)}
    assert german == {"Die Umfrage hat 1 Frage.", "Die Umfrage hat 2 Fragen."}
    assert len(russian) == 3
    assert len(arabic) >= 4  # some of the six forms may share a word
