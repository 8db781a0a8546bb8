"""`lotse demo`: a fictional but realistic refugee-aid network of a mid-size German city.

Wiesenfeld (about 180,000 inhabitants, six districts) is made up; so are all names, addresses
and phone numbers (555 numbers). Loading is idempotent: every record has a stable slug and is
updated in place when the demo is loaded again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Organisation, OrganisationStatus

CITY = "Wiesenfeld"
DISTRICTS = ("Altstadt", "Nordviertel", "Südstadt", "Weststadt", "Hafenviertel", "Oststadt")

DATA = Path(__file__).resolve().parent / "demo_data"


def _organisations() -> list[dict[str, str]]:
    return json.loads((DATA / "organisations.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DemoSummary:
    organisations_added: int
    organisations_updated: int


async def load_organisations(session: AsyncSession) -> tuple[int, int]:
    organisations = _organisations()
    existing = {
        org.slug: org
        for org in await session.scalars(
            select(Organisation).where(Organisation.slug.in_([o["slug"] for o in organisations]))
        )
    }
    added = updated = 0
    for data in organisations:
        org = existing.get(data["slug"])
        if org is None:
            session.add(Organisation(**data, status=OrganisationStatus.APPROVED))
            added += 1
        else:
            for key, value in data.items():
                setattr(org, key, value)
            updated += 1
    return added, updated


async def load_demo(session_factory: async_sessionmaker[AsyncSession]) -> DemoSummary:
    """Load (or refresh) the demo network in one transaction."""
    async with session_factory() as session:
        added, updated = await load_organisations(session)
        await session.commit()
    return DemoSummary(added, updated)
