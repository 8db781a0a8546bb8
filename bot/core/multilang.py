"""Texts written by people in several languages: coordinators may write

    de: Wir treffen uns am Freitag.
    ar: نلتقي يوم الجمعة.

and each reader gets their language, or the first one given, marked as the original."""

from __future__ import annotations

import re

from bot.core.i18n import SHIPPED_LANGUAGES, _, current_language

_LINE = re.compile(r"^\s*([a-z]{2})\s*:\s*(.*)$")


def parse(text: str, default_language: str) -> dict[str, str]:
    """Lines starting with a shipped language code start that language's text."""
    result: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.strip().splitlines():
        match = _LINE.match(line)
        if match and match.group(1) in SHIPPED_LANGUAGES:
            current = match.group(1)
            result.setdefault(current, []).append(match.group(2))
        elif current is not None:
            result[current].append(line)
        else:
            current = default_language
            result.setdefault(current, []).append(line)
    return {
        lang: "\n".join(lines).strip()
        for lang, lines in result.items()
        if "\n".join(lines).strip()
    }


def pick(texts: dict[str, str], language: str | None = None) -> tuple[str, str | None]:
    """The reader's text; else the first (original) and its language code."""
    language = language or current_language()
    if not texts:
        return "", None
    if language in texts:
        return texts[language], None
    original = next(iter(texts))
    return texts[original], original


def note(original: str | None, language: str | None = None) -> str:
    """The marker for text written in `original` when the reader reads another language
    ("(Original: Englisch)", "(النص الأصلي باللغة الألمانية)"); empty when there is nothing to
    mark. Every piece of people's content shown in a card carries it once, at its end."""
    reader = language or current_language()
    if not original or original == reader or original.split("_")[0] == reader:
        return ""
    from babel import Locale

    locale = Locale.parse(reader)
    name = locale.languages.get(original) or original
    return _("(original in {language})").format(language=name)


def show(texts: dict[str, str]) -> str:
    """The reader's text, or the original with a note, in the reader's language, naming the
    original's language ("(Original auf Englisch)", "(النص الأصلي باللغة الألمانية)")."""
    text, original = pick(texts)
    marker = note(original)
    return text + "\n" + marker if marker else text
