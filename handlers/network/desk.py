"""The coordinator's desk (/admin): what waits for a decision, broadcasts, statistics and
the buttons for CSV exports (handlers/network/exports.py)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bot.core.context import Context
from bot.core.i18n import N_, _, format_list, format_number, isolate
from bot.core.router import Router
from bot.core.types import Button, Format
from db.models import (
    Need,
    NeedStatus,
    Offer,
    OfferStatus,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Person,
    PersonRole,
    ReferralQuestion,
    Report,
    SurveyResponse,
    Ticket,
    TicketStatus,
    VolunteerProfile,
)
from handlers.basics.taxonomy import kind_label, language_name
from handlers.network.moderation import report_buttons
from handlers.volunteering.needs import card

router = Router("admin")


async def count(ctx: Context, query) -> int:
    return await ctx.session.scalar(select(func.count()).select_from(query.subquery())) or 0


@router.command("admin", N_("The coordinator's desk (coordinators)"))
async def desk(ctx: Context) -> None:
    pending_orgs = await count(
        ctx, select(Organisation.id).where(Organisation.status == OrganisationStatus.PENDING)
    )
    pending_needs = await count(
        ctx, select(Need.id).where(Need.status == NeedStatus.PENDING_REVIEW)
    )
    reports = await count(ctx, select(Report.id).where(Report.status == "open"))
    blocked = await count(ctx, select(Person.id).where(Person.blocked_at.is_not(None)))
    tickets = await count(ctx, select(Ticket.id).where(Ticket.status != TicketStatus.CLOSED))
    ctx.reply(
        "\n".join(
            [
                _("Coordinator's desk"),
                "",
                _("Organisations waiting for approval: {count}").format(
                    count=format_number(pending_orgs)
                ),
                _("Needs waiting for review: {count}").format(count=format_number(pending_needs)),
                _("Open reports: {count}").format(count=format_number(reports)),
                _("Blocked people: {count}").format(count=format_number(blocked)),
                _("Open questions (hand-overs): {count}").format(count=format_number(tickets)),
            ]
        ),
        [
            [
                Button("admin.pending", _("Waiting for decisions")),
                Button("admin.tickets", _("Open questions")),
            ],
            [Button("admin.broadcast", _("Broadcast")), Button("admin.stats", _("Statistics"))],
            [
                Button("admin.export", _("Export volunteers"), "volunteers"),
                Button("admin.export", _("Export needs"), "needs"),
            ],
            [
                Button("admin.export", _("Export organisations"), "organisations"),
                Button("admin.blocked", _("Blocked people")),
            ],
        ],
    )


@router.button("admin.open")
async def desk_button(ctx: Context, _value: str) -> None:
    await desk(ctx)


@router.button("admin.pending")
async def pending(ctx: Context, _value: str) -> None:
    """Everything waiting for a coordinator, each with its decision buttons."""
    shown = 0
    for org in await ctx.session.scalars(
        select(Organisation).where(Organisation.status == OrganisationStatus.PENDING).limit(10)
    ):
        ctx.reply(
            _("Organisation: {name} ({kind}), {area}, {contact}").format(
                name=isolate(org.name),
                kind=kind_label(org.kind),
                area=isolate(org.district or "–"),
                contact=isolate(org.contact or "–"),
            ),
            [
                [
                    Button("org.review", _("Approve"), f"approve:{org.id}"),
                    Button("org.review", _("Decline"), f"decline:{org.id}"),
                ]
            ],
        )
        shown += 1
    for need in await ctx.session.scalars(
        select(Need).where(Need.status == NeedStatus.PENDING_REVIEW).limit(10)
    ):
        ctx.reply(
            card(need, None),
            [
                [
                    Button("need.review", _("Publish"), f"approve:{need.id}"),
                    Button("need.review", _("Decline"), f"decline:{need.id}"),
                ]
            ],
            format=Format.HTML,
        )
        shown += 1
    for report in await ctx.session.scalars(
        select(Report).where(Report.status == "open").limit(10)
    ):
        buttons = report_buttons(
            report.id,
            about=report.reported_person_id is not None,
            answerable=report.reporter_person_id is not None and report.answer is None,
        )
        ctx.reply(_("Report: {text}").format(text=isolate(report.text or "–")), [buttons])
        shown += 1
    if not shown:
        ctx.reply(_("Nothing is waiting for a decision."))


@router.button("admin.blocked")
async def blocked(ctx: Context, _value: str) -> None:
    people = list(
        await ctx.session.scalars(select(Person).where(Person.blocked_at.is_not(None)).limit(20))
    )
    if not people:
        ctx.reply(_("Nobody is blocked."))
        return
    for person in people:
        ctx.reply(
            f"{isolate(person.display_name or '?')} ({person.platform}:{person.platform_user_id})",
            [Button("admin.unblock", _("Unblock"), str(person.id))],
        )


@router.button("admin.stats")
async def stats(ctx: Context, _value: str) -> None:
    """People by role and language, needs open and filled, survey responses."""
    roles = Counter(
        dict(
            (
                await ctx.session.execute(
                    select(PersonRole.role, func.count()).group_by(PersonRole.role)
                )
            ).all()
        )
    )
    members = await count(ctx, select(OrganisationMember.person_id).distinct())
    people = await count(ctx, select(Person.id).where(Person.consent_version.is_not(None)))
    languages = (
        await ctx.session.execute(
            select(Person.language, func.count())
            .where(Person.language.is_not(None))
            .group_by(Person.language)
            .order_by(func.count().desc())
        )
    ).all()
    needs = Counter(
        dict(
            (
                await ctx.session.execute(select(Need.status, func.count()).group_by(Need.status))
            ).all()
        )
    )
    placed = await count(ctx, select(Offer.id).where(Offer.status == OfferStatus.ACCEPTED))
    responses = await count(ctx, select(SurveyResponse.id))
    questions = await count(ctx, select(ReferralQuestion.id))
    volunteers = await count(ctx, select(VolunteerProfile.person_id))
    lines = [
        _("Statistics"),
        "",
        _("People who agreed to the notice: {count}").format(count=format_number(people)),
        _("Volunteers: {count}").format(count=format_number(volunteers)),
        _("Members of organisations: {count}").format(count=format_number(members)),
        _("Coordinators: {count}").format(count=format_number(roles.get("coordinator", 0))),
        _("By language: {languages}").format(
            languages=format_list(
                f"{language_name(code or '')} {format_number(n)}" for code, n in languages
            )
            or "–"
        ),
        _("Needs open: {open}, filled: {full}, closed or expired: {closed}").format(
            open=format_number(needs.get(NeedStatus.OPEN, 0)),
            full=format_number(needs.get(NeedStatus.FULL, 0)),
            closed=format_number(
                needs.get(NeedStatus.CLOSED, 0) + needs.get(NeedStatus.EXPIRED, 0)
            ),
        ),
        _("Volunteers placed (both agreed): {count}").format(count=format_number(placed)),
        _("Survey responses: {count}").format(count=format_number(responses)),
        _("Referral questions asked: {count}").format(count=format_number(questions)),
    ]
    ctx.reply("\n".join(lines))
