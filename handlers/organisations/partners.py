"""The partner directory (/partners): the network's partners by kind, what they offer and how
to reach them; coordinators add and edit entries in chat. And the freshness check: every few
months each service's contact is asked whether its entry is still right.

    adding: the organisation registration (org.*), approved at once for a coordinator
    partner.field → partner.value → END   (editing one field)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import multilang
from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, isolate
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Format, Reply
from db.directory import DirOrganization, DirService
from db.models import (
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Person,
    Role,
)
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.basics.taxonomy import ORGANISATION_KINDS, kind_label
from handlers.events.alerts import claim_alert
from handlers.referral.cards import ServiceInfo, card, load
from handlers.volunteering.offers import coordinators

logger = logging.getLogger(__name__)

router = Router("partners")

FIELD, VALUE = "partner.field", "partner.value"
FIELDS = {
    "name": N_("Name"),
    "description": N_("What they offer"),
    "contact": N_("Contact"),
    "website": N_("Website"),
    "district": N_("Area"),
}
LIMITS = {"name": 200, "description": 1000, "contact": 255, "website": 255, "district": 100}


@router.command("partners", N_("The partners of the network"), in_groups=True, needs_consent=False)
async def partners(ctx: Context) -> None:
    organisations = list(
        await ctx.session.scalars(
            select(Organisation)
            .where(Organisation.status == OrganisationStatus.APPROVED)
            .order_by(Organisation.name)
        )
    )
    by_kind: dict[str, list[Organisation]] = {}
    for org in organisations:
        by_kind.setdefault(org.kind, []).append(org)
    sections = [_("The partners of the network:")]
    for kind in ORGANISATION_KINDS:
        if kind not in by_kind:
            continue
        lines = [f"{kind_label(kind)}"]
        for org in by_kind[kind]:
            entry = f"• {isolate(org.name)}"
            if org.district:
                entry += f" ({isolate(org.district)})"
            if org.description:
                entry += f"\n  {isolate(org.description)}"
                marker = multilang.note(org.text_language)
                entry += f" {marker}" if marker else ""
            contact = " · ".join(p for p in (org.contact, org.website) if p)
            if contact:
                entry += f"\n  {isolate(contact)}"
            lines.append(entry)
        sections.append("\n".join(lines))
    if len(sections) == 1:
        sections.append(_("No partners are listed yet."))
    buttons = []
    if ctx.person.has_role(Role.COORDINATOR) and not ctx.is_group:
        buttons = [
            [
                Button("partners.add", _("Add a partner")),
                Button("partners.edit", _("Edit a partner")),
            ]
        ]
    ctx.reply("\n\n".join(sections), buttons)


@router.button("partners.show", needs_consent=False)
async def partners_button(ctx: Context, _value: str) -> None:
    await partners(ctx)


async def ask_field(ctx: Context) -> None:
    """Which field of the chosen partner?"""
    forms.ask_which_field(ctx, FIELD, FIELDS)


async def on_field(ctx: Context, answer: Answer) -> str | None:
    field = forms.which_field(ctx, answer, FIELDS)
    if field is None:
        return FIELD
    ctx.remember(field=field)
    return VALUE


async def ask_value(ctx: Context) -> None:
    """The new value."""
    ctx.reply(_("Please type the new text."))


async def on_value(ctx: Context, answer: Answer) -> str | None:
    field = ctx.data["field"]
    text = forms.text_answer(ctx, answer, limit=LIMITS[field], minimum=2)
    if text is None:
        return VALUE
    org = await ctx.session.get(Organisation, ctx.data["organisation_id"])
    if org is None:
        ctx.reply(_("This partner no longer exists."))
        return END
    setattr(org, field, text)
    if field == "description":
        org.text_language = ctx.language
    audit(ctx, "partner.edit", f"organisation:{org.id}", field=field)
    ctx.reply(_("Saved."))
    return END


EDITING = router.add_flow(
    Flow(
        name="partner",
        first=FIELD,
        steps={
            FIELD: Step(ask_field, on_field),
            VALUE: Step(ask_value, on_value),
        },
    )
)


@router.button("partners.add")
async def add(ctx: Context, _value: str) -> None:
    """A coordinator lists a partner: the organisation registration, approved at once."""
    from handlers.organisations.registration import REGISTER

    await ctx.start_flow(REGISTER, partner=True)


@router.button("partners.edit")
async def choose(ctx: Context, value: str) -> None:
    if value.isdecimal():
        await ctx.start_flow(EDITING, at=FIELD, organisation_id=int(value))
        return
    organisations = list(
        await ctx.session.scalars(
            select(Organisation)
            .where(Organisation.status == OrganisationStatus.APPROVED)
            .order_by(Organisation.name)
        )
    )
    ctx.reply(
        _("Which partner?"),
        [[Button("partners.edit", org.name[:60], str(org.id))] for org in organisations[:40]],
    )


# --- freshness ---------------------------------------------------------------------------------
async def contacts_for(session: AsyncSession, service: DirService) -> list[Person]:
    """The admins of the network organisation of the same name, else the coordinators."""
    owner = await session.get(DirOrganization, service.organization_id)
    if owner is not None:
        admins = list(
            await session.scalars(
                select(Person)
                .join(OrganisationMember, OrganisationMember.person_id == Person.id)
                .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
                .where(Organisation.name == owner.name, OrganisationMember.role == "admin")
            )
        )
        if admins:
            return admins
    return await coordinators(session)


def _question(
    info: ServiceInfo, service_id: str, now: datetime, stale: timedelta
) -> Callable[[], Reply]:
    """Rendered in the contact's language: the card is built inside."""
    return lambda: make_reply(
        _("Is this entry in our directory still correct?")
        + "\n\n"
        + card(info, now, stale, False),
        [
            [
                Button("fresh.yes", _("Yes, it is correct"), service_id),
                Button("fresh.no", _("It needs changes"), service_id),
            ]
        ],
        Format.HTML,
    )


async def ask_for_confirmation(session: AsyncSession, services: Services, now: datetime) -> int:
    """Ask about every entry not confirmed for the configured number of months (once a
    month at most per entry)."""
    settings = services.settings
    due = list(
        await session.scalars(
            select(DirService).where(
                DirService.status == "active",
                (DirService.assured_date.is_(None))
                | (DirService.assured_date < now - timedelta(days=30 * settings.freshness_months)),
            )
        )
    )
    notifier = Notifier(session, services)
    infos = await load(session, [s.id for s in due], settings.default_language)
    stale = timedelta(days=30 * settings.stale_months)
    asked = 0
    for service in due:
        if not await claim_alert(session, f"fresh:{service.id}:{now:%Y-%m}", now):
            continue
        info = infos[service.id]
        for person in await contacts_for(session, service):
            await notifier.to_person(person, _question(info, service.id, now, stale))
        asked += 1
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return asked


@router.button("fresh.yes", once=True)
async def confirmed(ctx: Context, value: str) -> None:
    service = await ctx.session.get(DirService, value)
    if service is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    service.assured_date = ctx.services.clock()
    audit(ctx, "directory.confirm", f"service:{service.id}")
    ctx.reply(_("Thank you! The entry is marked as confirmed."))


@router.button("fresh.no", once=True, destructive=True)
async def needs_changes(ctx: Context, value: str) -> None:
    service = await ctx.session.get(DirService, value)
    if service is None:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    reporter = ctx.person.display_name or "?"
    name = service.name
    for coordinator in await coordinators(ctx.session):
        await ctx.send_to(
            coordinator,
            lambda: make_reply(
                _(
                    "{person} says the directory entry “{service}” needs changes. Please get in "
                    "touch and update it."
                ).format(person=isolate(reporter), service=isolate(name))
            ),
        )
    ctx.reply(_("Thank you! The coordinators will get in touch to update the entry."))


router.menu_entry("partners.show", N_("Partners of the network"), order=760)


@router.job("freshness_upkeep", every=timedelta(hours=1))
async def freshness_upkeep(services: Services) -> None:
    """Ask services to confirm their directory entries when they are due."""
    async with services.session_factory() as session:
        asked = await ask_for_confirmation(session, services, services.clock())
    if asked:
        logger.info("directory: %s entries to confirm", asked)
