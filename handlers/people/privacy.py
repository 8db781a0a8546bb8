"""The privacy notice and consent.

Consent is stored with the notice's version and the time. Raising NOTICE_VERSION makes the bot
ask everyone again before they use anything that stores data. Declining is respected: we keep
only the fact that the person declined, and explain what cannot work without consent.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context
from bot.core.i18n import N_, _, isolate
from bot.core.router import Router
from bot.core.types import Button
from db.models import ButtonToken

#: Raise this whenever the notice below changes in substance: everyone is asked again.
#: Version 2 (self-service): /mydata, /delete and the retention period.
NOTICE_VERSION = 2

router = Router("privacy")


def notice_text(network: str, retention_days: int = 365) -> str:
    """The full notice; short enough to read in a chat."""
    return "\n\n".join(
        [
            _("Privacy notice (version {version})").format(version=NOTICE_VERSION),
            _(
                "{network} is run by the volunteer agency that coordinates refugee aid in our "
                "city. To connect you with volunteers, initiatives and counselling services, this "
                "bot stores your messenger ID, your language and what you tell it in its flows "
                "(for example your skills or your question)."
            ).format(network=isolate(network)),
            _(
                "Only the agency's coordinators can see this data. Your contact details are never "
                "passed on unless you and the other person have both agreed."
            ),
            _(
                "You can see everything stored about you with /mydata and delete it with "
                "/delete at any time. If you do not use the bot for {days} days, I will remind "
                "you and then delete your data."
            ).format(days=retention_days),
            _("Without your consent the bot stores nothing except that you declined."),
        ]
    )


def consent_buttons(action: str = "privacy.consent") -> list[Button]:
    """Agree/decline; a flow passes its own state as the action so the step gets the answer."""
    return [Button(action, _("I agree"), "yes"), Button(action, _("No, thanks"), "no")]


async def ask_for_consent(ctx: Context) -> None:
    """Shown when someone tries something that needs consent they have not (yet) given."""
    ctx.reply(
        _("Before I can do that, I need your consent to store your data.")
        + "\n\n"
        + notice_text(ctx.settings.network_name, ctx.settings.retention_days),
        consent_buttons(),
    )


def record_consent(ctx: Context, agreed: bool) -> None:
    person = ctx.person
    now = ctx.services.clock()
    if agreed:
        person.consent_version = NOTICE_VERSION
        person.consent_at = now
        person.consent_declined_at = None
        if ctx.incoming.actor.display_name:
            person.display_name = ctx.incoming.actor.display_name[:128]
    else:
        # Keep nothing but the refusal itself, and the language it was given in (so that
        # the bot can still answer in it). The chat's rows go in `keep_only_the_refusal`.
        person.consent_version = None
        person.consent_at = None
        person.consent_declined_at = now
        person.display_name = None
        person.timezone = None
        person.intent = None


async def keep_only_the_refusal(ctx: Context) -> None:
    """After a refusal: forget the private chat, its buttons and its keyboard.

    The person's row stays with the refusal, its date and the chosen language; the chat row
    is made again, empty, if they ever write again.
    """
    chat = ctx.chat
    if ctx.is_group:
        return
    await ctx.session.execute(
        delete(ButtonToken).where(
            ButtonToken.platform == chat.platform,
            ButtonToken.chat_id == chat.platform_chat_id,
        )
    )
    if ctx.keyboard is not None:
        await _drop(ctx.session, ctx.keyboard)
        ctx.keyboard = None
    await _drop(ctx.session, chat)


async def _drop(session: AsyncSession, row: object) -> None:
    if row in session.new:
        session.expunge(row)
    elif row in session:
        await session.delete(row)


def declined_text() -> str:
    return _(
        "Understood. I have stored only that you declined and the language you chose, nothing "
        "else.\n"
        "Without your consent I cannot sign you up as a volunteer, pass on your requests or "
        "send you offers and news. You can still read /help and /privacy.\n"
        "If you change your mind, send /start."
    )


@router.command(
    "privacy",
    N_("Read the privacy notice"),
    in_groups=True,
    needs_consent=False,
    for_blocked=True,
)
async def show_privacy(ctx: Context) -> None:
    """Show the notice; offer consent to those who have not given it."""
    text = notice_text(ctx.settings.network_name, ctx.settings.retention_days)
    if ctx.person.has_consented(NOTICE_VERSION) and ctx.person.consent_at is not None:
        from bot.core.i18n import format_datetime

        ctx.reply(
            text
            + "\n\n"
            + _("You agreed on {date}.").format(date=format_datetime(ctx.person.consent_at))
        )
    elif ctx.is_group or ctx.person.blocked_at is not None:
        ctx.reply(text)
    else:
        ctx.reply(text, consent_buttons())


@router.deep_link("privacy", needs_consent=False)
async def privacy_link(ctx: Context, _argument: str) -> None:
    await show_privacy(ctx)


@router.button("privacy.show", needs_consent=False, for_blocked=True)
async def privacy_button(ctx: Context, _value: str) -> None:
    await show_privacy(ctx)


#: The onboarding's question after consent (`handlers.people.onboarding.INTENT_STATE`).
ONBOARDING_INTENT = "onboarding.intent"


@router.button("privacy.consent", needs_consent=False)
async def consent_button(ctx: Context, value: str) -> None:
    """Consent given or declined outside the onboarding (e.g. after a notice change)."""
    from handlers.basics.menu import show_main_menu

    if value not in ("yes", "no"):
        ctx.reply(_("This button is no longer valid. Send /help to see what I can do."))
        return
    record_consent(ctx, value == "yes")
    if value == "no":
        await ctx.end_flow()
        await keep_only_the_refusal(ctx)
        ctx.reply(declined_text())
        return
    ctx.reply(_("Thank you! Your consent is stored."))
    if ctx.person.intent is None:
        pending = ctx.data.get("deep_link") if ctx.flow_state is not None else None
        # the onboarding goes on with its intent question (looked up by its state's name:
        # the onboarding imports this module, so this one does not import it back)
        onboarding = ctx.services.routes.steps[ONBOARDING_INTENT]
        await ctx.start_flow(
            onboarding, at=ONBOARDING_INTENT, **({"deep_link": pending} if pending else {})
        )
    else:
        await show_main_menu(ctx)
