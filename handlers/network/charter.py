"""The network charter (/about): goal, members by kind, how decisions are made, who represents
whom, and the roles. Coordinators edit the written sections in chat, in one or more languages.

    about.section → about.text → END
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.core import multilang
from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, _, format_list, isolate
from bot.core.router import Router
from bot.core.types import Button
from db.models import CharterText, Organisation, OrganisationStatus, Person, PersonRole, Role
from handlers.basics import forms
from handlers.basics.audit import audit
from handlers.basics.taxonomy import kind_label

router = Router("charter")

SECTION, TEXT = "about.section", "about.text"
MAX_TEXT = 2000

SECTIONS = {
    "goal": N_("Our goal"),
    "decisions": N_("How we decide"),
    "representation": N_("Who represents whom"),
}
DEFAULTS = {
    "goal": N_(
        "We connect everyone who supports refugees in our city: volunteers, "
        "initiatives, self-organisations, counselling services, authorities and "
        "companies. Together we find out where help is needed and make sure it arrives."
    ),
    "decisions": N_(
        "Important questions are decided by a vote among the member organisations "
        "(one vote each) or among all members; a vote counts when enough take part. "
        "Every decision is listed under /decisions."
    ),
    "representation": N_(
        "Each member organisation names its representatives. The "
        "coordinators of the volunteer agency speak for the network and "
        "look after the chat bot."
    ),
}


async def section_text(ctx: Context, section: str) -> str:
    rows = await ctx.session.scalars(
        select(CharterText).where(CharterText.section == section).order_by(CharterText.id)
    )
    texts = {row.language: row.text for row in rows}
    return multilang.show(texts) if texts else _(DEFAULTS[section])


@router.command(
    "about",
    N_("About the network: goal, members, decisions, roles"),
    in_groups=True,
    needs_consent=False,
)
async def about(ctx: Context) -> None:
    kinds = (
        await ctx.session.execute(
            select(Organisation.kind, func.count())
            .where(Organisation.status == OrganisationStatus.APPROVED)
            .group_by(Organisation.kind)
            .order_by(func.count().desc())
        )
    ).all()
    members = format_list([f"{kind_label(kind)}: {count}" for kind, count in kinds]) or "–"
    coordinators = list(
        await ctx.session.scalars(
            select(Person.display_name)
            .join(PersonRole, PersonRole.person_id == Person.id)
            .where(PersonRole.role == Role.COORDINATOR)
        )
    )
    names = format_list([isolate(n) for n in coordinators if n]) or "–"
    parts = [_("About {network}").format(network=isolate(ctx.settings.network_name))]
    for key, title in SECTIONS.items():
        parts.append(f"{_(title)}\n{await section_text(ctx, key)}")
    parts.append(_("Our members") + "\n" + members)
    parts.append(
        _("Roles")
        + "\n"
        + _(
            "Coordinators: {names}. They approve organisations, review needs, answer questions "
            "and run votes and surveys. Organisation admins link group chats and invite their "
            "members; members post needs; volunteers get offers that fit them."
        ).format(names=names)
    )
    buttons = []
    if ctx.person.has_role(Role.COORDINATOR) and not ctx.is_group:
        buttons = [Button("about.edit", _("Edit the charter"))]
    ctx.reply("\n\n".join(parts), buttons)


@router.button("about.show", needs_consent=False)
async def about_button(ctx: Context, _value: str) -> None:
    await about(ctx)


def section_options() -> list[forms.Option]:
    return [(k, _(v)) for k, v in SECTIONS.items()]


async def ask_section(ctx: Context) -> None:
    """Which section to rewrite?"""
    ctx.reply(
        _("Which part would you like to change?"),
        forms.choice_buttons(SECTION, section_options(), per_row=1),
    )


async def on_section(ctx: Context, answer: Answer) -> str | None:
    section = forms.chosen(ctx, answer, section_options())
    if section is None:
        return SECTION
    ctx.remember(section=section)
    return TEXT


async def ask_text(ctx: Context) -> None:
    """The new text; one language per line prefix for several languages."""
    ctx.reply(
        _(
            "Write the new text. To give it in several languages, start each language on "
            "its own line with its code, for example:\nde: Hallo!\nar: مرحبا!"
        )
    )


async def on_text(ctx: Context, answer: Answer) -> str | None:
    text = forms.text_answer(ctx, answer, limit=MAX_TEXT, minimum=10)
    if text is None:
        return TEXT
    section = ctx.data["section"]
    texts = multilang.parse(text, ctx.language)
    existing = {
        row.language: row
        for row in await ctx.session.scalars(
            select(CharterText).where(CharterText.section == section)
        )
    }
    for row in existing.values():
        await ctx.session.delete(row)
    await ctx.session.flush()
    for language, value in texts.items():
        ctx.session.add(
            CharterText(
                section=section, language=language, text=value, updated_at=ctx.services.clock()
            )
        )
    audit(ctx, "charter.edit", section, languages=sorted(texts))
    ctx.reply(_("The charter is updated."))
    return END


EDIT = router.add_flow(
    Flow(
        name="about",
        first=SECTION,
        steps={SECTION: Step(ask_section, on_section), TEXT: Step(ask_text, on_text)},
    )
)


@router.button("about.edit")
async def edit_button(ctx: Context, _value: str) -> None:
    await ctx.start_flow(EDIT)


router.menu_entry("about.show", N_("About the network"), order=750)
