"""Choosing the volunteers to ask for a need, in one query.

Hard conditions: the activity fits; the volunteer is active, has consented and is not the
poster; has not been asked about this need before; is under their weekly maximum; is not in
quiet hours now; speaks one of the needed languages (if any); and is available at the need's
time (if it has one and the volunteer gave times). The score then prefers better language
levels, the same district or postcode area, a matching time slot, and those who were asked
less recently, so offers spread over people instead of going to the same few.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Need,
    Offer,
    Person,
    VolunteerActivity,
    VolunteerLanguage,
    VolunteerProfile,
    VolunteerStatus,
)

LEVEL_POINTS = {"basic": 8, "good": 20, "native": 30}


@dataclass(frozen=True)
class Candidate:
    person_id: int
    score: int


def in_quiet_hours(hour: int) -> ColumnElement[bool]:
    p = VolunteerProfile
    return and_(
        p.quiet_start.is_not(None),
        or_(
            and_(p.quiet_start < p.quiet_end, p.quiet_start <= hour, p.quiet_end > hour),
            and_(p.quiet_start > p.quiet_end, or_(p.quiet_start <= hour, p.quiet_end > hour)),
        ),
    )


async def candidates(
    session: AsyncSession,
    need: Need,
    *,
    limit: int,
    local_hour: int,
    week: str,
    slot_bit: int | None,
) -> list[Candidate]:
    """The query starts from the volunteers who do the need's activity (and, if the need asks
    for languages, speak one of them), so it touches a few thousand rows, not all."""
    p = VolunteerProfile
    activity = VolunteerActivity
    query = (
        select(p.person_id)
        .select_from(activity)
        .join(p, p.person_id == activity.person_id)
        .join(Person, Person.id == p.person_id)
    )
    conditions: list[ColumnElement[bool]] = [
        activity.activity == need.activity,
        p.status == VolunteerStatus.ACTIVE,
        Person.consent_version.is_not(None),
        or_(
            p.offers_week.is_(None),
            p.offers_week != week,
            p.offers_this_week < p.max_offers_per_week,
        ),
        not_(in_quiet_hours(local_hour)),
    ]
    if need.id is not None:
        conditions.append(
            not_(
                exists().where(Offer.need_id == need.id, Offer.volunteer_person_id == p.person_id)
            )
        )
    if need.poster_person_id is not None:
        conditions.append(p.person_id != need.poster_person_id)
    language_score: ColumnElement[int] = literal(0)
    if need.languages:
        spoken = VolunteerLanguage
        query = query.join(
            spoken, and_(spoken.person_id == p.person_id, spoken.language.in_(need.languages))
        )
        language_score = func.max(
            case(
                *((spoken.level == level, points) for level, points in LEVEL_POINTS.items()),
                else_=0,
            )
        )
    area_score: ColumnElement[int] = literal(0)
    if need.district:
        area_score = case((p.district == need.district, 25), else_=0)
    if need.postcode:
        area_score = case(
            (p.postcode == need.postcode, 25),
            (func.substr(p.postcode, 1, 3) == need.postcode[:3], 10),
            else_=area_score,
        )
    time_score: ColumnElement[int] = literal(0)
    if slot_bit is not None:
        conditions.append(
            or_(p.availability_bits == 0, p.availability_bits.op("&")(slot_bit) != 0)
        )
        time_score = case((p.availability_bits.op("&")(slot_bit) != 0, 15), else_=0)
    fairness = case((p.offers_week == week, p.offers_this_week * 5), else_=0)
    if need.languages:
        score = (language_score + func.max(area_score + time_score - fairness)).label("score")
        query = query.group_by(p.person_id, p.last_offer_at)
    else:
        score = (area_score + time_score - fairness).label("score")
    query = (
        query.add_columns(score)
        .where(*conditions)
        .order_by(score.desc(), p.last_offer_at.is_not(None), p.last_offer_at, p.person_id)
        .limit(limit)
    )
    rows = await session.execute(query)
    return [Candidate(row.person_id, int(row.score)) for row in rows]


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"
