"""Everything stored about one person, as plain data (the file /mydata sends).

Each section says which table and which column referring to the person it answers for
(`SECTIONS`), and every exported row carries its id. A test walks the models' foreign keys
to `people` and fails when a table that refers to people has no section here, so a new
table cannot quietly stay out of the export.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Attendance,
    AuditEntry,
    Broadcast,
    ChatRecord,
    DirectChat,
    Event,
    FlowState,
    Need,
    Offer,
    Organisation,
    OrganisationMember,
    OutboxMessage,
    Person,
    PersonRole,
    Poll,
    PollVote,
    Report,
    Subscription,
    Survey,
    SurveyParticipation,
    SurveyResponse,
    Ticket,
    TicketMessage,
    VolunteerProfile,
)

#: (table, column referring to people) → the section of the export that holds those rows.
SECTIONS: dict[tuple[str, str], str] = {
    ("person_roles", "person_id"): "roles",
    ("outbox", "person_id"): "messages_to_you",
    ("organisations", "created_by_person_id"): "organisations_registered",
    ("organisation_members", "person_id"): "organisations",
    ("volunteer_profiles", "person_id"): "volunteer_profile",
    ("needs", "poster_person_id"): "needs_posted",
    ("offers", "volunteer_person_id"): "offers",
    ("audit_log", "actor_person_id"): "actions_as_coordinator",
    ("reports", "reporter_person_id"): "reports_made",
    ("reports", "reported_person_id"): "reports_about_you",
    ("broadcasts", "created_by_person_id"): "broadcasts_sent",
    ("polls", "created_by_person_id"): "polls_started",
    ("poll_votes", "person_id"): "poll_votes",
    ("surveys", "created_by_person_id"): "surveys_started",
    ("survey_participations", "person_id"): "survey_drafts",
    ("survey_responses", "person_id"): "survey_answers",
    ("events", "created_by_person_id"): "events_created",
    ("event_attendance", "person_id"): "event_attendance",
    ("subscriptions", "person_id"): "subscriptions",
    ("tickets", "person_id"): "questions_to_the_team",
    ("tickets", "claimed_by_person_id"): "questions_you_answered",
    ("direct_chats", "person_id"): "private_chats",
}

#: Tables that refer to people but hold nothing about them worth a section, and why.
NOT_EXPORTED: dict[tuple[str, str], str] = {
    ("button_tokens", "person_id"): "what the buttons in your messages stand for; technical",
}


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


Section = Callable[[AsyncSession, Person], Awaitable[Any]]


async def _roles(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(PersonRole).where(PersonRole.person_id == person.id))
    return [{"id": r.id, "role": r.role, "granted_at": _time(r.granted_at)} for r in rows]


async def _messages(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.person_id == person.id)
        .order_by(OutboxMessage.id)
    )
    return [
        {
            "id": m.id,
            "status": m.status,
            "text": (m.payload or {}).get("text"),
            "queued_at": _time(m.created_at),
            "sent_at": _time(m.sent_at),
        }
        for m in rows
    ]


async def _organisations_registered(session: AsyncSession, person: Person) -> list[Any]:
    rows = await session.scalars(
        select(Organisation).where(Organisation.created_by_person_id == person.id)
    )
    return [
        {"id": o.id, "name": o.name, "status": o.status, "created_at": _time(o.created_at)}
        for o in rows
    ]


async def _memberships(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(OrganisationMember, Organisation.name)
        .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
        .where(OrganisationMember.person_id == person.id)
    )
    return [
        {"id": m.id, "name": name, "role": m.role, "joined_at": _time(m.joined_at)}
        for m, name in rows
    ]


async def _profile(session: AsyncSession, person: Person) -> dict[str, Any] | None:
    profile = await session.get(VolunteerProfile, person.id)
    if profile is None:
        return None
    return {
        "id": profile.person_id,
        "first_name": profile.first_name,
        "district": profile.district,
        "postcode": profile.postcode,
        "activities": [a.activity for a in profile.activities],
        "languages": {lang.language: lang.level for lang in profile.languages},
        "availability_bits": profile.availability_bits,
        "availability_kind": profile.availability_kind,
        "max_offers_per_week": profile.max_offers_per_week,
        "quiet_hours": [profile.quiet_start, profile.quiet_end],
        "status": profile.status,
        "last_offer_at": _time(profile.last_offer_at),
    }


async def _needs(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Need).where(Need.poster_person_id == person.id))
    return [
        {
            "id": n.id,
            "title": n.title,
            "description": n.description,
            "place": n.place,
            "district": n.district,
            "status": n.status,
            "created_at": _time(n.created_at),
        }
        for n in rows
    ]


async def _offers(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Offer, Need.title)
        .join(Need, Need.id == Offer.need_id)
        .where(Offer.volunteer_person_id == person.id)
    )
    return [
        {"id": o.id, "need": title, "status": o.status, "offered_at": _time(o.created_at)}
        for o, title in rows
    ]


async def _actions(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.actor_person_id == person.id).order_by(AuditEntry.id)
    )
    return [{"id": a.id, "at": _time(a.at), "action": a.action, "target": a.target} for a in rows]


async def _reports_made(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Report).where(Report.reporter_person_id == person.id))
    return [
        {
            "id": r.id,
            "text": r.text,
            "status": r.status,
            "created_at": _time(r.created_at),
            "answer": r.answer,
            "answered_at": _time(r.answered_at),
        }
        for r in rows
    ]


async def _reports_about(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """What was reported about the person, but not who reported it."""
    rows = await session.scalars(select(Report).where(Report.reported_person_id == person.id))
    return [
        {"id": r.id, "text": r.text, "status": r.status, "created_at": _time(r.created_at)}
        for r in rows
    ]


async def _broadcasts(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Broadcast).where(Broadcast.created_by_person_id == person.id)
    )
    return [
        {"id": b.id, "audience": b.audience, "total": b.total, "created_at": _time(b.created_at)}
        for b in rows
    ]


async def _polls(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Poll).where(Poll.created_by_person_id == person.id))
    return [{"id": p.id, "question": p.question, "created_at": _time(p.created_at)} for p in rows]


async def _votes(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(PollVote).where(PollVote.person_id == person.id))
    return [
        {"id": v.id, "poll": v.poll_id, "option": v.option, "at": _time(v.created_at)}
        for v in rows
    ]


async def _surveys(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Survey).where(Survey.created_by_person_id == person.id))
    return [{"id": s.id, "title": s.title, "created_at": _time(s.created_at)} for s in rows]


async def _survey_drafts(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(SurveyParticipation).where(SurveyParticipation.person_id == person.id)
    )
    return [
        {
            "id": p.id,
            "survey": p.survey_id,
            "answers_so_far": p.draft,
            "completed_at": _time(p.completed_at),
        }
        for p in rows
    ]


async def _survey_answers(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(SurveyResponse).where(SurveyResponse.person_id == person.id)
    )
    return [
        {"id": r.id, "survey": r.survey_id, "answers": r.answers, "at": _time(r.created_at)}
        for r in rows
    ]


async def _events(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Event).where(Event.created_by_person_id == person.id))
    return [
        {"id": e.id, "title": e.title, "starts_at": _time(e.starts_at), "status": e.status}
        for e in rows
    ]


async def _attendance(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(Attendance, Event.title)
        .join(Event, Event.id == Attendance.event_id)
        .where(Attendance.person_id == person.id)
    )
    return [
        {
            "id": a.id,
            "event": title,
            "occurrence": _time(a.occurrence),
            "coming": a.coming,
            "remind": a.remind,
            "waiting_since": _time(a.waiting_since),
            "moved_up_at": _time(a.moved_up_at),
            "cancelled_at": _time(a.cancelled_at),
        }
        for a, title in rows
    ]


async def _subscriptions(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Subscription).where(Subscription.person_id == person.id))
    return [
        {
            "id": s.id,
            "topics": [t for t in s.topics.split(",") if t],
            "district": s.district,
            "audience": s.audience,
            "language": s.language,
            "digest": s.digest,
        }
        for s in rows
    ]


async def _questions(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """The person's questions to the team and the answers (the coordinator stays unnamed)."""
    tickets = list(await session.scalars(select(Ticket).where(Ticket.person_id == person.id)))
    result = []
    for ticket in tickets:
        messages = await session.scalars(
            select(TicketMessage)
            .where(TicketMessage.ticket_id == ticket.id)
            .order_by(TicketMessage.id)
        )
        result.append(
            {
                "id": ticket.id,
                "status": ticket.status,
                "created_at": _time(ticket.created_at),
                "closed_at": _time(ticket.closed_at),
                "messages": [
                    {
                        "from": "team" if m.from_coordinator else "you",
                        "text": m.text,
                        "at": _time(m.created_at),
                    }
                    for m in messages
                ],
            }
        )
    return result


async def _private_chats(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    """Where the bot writes to the person privately, and the group it told them in."""
    rows = await session.scalars(select(DirectChat).where(DirectChat.person_id == person.id))
    return [
        {
            "platform": c.platform,
            "chat": c.chat_id,
            "state": c.state,
            "group_where_you_were_told": c.group_chat_id,
            "told_at": _time(c.told_at),
        }
        for c in rows
    ]


async def _answered(session: AsyncSession, person: Person) -> list[dict[str, Any]]:
    rows = await session.scalars(select(Ticket).where(Ticket.claimed_by_person_id == person.id))
    return [{"id": t.id, "status": t.status, "created_at": _time(t.created_at)} for t in rows]


READERS: dict[str, Section] = {
    "roles": _roles,
    "messages_to_you": _messages,
    "organisations_registered": _organisations_registered,
    "organisations": _memberships,
    "volunteer_profile": _profile,
    "needs_posted": _needs,
    "offers": _offers,
    "actions_as_coordinator": _actions,
    "reports_made": _reports_made,
    "reports_about_you": _reports_about,
    "broadcasts_sent": _broadcasts,
    "polls_started": _polls,
    "poll_votes": _votes,
    "surveys_started": _surveys,
    "survey_drafts": _survey_drafts,
    "survey_answers": _survey_answers,
    "events_created": _events,
    "event_attendance": _attendance,
    "subscriptions": _subscriptions,
    "questions_to_the_team": _questions,
    "questions_you_answered": _answered,
    "private_chats": _private_chats,
}


async def collect(
    session: AsyncSession, person: Person, retention_days: int | None = None
) -> dict[str, Any]:
    """Everything stored about one person, as plain data."""
    deletion = (
        person.last_seen_at + timedelta(days=retention_days)
        if retention_days is not None
        else None
    )
    data: dict[str, Any] = {
        "person": {
            "id": person.id,
            "platform": person.platform,
            "platform_user_id": person.platform_user_id,
            "name": person.display_name,
            "language": person.language,
            "timezone": person.timezone,
            "intent": person.intent,
            "consent_version": person.consent_version,
            "consent_at": _time(person.consent_at),
            "consent_declined_at": _time(person.consent_declined_at),
            "created_at": _time(person.created_at),
            "last_seen_at": _time(person.last_seen_at),
            "blocked_at": _time(person.blocked_at),
            "retention_reminder_sent_at": _time(person.retention_notified_at),
            "deleted_if_inactive_until": _time(deletion),
            "roles": sorted(r.role for r in person.roles),
        },
    }
    for name, read in READERS.items():
        value = await read(session, person)
        if value is not None:
            data[name] = value
    data["chats"] = [
        {"id": c.id, "kind": c.kind, "title": c.title, "created_at": _time(c.created_at)}
        for c in await session.scalars(
            select(ChatRecord).where(
                ChatRecord.platform == person.platform,
                or_(
                    ChatRecord.platform_chat_id == person.platform_user_id,
                    ChatRecord.created_by == person.platform_user_id,
                ),
            )
        )
    ]
    data["conversations_in_progress"] = [
        {"id": f.id, "state": f.state, "answers": f.data}
        for f in await session.scalars(
            select(FlowState).where(
                FlowState.platform == person.platform, FlowState.user_id == person.platform_user_id
            )
        )
    ]
    return data
