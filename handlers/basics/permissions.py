"""Who may do what: the roles, and one table naming the role every command and button needs.

Roles, from everyone to coordinators:

- anyone: also people who have not (yet) consented (help, privacy, language, deleting data)
- person: has consented to the privacy notice
- volunteer: has a volunteer profile
- org_member / org_admin: member / admin of an *approved* organisation
- coordinator: bootstrapped by LOTSE_COORDINATORS, then appointed in chat

A coordinator may do everything; an organisation admin everything a member may. The
dispatcher checks this table before any handler runs; handlers only check ownership
(that an offer is yours, that you posted the need).
"""

from __future__ import annotations

import enum

from sqlalchemy import select

from bot.core.context import Context
from bot.core.i18n import N_, _
from db.models import (
    Organisation as Org,
)
from db.models import (
    OrganisationMember,
    OrganisationStatus,
    Role,
    VolunteerProfile,
)


class Level(enum.StrEnum):
    ANYONE = "anyone"
    PERSON = "person"
    VOLUNTEER = "volunteer"
    ORG_MEMBER = "org_member"
    ORG_ADMIN = "org_admin"
    COORDINATOR = "coordinator"


A, P, V, M, OA, C = (
    Level.ANYONE,
    Level.PERSON,
    Level.VOLUNTEER,
    Level.ORG_MEMBER,
    Level.ORG_ADMIN,
    Level.COORDINATOR,
)

#: Every command and button action, and the role it needs.
COMMANDS: dict[str, Level] = {
    "start": A,
    "help": A,
    "privacy": A,
    "language": A,
    "cancel": A,
    "mydata": A,
    "delete": A,
    "about": A,
    "menu": P,
    "volunteer": P,
    "profile": P,
    "needs": P,
    "need": P,
    "organisation": P,
    "neworganisation": P,
    "join": P,
    "report": P,
    "decisions": P,
    "surveys": P,
    "search": A,
    "partners": A,
    "ask": P,
    "events": P,
    "subscribe": P,
    "newevent": M,
    "linkgroup": M,
    "admin": C,
    "poll": C,
    "survey": C,
    "broadcast": C,
    "appoint": C,
    "block": C,
}

BUTTONS: dict[str, Level] = {
    "privacy.consent": A,
    "privacy.show": A,
    "help.show": A,
    "language.menu": A,
    "privacy.delete": A,
    "privacy.keep": A,
    "about.show": A,
    "onboarding.change_intent": P,
    "volunteer.signup": P,
    "volunteer.profile": P,
    "volunteer.edit": V,
    "volunteer.pause": V,
    "volunteer.resume": V,
    "volunteer.delete": V,
    "needs.list": P,
    "needs.filter": P,
    "need.help": P,
    "need.new": P,
    "offer.help": P,
    "offer.decline": P,
    "offer.pause": P,
    "offer.withdraw": P,
    "offer.accept": P,
    "offer.reject": P,
    "org.register": P,
    "org.link": M,
    "poll.vote": P,
    "survey.start": P,
    "report.message": P,
    "partners.show": A,
    "referral.ask": P,
    "referral.helpful": P,
    "referral.handover": P,
    "ticket.reply": P,
    "ticket.close": P,
    "ticket.withdraw": P,
    "fresh.yes": P,
    "fresh.no": P,
    "ticket.claim": C,
    "admin.tickets": C,
    "partners.add": C,
    "partners.edit": C,
    "events.list": P,
    "events.filter": P,
    "event.come": P,
    "event.uncome": P,
    "event.remind": P,
    "event.ics": P,
    "subscribe.start": P,
    "subscribe.change": P,
    "subscribe.stop": P,
    "event.new": M,
    "event.edit": M,
    "event.cancel": M,
    "event.cancel_confirm": M,
    "org.review": C,
    "admin.broadcast": C,
    "need.review": C,
    "admin.open": C,
    "admin.stats": C,
    "admin.export": C,
    "admin.pending": C,
    "admin.blocked": C,
    "admin.unblock": C,
    "report.block": C,
    "report.dismiss": C,
    "report.answer": C,
    "broadcast.progress": C,
    "poll.results": C,
    "survey.results": C,
    "about.edit": C,
}

REFUSALS = {
    Level.VOLUNTEER: N_("This is for volunteers. Sign up first with /volunteer."),
    Level.ORG_MEMBER: N_(
        "This is for members of an approved organisation. Register one with "
        "/organisation or join one with /join."
    ),
    Level.ORG_ADMIN: N_("This is for admins of an approved organisation."),
    Level.COORDINATOR: N_("Only coordinators can do this."),
}


async def levels_of(ctx: Context) -> set[Level]:
    """All levels the person has now (asked of the database only when needed)."""
    person = ctx.person
    levels = {Level.ANYONE}
    if person.consent_version is None:
        return levels
    levels.add(Level.PERSON)
    if person.has_role(Role.COORDINATOR):
        return set(Level)
    profile = await ctx.session.get(VolunteerProfile, person.id)
    if person.has_role(Role.VOLUNTEER) or profile is not None:
        levels.add(Level.VOLUNTEER)
    roles = set(
        await ctx.session.scalars(
            select(OrganisationMember.role)
            .join(Org, Org.id == OrganisationMember.organisation_id)
            .where(
                OrganisationMember.person_id == person.id,
                Org.status == OrganisationStatus.APPROVED,
            )
        )
    )
    if roles:
        levels.add(Level.ORG_MEMBER)
    if "admin" in roles:
        levels.add(Level.ORG_ADMIN)
    return levels


def required(kind: str, name: str) -> Level:
    table = COMMANDS if kind == "command" else BUTTONS
    return table.get(name, Level.PERSON)


async def allowed(ctx: Context, kind: str, name: str) -> bool:
    """Check the table; tell the person politely when they may not."""
    level = required(kind, name)
    if level in (Level.ANYONE, Level.PERSON):
        return True  # consent is checked by the dispatcher itself
    if level in await levels_of(ctx):
        return True
    message = _(REFUSALS[level])
    if kind == "button":
        ctx.notify(message)
    else:
        ctx.reply(message)
    return False
