"""Platform-neutral flows. Each module exposes a `router`; `all_routers()` lists them."""

from __future__ import annotations

from importlib import import_module

from bot.core.router import Router

#: Feature modules in the order their menu entries and help lines appear.
MODULES = (
    "onboarding",
    "privacy",
    "mydata",
    "language",
    "groups",
    "volunteers",
    "organisations",
    "need_post",
    "needs",
    "offers",
    "events",
    "event_post",
    "subscriptions",
    "referral",
    "tickets",
    "partners",
    "moderation",
    "broadcast",
    "admin",
    "exports",
    "charter",
    "polls",
    "surveys",
    "inbox",
    "common",
)


def all_routers() -> list[Router]:
    return [import_module(f"handlers.{name}").router for name in MODULES]
