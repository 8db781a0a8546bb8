"""Data protection self-service: /mydata (everything stored, as JSON and in words), /delete
(erase the person everywhere, keeping what they authored only anonymised), and the retention
job that reminds inactive people and then deletes them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, make_reply
from bot.core.i18n import N_, _, format_date, format_list
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Attachment, Button, Reply
from db.models import (
    ButtonToken,
    ChatRecord,
    FloodBucket,
    FlowState,
    Keyboard,
    Need,
    Offer,
    Organisation,
    OrganisationMember,
    OutboxMessage,
    Person,
    PollVote,
    Report,
    SurveyParticipation,
    SurveyResponse,
    VolunteerProfile,
)

router = Router("mydata")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def collect(session: AsyncSession, person: Person) -> dict[str, Any]:
    """Everything stored about one person, as plain data."""
    data: dict[str, Any] = {
        "person": {
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
            "roles": sorted(r.role for r in person.roles),
        },
    }
    profile = await session.get(VolunteerProfile, person.id)
    if profile is not None:
        data["volunteer_profile"] = {
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
        }
    memberships = await session.execute(
        select(Organisation.name, OrganisationMember.role, OrganisationMember.joined_at)
        .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
        .where(OrganisationMember.person_id == person.id)
    )
    data["organisations"] = [
        {"name": n, "role": r, "joined_at": _time(j)} for n, r, j in memberships
    ]
    data["needs_posted"] = [
        {"id": n.id, "title": n.title, "status": n.status, "created_at": _time(n.created_at)}
        for n in await session.scalars(select(Need).where(Need.poster_person_id == person.id))
    ]
    offers = await session.execute(
        select(Offer, Need.title)
        .join(Need, Need.id == Offer.need_id)
        .where(Offer.volunteer_person_id == person.id)
    )
    data["offers"] = [
        {"need": title, "status": o.status, "offered_at": _time(o.created_at)}
        for o, title in offers
    ]
    data["conversations_in_progress"] = [
        {"state": f.state, "answers": f.data}
        for f in await session.scalars(
            select(FlowState).where(
                FlowState.platform == person.platform, FlowState.user_id == person.platform_user_id
            )
        )
    ]
    data["poll_votes"] = [
        {"poll": v.poll_id, "option": v.option}
        for v in await session.scalars(select(PollVote).where(PollVote.person_id == person.id))
    ]
    data["survey_answers"] = [
        {"survey": r.survey_id, "answers": r.answers}
        for r in await session.scalars(
            select(SurveyResponse).where(SurveyResponse.person_id == person.id)
        )
    ]
    data["reports_made"] = [
        {"text": r.text, "created_at": _time(r.created_at)}
        for r in await session.scalars(
            select(Report).where(Report.reporter_person_id == person.id)
        )
    ]
    return data


def summary(data: dict[str, Any]) -> str:
    """The same in words, for reading in the chat."""
    p = data["person"]
    lines = [
        _("This is what I have stored about you:"),
        "",
        _("Your ID: {platform}:{id}").format(platform=p["platform"], id=p["platform_user_id"]),
    ]
    if p["language"]:
        lines.append(_("Language: {language}").format(language=p["language"]))
    if p["roles"]:
        lines.append(_("Roles: {roles}").format(roles=format_list(p["roles"])))
    if p["consent_at"]:
        lines.append(
            _("Consent given on {date} (notice version {version}).").format(
                date=format_date(datetime.fromisoformat(p["consent_at"])),
                version=p["consent_version"],
            )
        )
    counts = [
        (_("Volunteer profile"), 1 if "volunteer_profile" in data else 0),
        (_("Organisations"), len(data["organisations"])),
        (_("Needs you posted"), len(data["needs_posted"])),
        (_("Offers to you"), len(data["offers"])),
        (_("Poll votes"), len(data["poll_votes"])),
        (_("Survey answers"), len(data["survey_answers"])),
    ]
    lines += [f"{label}: {count}" for label, count in counts]
    lines += ["", _("The attached file contains all of it. To delete everything, send /delete.")]
    return "\n".join(lines)


@router.command("mydata", N_("See everything stored about you"), needs_consent=False)
async def mydata(ctx: Context) -> None:
    data = await collect(ctx.session, ctx.person)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode()
    ctx.reply(
        summary(data), attachment=Attachment("lotse-my-data.json", content, "application/json")
    )


@router.command("delete", N_("Delete all your data"), needs_consent=False)
async def delete_command(ctx: Context) -> None:
    ctx.reply(
        _(
            "Do you want me to delete everything I have stored about you? Needs you posted "
            "stay visible without your name; offers you accepted are withdrawn. This "
            "cannot be undone."
        ),
        [
            Button("privacy.delete", _("Yes, delete everything"), "confirm"),
            Button("privacy.keep", _("No, keep my data")),
        ],
    )


@router.button("privacy.delete", needs_consent=False, once=True)
async def delete_button(ctx: Context, value: str) -> None:
    if value != "confirm":
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    await forget(ctx.notifier, ctx.person)
    ctx.reply(
        _(
            "Everything I had stored about you is deleted. If you write to me again, I "
            "will start fresh. Goodbye, and all the best!"
        )
    )


@router.button("privacy.keep", needs_consent=False)
async def keep_button(ctx: Context, _value: str) -> None:
    ctx.person.retention_notified_at = None
    ctx.reply(_("Good, your data stays. Nothing has been deleted."))


async def forget(notifier: Notifier, person: Person) -> None:
    """Delete a person as /delete promises: their offers are withdrawn first (a full need
    reopens, its organisers are told), then every trace is erased. The retention job uses
    the same path, so an inactive person is forgotten exactly like one who asked."""
    from handlers.offers import withdraw_all

    await withdraw_all(notifier, person.id)
    await notifier.session.execute(  # the flood counter knows the platform id too
        delete(FloodBucket).where(
            FloodBucket.platform == person.platform,
            FloodBucket.user_id == person.platform_user_id,
        )
    )
    await erase(notifier.session, person)


async def erase(session: AsyncSession, person: Person) -> None:
    """Remove the person and their personal data from every table.

    Foreign keys do most of it (roles, profile, memberships, offers, participations: CASCADE;
    needs, organisations, votes, audit entries: SET NULL, which anonymises them). What is
    keyed by platform ids rather than by the person is deleted here explicitly.
    """
    platform, user_id = person.platform, person.platform_user_id
    await session.execute(
        delete(FlowState).where(FlowState.platform == platform, FlowState.user_id == user_id)
    )
    await session.execute(
        delete(Keyboard).where(Keyboard.platform == platform, Keyboard.chat_id == user_id)
    )
    await session.execute(
        delete(ButtonToken).where(
            or_(
                ButtonToken.person_id == person.id,
                (ButtonToken.platform == platform) & (ButtonToken.chat_id == user_id),
            )
        )
    )
    await session.execute(
        delete(OutboxMessage).where(
            or_(
                OutboxMessage.person_id == person.id,
                (OutboxMessage.platform == platform) & (OutboxMessage.chat_id == user_id),
            )
        )
    )
    await session.execute(
        delete(ChatRecord).where(
            ChatRecord.platform == platform, ChatRecord.platform_chat_id == user_id
        )
    )
    await session.execute(
        update(ChatRecord)
        .where(ChatRecord.platform == platform, ChatRecord.created_by == user_id)
        .values(created_by=None)
    )
    await session.execute(delete(SurveyResponse).where(SurveyResponse.person_id == person.id))
    await session.execute(
        delete(SurveyParticipation).where(SurveyParticipation.person_id == person.id)
    )
    await session.execute(delete(Report).where(Report.reporter_person_id == person.id))
    await session.execute(delete(Report).where(Report.reported_person_id == person.id))
    session.expunge(person)
    await session.execute(delete(Person).where(Person.id == person.id))


def _reminder(deadline: datetime) -> Callable[[], Reply]:
    def render() -> Reply:
        return make_reply(
            _(
                "You have not used this bot for a long time. To protect your privacy I will "
                "delete your data on {date}. Tap the button or write to me if you want to keep "
                "it."
            ).format(date=format_date(deadline)),
            [Button("privacy.keep", _("Keep my data"))],
        )

    return render


async def retention(session: AsyncSession, services: Services, now: datetime) -> tuple[int, int]:
    """Remind people inactive for the retention period; delete those who stay silent."""
    settings = services.settings
    inactive_since = now - timedelta(days=settings.retention_days)
    grace = timedelta(days=settings.retention_grace_days)
    notifier = Notifier(session, services)
    to_remind = list(
        await session.scalars(
            select(Person).where(
                Person.last_seen_at < inactive_since, Person.retention_notified_at.is_(None)
            )
        )
    )
    for person in to_remind:
        person.retention_notified_at = now
        await notifier.to_person(person, _reminder(now + grace))
    to_delete = list(
        await session.scalars(
            select(Person).where(
                Person.retention_notified_at < now - grace,
                Person.last_seen_at < Person.retention_notified_at,
            )
        )
    )
    for person in to_delete:
        await forget(notifier, person)
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return len(to_remind), len(to_delete)
