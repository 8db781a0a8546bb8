"""The demo network: a realistic mid-size city with every kind of partner."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from bot.app import App
from db.models import Event, Organisation, OrganisationKind
from lotse.demo import load_demo


async def test_demo_has_every_kind_of_partner_and_loads_twice(app: App) -> None:
    first = await load_demo(app.session_factory, now=app.services.clock())
    second = await load_demo(app.session_factory, now=app.services.clock())
    assert first.organisations_added >= 15 and second.organisations_added == 0
    async with app.session_factory() as session:
        kinds = Counter(org.kind for org in await session.scalars(select(Organisation)))
    assert set(kinds) == {kind.value for kind in OrganisationKind}
    assert sum(kinds.values()) == first.organisations_added


async def test_demo_has_needs_volunteers_events_and_a_directory(app: App) -> None:
    summary = await load_demo(app.session_factory, now=app.services.clock())
    assert summary.volunteers >= 30 and summary.needs >= 8
    assert summary.events >= 6 and summary.services >= 40


WEEKDAY_WORDS = {
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3,
    "freitag": 4, "samstag": 5, "sonntag": 6,
}  # fmt: skip


@pytest.mark.parametrize("day", range(7))
async def test_a_weekly_event_falls_on_the_weekday_its_text_names(app: App, day: int) -> None:
    """Whatever day the demo is loaded on, "every Friday" is on a Friday, in the future."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    now = app.services.clock() + timedelta(days=day)
    await load_demo(app.session_factory, now=now)
    berlin = ZoneInfo("Europe/Berlin")
    checked = 0
    async with app.session_factory() as session:
        for event in await session.scalars(select(Event).where(Event.repeat == "weekly")):
            text = (event.description.get("de", "") + " " + event.title["de"]).lower()
            named = [number for word, number in WEEKDAY_WORDS.items() if word in text]
            if named:
                assert event.starts_at.astimezone(berlin).weekday() == named[0], text
                assert event.starts_at > now
                checked += 1
    assert checked >= 1


async def test_a_needs_languages_are_the_ones_its_text_names(app: App) -> None:
    """'Dari-Kenntnisse' asks for Dari (fa_AF), not Persian; 'auf Arabisch' asks for Arabic."""
    from babel import Locale

    from db.models import Need
    from handlers.basics.taxonomy import SPOKEN_LANGUAGES

    german = Locale.parse("de").languages
    await load_demo(app.session_factory, now=app.services.clock())
    async with app.session_factory() as session:
        needs = list(await session.scalars(select(Need)))
    for need in needs:
        text = f"{need.title} {need.description}"
        named = {
            code for code in SPOKEN_LANGUAGES if code != "de" and german[code][:5] in text
        }  # "Arabi" finds "Arabisch" and "Arabische"; German is everyone's common language
        assert set(need.languages) == named, (need.slug, need.languages, named)
        assert need.text_language == "de"
    dari = next(need for need in needs if need.slug == "need-arztbegleitung-dari")
    assert dari.languages == ["fa_AF"]


async def test_the_dari_need_finds_the_volunteer_who_speaks_dari(app: App) -> None:
    """Dari is a language volunteers can say they speak, and matching finds them by it."""
    from db.matching import candidates
    from db.models import Need, Person, VolunteerLanguage

    await load_demo(app.session_factory, now=app.services.clock())
    async with app.session_factory() as session:
        need = await session.scalar(select(Need).where(Need.slug == "need-arztbegleitung-dari"))
        assert need is not None
        found = await candidates(session, need, limit=10, local_hour=10, week="x", slot_bit=None)
        speakers = set(
            await session.scalars(
                select(VolunteerLanguage.person_id).where(VolunteerLanguage.language == "fa_AF")
            )
        )
        names = {
            p.display_name
            for p in await session.scalars(
                select(Person).where(Person.id.in_([c.person_id for c in found]))
            )
        }
    assert speakers and {c.person_id for c in found} <= speakers
    assert "Zahra" in names
