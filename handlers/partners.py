"""The partner directory (/partners): the network's partners by kind, what they offer and how
to reach them; coordinators add and edit entries in chat. And the freshness check: every few
months each service's contact is asked whether its entry is still right.

    partner.name → partner.kind → partner.area → partner.description → partner.contact → END
    partner.field → partner.value → END   (editing one field)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

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
from handlers import forms
from handlers.audit import audit
from handlers.directory_cards import ServiceInfo, card, load
from handlers.event_alerts import claim_alert
from handlers.offers import coordinators
from handlers.taxonomy import ORGANISATION_KINDS, kind_label

router = Router("partners")

NAME, KIND, AREA, DESCRIPTION, CONTACT = (
    "partner.name",
    "partner.kind",
    "partner.area",
    "partner.description",
    "partner.contact",
)
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


def kind_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in ORGANISATION_KINDS.items()]


async def ask_name(ctx: Context) -> None:
    """The partner's name."""
    ctx.reply(_("What is the partner's name?"))


async def on_name(ctx: Context, answer: Answer) -> str | None:
    name = forms.text_answer(ctx, answer, limit=200, minimum=3)
    if name is None:
        return NAME
    ctx.remember(name=name)
    return KIND


async def ask_kind(ctx: Context) -> None:
    """What kind of partner?"""
    ctx.reply(
        _("What kind of organisation is it?"),
        forms.choice_buttons(KIND, kind_options(), per_row=1),
    )


async def on_kind(ctx: Context, answer: Answer) -> str | None:
    kind = forms.single_choice(answer, kind_options())
    if kind is None:
        ctx.reply(_("Please choose one of the options below."))
        return KIND
    ctx.remember(kind=kind)
    return AREA


async def ask_area(ctx: Context) -> None:
    """Where?"""
    ctx.reply(
        _(
            "In which part of the city is it active? Choose the district, or type a "
            "postcode (5 digits)."
        ),
        forms.area_buttons(ctx, AREA),
    )


async def on_area(ctx: Context, answer: Answer) -> str | None:
    area = forms.area_answer(ctx, answer)
    if area is None:
        return AREA
    ctx.remember(district=area.text)
    return DESCRIPTION


async def ask_description(ctx: Context) -> None:
    """What do they offer?"""
    ctx.reply(_("What does the partner offer? A sentence or two."))


async def on_description(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=1000, minimum=5)
    if text is None:
        return DESCRIPTION
    ctx.remember(description=text)
    return CONTACT


async def ask_contact(ctx: Context) -> None:
    """How to reach them."""
    ctx.reply(
        _(
            "How can people reach the organisation? A public e-mail address, phone "
            "number or website. It will be shown in the partner directory."
        )
    )


async def on_contact(ctx: Context, answer: Answer) -> str | None:
    contact = forms.text_answer(ctx, answer, limit=255, minimum=5)
    if contact is None:
        return CONTACT
    d = ctx.data
    org = Organisation(
        slug=f"partner-{secrets.token_hex(5)}",
        name=d["name"],
        kind=d["kind"],
        district=d["district"],
        description=d["description"],
        contact=contact,
        status=OrganisationStatus.APPROVED,
        created_at=ctx.services.clock(),
        reviewed_at=ctx.services.clock(),
    )
    ctx.session.add(org)
    await ctx.session.flush()
    audit(ctx, "partner.add", f"organisation:{org.id}")
    ctx.reply(_("{name} is now listed in the partner directory.").format(name=isolate(org.name)))
    return END


async def ask_field(ctx: Context) -> None:
    """Which field of the chosen partner?"""
    ctx.reply(
        _("What would you like to change?"),
        forms.choice_buttons(FIELD, [(k, _(v)) for k, v in FIELDS.items()]),
    )


async def on_field(ctx: Context, answer: Answer) -> str | None:
    field = forms.single_choice(answer, [(k, _(v)) for k, v in FIELDS.items()])
    if field is None:
        ctx.reply(_("Please choose one of the options below."))
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
    audit(ctx, "partner.edit", f"organisation:{org.id}", field=field)
    ctx.reply(_("Saved."))
    return END


EDITING = router.add_flow(
    Flow(
        name="partner",
        first=NAME,
        steps={
            NAME: Step(ask_name, on_name),
            KIND: Step(ask_kind, on_kind),
            AREA: Step(ask_area, on_area),
            DESCRIPTION: Step(ask_description, on_description),
            CONTACT: Step(ask_contact, on_contact),
            FIELD: Step(ask_field, on_field),
            VALUE: Step(ask_value, on_value),
        },
    )
)


@router.button("partners.add")
async def add(ctx: Context, _value: str) -> None:
    await ctx.start_flow(EDITING)


@router.button("partners.edit")
async def choose(ctx: Context, value: str) -> None:
    if value.isdigit():
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


@router.button("fresh.no", once=True)
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
