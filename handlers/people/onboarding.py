"""First contact: /start → language → privacy consent → what brings you here → main menu.

A newcomer's first message, whatever it says ("hello", "مرحبا", "привіт", "5"), starts the
same onboarding as /start: the language choice, ordered by a guess from its script.

onboarding.language  --choice-->  onboarding.consent
onboarding.consent   --agree--->  onboarding.intent
                     --decline->  END (only the refusal is stored)
onboarding.intent    --choice-->  END (main menu for that intent)
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import deeplinks
from bot.core.context import Context
from bot.core.flow import END, Answer, Flow, Step
from bot.core.i18n import (
    LANGUAGE_NAMES,
    N_,
    SHIPPED_LANGUAGES,
    _,
    isolate,
    match_language,
    set_locale,
)
from bot.core.router import Router
from bot.core.script_guess import guess_languages, likely_language
from bot.core.types import Button
from db.models import Intent
from handlers.people.privacy import (
    NOTICE_VERSION,
    ONBOARDING_INTENT,
    consent_buttons,
    declined_text,
    keep_only_the_refusal,
    notice_text,
    record_consent,
)

router = Router("onboarding")

LANGUAGE_STATE = "onboarding.language"
CONSENT_STATE = "onboarding.consent"
INTENT_STATE = ONBOARDING_INTENT

INTENT_LABELS = {
    Intent.VOLUNTEER: N_("I want to volunteer"),
    Intent.ORGANISATION: N_("I act for an initiative or organisation"),
    Intent.SEEKING_HELP: N_("I am looking for help or information"),
}


def language_buttons(action: str, order: Sequence[str] = SHIPPED_LANGUAGES) -> list[list[Button]]:
    """Languages named in themselves, two to a row, in `order` (the likeliest first)."""
    codes = [c for c in order if c in SHIPPED_LANGUAGES]
    codes += [c for c in SHIPPED_LANGUAGES if c not in codes]
    buttons = [Button(action, LANGUAGE_NAMES[code], code) for code in codes]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def language_from_text(text: str) -> str | None:
    """Accept a typed language name ("Deutsch", "english") or code ("uk") as well."""
    typed = text.strip().casefold()
    for code, name in LANGUAGE_NAMES.items():
        if typed == name.casefold():
            return code
    return match_language(typed) if typed.isascii() and len(typed) <= 8 else None


async def ask_language(ctx: Context) -> None:
    """Greet and offer the languages."""
    ctx.reply(
        _(
            "Welcome to {network}! I connect volunteers, initiatives and people looking for "
            "help in our city."
        ).format(network=isolate(ctx.settings.network_name))
        + "\n\n"
        + _("Which language would you like me to use?"),
        language_buttons(LANGUAGE_STATE, ctx.data.get("order", SHIPPED_LANGUAGES)),
    )


async def on_language(ctx: Context, answer: Answer) -> str | None:
    """Store the chosen language and switch to it at once."""
    code = answer.value if answer.is_button else language_from_text(answer.text or "")
    if code not in SHIPPED_LANGUAGES:
        ctx.reply(_("Please choose one of the languages below."))
        return LANGUAGE_STATE
    ctx.person.language = code
    set_locale(code)
    return CONSENT_STATE


async def ask_consent(ctx: Context) -> None:
    """Show the short privacy notice and ask for explicit consent."""
    ctx.reply(
        notice_text(ctx.settings.network_name, ctx.settings.retention_days)
        + "\n\n"
        + _("Do you agree?"),
        consent_buttons(CONSENT_STATE),
    )


async def on_consent(ctx: Context, answer: Answer) -> str | None:
    """Agree → continue; decline → keep only the refusal and explain."""
    if answer.value not in ("yes", "no"):
        ctx.reply(_("Please answer with one of the buttons: I agree, or No, thanks."))
        return CONSENT_STATE
    record_consent(ctx, answer.value == "yes")
    if answer.value == "no":
        await ctx.end_flow()
        await keep_only_the_refusal(ctx)
        ctx.reply(declined_text())
        return END
    return INTENT_STATE


async def ask_intent(ctx: Context) -> None:
    """Ask what brings the person here; the answer decides their main menu."""
    ctx.reply(
        _("What brings you here?"),
        [Button(INTENT_STATE, _(label), intent.value) for intent, label in INTENT_LABELS.items()],
    )


async def on_intent(ctx: Context, answer: Answer) -> str | None:
    """Remember the intent and show the main menu that fits it."""
    from handlers.basics.menu import show_main_menu

    if answer.value not in {i.value for i in Intent}:
        ctx.reply(_("Please choose one of the options below."))
        return INTENT_STATE
    ctx.person.intent = answer.value
    ctx.reply(INTENT_WELCOME[Intent(answer.value)]())
    pending = ctx.data.get("deep_link")
    target = deeplinks.parse(ctx.services.routes, pending) if pending else None
    await ctx.end_flow()
    if target is not None:
        await target.link.handler(ctx, target.argument)
    else:
        await show_main_menu(ctx)
    return END


INTENT_WELCOME = {
    Intent.VOLUNTEER: lambda: _(
        "Great that you want to help! Here you can tell us what you can do, and you will get "
        "offers that fit you."
    ),
    Intent.ORGANISATION: lambda: _(
        "Welcome! Here your initiative can find volunteers, share events and reach the "
        "other partners of the network."
    ),
    Intent.SEEKING_HELP: lambda: _(
        "Welcome! Here you can find counselling services and offers in your language, or "
        "talk to a person from our team."
    ),
}

ONBOARDING = router.add_flow(
    Flow(
        name="onboarding",
        first=LANGUAGE_STATE,
        steps={
            LANGUAGE_STATE: Step(ask_language, on_language),
            CONSENT_STATE: Step(ask_consent, on_consent),
            INTENT_STATE: Step(ask_intent, on_intent),
        },
    )
)


@router.command("start", N_("Start, or go back to the main menu"), needs_consent=False)
async def start(ctx: Context) -> None:
    """New or not yet consented: the onboarding. Known: back to the main menu.

    `/start <payload>` comes from a deep link; its target opens at once where it needs no
    consent or the person has given it, otherwise right after the onboarding.
    """
    from handlers.basics.menu import show_main_menu

    person = ctx.person
    target = None
    if ctx.incoming.args:
        target = deeplinks.parse(ctx.services.routes, ctx.incoming.args)
        if target is None:
            ctx.reply(_("This link is not valid or no longer works."))
    onboarded = person.has_consented(NOTICE_VERSION) and bool(person.intent)
    if target is not None and (onboarded or not target.link.needs_consent):
        await ctx.end_flow()
        await target.link.handler(ctx, target.argument)
        return
    if onboarded:
        await ctx.end_flow()
        ctx.reply(_("Welcome back!"))
        await show_main_menu(ctx)
        return
    pending = {"deep_link": ctx.incoming.args} if target is not None else {}
    if person.has_consented(NOTICE_VERSION):
        await ctx.start_flow(ONBOARDING, at=INTENT_STATE, **pending)
    elif person.language:
        await ctx.start_flow(ONBOARDING, at=CONSENT_STATE, **pending)
    else:
        await ctx.start_flow(ONBOARDING, **pending)


def is_newcomer(ctx: Context) -> bool:
    """Someone we know nothing of yet: no language chosen, no consent asked and answered."""
    person = ctx.person
    return (
        not ctx.is_group
        and person.language is None
        and person.consent_version is None
        and person.consent_declined_at is None
        and not person.intent
    )


async def welcome_newcomer(ctx: Context, text: str) -> None:
    """Whatever a newcomer's first message says, answer with the welcome and the language
    choice: their likely languages first, the welcome in one they can probably read."""
    if match_language(ctx.incoming.actor.language_code) is None:
        guess = likely_language(text)
        if guess is not None:
            set_locale(guess)
    await ctx.start_flow(ONBOARDING, order=list(guess_languages(text)))


async def not_understood(ctx: Context) -> None:
    """A newcomer gets the welcome; anyone else a hint on what to do instead."""
    from handlers.basics.menu import not_understood as hint

    if is_newcomer(ctx):
        await welcome_newcomer(ctx, ctx.incoming.text or "")
    else:
        await hint(ctx)


@router.button("onboarding.change_intent")
async def change_intent(ctx: Context, _value: str) -> None:
    await ctx.start_flow(ONBOARDING, at=INTENT_STATE)


router.menu_entry("onboarding.change_intent", N_("Change what brings me here"), order=900)
