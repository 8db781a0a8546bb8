"""For which organisation someone posts a need or an event.

A person may lead or belong to several approved organisations. What they post carries one
organisation's name (and its trust: members of approved organisations publish at once), so
the choice must be theirs, not the first membership the database happens to return. The
question is asked only when there is a choice: in a group linked to an organisation that
organisation is the default, and someone in one organisation is never asked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.context import Context
from bot.core.flow import Answer, Step
from bot.core.i18n import N_, _, isolate
from bot.core.types import Button
from db.models import Organisation, OrganisationMember, OrganisationStatus
from handlers.basics import forms

#: The flow data key that holds the chosen organisation (None: posting for nobody).
KEY = "org_id"
#: Set when the person was asked, so the preview offers to change the organisation.
ASKED = "org_asked"
FIELD_LABEL = N_("Organisation")


async def approved_organisations(session: AsyncSession, person_id: int) -> list[Organisation]:
    """The approved organisations the person belongs to, the one joined first first."""
    rows = await session.scalars(
        select(Organisation)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(
            OrganisationMember.person_id == person_id,
            Organisation.status == OrganisationStatus.APPROVED,
        )
        .order_by(OrganisationMember.joined_at, Organisation.id)
    )
    return list(rows)


async def start_data(ctx: Context) -> dict[str, Any]:
    """The flow's first data in a private chat: the organisation when there is only one (or
    none); nothing when there are several, so the flow asks."""
    organisations = await approved_organisations(ctx.session, ctx.person.id)
    if len(organisations) > 1:
        return {}
    return {KEY: organisations[0].id if organisations else None}


def _options(organisations: list[Organisation]) -> list[forms.Option]:
    """Typed answers match the plain name; the buttons show it isolated (see `ask`)."""
    return [(str(org.id), org.name) for org in organisations]


def step(state: str, next_missing: Callable[[dict[str, Any]], str]) -> Step:
    """The flow step at `state` that asks for which organisation; `next_missing` goes on."""

    async def ask(ctx: Context) -> None:
        """For which of your organisations do you post this?"""
        organisations = await approved_organisations(ctx.session, ctx.person.id)
        ctx.reply(
            _("For which organisation are you posting this?"),
            [[Button(state, isolate(org.name), str(org.id))] for org in organisations],
        )

    async def handle(ctx: Context, answer: Answer) -> str | None:
        organisations = await approved_organisations(ctx.session, ctx.person.id)
        if not organisations:  # left or lost approval meanwhile: post for nobody
            ctx.remember(**{KEY: None})
            return next_missing(ctx.data)
        chosen = forms.chosen(ctx, answer, _options(organisations))
        if chosen is None:
            return state
        ctx.remember(**{KEY: int(chosen), ASKED: True})
        return next_missing(ctx.data)

    return Step(ask, handle)


def editable(data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
    """The preview's changeable fields, with the organisation first when there was a choice."""
    return {"organisation": FIELD_LABEL, **fields} if data.get(ASKED) else fields
