"""Catalog checks used by `make i18n` and the tests: no language may fall back to English."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot.core.i18n import DOMAIN, LOCALES_DIR, SHIPPED_LANGUAGES, SOURCE_LANGUAGE


@dataclass(frozen=True)
class Gap:
    language: str
    msgid: str
    problem: str  # "missing", "untranslated", "fuzzy", "placeholders"


def _po(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load(language: str) -> Catalog:
    with _po(language).open("rb") as fh:
        return read_po(fh, locale=language)


def template() -> Catalog:
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("rb") as fh:
        return read_po(fh)


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def gaps(language: str) -> list[Gap]:
    """Every message of the template must be translated, not fuzzy, with the same {fields}."""
    catalog = load(language)
    found: list[Gap] = []
    for message in template():
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        translated = catalog.get(message.id, context=message.context)
        if translated is None:
            found.append(Gap(language, key, "missing"))
            continue
        strings = (
            translated.string
            if isinstance(translated.string, tuple | list)
            else (translated.string,)
        )
        if not all(strings):
            found.append(Gap(language, key, "untranslated"))
        elif translated.fuzzy:
            found.append(Gap(language, key, "fuzzy"))
        else:
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            expected = set().union(*(_placeholders(str(i)) for i in ids))
            for s in strings:
                if _placeholders(str(s or "")) - expected:
                    found.append(Gap(language, key, "placeholders"))
                    break
    return found


def fill_source_language() -> int:
    """The source strings are English: copy each msgid into the English catalog."""
    catalog = load(SOURCE_LANGUAGE)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            if not all(message.string or ()):
                nplurals = catalog.num_plurals
                message.string = tuple(
                    message.id[0] if i == 0 else message.id[1] for i in range(nplurals)
                )
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with _po(SOURCE_LANGUAGE).open("wb") as fh:
        write_po(fh, catalog, width=76, omit_header=False)  # as pybabel update writes
    return filled


def merge(language: str, translations: dict[str, str | list[str]]) -> int:
    """Take translations (msgid → text, or list of plural forms) into a catalog."""
    catalog = load(language)
    merged = 0
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        value = translations.get(key)
        if value is None:
            continue
        if isinstance(message.id, tuple | list):
            forms = [value] if isinstance(value, str) else list(value)
            forms += [forms[-1]] * (catalog.num_plurals - len(forms))
            message.string = tuple(forms[: catalog.num_plurals])
        else:
            message.string = value if isinstance(value, str) else value[0]
        message.flags.discard("fuzzy")
        merged += 1
    with _po(language).open("wb") as fh:
        write_po(fh, catalog, width=76, omit_header=False)  # as pybabel update writes
    return merged


def main(argv: list[str]) -> int:
    if argv[:1] == ["merge"] and len(argv) == 3:
        import json

        data = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
        print(f"{argv[1]}: {merge(argv[1], data)} translations merged")
        return 0
    if argv[:1] == ["untranslated"] and len(argv) == 2:
        import json

        todo = sorted({gap.msgid for gap in gaps(argv[1])})
        full = {}
        for message in template():
            if message.id:
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key in todo:
                    full[key] = list(message.id) if isinstance(message.id, tuple | list) else ""
        print(json.dumps(full, ensure_ascii=False, indent=1))
        return 0
    if argv[:1] == ["fill-source"]:
        print(f"English catalog: {fill_source_language()} strings filled from the source")
        return 0
    problems = [gap for language in SHIPPED_LANGUAGES for gap in gaps(language)]
    for gap in problems:
        print(f"{gap.language}: {gap.problem}: {gap.msgid[:70]!r}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
