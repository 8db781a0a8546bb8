"""The agency's work, one package per area, each module with its own `router`.

`bot` never imports this package by name: `Settings.features` names it (like Django's
INSTALLED_APPS), and `bot.app` asks it for its routers (`all_routers`) and hooks (`hooks`).
"""

from __future__ import annotations

from importlib import import_module

from bot.core.router import Router
from bot.core.services import Hooks

#: Feature modules in the order their menu entries and help lines appear.
MODULES = (
    "people.onboarding",
    "people.privacy",
    "people.mydata",
    "people.language",
    "organisations.groups",
    "volunteering.profile",
    "organisations.registration",
    "volunteering.posting",
    "volunteering.needs",
    "volunteering.offers",
    "events.listing",
    "events.posting",
    "events.alerts",
    "events.subscriptions",
    "referral.questions",
    "network.tickets",
    "organisations.partners",
    "network.moderation",
    "network.broadcast",
    "network.desk",
    "network.exports",
    "network.charter",
    "network.polls",
    "network.surveys",
    "people.inbox",
    "basics.menu",
)


def all_routers() -> list[Router]:
    return [import_module(f"handlers.{name}").router for name in MODULES]


def hooks() -> Hooks:
    """What the core asks the features for: consent, the hint, and who may do what."""
    from handlers.basics.permissions import allowed
    from handlers.people.onboarding import not_understood
    from handlers.people.privacy import NOTICE_VERSION, ask_for_consent

    return Hooks(
        consent_version=NOTICE_VERSION,
        ask_for_consent=ask_for_consent,
        not_understood=not_understood,
        allowed=allowed,
    )
