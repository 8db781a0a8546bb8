"""Composed text reads the way each language writes: its list pattern, its commas, its digits,
its capitalisation of language names, and days in the order of the week."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.core.i18n import (
    format_date,
    format_list,
    format_moment,
    format_number,
    format_time,
    join_parts,
    semicolon,
    use_locale,
)
from db.directory import DirSchedule
from handlers.basics.taxonomy import language_label, language_name
from handlers.referral.cards import hours


def test_lists_follow_the_locales_pattern() -> None:
    with use_locale("de"):
        assert format_list(["Arabisch", "Farsi", "Türkisch"]) == "Arabisch, Farsi und Türkisch"
    with use_locale("ar"):
        assert format_list(["أ", "ب", "ج"]) == "أ وب وج"  # CLDR's Arabic joins each with و
    with use_locale("fa"):
        assert format_list(["الف", "ب", "ج"]) == "الف،‏ ب، و ج"


def test_arabic_and_farsi_composed_text_uses_their_punctuation() -> None:
    with use_locale("ar"):
        assert join_parts(["مقهى اللغة", "", "الحي القديم"]) == "مقهى اللغة، الحي القديم"
        assert semicolon() == "؛ "
    with use_locale("de"):
        assert join_parts(["Sprachcafé", "Altstadt"]) == "Sprachcafé, Altstadt"


def test_farsi_counts_dates_and_times_in_persian_digits() -> None:
    moment = datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
    with use_locale("fa", "Asia/Tehran"):
        assert format_number(12) == "۱۲"
        assert format_number(1250) == "۱٬۲۵۰"
        assert format_time(moment) == "۱۸:۰۰"
        assert format_time(time(9, 5)) == "۹:۰۵"
        assert not any(c.isascii() and c.isdigit() for c in format_date(moment))
        assert not any(c.isascii() and c.isdigit() for c in format_moment(moment))
    with use_locale("ar", "Europe/Berlin"):  # CLDR's Arabic writes Latin digits: left alone
        assert format_number(12) == "12"
        assert format_time(moment) == "3:30 م"


def test_language_names_are_lower_case_mid_sentence_where_the_language_writes_so() -> None:
    with use_locale("ru"):
        assert language_name("ar") == "арабский" and language_label("ar") == "Арабский"
    with use_locale("uk"):
        assert language_name("de") == "німецька"
    with use_locale("de"):
        assert language_name("ar") == language_label("ar") == "Arabisch"
        assert language_name("fa_AF") == "Dari"


def test_opening_hours_are_read_in_weekday_order() -> None:
    schedules = [
        DirSchedule(id="3", byday="FR", opens_at="09:00", closes_at="12:00"),
        DirSchedule(id="1", byday="TH,MO", opens_at="14:00", closes_at="18:00"),
        DirSchedule(id="2", byday="MO", opens_at="09:00", closes_at="12:00"),
    ]
    with use_locale("de"):
        assert hours(schedules) == "Mo. 09:00–12:00; Mo., Do. 14:00–18:00; Fr. 09:00–12:00"
    with use_locale("fa"):
        assert "۰۹:۰۰" in hours(schedules) and "؛ " in hours(schedules)


def test_a_farsi_volunteers_profile_reads_in_persian_digits() -> None:
    from handlers.volunteering.profile import summary

    data = {"activities": ["childcare"], "levels": {"fa_AF": "native"}, "limit": 3}
    with use_locale("fa"):
        text = summary({**data, "quiet": [22, 7], "days": ["mon"], "times": ["morning"]})
    assert "۲۲:۰۰–۰۷:۰۰" in text and "۳" in text and "دری" in text
    assert not any(c in "0123456789" for c in text)
