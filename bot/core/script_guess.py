"""A first guess at someone's language from the letters of what they wrote.

Used only to order the language choice a newcomer is offered (their own language near the top,
where they see it without scrolling) and to greet them in a language they can likely read when
their messenger reports none. It is a guess, never a decision: the person chooses.
"""

from __future__ import annotations

import unicodedata

from bot.core.i18n import SHIPPED_LANGUAGES

#: Per script: the shipped languages written in it, most likely first.
_BY_SCRIPT: dict[str, tuple[str, ...]] = {
    "ARABIC": ("ar", "fa"),
    "CYRILLIC": ("uk", "ru"),
    "LATIN": ("de", "en", "tr"),
}

#: Letters that only one of a script's languages uses: they move that language to the front.
_TELLING_LETTERS: dict[str, str] = {
    **dict.fromkeys("پچژگکی", "fa"),
    **dict.fromkeys("ةىأإؤئ", "ar"),
    **dict.fromkeys("іїєґІЇЄҐ", "uk"),
    **dict.fromkeys("ыэъёЫЭЪЁ", "ru"),
    **dict.fromkeys("şğıŞĞİ", "tr"),
    **dict.fromkeys("äßÄ", "de"),
}


def script_of(text: str) -> str | None:
    """The script most of the text's letters are written in (ARABIC, CYRILLIC, LATIN)."""
    counts: dict[str, int] = {}
    for ch in text:
        if not ch.isalpha():
            continue
        script = unicodedata.name(ch, "").split(" ", 1)[0]
        if script in _BY_SCRIPT:
            counts[script] = counts.get(script, 0) + 1
    return max(counts, key=lambda s: counts[s]) if counts else None


def guess_languages(text: str) -> tuple[str, ...]:
    """Every shipped language, those likely for `text` first (digits alone: the usual order)."""
    script = script_of(text)
    likely = list(_BY_SCRIPT.get(script or "", ()))
    telling = [_TELLING_LETTERS[ch] for ch in text if _TELLING_LETTERS.get(ch) in likely]
    if telling:
        first = max(set(telling), key=telling.count)
        likely.remove(first)
        likely.insert(0, first)
    return (*likely, *(code for code in SHIPPED_LANGUAGES if code not in likely))


def likely_language(text: str) -> str | None:
    """The single most likely language, or None when the text has no letters to go by."""
    return guess_languages(text)[0] if script_of(text) else None
