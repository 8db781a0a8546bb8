"""A newcomer's first hour, typed into `make run` (`lotse run --demo-chat`) as the README says:
say hello, choose a language, agree, sign up as a volunteer, read /help, ask the directory for
help, look at the open needs and offer to help with one. Every line the bot writes to them must
be in their language: no word of the catalog's English source strings, no German, no raw codes
(`ar`, `volunteer`, `ar:native`) — names and what people wrote (the demo's needs, services,
addresses) excepted."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from bot.core.i18n import LANGUAGE_NAMES, LOCALES_DIR, SHIPPED_LANGUAGES
from tests.support import t, visible
from tests.transports.test_console import lotse

pytestmark = pytest.mark.slow

DEMO = Path(__file__).resolve().parents[2] / "lotse" / "demo_data"
_CODE = re.compile(r"^[a-z0-9_:\-.]+$")  # a slug, a code or a level: not words for people
_WORD = re.compile(r"[^\W\d_]+")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ɏ]+")
_HEADER = re.compile(r"^\[to (\S+)\]$")
_URL = re.compile(r"https?://\S+")
_COMMAND = re.compile(r"/[a-z]+")


def journey(first_words: str, person: str) -> str:
    """The same taps in any language: the options are answered by number."""
    return "\n".join(
        [
            f"{person}> {first_words}",
            "1",  # the likeliest language, first in the list
            "1",  # I agree
            "1",  # I want to volunteer
            "/volunteer",
            *("1", "2", "15"),  # language mediation, accompanying; done
            *("3", "1", "22"),  # Arabic, German; done (Dari is the 5th language)
            *("3", "2"),  # Arabic: native; German: good
            "2",  # Nordviertel
            *("2", "4", "8"),  # Tuesday, Thursday; done
            *("2", "4"),  # afternoons; done
            "1",  # regularly
            "2",  # two offers a week
            "1",  # quiet 22–7
            "1",  # save
            "/help",
            "/ask",
            *("3", "3", "1"),  # language courses, in Arabic, anywhere
            "1",  # that helped
            "/needs",
            "2",  # I can help with need 2
        ]
    )


def _texts_of(value: object) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts_of(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts_of(item)]
    if isinstance(value, str) and not _CODE.match(value):
        return [value]
    return []


def demo_texts() -> list[str]:
    """The demo's names, addresses and texts (what people wrote, not the UI), longest first."""
    texts: list[str] = []
    for path in DEMO.glob("*.json"):
        texts += _texts_of(json.loads(path.read_text(encoding="utf-8")))
    for path in (DEMO / "directory").glob("*.csv"):
        with path.open(encoding="utf-8") as fh:
            texts += [cell for row in csv.reader(fh) for cell in row if not _CODE.match(cell)]
    return sorted({text for text in texts if len(text) > 1}, key=len, reverse=True)


def without_user_content(line: str, texts: list[str]) -> str:
    """The line with every piece of the demo's content cut out: what the bot itself says."""
    for text in texts:
        if text in line:
            line = line.replace(text, " ")
    return line


def catalog_words(language: str, *, source: bool) -> set[str]:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=language)
    words: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        texts = message.id if source else message.string
        for text in texts if isinstance(texts, tuple | list) else [texts]:
            words |= set(_WORD.findall(re.sub(r"\{\w+\}", " ", text or "")))
    return words


def weekday_abbreviations(language: str) -> set[str]:
    """ "Do." is Donnerstag in German, not the English verb."""
    days = Locale.parse(language).days["format"]["abbreviated"].values()
    return {day.rstrip(".") for day in days}


def said_to(output: str, person: str) -> list[str]:
    """The lines of every message the bot wrote to `person`, as the eye reads them."""
    lines, reader = [], None
    for line in visible(output).split("\n"):
        header = _HEADER.match(line)
        if header:
            reader = header.group(1)
        elif reader == person and line.strip():
            lines.append(line)
    return lines


def words_of(line: str) -> list[str]:
    return _WORD.findall(_COMMAND.sub(" ", _URL.sub(" ", line)))


def run_journey(tmp_path: Path, first_words: str, person: str) -> list[str]:
    result = lotse(["run", "--demo-chat"], tmp_path, journey(first_words, person) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return said_to(result.stdout, person)


def test_an_arabic_speakers_first_hour_reads_in_arabic(tmp_path: Path) -> None:
    lines = run_journey(tmp_path, "مرحبا", "samira")
    text = "\n".join(lines)
    for step in (
        "Which language would you like me to use?",
        "What brings you here?",
        "Here is what I can do:",
        "Did this help?",
        "Thank you! I have told the organisers. You will hear from me as soon as they answer; "
        "your contact is only shared if they accept.",
    ):
        assert t("ar", step) in text, step
    texts = demo_texts()
    names = {"Lotse", "Netzwerk", "Wiesenfeld", "samira", "LGBTIQ", *LANGUAGE_NAMES.values()}
    wrong = [
        (word, line)
        for line in lines
        for word in _LATIN_WORD.findall(" ".join(words_of(without_user_content(line, texts))))
        if word not in names
    ]
    assert wrong == [], wrong


def test_a_german_speakers_first_hour_reads_in_german(tmp_path: Path) -> None:
    lines = run_journey(tmp_path, "Hallo", "anna")
    text = "\n".join(lines)
    assert t("de", "What brings you here?") in text
    assert t("de", "Here is what I can do:") in text
    assert f", {t('de', 'afternoons')} ({t('de', 'regularly')})" in text  # mid-sentence case
    english_only = (
        catalog_words("en", source=True)
        - catalog_words("de", source=False)
        - {"Lotse", "anna", "Link", "Buttons"}
        - weekday_abbreviations("de")
    )
    language_menu = {LANGUAGE_NAMES[code] for code in SHIPPED_LANGUAGES}
    texts = demo_texts()
    wrong = []
    for line in lines:
        if line.strip().removeprefix("[").split("] ")[-1] in language_menu:
            continue  # each language is named in itself in the language choice
        for word in words_of(without_user_content(line, texts)):
            if word in english_only or not _LATIN_WORD.fullmatch(word):
                wrong.append((word, line))
    assert wrong == [], wrong
