"""/language: change the language of a person, or of a group chat (group admins only).

language.choose  --choice-->  END
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import N_, SHIPPED_LANGUAGES, _, set_locale
from bot.core.router import Router
from handlers.basics.taxonomy import language_name
from handlers.people.onboarding import language_buttons, language_from_text

router = Router("language")

CHOOSE_STATE = "language.choose"


async def ask_language(ctx: Context) -> None:
    """Offer the shipped languages, each named in itself."""
    if ctx.is_group:
        question = _("Which language should I use in this group?")
    else:
        question = _("Which language would you like me to use?")
    ctx.reply(question, language_buttons(CHOOSE_STATE))


async def on_language(ctx: Context, answer: Answer) -> str | None:
    """Save the choice for the person or the group and confirm in the new language."""
    code = answer.value if answer.is_button else language_from_text(answer.text or "")
    if code not in SHIPPED_LANGUAGES:
        ctx.reply(_("Please choose one of the languages below."))
        return CHOOSE_STATE
    if ctx.is_group:
        ctx.chat.language = code
    else:
        ctx.person.language = code
    set_locale(code)
    if ctx.is_group:
        ctx.reply(
            _("From now on I will write in {language} in this group.").format(
                language=language_name(code)
            )
        )
    else:
        ctx.reply(
            _("From now on I will write to you in {language}.").format(
                language=language_name(code)
            )
        )
    return END


LANGUAGE = router.add_flow(
    Flow(
        name="language",
        first=CHOOSE_STATE,
        steps={CHOOSE_STATE: Step(ask_language, on_language)},
    )
)


@router.command("language", N_("Change the language"), in_groups=True, needs_consent=False)
async def language_command(ctx: Context) -> None:
    if ctx.is_group and not await ctx.services.is_group_admin(
        ctx.platform, ctx.chat.platform_chat_id, ctx.incoming.actor.user_id
    ):
        ctx.reply(_("Only an admin of this group can change its language."))
        return
    await ctx.start_flow(LANGUAGE)


@router.deep_link("language", needs_consent=False)
async def language_link(ctx: Context, _argument: str) -> None:
    await language_command(ctx)


@router.button("language.menu", needs_consent=False)
async def language_button(ctx: Context, _value: str) -> None:
    await language_command(ctx)


router.menu_entry("language.menu", N_("Change the language"), order=700)
