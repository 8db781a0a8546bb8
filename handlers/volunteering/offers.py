"""Matching volunteers to needs, and the hand-over with double consent.

    need published ─► best volunteers get an offer: [I can help] [Not this time] [Pause offers]
    "I can help"   ─► the poster sees who (first name, languages, activities — no contact)
                      and answers [Accept] [Decline]
    accepted       ─► both get each other's contact; the need counts its helpers and closes
                      when full, withdrawing the other offers politely

Nothing that lets one person reach another is shared before both said yes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context, make_reply
from bot.core.i18n import _, format_list, format_number, isolate, ngettext
from bot.core.ids import get_row
from bot.core.notify import Notifier
from bot.core.router import Router, declines
from bot.core.services import Services
from bot.core.types import Button, Format, Reply
from db.matching import candidates, iso_week
from db.models import (
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
    Organisation,
    OrganisationMember,
    Person,
    PersonRole,
    Role,
    VolunteerProfile,
    VolunteerStatus,
)
from handlers.basics.taxonomy import LEVELS, activity_label, language_name, part_of_day, slot_bit
from handlers.volunteering.needs import card

logger = logging.getLogger(__name__)

router = Router("offers")

MAX_ROUNDS = 3
PER_ROUND_FACTOR = 3
MAX_PER_ROUND = 20
OPEN_OFFERS = (OfferStatus.OFFERED, OfferStatus.INTERESTED)


# --- matching ------------------------------------------------------------------------------
def need_slot(need: Need, services: Services) -> int | None:
    tz = services.settings.tz
    if need.when_kind == "date" and need.starts_at is not None:
        local = need.starts_at.astimezone(tz)
        return slot_bit(local.weekday(), part_of_day(local.hour))
    if need.when_kind == "regular" and need.weekday is not None and need.time_of_day:
        return slot_bit(need.weekday, part_of_day(int(need.time_of_day[:2])))
    return None


async def match_round(notifier: Notifier, services: Services, need: Need, now: datetime) -> int:
    """Ask the next best volunteers; returns how many were asked."""
    session = notifier.session
    answered = await session.scalar(
        select(Offer.id)
        .where(Offer.need_id == need.id, Offer.status == OfferStatus.INTERESTED)
        .limit(1)
    )
    wanted = need.missing * PER_ROUND_FACTOR - (1 if answered else 0)
    wanted = max(1, min(MAX_PER_ROUND, wanted))
    local_hour = now.astimezone(services.settings.tz).hour
    week = iso_week(now)
    chosen = await candidates(
        session,
        need,
        limit=wanted,
        local_hour=local_hour,
        week=week,
        slot_bit=need_slot(need, services),
    )
    need.match_round += 1
    need.last_match_at = now
    if not chosen:
        return 0
    organisation = (
        await session.get(Organisation, need.organisation_id) if need.organisation_id else None
    )
    people = {
        p.id: p
        for p in await session.scalars(
            select(Person).where(Person.id.in_([c.person_id for c in chosen]))
        )
    }
    profiles = {
        p.person_id: p
        for p in await session.scalars(
            select(VolunteerProfile).where(VolunteerProfile.person_id.in_(people))
        )
    }
    for candidate in chosen:
        offer = Offer(
            need_id=need.id,
            volunteer_person_id=candidate.person_id,
            status=OfferStatus.OFFERED,
            round=need.match_round,
            created_at=now,
        )
        session.add(offer)
        await session.flush()
        profile = profiles[candidate.person_id]
        if profile.offers_week != week:
            profile.offers_week, profile.offers_this_week = week, 0
        profile.offers_this_week += 1
        profile.last_offer_at = now
        await notifier.to_person(
            people[candidate.person_id], _offer_renderer(need, organisation, offer)
        )
    return len(chosen)


def _offer_renderer(
    need: Need, organisation: Organisation | None, offer: Offer
) -> Callable[[], Reply]:
    return lambda: offer_message(need, organisation, offer)


def offer_message(need: Need, organisation: Organisation | None, offer: Offer) -> Reply:
    text = _("A need that fits you:") + "\n\n" + card(need, organisation)
    return make_reply(
        text,
        [
            [Button("offer.help", _("I can help"), str(offer.id))],
            [
                Button("offer.decline", _("Not this time"), str(offer.id)),
                Button("offer.pause", _("Pause offers"), str(offer.id)),
            ],
        ],
        Format.HTML,
    )


async def publish(notifier: Notifier, services: Services, need: Need, now: datetime) -> int:
    need.status = NeedStatus.OPEN
    need.published_at = now
    return await match_round(notifier, services, need, now)


async def coordinators(session: AsyncSession) -> list[Person]:
    return list(
        await session.scalars(
            select(Person)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role == Role.COORDINATOR)
        )
    )


async def notify_coordinators_of_need(
    notifier: Notifier, services: Services, need: Need, *, not_a_member: bool = False
) -> None:
    """Ask the coordinators to review a need; `not_a_member`: posted in an organisation's
    group by someone who does not belong to it, so the need carries no organisation."""
    organisation = (
        await notifier.session.get(Organisation, need.organisation_id)
        if need.organisation_id
        else None
    )

    def render() -> Reply:
        text = _("A need is waiting for your review:")
        if not_a_member:
            text += "\n" + _(
                "Posted in a linked group by someone who is not a member of its organisation."
            )
        return make_reply(
            text + "\n\n" + card(need, organisation),
            [
                [
                    Button("need.review", _("Publish"), f"approve:{need.id}"),
                    Button("need.review", _("Decline"), f"decline:{need.id}"),
                ]
            ],
            Format.HTML,
        )

    for coordinator in await coordinators(notifier.session):
        await notifier.to_person(coordinator, render)


@router.button("need.review", once=True, destructive=declines)
async def review_need(ctx: Context, value: str) -> None:
    """A coordinator publishes or declines a need from someone without an approved group."""
    verdict, _sep, raw_id = value.partition(":")
    need = await get_row(ctx.session, Need, raw_id)
    if need is None or verdict not in ("approve", "decline"):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if need.status != NeedStatus.PENDING_REVIEW:
        ctx.reply(_("This need was already reviewed."))
        return
    poster = (
        await ctx.session.get(Person, need.poster_person_id) if need.poster_person_id else None
    )
    title = need.title
    if verdict == "decline":
        need.status = NeedStatus.DECLINED
        ctx.reply(_("The need “{title}” was not published.").format(title=isolate(title)))
        if poster:
            await ctx.send_to(
                poster,
                lambda: make_reply(
                    _(
                        "A coordinator did not publish your need “{title}”. Please contact the "
                        "coordinators if you have questions."
                    ).format(title=isolate(title))
                ),
            )
        return
    asked = await publish(ctx.notifier, ctx.services, need, ctx.services.clock())
    ctx.reply(
        ngettext(
            "Published. {count} volunteer was asked.",
            "Published. {count} volunteers were asked.",
            asked,
        ).format(count=format_number(asked))
    )
    if poster:
        await ctx.send_to(
            poster,
            lambda: make_reply(
                _("Your need “{title}” is published. I am asking volunteers who fit.").format(
                    title=isolate(title)
                )
            ),
        )


# --- the volunteer's answers ------------------------------------------------------------------
async def own_offer(ctx: Context, value: str) -> Offer | None:
    offer = await get_row(ctx.session, Offer, value)
    if offer is None or offer.volunteer_person_id != ctx.person.id:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return None
    return offer


def volunteer_intro(profile: VolunteerProfile | None, name: str) -> str:
    """What the poster learns before deciding: first name, languages, activities."""
    if profile is None:
        return _("Name: {name}").format(name=html.escape(isolate(name)))
    languages = format_list(
        [f"{language_name(lang.language)} ({_(LEVELS[lang.level])})" for lang in profile.languages]
    )
    activities = format_list([activity_label(a.activity) for a in profile.activities])
    return "\n".join(
        [
            _("Name: {name}").format(name=html.escape(isolate(profile.first_name))),
            _("Languages: {languages}").format(languages=html.escape(languages)),
            _("Activities: {activities}").format(activities=html.escape(activities)),
        ]
    )


async def volunteer_interested(ctx: Context, need: Need, offer: Offer) -> None:
    """The volunteer said yes: tell the poster who, without any contact yet."""
    offer.status = OfferStatus.INTERESTED
    offer.responded_at = ctx.services.clock()
    profile = await ctx.session.get(VolunteerProfile, ctx.person.id)
    name = profile.first_name if profile else (ctx.person.display_name or "?")
    title = need.title
    deciders = await decision_makers(ctx.session, need)
    for decider in deciders:
        await ctx.send_to(
            decider,
            lambda: make_reply(
                _("Someone offers to help with “{title}”:").format(
                    title=html.escape(isolate(title))
                )
                + "\n\n"
                + volunteer_intro(profile, name)
                + "\n\n"
                + _("Do you accept? Only then will you both get each other's contact."),
                [
                    [
                        Button("offer.accept", _("Accept"), str(offer.id)),
                        Button("offer.reject", _("Decline"), str(offer.id)),
                    ]
                ],
                Format.HTML,
            ),
        )
    ctx.reply(
        _(
            "Thank you! I have told the organisers. You will hear from me as soon as they "
            "answer; your contact is only shared if they accept."
        )
    )


async def decision_makers(session: AsyncSession, need: Need) -> list[Person]:
    """The poster; if they are gone, the organisation's admins; else the coordinators."""
    if need.poster_person_id:
        poster = await session.get(Person, need.poster_person_id)
        if poster is not None:
            return [poster]
    if need.organisation_id:
        admins = list(
            await session.scalars(
                select(Person)
                .join(OrganisationMember, OrganisationMember.person_id == Person.id)
                .where(
                    OrganisationMember.organisation_id == need.organisation_id,
                    OrganisationMember.role == "admin",
                )
            )
        )
        if admins:
            return admins
    return await coordinators(session)


@router.button("offer.help", once=True)
async def offer_help(ctx: Context, value: str) -> None:
    offer = await own_offer(ctx, value)
    if offer is None:
        return
    need = await ctx.session.get(Need, offer.need_id)
    if need is None or need.status != NeedStatus.OPEN:
        offer.status = OfferStatus.CLOSED
        ctx.reply(_("Thank you! This need has meanwhile been filled or closed."))
        return
    if offer.status != OfferStatus.OFFERED:
        ctx.reply(_("You have already answered this offer."))
        return
    await volunteer_interested(ctx, need, offer)


@router.button("need.help", once=True)
async def need_help(ctx: Context, value: str) -> None:
    """ "I can help" on a need found with /needs or a link, without having been asked."""
    need = await get_row(ctx.session, Need, value)
    if need is None or need.status != NeedStatus.OPEN:
        ctx.reply(_("Thank you! This need has meanwhile been filled or closed."))
        return
    if need.poster_person_id == ctx.person.id:
        ctx.reply(_("This is your own need."))
        return
    if await ctx.session.get(VolunteerProfile, ctx.person.id) is None:
        ctx.reply(
            _(
                "Please create your volunteer profile first, so that the organisers know "
                "who offers to help."
            ),
            [Button("volunteer.signup", _("Sign up as a volunteer"))],
        )
        return
    offer = await ctx.session.scalar(
        select(Offer).where(Offer.need_id == need.id, Offer.volunteer_person_id == ctx.person.id)
    )
    if offer is None:
        offer = Offer(
            need_id=need.id,
            volunteer_person_id=ctx.person.id,
            status=OfferStatus.OFFERED,
            round=0,
            created_at=ctx.services.clock(),
        )
        ctx.session.add(offer)
        await ctx.session.flush()
    elif offer.status != OfferStatus.OFFERED:
        ctx.reply(_("You have already offered to help with this need."))
        return
    await volunteer_interested(ctx, need, offer)


@router.button("offer.decline", once=True, destructive=True)
async def offer_decline(ctx: Context, value: str) -> None:
    offer = await own_offer(ctx, value)
    if offer is None:
        return
    if offer.status == OfferStatus.OFFERED:
        offer.status = OfferStatus.DECLINED
        offer.responded_at = ctx.services.clock()
    ctx.reply(_("No problem. Thank you for letting me know!"))


@router.button("offer.pause", once=True, destructive=True)
async def offer_pause(ctx: Context, value: str) -> None:
    offer = await own_offer(ctx, value)
    if offer is None:
        return
    if offer.status == OfferStatus.OFFERED:
        offer.status = OfferStatus.DECLINED
        offer.responded_at = ctx.services.clock()
    profile = await ctx.session.get(VolunteerProfile, ctx.person.id)
    if profile is not None:
        profile.status = VolunteerStatus.PAUSED
    ctx.reply(_("Offers are paused. Resume them any time with /profile."))


# --- the poster's decision ------------------------------------------------------------------
async def deciding_offer(ctx: Context, value: str) -> tuple[Offer, Need] | None:
    offer = await get_row(ctx.session, Offer, value)
    need = await ctx.session.get(Need, offer.need_id) if offer else None
    if offer is None or need is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return None
    if ctx.person not in await decision_makers(ctx.session, need):
        ctx.notify(_("Only the person who posted the need can decide this."))
        return None
    if offer.status != OfferStatus.INTERESTED:
        ctx.reply(_("This offer was already answered or withdrawn."))
        return None
    return offer, need


def contact_of(services: Services, person: Person, name: str) -> str:
    return services.contact_html(person.platform, person.platform_user_id, name)


@router.button("offer.accept", once=True)
async def offer_accept(ctx: Context, value: str) -> None:
    """Both said yes: now, and only now, each gets the other's contact."""
    found = await deciding_offer(ctx, value)
    if found is None:
        return
    offer, need = found
    if need.status != NeedStatus.OPEN:
        ctx.reply(_("This need is no longer open."))
        return
    now = ctx.services.clock()
    offer.status, offer.decided_at = OfferStatus.ACCEPTED, now
    need.helpers_count += 1
    volunteer = await ctx.session.get(Person, offer.volunteer_person_id)
    assert volunteer is not None
    profile = await ctx.session.get(VolunteerProfile, volunteer.id)
    volunteer_name = profile.first_name if profile else (volunteer.display_name or "?")
    poster_name = ctx.person.display_name or ctx.incoming.actor.display_name or "?"
    volunteer_contact = contact_of(ctx.services, volunteer, volunteer_name)
    poster_contact = contact_of(ctx.services, ctx.person, poster_name)
    title = html.escape(isolate(need.title))
    ctx.reply(
        _("Wonderful! You can reach {name} here: {contact}").format(
            name=html.escape(isolate(volunteer_name)), contact=volunteer_contact
        ),
        format=Format.HTML,
    )
    await ctx.send_to(
        volunteer,
        lambda: make_reply(
            _(
                "Your help with “{title}” was accepted! You can reach the organiser here: "
                "{contact}"
            ).format(title=title, contact=poster_contact),
            [Button("offer.withdraw", _("I can no longer help"), str(offer.id))],
            Format.HTML,
        ),
    )
    if need.helpers_count >= need.volunteers_needed:
        await close_need(ctx.notifier, need, NeedStatus.FULL, now)
        ctx.reply(
            _("“{title}” now has all the helpers it needs and is closed.").format(
                title=isolate(need.title)
            )
        )


@router.button("offer.reject", once=True, destructive=True)
async def offer_reject(ctx: Context, value: str) -> None:
    found = await deciding_offer(ctx, value)
    if found is None:
        return
    offer, need = found
    offer.status, offer.decided_at = OfferStatus.REJECTED, ctx.services.clock()
    volunteer = await ctx.session.get(Person, offer.volunteer_person_id)
    title = need.title
    ctx.reply(_("Understood. I will let them know kindly."))
    if volunteer is not None:
        await ctx.send_to(
            volunteer,
            lambda: make_reply(
                _(
                    "The organisers of “{title}” have found another solution this time. Thank you "
                    "very much for offering!"
                ).format(title=isolate(title))
            ),
        )


@router.button("offer.withdraw", once=True, destructive=True)
async def offer_withdraw(ctx: Context, value: str) -> None:
    offer = await own_offer(ctx, value)
    if offer is None:
        return
    if offer.status not in (OfferStatus.INTERESTED, OfferStatus.ACCEPTED):
        ctx.reply(_("There is nothing to withdraw."))
        return
    await withdraw(ctx, offer)
    ctx.reply(_("You have withdrawn. Thank you for letting them know."))


async def withdraw(ctx: Context, offer: Offer) -> None:
    await release(ctx.notifier, offer, named=True)


async def release(notifier: Notifier, offer: Offer, *, named: bool) -> None:
    """The volunteer steps back: the need gets its place back, and whoever decides is told.

    `named=False` when the volunteer is being forgotten: the notice must not carry a name
    that /delete is about to erase everywhere else.
    """
    session, now = notifier.session, notifier.services.clock()
    need = await session.get(Need, offer.need_id)
    was_accepted = offer.status == OfferStatus.ACCEPTED
    offer.status = OfferStatus.WITHDRAWN
    offer.responded_at = now
    if need is None:
        return
    if was_accepted:
        need.helpers_count = max(0, need.helpers_count - 1)
        if need.status == NeedStatus.FULL and need.until > now:
            need.status = NeedStatus.OPEN
            need.closed_at = None
    profile = await session.get(VolunteerProfile, offer.volunteer_person_id) if named else None
    name = profile.first_name if profile else None
    title = need.title

    def render() -> Reply:
        if name is None:
            return make_reply(
                _("A volunteer can no longer help with “{title}”.").format(title=isolate(title))
            )
        return make_reply(
            _("{name} can no longer help with “{title}”.").format(
                name=isolate(name), title=isolate(title)
            )
        )

    for decider in await decision_makers(session, need):
        await notifier.to_person(decider, render)


async def withdraw_all(notifier: Notifier, person_id: int, *, named: bool = True) -> None:
    """Every offer of one volunteer ends (they are deleted, or step back from everything)."""
    offers = await notifier.session.scalars(
        select(Offer).where(
            Offer.volunteer_person_id == person_id,
            Offer.status.in_([OfferStatus.OFFERED, OfferStatus.INTERESTED, OfferStatus.ACCEPTED]),
        )
    )
    for offer in list(offers):
        if offer.status == OfferStatus.OFFERED:
            offer.status = OfferStatus.WITHDRAWN
        else:
            await release(notifier, offer, named=named)


def _released_message(title: str, status: NeedStatus) -> Callable[[], Reply]:
    def render() -> Reply:
        if status == NeedStatus.FULL:
            text = _(
                "Thank you! “{title}” has found enough helpers, so your offer is not "
                "needed this time."
            )
        else:
            text = _("“{title}” has ended, so your offer is no longer needed. Thank you!")
        return make_reply(text.format(title=isolate(title)))

    return render


async def close_need(notifier: Notifier, need: Need, status: NeedStatus, now: datetime) -> None:
    """Close a need; volunteers still waiting are thanked and released."""
    need.status = status
    need.closed_at = now
    waiting = list(
        await notifier.session.scalars(
            select(Offer).where(Offer.need_id == need.id, Offer.status.in_(OPEN_OFFERS))
        )
    )
    title = need.title
    for offer in waiting:
        was_interested = offer.status == OfferStatus.INTERESTED
        offer.status = OfferStatus.CLOSED
        volunteer = await notifier.session.get(Person, offer.volunteer_person_id)
        if volunteer is None:
            continue
        if was_interested or status == NeedStatus.FULL:
            await notifier.to_person(volunteer, _released_message(title, status))


# --- scheduled work ---------------------------------------------------------------------------
async def expire_needs(session: AsyncSession, services: Services, now: datetime) -> int:
    """Needs past their end date close; waiting volunteers are released."""
    notifier = Notifier(session, services)
    due = list(
        await session.scalars(
            select(Need).where(
                Need.status.in_([NeedStatus.OPEN, NeedStatus.FULL, NeedStatus.PENDING_REVIEW]),
                Need.until <= now,
            )
        )
    )
    for need in due:
        await close_need(notifier, need, NeedStatus.EXPIRED, now)
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return len(due)


async def next_rounds(session: AsyncSession, services: Services, now: datetime) -> int:
    """Where too few said yes within the waiting time, ask the next volunteers."""
    wait = timedelta(hours=services.settings.match_wait_hours)
    notifier = Notifier(session, services)
    needs = list(
        await session.scalars(
            select(Need).where(
                Need.status == NeedStatus.OPEN,
                Need.match_round < MAX_ROUNDS,
                Need.last_match_at <= now - wait,
                Need.until > now,
            )
        )
    )
    asked = 0
    for need in needs:
        interested = (
            await session.scalar(
                select(func.count(Offer.id)).where(
                    Offer.need_id == need.id, Offer.status == OfferStatus.INTERESTED
                )
            )
            or 0
        )
        if interested >= need.missing:
            continue  # enough people said yes; the poster is deciding
        asked += await match_round(notifier, services, need, now)
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return asked


@router.job("needs_upkeep", every=timedelta(minutes=10))
async def needs_upkeep(services: Services) -> None:
    """Expire needs past their end date; ask the next volunteers where too few said yes."""
    now = services.clock()
    async with services.session_factory() as session:
        expired = await expire_needs(session, services, now)
    async with services.session_factory() as session:
        asked = await next_rounds(session, services, now)
    if expired or asked:
        logger.info("needs: %s expired, %s more volunteers asked", expired, asked)
