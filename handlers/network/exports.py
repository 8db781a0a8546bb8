"""CSV exports for coordinators (from /admin): volunteers, needs and organisations.

The tables are for people, in the coordinator's language: translated headers, activities,
languages, levels and statuses, times in the network's time zone. They open right in the
coordinator's spreadsheet program (see `bot.core.spreadsheet`), carry no messenger IDs
(contacts are only ever shared by double consent) and cannot smuggle formulas in.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from bot.core import spreadsheet
from bot.core.context import Context
from bot.core.i18n import N_, _, current_timezone, format_list, format_number, ngettext
from bot.core.router import Router
from bot.core.types import Attachment
from db.models import (
    Need,
    Organisation,
    OrganisationMember,
    OrganisationStatus,
    VolunteerProfile,
    VolunteerStatus,
)
from handlers.basics.audit import audit
from handlers.basics.taxonomy import LEVELS, activity_label, kind_label, language_label
from handlers.volunteering.needs import status_label

router = Router("exports")

#: What can be exported, as the export's name says it ("Export of volunteers: 30 rows").
EXPORTS: dict[str, str] = {
    "volunteers": N_("volunteers"),
    "needs": N_("needs"),
    "organisations": N_("organisations"),
}

VOLUNTEER_STATUSES: dict[str, str] = {
    VolunteerStatus.ACTIVE: N_("active"),
    VolunteerStatus.PAUSED: N_("paused"),
}
AVAILABILITY_KINDS = {"regular": N_("Regularly"), "one_off": N_("Now and then, for single dates")}
WHEN_KINDS = {"date": N_("on a date"), "regular": N_("regularly"), "flexible": N_("flexible")}
ORGANISATION_STATUSES: dict[str, str] = {
    OrganisationStatus.PENDING: N_("waiting for approval"),
    OrganisationStatus.APPROVED: N_("approved"),
    OrganisationStatus.DECLINED: N_("not approved"),
}


def translated(labels: dict[str, str], key: str) -> str:
    return _(labels[key]) if key in labels else key


def moment(value: datetime | None) -> str:
    """A time as spreadsheets read it everywhere (2026-11-27 10:15), in local time."""
    return value.astimezone(current_timezone()).strftime("%Y-%m-%d %H:%M") if value else ""


async def volunteers(ctx: Context) -> tuple[list[str], list[list[object]]]:
    profiles = list(await ctx.session.scalars(select(VolunteerProfile)))
    header = [
        _("First name"),
        _("District"),
        _("Postcode"),
        _("Activities"),
        _("Languages"),
        _("Availability"),
        _("Offers per week at most"),
        _("Status"),
    ]
    rows: list[list[object]] = [
        [
            p.first_name,
            p.district or "",
            p.postcode or "",
            format_list(activity_label(a.activity) for a in p.activities),
            format_list(
                f"{language_label(lang.language)} ({_(LEVELS.get(lang.level, lang.level))})"
                for lang in p.languages
            ),
            translated(AVAILABILITY_KINDS, p.availability_kind),
            p.max_offers_per_week,
            translated(VOLUNTEER_STATUSES, p.status),
        ]
        for p in profiles
    ]
    return header, rows


async def needs(ctx: Context) -> tuple[list[str], list[list[object]]]:
    found = list(await ctx.session.scalars(select(Need).order_by(Need.id)))
    orgs = {o.id: o.name for o in await ctx.session.scalars(select(Organisation))}
    header = [
        _("Number"),
        _("Title"),
        _("Organisation"),
        _("Activity"),
        _("Languages"),
        _("Area"),
        _("When"),
        _("Starts"),
        _("Volunteers needed"),
        _("Helpers"),
        _("Status"),
        _("Until"),
    ]
    rows: list[list[object]] = [
        [
            n.id,
            n.title,
            orgs.get(n.organisation_id or 0, ""),
            activity_label(n.activity),
            format_list(language_label(code) for code in n.languages),
            n.district or n.postcode or "",
            translated(WHEN_KINDS, n.when_kind),
            moment(n.starts_at),
            n.volunteers_needed,
            n.helpers_count,
            status_label(n.status),
            moment(n.until),
        ]
        for n in found
    ]
    return header, rows


async def organisations(ctx: Context) -> tuple[list[str], list[list[object]]]:
    found = list(await ctx.session.scalars(select(Organisation).order_by(Organisation.name)))
    members = Counter(
        dict(
            (
                await ctx.session.execute(
                    select(OrganisationMember.organisation_id, func.count()).group_by(
                        OrganisationMember.organisation_id
                    )
                )
            ).all()
        )
    )
    header = [
        _("Name"),
        _("Kind"),
        _("District"),
        _("Contact"),
        _("Website"),
        _("Status"),
        _("Members"),
    ]
    rows: list[list[object]] = [
        [
            o.name,
            kind_label(o.kind),
            o.district or "",
            o.contact or "",
            o.website or "",
            translated(ORGANISATION_STATUSES, o.status),
            members.get(o.id, 0),
        ]
        for o in found
    ]
    return header, rows


TABLES = {"volunteers": volunteers, "needs": needs, "organisations": organisations}


@router.button("admin.export")
async def export(ctx: Context, value: str) -> None:
    """One table as a CSV file, named and described in the coordinator's language."""
    if value not in TABLES:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    header, rows = await TABLES[value](ctx)
    audit(ctx, "export", value, rows=len(rows))
    ctx.reply(
        ngettext(
            "Export of {what}: {count} row.", "Export of {what}: {count} rows.", len(rows)
        ).format(what=_(EXPORTS[value]), count=format_number(len(rows))),
        attachment=Attachment(f"lotse-{value}.csv", spreadsheet.to_csv(header, rows), "text/csv"),
    )
