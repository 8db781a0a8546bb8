"""Understanding a need written in one line, e.g. `/need Begleitung zum Jobcenter Di 10:00
Arabisch`: activity, weekday or date, time, languages and number of helpers are recognised in
any shipped language; the rest becomes the title. What is not recognised is asked for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale

from bot.core.i18n import SHIPPED_LANGUAGES
from handlers.basics.taxonomy import SPOKEN_LANGUAGES

#: Words that point to an activity (lower case, matched as word beginnings). German and
#: English cover most one-line posts; the activity can always be chosen from the list too.
ACTIVITY_WORDS: dict[str, tuple[str, ...]] = {
    "accompany_doctors": (
        "arzt",
        "ärzt",
        "praxis",
        "klinik",
        "krankenhaus",
        "doctor",
        "hospital",
        "clinic",
    ),
    "interpreting": ("dolmetsch", "übersetz", "sprachmittl", "interpret", "translat"),
    "accompany_authorities": (
        "begleitung",
        "begleiten",
        "jobcenter",
        "amt",
        "ämter",
        "behörde",
        "ausländerbehörde",
        "termin",
        "accompan",
        "authorit",
        "appointment",
    ),
    "german_lessons": (
        "deutschkurs",
        "deutschunterricht",
        "sprachcafé",
        "sprachcafe",
        "konversation",
        "german lesson",
        "german class",
    ),
    "homework_help": ("hausaufgab", "nachhilfe", "lernhilfe", "homework", "tutor"),
    "childcare": ("kinderbetreuung", "kinder", "childcare", "babysit"),
    "leisure_sports": (
        "sport",
        "fußball",
        "fussball",
        "freizeit",
        "ausflug",
        "spielen",
        "football",
        "leisure",
        "trip",
    ),
    "job_applications": ("bewerbung", "lebenslauf", "job application", "cv", "résumé"),
    "housing_search": ("wohnung", "wohnungssuche", "housing", "flat", "apartment"),
    "digital_help": (
        "computer",
        "handy",
        "smartphone",
        "internet",
        "digital",
        "laptop",
        "e-mail",
        "email",
    ),
    "transport": (
        "fahrdienst",
        "fahrt",
        "fahren",
        "transport",
        "umzug",
        "auto",
        "driving",
        "driver",
    ),
    "sorting_donations": ("spende", "kleiderkammer", "sortier", "donation"),
    "event_help": ("fest", "feier", "veranstaltung", "aufbau", "event", "party"),
    "forms_letters": ("formular", "antrag", "anträge", "brief", "post", "form", "letter"),
}

TIME = re.compile(r"\b([01]?\d|2[0-3])(?:[:.]([0-5]\d)|\s*(?:uhr|h)\b)", re.IGNORECASE)
DATE_DE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?!\d)")
DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
COUNT = re.compile(
    r"\b(\d{1,2})\s*(?:personen|leute|helfer\w*|ehrenamtliche|people|"
    r"volunteers|helpers|persons)\b",
    re.IGNORECASE,
)


@dataclass
class ParsedNeed:
    title: str | None = None
    activity: str | None = None
    languages: list[str] = field(default_factory=list)
    weekday: int | None = None
    on_date: date | None = None
    at: time | None = None
    count: int | None = None


def _normalise(word: str) -> str:
    return word.casefold().strip(".,;:!?()\"'«»„“”")


@cache
def weekday_words() -> dict[str, int]:
    words: dict[str, int] = {}
    for code in SHIPPED_LANGUAGES:
        days = Locale.parse(code).days
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for index, name in days[context][width].items():
                    words[_normalise(str(name))] = int(index)
    return words


@cache
def language_words() -> dict[str, str]:
    words: dict[str, str] = {"farsi": "fa", "dari": "fa_AF", "kurmanci": "ku", "sorani": "ckb"}
    for ui in SHIPPED_LANGUAGES:
        names = Locale.parse(ui).languages
        for code in SPOKEN_LANGUAGES:
            if names.get(code):
                words[_normalise(names[code])] = code
    return words


def find_activity(text: str) -> str | None:
    lowered = text.casefold()
    best, hits = None, 0
    for activity, stems in ACTIVITY_WORDS.items():
        count = sum(1 for stem in stems if re.search(r"(?<!\w)" + re.escape(stem), lowered))
        if count > hits:
            best, hits = activity, count
    return best


def parse_date(text: str, today: date) -> date | None:
    """`12.12.`, `12.12.2026`, `2026-12-12`; a date without year is the next such day."""
    match = DATE_ISO.search(text)
    try:
        if match:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = DATE_DE.search(text)
        if match:
            day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
            if year:
                full = int(year) + (2000 if len(year) == 2 else 0)
                return date(full, month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None
    return None


def parse_time(text: str) -> time | None:
    match = TIME.search(text)
    if not match:
        return None
    return time(int(match.group(1)), int(match.group(2) or 0))


DANGLING = {
    "und",
    "and",
    "oder",
    "or",
    "am",
    "um",
    "at",
    "on",
    "in",
    "ab",
    "mit",
    "with",
    "für",
    "for",
    "auf",
    "ve",
    "и",
    "або",
    "و",
    "یا",
}


def tidy_title(text: str) -> str | None:
    """What is left after the recognised parts, without stray commas and connectors."""
    text = re.sub(r"\s*([,;])(?:\s*[,;])+", r"\1", text)
    words = text.strip(" ,;-–").split()
    while words and words[-1].casefold().strip(",;") in DANGLING:
        words.pop()
    title = " ".join(words).strip(" ,;-–")
    return title[:120] or None


def parse_line(text: str, today: date) -> ParsedNeed:
    parsed = ParsedNeed()
    remaining = text
    for pattern in (DATE_ISO, DATE_DE):
        if pattern.search(remaining):
            parsed.on_date = parse_date(remaining, today)
            remaining = pattern.sub(" ", remaining, count=1)
            break
    if (at := parse_time(remaining)) is not None:
        parsed.at = at
        remaining = TIME.sub(" ", remaining, count=1)
    if (count := COUNT.search(remaining)) is not None:
        parsed.count = int(count.group(1))
        remaining = COUNT.sub(" ", remaining, count=1)
    kept: list[str] = []
    for word in remaining.split():
        key = _normalise(word)
        if key in weekday_words() and parsed.weekday is None:
            parsed.weekday = weekday_words()[key]
        elif key in language_words():
            code = language_words()[key]
            if code not in parsed.languages:
                parsed.languages.append(code)
        else:
            kept.append(word)
    parsed.title = tidy_title(" ".join(kept))
    parsed.activity = find_activity(text)
    return parsed


def next_weekday(now: datetime, weekday: int, at: time, tz: ZoneInfo) -> datetime:
    """The next time this weekday comes round at this time, in the network's time zone."""
    local = now.astimezone(tz)
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() == weekday:
            moment = datetime.combine(day, at, tzinfo=tz)
            if moment > local:
                return moment
    return datetime.combine(local.date() + timedelta(days=7), at, tzinfo=tz)
