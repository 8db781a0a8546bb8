"""A city-sized data set for the benchmarks: 50,000 people (20,000 of them volunteers),
5,000 open needs and 1,000 directory services, written in bulk."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from db.directory import DirLanguage, DirOrganization, DirService
from db.migrate import upgrade
from db.models import (
    ChatRecord,
    Need,
    Person,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
)
from db.session import create_engine, create_session_factory
from handlers.basics.taxonomy import ACTIVITIES
from handlers.referral.directory import search as directory_search
from handlers.referral.topics import TOPICS

DISTRICTS = ("Altstadt", "Nordviertel", "Südstadt", "Weststadt", "Hafenviertel", "Oststadt")
LANGUAGES = ("ar", "uk", "ru", "fa", "tr", "en", "ps", "ku", "ti", "so")
UI = ("de", "en", "ar", "uk", "fa", "tr", "ru")


def user_id(platform: str, number: int) -> str:
    """People are `p<n>` on the terminal chat, or user id `<n>` on Telegram."""
    return f"p{number}" if platform == "console" else str(number)


async def populate(
    url: str,
    people: int = 50_000,
    volunteers: int = 20_000,
    needs: int = 5_000,
    services: int = 1_000,
    seed: int = 1,
    platform: str = "console",
) -> None:
    """People are `p<n>` on the terminal chat, or user id `<n>` on Telegram."""
    rng = random.Random(seed)
    engine = create_engine(url)
    await upgrade(engine)
    now = datetime.now(UTC)
    activities = list(ACTIVITIES)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "TRUNCATE people, chats, needs, dir_organizations, dir_search "
                    "RESTART IDENTITY CASCADE"
                )
            )
        chunk = 5_000
        for start in range(0, people, chunk):
            ids = range(start + 1, min(people, start + chunk) + 1)
            await conn.execute(
                insert(Person),
                [
                    {
                        "id": i,
                        "platform": platform,
                        "platform_user_id": user_id(platform, i),
                        # as their messenger names them, so a first update changes nothing
                        "display_name": user_id(platform, i)
                        if platform == "console"
                        else f"User{i}",
                        "language": rng.choice(UI),
                        "intent": "volunteer",
                        "consent_version": 2,
                        "consent_at": now,
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for i in ids
                ],
            )
            await conn.execute(  # everyone has written to the bot before
                insert(ChatRecord),
                [
                    {
                        "platform": platform,
                        "platform_chat_id": user_id(platform, i),
                        "kind": "private",
                        "created_by": user_id(platform, i),
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            vol = [i for i in ids if i <= volunteers]
            if vol:
                await conn.execute(
                    insert(VolunteerProfile),
                    [
                        {
                            "person_id": i,
                            "first_name": f"V{i}",
                            "district": rng.choice(DISTRICTS),
                            "availability_bits": rng.getrandbits(21),
                            "availability_kind": "regular",
                            "max_offers_per_week": 3,
                            "status": "active",
                            "offers_this_week": 0,
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in vol
                    ],
                )
                await conn.execute(
                    insert(VolunteerActivity),
                    [
                        {"person_id": i, "activity": a}
                        for i in vol
                        for a in rng.sample(activities, 2)
                    ],
                )
                await conn.execute(
                    insert(VolunteerLanguage),
                    [
                        {"person_id": i, "language": code, "level": "good"}
                        for i in vol
                        for code in {"de", rng.choice(LANGUAGES)}
                    ],
                )
        if conn.dialect.name == "postgresql":  # explicit ids do not move the sequence
            await conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('people', 'id'), "
                    "(SELECT max(id) FROM people))"
                )
            )
        await conn.execute(
            insert(Need),
            [
                {
                    "title": f"Bedarf {n}",
                    "description": "Beschreibung",
                    "activity": rng.choice(activities),
                    "language_codes": f",{rng.choice(LANGUAGES)},",
                    "district": rng.choice(DISTRICTS),
                    "place": "",
                    "when_kind": "flexible",
                    "volunteers_needed": 2,
                    "helpers_count": 0,
                    "until": now + timedelta(days=60),
                    "status": "open",
                    "match_round": 1,
                    "created_at": now,
                    "published_at": now,
                }
                for n in range(needs)
            ],
        )
        await conn.execute(
            insert(DirOrganization),
            [{"id": f"org-{i}", "name": f"Beratungsstelle {i}"} for i in range(services // 5)],
        )
        topics = list(TOPICS)
        await conn.execute(
            insert(DirService),
            [
                {
                    "id": f"svc-{i}",
                    "organization_id": f"org-{i // 5}",
                    "name": f"Beratung {i}",
                    "description": "Beratung und Begleitung",
                    "status": "active",
                    "topic": rng.choice(topics),
                    "assured_date": now,
                }
                for i in range(services)
            ],
        )
        await conn.execute(
            insert(DirLanguage),
            [
                {"id": f"lang-{i}-{code}", "service_id": f"svc-{i}", "language": code}
                for i in range(services)
                for code in {"de", rng.choice(LANGUAGES)}
            ],
        )
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory_search.rebuild(session)
        await session.commit()
    await engine.dispose()
