"""The demo network: a realistic mid-size city with every kind of partner."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from bot.app import App
from bot.demo import load_demo
from db.models import Organisation, OrganisationKind


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
