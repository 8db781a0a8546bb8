"""CSV files that open right in the reader's spreadsheet program, and cannot run anything.

Spreadsheet programs split a CSV file on the list separator of the computer's locale: German,
Russian or Turkish Excel expects `;`, because `,` is their decimal sign. They also guess the
encoding, and only a byte-order mark makes them read UTF-8 (Arabic, Cyrillic, umlauts).

A cell that starts with `=`, `+`, `-` or `@` is a formula to them, so a volunteer called
`=HYPERLINK(...)` would run in the coordinator's spreadsheet (CSV injection, OWASP). Such cells
get a leading apostrophe, which shows the text as it was typed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from babel import Locale

from bot.core.i18n import current_language

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def delimiter(language: str | None = None) -> str:
    """`;` where the locale writes decimals with a comma (de, ru, tr, uk …), else `,`."""
    locale = Locale.parse(language or current_language())
    return ";" if locale.number_symbols["latn"]["decimal"] == "," else ","


def neutralise(value: object) -> str:
    """The cell as text, with a leading `'` if a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(
    header: Sequence[str], rows: Iterable[Sequence[object]], language: str | None = None
) -> bytes:
    """A UTF-8 CSV file with a byte-order mark and the reader's list separator."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter(language), lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        # numbers are written as they are: they cannot start a formula, and "-3" stays a number
        writer.writerow(
            [cell if isinstance(cell, int | float) else neutralise(cell) for cell in row]
        )
    return buffer.getvalue().encode("utf-8-sig")
