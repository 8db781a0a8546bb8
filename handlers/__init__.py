"""Platform-neutral flows. Each module exposes a `router`; `all_routers()` lists them."""

from __future__ import annotations

from bot.core.router import Router


def all_routers() -> list[Router]:
    from handlers import (
        common,
        groups,
        language,
        need_post,
        needs,
        offers,
        onboarding,
        organisations,
        privacy,
        volunteers,
    )

    return [
        onboarding.router,
        privacy.router,
        language.router,
        groups.router,
        volunteers.router,
        organisations.router,
        need_post.router,
        needs.router,
        offers.router,
        common.router,
    ]
