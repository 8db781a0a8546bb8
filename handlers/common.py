"""The main menu, /help, /cancel, and the hint for anything the bot did not understand."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.i18n import N_, _
from bot.core.router import Router
from bot.core.types import Button
from db.models import Role

router = Router("common")


async def show_main_menu(ctx: Context) -> None:
    """The menu that fits what brought the person here; features add their own entries."""
    entries = ctx.services.routes.menu_for(ctx.person.intent)
    buttons = [Button(entry.action, _(entry.label), entry.value) for entry in entries]
    if ctx.person.has_role(Role.COORDINATOR):
        buttons.insert(0, Button("admin.open", _("Coordinator's desk")))
    ctx.reply(_("What would you like to do?"), buttons)


def help_text(ctx: Context) -> str:
    commands = ctx.services.routes.listed_commands(group=ctx.is_group)
    lines = [_("Here is what I can do:"), ""]
    lines += [f"/{command.name} – {_(command.description)}" for command in commands]
    lines += ["", _("Where I show buttons, you can also type the number or the text of a button.")]
    if ctx.is_group:
        lines.append(_("In a group I only answer commands and replies to my messages."))
    return "\n".join(lines)


@router.command("help", N_("Show what I can do"), in_groups=True, needs_consent=False)
async def help_command(ctx: Context) -> None:
    ctx.reply(help_text(ctx))


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
