"""Organisations: registering an initiative, approval by a coordinator, joining by invitation,
and linking a group chat to its organisation.

    org.name → org.kind → org.area → org.contact → org.confirm --send--> END (pending)
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable

from sqlalchemy import select

from bot.core import deeplinks
from bot.core.context import Context, make_reply
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, isolate
from bot.core.ids import get_row
from bot.core.router import Router, declines
from bot.core.types import Button, Format, Reply
from db.models import (
    Intent,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    Person,
    Role,
)
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.basics.taxonomy import ORGANISATION_KINDS, kind_label
from handlers.volunteering.offers import coordinators

router = Router("organisations")

NAME, KIND, AREA, DESCRIPTION, CONTACT, CONFIRM = (
    "org.name",
    "org.kind",
    "org.area",
    "org.description",
    "org.contact",
    "org.confirm",
)
CODE = re.compile(r"^[A-Za-z0-9]{6,16}$")


def kind_options() -> list[forms.Option]:
    return [(key, _(label)) for key, label in ORGANISATION_KINDS.items()]


async def ask_name(ctx: Context) -> None:
    """The organisation's name."""
    ctx.reply(_("What is the name of your initiative or organisation?"))


async def on_name(ctx: Context, answer: Answer) -> str | None:
    name = forms.text_answer(ctx, answer, limit=200, minimum=3)
    if name is None:
        return NAME
    existing = await ctx.session.scalar(select(Organisation).where(Organisation.name == name))
    if existing is not None:
        ctx.reply(
            _(
                "An organisation with this name is already registered. Ask its members "
                "for an invitation code, or choose a different name."
            )
        )
        return NAME
    ctx.remember(name=name)
    return KIND


async def ask_kind(ctx: Context) -> None:
    """What kind of organisation?"""
    ctx.reply(
        _("What kind of organisation is it?"),
        forms.choice_buttons(KIND, kind_options(), per_row=1),
    )


async def on_kind(ctx: Context, answer: Answer) -> str | None:
    kind = forms.chosen(ctx, answer, kind_options())
    if kind is None:
        return KIND
    ctx.remember(kind=kind)
    return AREA


async def ask_area(ctx: Context) -> None:
    """Where is it active?"""
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
    """What it offers, for the partner directory."""
    ctx.reply(_("What does the organisation offer? A sentence or two."))


async def on_description(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=1000, minimum=5)
    if text is None:
        return DESCRIPTION
    ctx.remember(description=text)
    return CONTACT


async def ask_contact(ctx: Context) -> None:
    """A public contact: e-mail, phone or website."""
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
    ctx.remember(contact=contact)
    return CONFIRM


async def ask_confirm(ctx: Context) -> None:
    """Check and send for approval."""
    d = ctx.data
    ctx.reply(
        "\n".join(
            [
                _("Please check:"),
                "",
                _("Name: {name}").format(name=isolate(d["name"])),
                _("Kind: {kind}").format(kind=kind_label(d["kind"])),
                _("Area: {area}").format(area=isolate(d["district"])),
                _("What they offer") + ": " + isolate(d["description"]),
                _("Contact: {contact}").format(contact=isolate(d["contact"])),
                "",
                ""
                if d.get("partner")
                else _("A coordinator of the network will check and approve the registration."),
            ]
        ).strip(),
        forms.preview_buttons(CONFIRM, _("Send"), editable=False),
    )


async def on_confirm(ctx: Context, answer: Answer) -> str | None:
    cancelled = _("Nothing was sent.")
    step = forms.preview_answer(ctx, answer, state=CONFIRM, cancelled=cancelled)
    if step != forms.PUBLISH:
        return step
    d = ctx.data
    organisation = Organisation(
        slug=f"org-{secrets.token_hex(6)}",
        name=d["name"],
        kind=d["kind"],
        district=d["district"],
        description=d["description"],
        text_language=ctx.language,
        contact=d["contact"],
        status=OrganisationStatus.PENDING,
        created_by_person_id=ctx.person.id,
        created_at=ctx.services.clock(),
    )
    ctx.session.add(organisation)
    await ctx.session.flush()
    if d.get("partner") and ctx.person.has_role(Role.COORDINATOR):
        # a coordinator listing a partner directly: approved, and nobody becomes its admin
        organisation.status = OrganisationStatus.APPROVED
        organisation.reviewed_at = ctx.services.clock()
        audit(ctx, "partner.add", f"organisation:{organisation.id}")
        ctx.reply(
            _("{name} is now listed in the partner directory.").format(
                name=isolate(organisation.name)
            )
        )
        return END
    ctx.session.add(
        OrganisationMember(
            organisation_id=organisation.id,
            person_id=ctx.person.id,
            role="admin",
            joined_at=ctx.services.clock(),
        )
    )
    for coordinator in await coordinators(ctx.session):
        await ctx.send_to(
            coordinator,
            lambda: make_reply(
                "\n".join(
                    [
                        _("A new organisation asks to join the network:"),
                        "",
                        _("Name: {name}").format(name=isolate(organisation.name)),
                        _("Kind: {kind}").format(kind=kind_label(organisation.kind)),
                        _("Area: {area}").format(area=isolate(organisation.district or "–")),
                        _("Contact: {contact}").format(
                            contact=isolate(organisation.contact or "–")
                        ),
                    ]
                ),
                [
                    [
                        Button("org.review", _("Approve"), f"approve:{organisation.id}"),
                        Button("org.review", _("Decline"), f"decline:{organisation.id}"),
                    ]
                ],
            ),
        )
    ctx.reply(
        _(
            "Thank you! The coordinators have been told. You will hear from me when the "
            "organisation is approved."
        )
    )
    return END


REGISTER = router.add_flow(
    Flow(
        name="org",
        first=NAME,
        steps={
            NAME: Step(ask_name, on_name),
            DESCRIPTION: Step(ask_description, on_description),
            KIND: Step(ask_kind, on_kind),
            AREA: Step(ask_area, on_area),
            CONTACT: Step(ask_contact, on_contact),
            CONFIRM: Step(ask_confirm, on_confirm),
        },
    )
)


async def memberships(ctx: Context) -> list[tuple[Organisation, OrganisationMember]]:
    rows = await ctx.session.execute(
        select(Organisation, OrganisationMember)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(OrganisationMember.person_id == ctx.person.id)
        .order_by(Organisation.name)
    )
    return [(org, member) for org, member in rows]


def invitation(ctx: Context, organisation: Organisation) -> str:
    code = organisation.invite_code or ""
    link = ctx.services.deep_link(ctx.platform, deeplinks.payload("join", code))
    text = _("Invitation code: {code}. Others join with /join {code}").format(code=code)
    return text + (("\n" + _("Or with this link: {link}").format(link=link)) if link else "")


@router.command("organisation", N_("Register your organisation, or see it"))
async def organisation_command(ctx: Context) -> None:
    mine = await memberships(ctx)
    if not mine:
        ctx.reply(
            _(
                "Let's register your initiative or organisation with the network. You can "
                "stop with /cancel at any time."
            )
        )
        await ctx.start_flow(REGISTER)
        return
    for organisation, member in mine:
        status = {
            OrganisationStatus.PENDING: _("waiting for approval"),
            OrganisationStatus.APPROVED: _("approved"),
            OrganisationStatus.DECLINED: _("not approved"),
        }.get(OrganisationStatus(organisation.status), organisation.status)
        lines = [f"{isolate(organisation.name)} ({kind_label(organisation.kind)}): {status}"]
        if member.role == "admin" and organisation.status == OrganisationStatus.APPROVED:
            lines.append(invitation(ctx, organisation))
        ctx.reply("\n".join(lines))
    ctx.reply(_("To register another organisation, send /neworganisation."))


@router.command("neworganisation", N_("Register another organisation"), listed=False)
async def new_organisation(ctx: Context) -> None:
    await ctx.start_flow(REGISTER)


@router.button("org.register")
async def register_button(ctx: Context, _value: str) -> None:
    await organisation_command(ctx)


@router.button("org.review", once=True, destructive=declines)
async def review(ctx: Context, value: str) -> None:
    """A coordinator approves (an invitation code is made) or declines."""
    verdict, _sep, raw_id = value.partition(":")
    organisation = await get_row(ctx.session, Organisation, raw_id)
    if organisation is None or verdict not in ("approve", "decline"):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    if organisation.status != OrganisationStatus.PENDING:
        ctx.reply(_("This registration was already reviewed."))
        return
    organisation.reviewed_at = ctx.services.clock()
    admins = list(
        await ctx.session.scalars(
            select(Person)
            .join(OrganisationMember, OrganisationMember.person_id == Person.id)
            .where(OrganisationMember.organisation_id == organisation.id)
        )
    )
    name = organisation.name
    if verdict == "decline":
        organisation.status = OrganisationStatus.DECLINED
        ctx.reply(_("“{name}” was declined.").format(name=isolate(name)))
        for admin in admins:
            await ctx.send_to(
                admin,
                lambda: make_reply(
                    _(
                        "The registration of “{name}” was not approved. Please contact the "
                        "coordinators if you have questions."
                    ).format(name=isolate(name))
                ),
            )
        return
    organisation.status = OrganisationStatus.APPROVED
    organisation.invite_code = secrets.token_hex(4).upper()
    ctx.reply(_("“{name}” is approved.").format(name=isolate(name)))
    for admin in admins:
        link = ctx.services.deep_link(
            admin.platform, deeplinks.payload("join", organisation.invite_code)
        )
        await ctx.send_to(admin, _approved_message(name, organisation.invite_code, link))


def _approved_message(name: str, code: str, link: str | None) -> Callable[[], Reply]:
    def render() -> Reply:
        text = (
            _("“{name}” is now part of the network! You can post needs with /need.").format(
                name=isolate(name)
            )
            + "\n\n"
            + _("Invitation code: {code}. Others join with /join {code}").format(code=code)
        )
        if link:
            text += "\n" + _("Or with this link: {link}").format(link=link)
        return make_reply(text)

    return render


async def join(ctx: Context, code: str) -> None:
    if not CODE.match(code):
        ctx.reply(_("Please send the invitation code like this: /join ABC123"))
        return
    organisation = await ctx.session.scalar(
        select(Organisation).where(
            Organisation.invite_code == code.upper(),
            Organisation.status == OrganisationStatus.APPROVED,
        )
    )
    if organisation is None:
        ctx.reply(_("I do not know this invitation code. Please check it."))
        return
    existing = await ctx.session.scalar(
        select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation.id,
            OrganisationMember.person_id == ctx.person.id,
        )
    )
    if existing is None:
        ctx.session.add(
            OrganisationMember(
                organisation_id=organisation.id,
                person_id=ctx.person.id,
                role="member",
                joined_at=ctx.services.clock(),
            )
        )
    ctx.reply(
        _("Welcome to “{name}”! You can now post needs for it with /need.").format(
            name=isolate(organisation.name)
        )
    )


@router.command("join", N_("Join an organisation with its invitation code"))
async def join_command(ctx: Context) -> None:
    await join(ctx, ctx.incoming.args.strip())


@router.deep_link("join")
async def join_link(ctx: Context, argument: str) -> None:
    await join(ctx, argument)


@router.command(
    "linkgroup", N_("Link this group to your organisation"), in_private=False, in_groups=True
)
async def link_group(ctx: Context) -> None:
    """A group admin who acts for an approved organisation links the group to it."""
    if not await ctx.services.is_group_admin(
        ctx.platform, ctx.chat.platform_chat_id, ctx.incoming.actor.user_id
    ):
        ctx.reply(_("Only an admin of this group can link it."))
        return
    approved = [
        org for org, _member in await memberships(ctx) if org.status == OrganisationStatus.APPROVED
    ]
    if not approved:
        ctx.reply(
            _(
                "You do not act for an approved organisation yet. Register one in a "
                "private chat with me: /organisation"
            )
        )
        return
    if len(approved) == 1:
        await do_link(ctx, approved[0])
        return
    ctx.reply(
        _("Which organisation is this group for?"),
        [[Button("org.link", org.name, str(org.id))] for org in approved],
    )


@router.button("org.link", once=True)
async def link_button(ctx: Context, value: str) -> None:
    approved = {
        str(org.id): org
        for org, _member in await memberships(ctx)
        if org.status == OrganisationStatus.APPROVED
    }
    if value not in approved:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    await do_link(ctx, approved[value])


async def do_link(ctx: Context, organisation: Organisation) -> None:
    ctx.chat.organisation_id = organisation.id
    ctx.reply(
        _("This group is now linked to “{name}”. Members can post needs here with /need.").format(
            name=html.unescape(isolate(organisation.name))
        ),
        format=Format.PLAIN,
    )


router.menu_entry("org.register", N_("My organisation"), order=10, intents=[Intent.ORGANISATION])
