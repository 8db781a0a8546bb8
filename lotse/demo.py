"""`lotse demo`: a fictional but realistic refugee-aid network of a mid-size German city.

Wiesenfeld (about 180,000 inhabitants, six districts) is made up; so are all names, addresses
and phone numbers (555 numbers). Loading is idempotent: every record has a stable slug and is
updated in place when the demo is loaded again. `make run` loads it only into a database that
holds no network yet, so what people changed while trying it stays changed; `lotse demo --reset`
empties the database first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import (
    Base,
    Event,
    EventStatus,
    Intent,
    Need,
    NeedStatus,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Person,
    PersonRole,
    Role,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
    VolunteerStatus,
)
from db.types import utcnow
from handlers.basics.taxonomy import DAYS, availability_bits
from handlers.people.privacy import NOTICE_VERSION

CITY = "Wiesenfeld"
DISTRICTS = ("Altstadt", "Nordviertel", "Südstadt", "Weststadt", "Hafenviertel", "Oststadt")

DATA = Path(__file__).resolve().parent / "demo_data"


def _organisations() -> list[dict[str, str]]:
    return json.loads((DATA / "organisations.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DemoSummary:
    organisations_added: int
    organisations_updated: int
    volunteers: int = 0
    needs: int = 0
    events: int = 0
    services: int = 0


def _load(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


async def _person(
    session: AsyncSession, user_id: str, name: str, language: str, intent: str, now: datetime
) -> Person:
    """A demo person on the terminal chat (type `lina> /profile` to be Lina)."""
    person = await session.scalar(
        select(Person).where(Person.platform == "console", Person.platform_user_id == user_id)
    )
    if person is None:
        person = Person(platform="console", platform_user_id=user_id, roles=[], created_at=now)
        session.add(person)
    person.display_name, person.language, person.intent = name, language, intent
    person.consent_version, person.consent_at, person.last_seen_at = NOTICE_VERSION, now, now
    await session.flush()
    return person


async def load_volunteers(session: AsyncSession, now: datetime) -> int:
    for data in _load("volunteers.json"):
        user_id = data["slug"].removeprefix("vol-")
        person = await _person(
            session, user_id, data["name"], data["ui_language"], Intent.VOLUNTEER, now
        )
        if not any(r.role == Role.VOLUNTEER for r in person.roles):
            person.roles.append(PersonRole(role=Role.VOLUNTEER, granted_at=now))
        profile = await session.get(VolunteerProfile, person.id)
        if profile is None:
            profile = VolunteerProfile(person_id=person.id, activities=[], languages=[])
            session.add(profile)
        profile.first_name = data["name"]
        profile.activities = [VolunteerActivity(activity=a) for a in data["activities"]]
        profile.languages = [
            VolunteerLanguage(language=lang["code"], level=lang["level"])
            for lang in data["languages"]
        ]
        profile.district, profile.postcode = data["district"], data["postcode"]
        profile.availability_bits = availability_bits(data["days"], data["times"])
        profile.availability_kind = data["kind"]
        profile.max_offers_per_week = data["max_offers_per_week"]
        quiet = data["quiet"]
        profile.quiet_start, profile.quiet_end = (quiet[0], quiet[1]) if quiet else (None, None)
        profile.status = VolunteerStatus.PAUSED if data["paused"] else VolunteerStatus.ACTIVE
    return len(_load("volunteers.json"))


async def load_needs(session: AsyncSession, now: datetime, tz: ZoneInfo) -> int:
    organisations = {o.slug: o for o in await session.scalars(select(Organisation))}
    kim = await _person(session, "kim", "Kim", "de", Intent.ORGANISATION, now)
    for slug in ("willkommen-nordviertel", "suedstadt-hilft"):
        org = organisations[slug]
        if (
            await session.scalar(
                select(OrganisationMember).where(
                    OrganisationMember.organisation_id == org.id,
                    OrganisationMember.person_id == kim.id,
                )
            )
            is None
        ):
            session.add(
                OrganisationMember(
                    organisation_id=org.id, person_id=kim.id, role="admin", joined_at=now
                )
            )
    today = now.astimezone(tz).date()
    for data in _load("needs.json"):
        need = await session.scalar(select(Need).where(Need.slug == data["slug"]))
        if need is None:
            need = Need(slug=data["slug"], helpers_count=0, created_at=now)
            session.add(need)
        org = organisations[data["organisation"]]
        need.organisation_id = org.id
        need.poster_person_id = (
            kim.id if org.slug in ("willkommen-nordviertel", "suedstadt-hilft") else None
        )
        need.title, need.description = data["title"], data["description"]
        need.text_language = data.get("text_language", "de")
        need.activity, need.languages = data["activity"], data["languages"]
        need.district, need.place = data["district"], data["place"]
        need.volunteers_needed = data["volunteers_needed"]
        when = data["when"]
        need.when_kind = when["kind"]
        need.starts_at = need.weekday = need.time_of_day = None
        if when["kind"] == "date":
            hour, minute = (int(x) for x in when["time"].split(":"))
            day = today + timedelta(days=when["in_days"])
            need.starts_at = datetime.combine(day, time(hour, minute), tzinfo=tz)
        elif when["kind"] == "regular":
            need.weekday = DAYS.index(when["weekday"])
            need.time_of_day = when["time"]
        need.until = datetime.combine(
            today + timedelta(days=data["until_in_days"]), time(23, 59), tzinfo=tz
        )
        need.status, need.published_at = NeedStatus.OPEN, now
        need.match_round, need.last_match_at = 1, now
    return len(_load("needs.json"))


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


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _event_day(item: dict[str, Any], today: date) -> date:
    """An event's first day: `in_days` from today, or, for an event whose text names its
    weekday ("every Friday"), the next such day, so the demo agrees with itself on any day."""
    if "weekday" in item:
        ahead = (WEEKDAYS.index(item["weekday"]) - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    return today + timedelta(days=item["in_days"])


async def load_events(session: AsyncSession, now: datetime, tz: ZoneInfo) -> int:
    organisations = {o.slug: o for o in await session.scalars(select(Organisation))}
    today = now.astimezone(tz).date()
    data = _load("events.json")
    for item in data:
        event = await session.scalar(select(Event).where(Event.slug == item["slug"]))
        if event is None:
            event = Event(slug=item["slug"], created_at=now)
            session.add(event)
        org = organisations.get(item["organisation"])
        event.organisation_id = org.id if org else None
        event.title, event.description = item["title"], item.get("description", {})
        hour, minute = (int(x) for x in item["time"].split(":"))
        start = datetime.combine(_event_day(item, today), time(hour, minute), tzinfo=tz)
        event.starts_at = start
        event.ends_at = start + timedelta(hours=item["hours"])
        event.timezone = str(tz)
        event.place, event.online_url = item["place"], item.get("online_url", "")
        event.district, event.topic = item["district"], item["topic"]
        event.audience, event.capacity = item["audience"], item["capacity"]
        event.languages, event.repeat = item["languages"], item["repeat"]
        event.status, event.updated_at = EventStatus.PUBLISHED, now
        event.announced_at = event.announced_at or now  # demo events are not announced
    return len(data)


async def load_directory(session: AsyncSession) -> int:
    """The demo city's referral directory, an HSDS CSV package like any other."""
    from handlers.referral.directory import import_package
    from handlers.referral.directory import search as directory_search

    await import_package(session, DATA / "directory", batches=False)
    return await directory_search.rebuild(session)


async def load_demo(
    session_factory: async_sessionmaker[AsyncSession],
    tz: ZoneInfo | None = None,
    *,
    now: datetime | None = None,
) -> DemoSummary:
    """Load (or refresh) the demo network in one transaction.

    Dates in the demo (needs, events) are relative to `now`: the app's clock, so that tests
    with a pinned clock see the same network whatever day they run on.
    """
    now = now or utcnow()
    async with session_factory() as session:
        added, updated = await load_organisations(session)
        await session.flush()
        volunteers = await load_volunteers(session, now)
        needs = await load_needs(session, now, tz or ZoneInfo("Europe/Berlin"))
        events = await load_events(session, now, tz or ZoneInfo("Europe/Berlin"))
        services = await load_directory(session)
        await session.commit()
    return DemoSummary(added, updated, volunteers, needs, events, services)


async def holds_a_network(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    """Has a network been set up here (the demo or a real one)? Then the demo stays out."""
    async with session_factory() as session:
        return bool(await session.scalar(select(func.count()).select_from(Organisation)))


async def empty_database(session_factory: async_sessionmaker[AsyncSession]) -> int:
    """Delete every row the bot stored (people, network, directory, queued messages, jobs),
    keeping the schema; return how many rows went. For `lotse demo --reset`."""
    removed = 0
    async with session_factory() as session:
        connection = await session.connection()
        tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        for table in reversed(Base.metadata.sorted_tables):
            result = await session.execute(table.delete())
            removed += max(getattr(result, "rowcount", 0) or 0, 0)
        for extra in ("dir_search", "scheduler_jobs"):
            if extra in tables:
                await session.execute(text(f"DELETE FROM {extra}"))
        await session.commit()
    return removed
