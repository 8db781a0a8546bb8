"""Platform-neutral flows. Each module exposes a `router`; `all_routers()` lists them."""

from __future__ import annotations

from bot.core.router import Router


def all_routers() -> list[Router]:
    from handlers import common, groups, language, onboarding, privacy

    return [onboarding.router, privacy.router, language.router, groups.router, common.router]
