"""A service from the referral directory as people read it: in their language where we have a
translation, with address, opening hours, phone, link, languages, and a warning when the
entry has not been confirmed for a long time."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from babel import Locale
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import multilang
from bot.core.i18n import (
    _,
    comma,
    current_language,
    format_date,
    format_list,
    join_parts,
    localise_digits,
    semicolon,
)
from db.directory import (
    DirLanguage,
    DirLocation,
    DirOrganization,
    DirPhone,
    DirSchedule,
    DirService,
    DirServiceAtLocation,
    DirTranslation,
)
from handlers.basics.taxonomy import language_name

DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass
class ServiceInfo:
    service: DirService
    organisation: DirOrganization | None = None
    locations: list[DirLocation] = field(default_factory=list)
    phones: list[DirPhone] = field(default_factory=list)
    schedules: list[DirSchedule] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    def open_at(self, local: datetime) -> bool:
        code = DAY_CODES[local.weekday()]
        clock = local.strftime("%H:%M")
        return any(
            s.byday
            and code in s.byday.split(",")
            and s.opens_at
            and s.closes_at
            and s.opens_at <= clock < s.closes_at
            and (s.freq or "WEEKLY") == "WEEKLY"
            for s in self.schedules
        )


async def load(
    session: AsyncSession, ids: list[str], original_language: str
) -> dict[str, ServiceInfo]:
    """Everything needed for the cards of these services, in a few queries."""
    if not ids:
        return {}
    services = {
        s.id: ServiceInfo(s)
        for s in await session.scalars(select(DirService).where(DirService.id.in_(ids)))
    }
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(DirOrganization).where(
                DirOrganization.id.in_({i.service.organization_id for i in services.values()})
            )
        )
    }
    for info in services.values():
        info.organisation = orgs.get(info.service.organization_id)
        info.names = {original_language: info.service.name}
        info.descriptions = (
            {original_language: info.service.description} if info.service.description else {}
        )
    for sid, location in await session.execute(
        select(DirServiceAtLocation.service_id, DirLocation)
        .join(DirLocation, DirLocation.id == DirServiceAtLocation.location_id)
        .where(DirServiceAtLocation.service_id.in_(ids))
    ):
        services[sid].locations.append(location)
    location_ids = {loc.id for info in services.values() for loc in info.locations}
    for phone in await session.scalars(select(DirPhone).where(DirPhone.service_id.in_(ids))):
        if phone.service_id in services:
            services[phone.service_id].phones.append(phone)
    for schedule in await session.scalars(
        select(DirSchedule).where(
            (DirSchedule.service_id.in_(ids)) | (DirSchedule.location_id.in_(location_ids))
        )
    ):
        for info in services.values():
            if schedule.service_id == info.service.id or (
                schedule.service_id is None
                and any(loc.id == schedule.location_id for loc in info.locations)
            ):
                info.schedules.append(schedule)
    for offered in await session.scalars(
        select(DirLanguage).where(DirLanguage.service_id.in_(ids))
    ):
        services[offered.service_id].languages.append(offered.language)
    for row in await session.scalars(
        select(DirTranslation).where(
            DirTranslation.record_type == "service", DirTranslation.record_id.in_(ids)
        )
    ):
        target = (
            services[row.record_id].names
            if row.field == "name"
            else services[row.record_id].descriptions
        )
        target[row.language] = row.text
    return services


def hours(schedules: list[DirSchedule]) -> str:
    days = Locale.parse(current_language()).days["format"]["abbreviated"]
    parts = []
    for schedule in sorted(schedules, key=first_day):
        if schedule.byday and schedule.opens_at and schedule.closes_at:
            indexes = sorted(
                {DAY_CODES.index(c) for c in schedule.byday.split(",") if c in DAY_CODES}
            )
            names = comma().join(str(days[index]) for index in indexes)
            times = localise_digits(f"{schedule.opens_at}–{schedule.closes_at}")
            parts.append(f"{names} {times}")
        elif schedule.description:
            parts.append(schedule.description)
    return semicolon().join(parts)


def first_day(schedule: DirSchedule) -> tuple[int, str]:
    """Opening hours are read in weekday order, Monday first, each day by its opening time."""
    codes = [DAY_CODES.index(c) for c in (schedule.byday or "").split(",") if c in DAY_CODES]
    return (min(codes) if codes else len(DAY_CODES), schedule.opens_at or "")


def card(info: ServiceInfo, now: datetime, stale_after: timedelta, open_now: bool) -> str:
    e = html.escape
    s = info.service
    name, original = multilang.pick(info.names)
    lines = [f"<b>{e(name)}</b>"]
    if info.organisation is not None and info.organisation.name != s.name:
        lines.append(e(info.organisation.name))
    if info.descriptions:
        description, original = multilang.pick(info.descriptions)
        lines.append(e(description))
    marker = multilang.note(original)  # once for name and description
    if marker:
        lines.append(e(marker))
    for location in info.locations[:2]:
        address = join_parts(
            p
            for p in (
                location.address_1,
                " ".join(p for p in (location.postal_code, location.city) if p),
            )
            if p
        )
        if location.district:
            address += f" ({location.district})"
        if address.strip():
            lines.append(_("Address: {address}").format(address=e(address)))
    if info.schedules:
        lines.append(_("Opening hours: {hours}").format(hours=e(hours(info.schedules))))
        if open_now:
            lines.append(_("Open now"))
    for phone in info.phones[:2]:
        lines.append(_("Phone: {number}").format(number=e(phone.number)))
    link = s.url or (info.organisation.url if info.organisation else None)
    if link:
        lines.append(_("Link: {url}").format(url=e(link)))
    if s.email:
        lines.append(_("E-mail: {email}").format(email=e(s.email)))
    if info.languages:
        lines.append(
            _("Languages: {languages}").format(
                languages=e(format_list([language_name(c) for c in info.languages]))
            )
        )
    if s.assured_date is None or now - s.assured_date > stale_after:
        since = format_date(s.assured_date) if s.assured_date else "–"
        lines.append(
            "⚠ "
            + _(
                "This entry has not been confirmed since {date}; please check with the service."
            ).format(date=since)
        )
    return "\n".join(lines)
