"""Free-text search over the referral directory: SQLite FTS5 or PostgreSQL full-text search.

Each service gets one search document: its names and descriptions in every language we have,
its organisation, its topic and subtopic named in every shipped language, the languages it
offers named in every shipped language ("Arabisch", "Arabic", "العربية") and its districts, so
that "/search legal advice arabic" and "/search Rechtsberatung Arabisch" both find it.
"""

from __future__ import annotations

import re

from babel import Locale
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.i18n import SHIPPED_LANGUAGES, gettext, use_locale
from db.directory import (
    DirLanguage,
    DirLocation,
    DirOrganization,
    DirService,
    DirServiceAtLocation,
    DirTranslation,
)
from handlers.referral.topics import SUBTOPICS, TOPICS

MAX_TERMS = 10

#: Words people search with that the topic names do not contain (search aids, not UI text).
TOPIC_KEYWORDS: dict[str, str] = {
    "residence_asylum": "legal advice lawyer law rights asylum residence permit deportation "
    "Rechtsberatung Anwalt Anwältin Recht Aufenthalt Duldung Abschiebung "
    "محامي قانون استشارة قانونية لجوء إقامة юрист правова консультація юридическая "
    "وکیل حقوقی مشاوره حقوقی avukat hukuk",
    "education_school": "school kindergarten daycare Schule Kita Kindergarten مدرسة школа "
    "мадраса مدرسه okul",
    "language_courses": "german course language class integration course Deutschkurs "
    "Integrationskurs Sprachkurs دورة لغة курс німецької курсы немецкого کلاس زبان "
    "Almanca kursu",
    "work_jobcentre": "job work employment jobcentre Arbeit Job Jobcenter Bewerbung عمل "
    "робота работа کار iş",
    "recognition": "diploma degree certificate recognition Anerkennung Zeugnis Abschluss "
    "شهادة معادلة визнання диплома признание диплома مدرک",
    "housing": "flat apartment rent housing Wohnung Miete سكن شقة житло квартира жилье "
    "مسکن آپارتمان ev kira",
    "health": "doctor hospital health insurance Arzt Krankenhaus Krankenkasse طبيب مستشفى "
    "лікар врач پزشک doktor",
    "psychosocial": "trauma therapy psychologist counselling mental Trauma Therapie "
    "Psychologe صدمة علاج نفسي психолог травма روانشناس psikolog",
    "family_children": "family children child parents Familie Kinder Eltern عائلة أطفال "
    "сім'я діти семья дети خانواده کودک aile çocuk",
    "women": "women woman violence Frauen Gewalt نساء عنف жінки насильство женщины "
    "زنان خشونت kadın",
    "lgbtiq": "lgbt queer gay lesbian trans schwul lesbisch queer ЛГБТ مثلي",
    "anti_discrimination": "racism discrimination Rassismus Diskriminierung عنصرية تمييز "
    "дискримінація дискриминация تبعیض ayrımcılık",
    "money_benefits": "money benefits debt Geld Leistungen Schulden Bürgergeld مال ديون "
    "гроші борги деньги долги پول borç",
    "everyday_help": "everyday clothes food donations Alltag Kleidung Lebensmittel Tafel "
    "ملابس طعام одяг їжа одежда еда لباس غذا giyim",
}


def _labels(label: str) -> list[str]:
    found = []
    for language in SHIPPED_LANGUAGES:
        with use_locale(language):
            found.append(gettext(label))
    return found


#: Services whose documents are written together (and, with `commit`, committed together).
BATCH = 1000


async def rebuild(session: AsyncSession, *, commit: bool = False) -> int:
    """Write the search documents anew (after an import or an edit).

    Services are read a batch at a time, as plain columns, so a directory of any size fits
    in memory; with `commit` each batch is committed, so on SQLite the bot can write between
    batches of a large rebuild (searches meanwhile find only the services written so far).
    """
    await session.execute(text("DELETE FROM dir_search"))
    organisations = dict(
        (await session.execute(select(DirOrganization.id, DirOrganization.name))).tuples().all()
    )
    translations: dict[str, list[str]] = {}
    for record_id, translated in await session.execute(
        select(DirTranslation.record_id, DirTranslation.text).where(
            DirTranslation.record_type == "service"
        )
    ):
        translations.setdefault(record_id, []).append(translated)
    languages: dict[str, list[str]] = {}
    for service_id, language in await session.execute(
        select(DirLanguage.service_id, DirLanguage.language)
    ):
        languages.setdefault(service_id, []).append(language)
    districts: dict[str, list[str]] = {}
    for service_id, district in await session.execute(
        select(DirServiceAtLocation.service_id, DirLocation.district).join(
            DirLocation, DirLocation.id == DirServiceAtLocation.location_id
        )
    ):
        if district:
            districts.setdefault(service_id, []).append(district)
    locales = [Locale.parse(code) for code in SHIPPED_LANGUAGES]
    labels: dict[str, list[str]] = {}  # a topic's names in every language, worked out once

    def named(label: str) -> list[str]:
        if label not in labels:
            labels[label] = _labels(label)
        return labels[label]

    language_names = {
        code: [locale.languages.get(code, code) for locale in locales]
        for code in {code for codes in languages.values() for code in codes}
    }
    columns = (
        DirService.id,
        DirService.name,
        DirService.description,
        DirService.organization_id,
        DirService.topic,
        DirService.subtopic,
    )
    written, last = 0, ""
    while True:
        batch = (
            await session.execute(
                select(*columns).where(DirService.id > last).order_by(DirService.id).limit(BATCH)
            )
        ).all()
        if not batch:
            break
        rows = []
        for service_id, name, description, organization_id, topic, subtopic in batch:
            parts = [
                name,
                description or "",
                organisations.get(organization_id, ""),
                *translations.get(service_id, []),
            ]
            if topic in TOPICS:
                parts += named(TOPICS[topic])
                parts.append(TOPIC_KEYWORDS.get(topic, ""))
            subtopics = SUBTOPICS.get(topic, {})
            if subtopic in subtopics:
                parts += named(subtopics[subtopic])
            for code in languages.get(service_id, []):
                parts += language_names[code]
            parts += districts.get(service_id, [])
            rows.append({"service_id": service_id, "body": " ".join(p for p in parts if p)})
        await session.execute(
            text("INSERT INTO dir_search (service_id, body) VALUES (:service_id, :body)"), rows
        )
        if commit:
            await session.commit()
        written += len(rows)
        last = batch[-1][0]
    return written


def terms(query: str) -> list[str]:
    """Words of at least two letters, without operators people could smuggle in."""
    words = re.findall(r"\w+", query.casefold())
    return [w for w in words if len(w) >= 2][:MAX_TERMS]


async def search(session: AsyncSession, query: str, limit: int = 5) -> list[str]:
    """Service ids, best match first; any word may match, more words rank higher."""
    words = terms(query)
    if not words:
        return []
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        tsquery = " | ".join(f"{w}:*" for w in words)
        rows = await session.execute(
            text(
                "SELECT service_id FROM dir_search "
                "WHERE to_tsvector('simple', body) @@ to_tsquery('simple', :q) "
                "ORDER BY ts_rank(to_tsvector('simple', body), to_tsquery('simple', :q)) DESC, "
                "service_id LIMIT :limit"
            ),
            {"q": tsquery, "limit": limit},
        )
    else:
        match = " OR ".join(f'"{w}"*' for w in words)
        rows = await session.execute(
            text(
                "SELECT service_id FROM dir_search WHERE dir_search MATCH :q "
                "ORDER BY bm25(dir_search), service_id LIMIT :limit"
            ),
            {"q": match, "limit": limit},
        )
    return [row[0] for row in rows]
