"""The main menu, /help, /cancel, and the hint for anything the bot did not understand."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.i18n import N_, _
from bot.core.router import Router
from bot.core.types import Button
from db.models import Role
from handlers.basics.permissions import Level, levels_of, required

router = Router("common")


async def show_main_menu(ctx: Context) -> None:
    """The menu that fits what brought the person here; features add their own entries."""
    entries = ctx.services.routes.menu_for(ctx.person.intent)
    buttons = [Button(entry.action, _(entry.label), entry.value) for entry in entries]
    if ctx.person.has_role(Role.COORDINATOR):
        buttons.insert(0, Button("admin.open", _("Coordinator's desk")))
    ctx.reply(_("What would you like to do?"), buttons)


#: Commands only some people may use, listed in /help under their own heading.
HELP_SECTIONS: tuple[tuple[frozenset[Level], str], ...] = (
    (frozenset({Level.ORG_MEMBER, Level.ORG_ADMIN}), N_("For members of your organisation:")),
    (frozenset({Level.COORDINATOR}), N_("For coordinators:")),
)


async def help_text(ctx: Context) -> str:
    """The commands this person may use here; those of a role under the role's heading,
    so nobody is offered what would only be refused."""
    levels = await levels_of(ctx) | {Level.PERSON}  # consent is asked for on the way
    sectioned = frozenset().union(*(section for section, _heading in HELP_SECTIONS))
    # a role's commands stay out of the platform's command menu (everyone sees that one),
    # but here they are shown to those who have the role
    usable = [
        c
        for c in ctx.services.routes.commands.values()
        if (c.in_groups if ctx.is_group else c.in_private)
        and (c.listed or required("command", c.name) in sectioned)
        and required("command", c.name) in levels
    ]
    lines = [_("Here is what I can do:"), ""]
    lines += [
        f"/{c.name} – {_(c.description)}"
        for c in usable
        if required("command", c.name) not in sectioned
    ]
    for section, heading in HELP_SECTIONS:
        mine = [c for c in usable if required("command", c.name) in section]
        if mine:
            lines += ["", _(heading)]
            lines += [f"/{c.name} – {_(c.description)}" for c in mine]
    lines += ["", _("Where I show buttons, you can also type the number or the text of a button.")]
    if ctx.is_group:
        lines.append(_("In a group I only answer commands and replies to my messages."))
    return "\n".join(lines)


@router.command("help", N_("Show what I can do"), in_groups=True, needs_consent=False)
async def help_command(ctx: Context) -> None:
    ctx.reply(await help_text(ctx))


@router.button("help.show", needs_consent=False)
async def help_button(ctx: Context, _value: str) -> None:
    await help_command(ctx)


@router.deep_link("help", needs_consent=False)
async def help_link(ctx: Context, _argument: str) -> None:
    await help_command(ctx)


@router.deep_link("menu")
async def menu_link(ctx: Context, _argument: str) -> None:
    await show_main_menu(ctx)


@router.command("menu", N_("Show the main menu"))
async def menu_command(ctx: Context) -> None:
    await show_main_menu(ctx)


@router.command("cancel", N_("Stop what we are doing"), in_groups=True, needs_consent=False)
async def cancel(ctx: Context) -> None:
    """Leave any flow; the data already saved stays saved."""
    if ctx.state is None:
        ctx.reply(_("There is nothing to cancel."))
        return
    await ctx.end_flow()
    ctx.reply(_("Cancelled. Send /menu for the main menu or /help for all commands."))


async def not_understood(ctx: Context) -> None:
    """Never silence: a short hint on what to do instead."""
    ctx.reply(
        _(
            "Sorry, I did not understand that. Send /help to see what I can do, or /menu "
            "for the main menu."
        )
    )


router.menu_entry("help.show", N_("Help"), order=800)
router.menu_entry("privacy.show", N_("Privacy"), order=850)
