"""Events as people see them: occurrences of repeating events, the event card, /events in
today / this week / later with filters, "I'll come" (within capacity, else onto the waiting
list), "I can't come after all" (which moves the first waiting person up), "Remind me", and an
.ics calendar file."""

from __future__ import annotations

import calendar
import html
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bot.core import multilang
from bot.core.context import Context, PendingReply, make_reply
from bot.core.i18n import (
    N_,
    _,
    current_timezone,
    format_list,
    format_moment,
    format_number,
    isolate,
    join_parts,
)
from bot.core.ids import get_row
from bot.core.router import Router
from bot.core.types import Attachment, Button, Format, Reply
from db.models import Attendance, Event, EventStatus, Intent, Organisation, Person, Role
from handlers.basics import forms
from handlers.basics.taxonomy import language_name
from handlers.events import seats as event_seats
from handlers.referral.topics import TOPICS

router = Router("events")

AUDIENCES = {
    "everyone": N_("everyone"),
    "volunteers": N_("volunteers"),
    "initiatives": N_("initiatives"),
    "refugees": N_("refugees"),
}
REPEATS = {"none": N_("once"), "weekly": N_("every week"), "monthly": N_("every month")}
HORIZON = timedelta(days=183)  # repeating events without an end run half a year


def topic_label(topic: str) -> str:
    return _(TOPICS[topic]) if topic in TOPICS else topic


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def occurrences(event: Event, start: datetime, end: datetime) -> list[datetime]:
    """Start times (UTC) of the event between `start` and `end`. Repeats keep the local
    time of day in the event's time zone, also across daylight-saving changes."""
    tz = ZoneInfo(event.timezone)
    first = event.starts_at.astimezone(tz)
    last = (
        min(end, event.repeat_until or event.starts_at + HORIZON)
        if event.repeat != "none"
        else event.starts_at
    )
    found = []
    index = 0
    while True:
        if event.repeat == "weekly":
            local = first + timedelta(weeks=index)
        elif event.repeat == "monthly":
            local = add_months(first, index)
        else:
            local = first
        moment = local.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)
        if moment > last or moment > end:
            break
        if moment >= start:
            found.append(moment)
        if event.repeat == "none":
            break
        index += 1
    return found


def next_occurrence(event: Event, now: datetime) -> datetime | None:
    duration = event.ends_at - event.starts_at
    upcoming = occurrences(event, now - duration, now + HORIZON * 2)
    return next((o for o in upcoming if o + duration > now), None)


def duration(event: Event) -> timedelta:
    return event.ends_at - event.starts_at


def card(
    event: Event,
    occurrence: datetime,
    organisation: Organisation | None,
    coming: int,
    waiting: int = 0,
) -> str:
    """The event in the reader's language and time zone (people's text escaped)."""
    e = html.escape
    title, original = multilang.pick(event.title)
    lines = [f"<b>{e(title)}</b>"]
    if event.description:
        description, original = multilang.pick(event.description)
        lines.append(e(description))
    marker = multilang.note(original)  # once for title and description
    if marker:
        lines.append(e(marker))
    end = occurrence + duration(event)
    same_day = (
        occurrence.astimezone(current_timezone()).date()
        == end.astimezone(current_timezone()).date()
    )
    from bot.core.i18n import format_time

    until = format_time(end) if same_day else format_moment(end)
    lines += [
        "",
        _("When: {start} – {end}").format(start=e(format_moment(occurrence)), end=e(until)),
    ]
    if event.repeat != "none":
        lines.append(_("Repeats: {repeat}").format(repeat=e(_(REPEATS[event.repeat]))))
    where = join_parts((event.place, event.district or ""))
    if where:
        lines.append(_("Where: {place}").format(place=e(isolate(where))))
    if event.online_url:
        lines.append(_("Online: {link}").format(link=e(event.online_url)))
    lines.append(_("Topic: {topic}").format(topic=e(topic_label(event.topic))))
    lines.append(_("For: {audience}").format(audience=e(_(AUDIENCES[event.audience]))))
    if event.languages:
        lines.append(
            _("Languages spoken: {languages}").format(
                languages=e(format_list([language_name(c) for c in event.languages]))
            )
        )
    if event.capacity:
        lines.append(
            _("Places: {free} of {capacity} free").format(
                free=format_number(max(0, event.capacity - coming)),
                capacity=format_number(event.capacity),
            )
        )
        if waiting:
            lines.append(_("Waiting list: {count}").format(count=format_number(waiting)))
    if organisation is not None:
        lines.append(_("Organised by: {name}").format(name=e(isolate(organisation.name))))
    if event.status == EventStatus.CANCELLED:
        lines.insert(0, "<b>" + e(_("Cancelled")) + "</b>")
    return "\n".join(lines)


def occurrence_key(occurrence: datetime) -> str:
    return occurrence.astimezone(UTC).strftime("%Y%m%dT%H%M")


def parse_key(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M").replace(tzinfo=UTC)
    except ValueError:
        return None


async def coming_count(ctx: Context, event: Event, occurrence: datetime) -> int:
    return await event_seats.coming_count(ctx.session, event.id, occurrence)


def card_buttons(
    event: Event, occurrence: datetime, own: bool, mine: Attendance | None = None
) -> list[list[Button]]:
    """The card's buttons; for someone who comes or waits, the way out instead of the way in."""
    value = f"{event.id}:{occurrence_key(occurrence)}"
    if mine is not None and mine.coming:
        first = Button("event.uncome", _("I can't come after all"), value)
    elif mine is not None and mine.waiting_since is not None:
        first = Button("event.uncome", _("Leave the waiting list"), value)
    else:
        first = Button("event.come", _("I'll come"), value)
    rows = [
        [first, Button("event.remind", _("Remind me"), value)],
        [Button("event.ics", _("Add to calendar"), value)],
    ]
    if own:
        rows.append(
            [
                Button("event.edit", _("Change"), str(event.id)),
                Button("event.cancel", _("Cancel the event"), str(event.id)),
            ]
        )
    return rows


async def show_card(ctx: Context, event: Event, occurrence: datetime) -> None:
    organisation = (
        await ctx.session.get(Organisation, event.organisation_id)
        if event.organisation_id
        else None
    )
    own = event.created_by_person_id == ctx.person.id or ctx.person.has_role(Role.COORDINATOR)
    coming = await coming_count(ctx, event, occurrence)
    waiting = await event_seats.waiting_count(ctx.session, event.id, occurrence)
    # In a group the card is everyone's, so only a private chat shows the reader's own state.
    mine = None if ctx.is_group else await _attendance(ctx, event, occurrence)
    buttons = (
        card_buttons(event, occurrence, own, mine) if event.status == EventStatus.PUBLISHED else []
    )
    text = card(event, occurrence, organisation, coming, waiting)
    if mine is not None and mine.coming:
        text += "\n\n" + html.escape(_("You are registered."))
    elif mine is not None and mine.waiting_since is not None:
        place = await event_seats.waiting_place(ctx.session, mine)
        text += "\n\n" + html.escape(
            _("You are number {place} on the waiting list.").format(place=format_number(place))
        )
    ctx.replies.append(PendingReply(make_reply(text, buttons, Format.HTML), ctx.person.id))


# --- listing -------------------------------------------------------------------------------
def decode(value: str) -> dict[str, str]:
    return {k: v[:100] for k, v in parse_qsl(value[:300]) if k in ("topic", "area")}


async def upcoming(
    ctx: Context, filters: dict[str, str], limit: int = 12
) -> list[tuple[Event, datetime]]:
    now = ctx.services.clock()
    query = select(Event).where(
        Event.status == EventStatus.PUBLISHED, or_(Event.ends_at > now, Event.repeat != "none")
    )
    if filters.get("topic") in TOPICS:
        query = query.where(Event.topic == filters["topic"])
    if filters.get("area"):
        query = query.where(Event.district == filters["area"])
    found = []
    for event in await ctx.session.scalars(query):
        occurrence = next_occurrence(event, now)
        if occurrence is not None:
            found.append((event, occurrence))
    found.sort(key=lambda pair: pair[1])
    return found[:limit]


@router.command("events", N_("Upcoming events"), in_groups=True)
async def events_command(ctx: Context) -> None:
    await show_events(ctx, {})


async def show_events(ctx: Context, filters: dict[str, str]) -> None:
    now = ctx.services.clock()
    tz = current_timezone()
    today = now.astimezone(tz).date()
    week_end = today + timedelta(days=7 - today.weekday())
    found = await upcoming(ctx, filters)
    sections = {"today": N_("Today"), "week": N_("This week"), "later": N_("Later")}
    current = None
    for event, occurrence in found:
        day = occurrence.astimezone(tz).date()
        section = "today" if day <= today else "week" if day < week_end else "later"
        if section != current:
            ctx.reply(f"— {_(sections[section])} —")
            current = section
        await show_card(ctx, event, occurrence)
    if not found:
        ctx.reply(
            _("There are no upcoming events.")
            if not filters
            else _("No upcoming events match your choice.")
        )
    rows = [
        [
            Button("events.filter", _("Topic"), urlencode({**filters, "f": "topic"})),
            Button("events.filter", _("Area"), urlencode({**filters, "f": "area"})),
        ]
    ]
    if filters:
        rows.append([Button("events.list", _("Clear filters"), "")])
    rows.append([Button("subscribe.start", _("Get alerts"))])
    ctx.reply(
        _("Events: choose a topic or area, or get alerts for new ones."), rows, anyone=ctx.is_group
    )


@router.button("events.list")
async def events_list(ctx: Context, value: str) -> None:
    await show_events(ctx, decode(value))


@router.button("events.filter")
async def events_filter(ctx: Context, value: str) -> None:
    raw = dict(parse_qsl(value[:300]))
    field = raw.pop("f", "")
    base = decode(urlencode(raw))
    if field == "topic":
        options = [(k, _(v)) for k, v in TOPICS.items()]
    elif field == "area":
        options = [(d, d) for d in ctx.settings.districts]
    else:
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return
    ctx.reply(
        _("Choose:"),
        forms.rows(
            [
                Button("events.list", label, urlencode({**base, field: key}))
                for key, label in options
            ],
            2,
        ),
    )


async def _event_and_occurrence(ctx: Context, value: str) -> tuple[Event, datetime] | None:
    raw_id, _sep, raw_key = value.partition(":")
    event = await get_row(ctx.session, Event, raw_id)
    occurrence = parse_key(raw_key)
    if (
        event is None
        or occurrence is None
        or occurrence
        not in occurrences(
            event, occurrence - timedelta(minutes=1), occurrence + timedelta(minutes=1)
        )
    ):
        ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
        return None
    if event.status != EventStatus.PUBLISHED:
        ctx.reply(_("This event has been cancelled."))
        return None
    if occurrence + duration(event) < ctx.services.clock():
        ctx.reply(_("This event is already over."))
        return None
    return event, occurrence


async def _attendance(ctx: Context, event: Event, occurrence: datetime) -> Attendance | None:
    """This person's registration or reminder for one occurrence, if any."""
    return await ctx.session.scalar(
        select(Attendance).where(
            Attendance.event_id == event.id,
            Attendance.person_id == ctx.person.id,
            Attendance.occurrence == occurrence,
        )
    )


@router.button("event.come")
async def come(ctx: Context, value: str) -> None:
    """Register for one occurrence; when it is full, join its waiting list."""
    found = await _event_and_occurrence(ctx, value)
    if found is None:
        return
    event, occurrence = found
    existing = await _attendance(ctx, event, occurrence)
    if existing is not None and existing.coming:
        ctx.reply(_("You are already registered. See you there!"))
        return
    if existing is not None and existing.waiting_since is not None:
        place = await event_seats.waiting_place(ctx.session, existing)
        ctx.reply(
            _("You are already on the waiting list, as number {place}.").format(
                place=format_number(place)
            )
        )
        return
    full = False
    if event.capacity:
        await event_seats.hold_seats(ctx.session, event.id)
        full = await coming_count(ctx, event, occurrence) >= event.capacity
    now = ctx.services.clock()
    if existing is None:
        try:
            async with ctx.session.begin_nested():
                existing = Attendance(
                    event_id=event.id,
                    person_id=ctx.person.id,
                    occurrence=occurrence,
                    coming=not full,
                    remind=not full,
                    created_at=now,
                )
                ctx.session.add(existing)
        except IntegrityError:
            ctx.reply(_("You are already registered. See you there!"))
            return
    else:
        existing.coming = not full
        existing.remind = existing.remind or not full
        existing.cancelled_at = None
    if full:
        existing.waiting_since = now
        await ctx.session.flush()
        place = await event_seats.waiting_place(ctx.session, existing)
        ctx.reply(
            _(
                "This event is full. You are number {place} on the waiting list; I will tell "
                "you as soon as a place is free."
            ).format(place=format_number(place))
        )
        return
    ctx.reply(
        _(
            "You are registered for {title} on {date}. I will remind you a day and an hour before."
        ).format(title=isolate(multilang.pick(event.title)[0]), date=format_moment(occurrence))
    )


def moved_up_message(event: Event, occurrence: datetime) -> Reply:
    """The push to someone who moved up from the waiting list, with the way out."""
    value = f"{event.id}:{occurrence_key(occurrence)}"
    return make_reply(
        _(
            "Good news: a place became free. You are now registered for {title} on {date}. "
            "I will remind you a day and an hour before."
        ).format(title=isolate(multilang.pick(event.title)[0]), date=format_moment(occurrence)),
        [[Button("event.uncome", _("I can't come after all"), value)]],
    )


@router.button("event.uncome", destructive=True)
async def uncome(ctx: Context, value: str) -> None:
    """Cancel one's registration or leave the waiting list; a freed seat moves the first
    waiting person up, who is told by a push in the same transaction."""
    found = await _event_and_occurrence(ctx, value)
    if found is None:
        return
    event, occurrence = found
    await event_seats.hold_seats(ctx.session, event.id)
    existing = await _attendance(ctx, event, occurrence)
    if existing is None or not (existing.coming or existing.waiting_since is not None):
        ctx.reply(_("You are not registered for this event."))
        return
    was_coming = existing.coming
    existing.coming = existing.remind = False
    existing.waiting_since = None
    existing.cancelled_at = ctx.services.clock()
    if not was_coming:
        ctx.reply(_("You have left the waiting list."))
        return
    for moved in await event_seats.move_up(ctx.session, event, occurrence, ctx.services.clock()):
        person = await ctx.session.get(Person, moved.person_id)
        if person is not None:
            await ctx.send_to(person, lambda: moved_up_message(event, occurrence))
    ctx.reply(_("Your registration is cancelled, and your place is free for someone else."))


@router.button("event.remind")
async def remind(ctx: Context, value: str) -> None:
    found = await _event_and_occurrence(ctx, value)
    if found is None:
        return
    event, occurrence = found
    existing = await _attendance(ctx, event, occurrence)
    if existing is None:
        ctx.session.add(
            Attendance(
                event_id=event.id,
                person_id=ctx.person.id,
                occurrence=occurrence,
                coming=False,
                remind=True,
                created_at=ctx.services.clock(),
            )
        )
    else:
        existing.remind = True
    ctx.reply(_("I will remind you a day and an hour before."))


def ics(event: Event, occurrence: datetime, domain: str = "lotse.invalid") -> bytes:
    """An iCalendar file (RFC 5545, written by the `icalendar` library: line folding at 75
    octets, escaping). A one-off event is one VEVENT in UTC; a repeating event is the whole
    series, in its own time zone (with a VTIMEZONE) and an RRULE, so that calendars keep its
    local time across daylight-saving changes, as `occurrences` does."""
    calendar_file = icalendar.Calendar()
    calendar_file.add("prodid", "-//Lotse//Events//EN")
    calendar_file.add("version", "2.0")
    entry = icalendar.Event()
    title, _original = multilang.pick(event.title)
    entry.add("summary", title)
    entry.add("dtstamp", event.updated_at.astimezone(UTC))
    if event.repeat == "none":
        entry.add("uid", f"event-{event.id}-{occurrence_key(occurrence)}@{domain}")
        entry.add("dtstart", occurrence.astimezone(UTC))
        entry.add("dtend", (occurrence + duration(event)).astimezone(UTC))
    else:
        tz = ZoneInfo(event.timezone)
        first = event.starts_at.astimezone(tz)
        entry.add("uid", f"event-{event.id}@{domain}")
        entry.add("dtstart", first)
        entry.add("dtend", (event.starts_at + duration(event)).astimezone(tz))
        entry.add("rrule", _rrule(event, first))
    if event.description:
        entry.add("description", multilang.pick(event.description)[0])
    place = ", ".join(p for p in (event.place, event.district) if p)
    if place:
        entry.add("location", place)
    if event.online_url:
        entry.add("url", event.online_url)
    if event.status == EventStatus.CANCELLED:
        entry.add("status", "CANCELLED")
    calendar_file.add_component(entry)
    calendar_file.add_missing_timezones()
    return calendar_file.to_ical()


def _rrule(event: Event, first: datetime) -> dict[str, Any]:
    """The repetition as `occurrences` computes it: weekly, or monthly on the same day, where
    a day the month lacks (the 31st) falls on the month's last day; until the end date, else
    the horizon of half a year."""
    until = (event.repeat_until or event.starts_at + HORIZON).astimezone(UTC)
    if event.repeat == "weekly":
        return {"freq": "weekly", "until": until}
    if first.day <= 28:
        return {"freq": "monthly", "until": until}
    return {
        "freq": "monthly",
        "bymonthday": list(range(28, first.day + 1)),
        "bysetpos": -1,
        "until": until,
    }


@router.button("event.ics")
async def calendar_file(ctx: Context, value: str) -> None:
    found = await _event_and_occurrence(ctx, value)
    if found is None:
        return
    event, occurrence = found
    ctx.reply(
        _("Open the file to add the event to your calendar."),
        attachment=Attachment(f"event-{event.id}.ics", ics(event, occurrence), "text/calendar"),
    )


@router.deep_link("event")
async def event_link(ctx: Context, argument: str) -> None:
    event = await get_row(ctx.session, Event, argument)
    occurrence = next_occurrence(event, ctx.services.clock()) if event else None
    if event is None or occurrence is None:
        ctx.reply(_("This event does not exist (any more)."))
        return
    await show_card(ctx, event, occurrence)


def announcement(event: Event, occurrence: datetime, organisation: Organisation | None) -> Reply:
    return make_reply(
        _("New event:") + "\n\n" + card(event, occurrence, organisation, 0),
        card_buttons(event, occurrence, False),
        Format.HTML,
    )


router.menu_entry("events.list", N_("Events"), order=30)
router.menu_entry(
    "subscribe.start",
    N_("Event alerts"),
    order=35,
    intents=[Intent.ORGANISATION, Intent.SEEKING_HELP, Intent.VOLUNTEER],
)
