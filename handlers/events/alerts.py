"""Event alerts: the announcement when an event is published, changes and cancellations,
reminders a day and an hour before, and the weekly digest — all through the outbox.

Each alert is keyed in `alerts_sent`, so a job that runs twice (a restart, a coalesced missed
run, two scheduler instances) sends nothing twice; an announcement is queued in the same
transaction as the event, so a crash can only lose or keep both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import multilang
from bot.core.context import make_reply
from bot.core.i18n import _, format_moment
from bot.core.notify import Notifier
from bot.core.router import Router
from bot.core.services import Services
from bot.core.types import Button, Format, Reply
from db.models import (
    AlertSent,
    Attendance,
    Broadcast,
    ChatRecord,
    Event,
    EventStatus,
    Organisation,
    Person,
    Subscription,
)
from handlers.events.listing import (
    HORIZON,
    announcement,
    card,
    card_buttons,
    duration,
    moved_up_message,
    next_occurrence,
    occurrence_key,
    occurrences,
)
from handlers.events.seats import coming_count, hold_seats, move_up, waiting_count

logger = logging.getLogger(__name__)
router = Router("event_alerts")

REMINDERS = {"day": timedelta(hours=24), "hour": timedelta(hours=1)}
#: How late a reminder may still go out. After downtime, one whose moment has passed by more
#: is skipped: "tomorrow" an hour before the start, or "in one hour" at the door, misleads.
REMINDER_GRACE = {"day": timedelta(hours=2), "hour": timedelta(minutes=15)}


async def claim_alert(session: AsyncSession, key: str, now: datetime) -> bool:
    """True exactly once per key, whoever asks and however often."""
    try:
        async with session.begin_nested():
            session.add(AlertSent(key=key[:128], created_at=now))
    except IntegrityError:
        return False
    return True


def matches(subscription: Subscription, event: Event) -> bool:
    topics = [t for t in subscription.topics.split(",") if t]
    return (
        (not topics or event.topic in topics)
        and (subscription.district is None or subscription.district == event.district)
        and (
            subscription.audience is None
            or event.audience == "everyone"
            or subscription.audience == event.audience
        )
    )


async def subscribers(
    session: AsyncSession, event: Event, digest_only: bool = False
) -> list[tuple[Subscription, Person | ChatRecord]]:
    query = select(Subscription)
    if digest_only:
        query = query.where(Subscription.digest.is_(True))
    found: list[tuple[Subscription, Person | ChatRecord]] = []
    for subscription in await session.scalars(query):
        if not matches(subscription, event):
            continue
        target = await recipient(session, subscription)
        if target is not None:
            found.append((subscription, target))
    return found


async def recipient(
    session: AsyncSession, subscription: Subscription
) -> Person | ChatRecord | None:
    if subscription.person_id is not None:
        person = await session.get(Person, subscription.person_id)
        if person is None or person.consent_version is None or person.blocked_at:
            return None
        return person
    chat = await session.get(ChatRecord, subscription.chat_id) if subscription.chat_id else None
    return chat if chat is not None and chat.unreachable_at is None else None


async def send(
    notifier: Notifier,
    target: Person | ChatRecord,
    render: Callable[[], Reply],
    language: str | None,
) -> None:
    if isinstance(target, Person):
        await notifier.to_person(target, render, language=language)
    else:
        await notifier.to_chat(target, render, language=language)


async def announce(
    notifier: Notifier, services: Services, event: Event, now: datetime, by_person_id: int | None
) -> Broadcast | None:
    """Queue the announcement to every matching subscriber, counted as one broadcast."""
    session = notifier.session
    if not await claim_alert(session, f"announce:{event.id}", now):
        return None
    occurrence = next_occurrence(event, now)
    if occurrence is None:
        return None
    organisation = (
        await session.get(Organisation, event.organisation_id) if event.organisation_id else None
    )
    broadcast = Broadcast(
        created_by_person_id=by_person_id,
        kind="announcement",
        audience=f"event:{event.id}",
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    notifier.broadcast_id = broadcast.id
    before = notifier.queued
    for subscription, target in await subscribers(session, event):
        await send(
            notifier,
            target,
            lambda: announcement(event, occurrence, organisation),
            subscription.language,
        )
    notifier.broadcast_id = None
    broadcast.total = notifier.queued - before
    event.announced_at, event.broadcast_id = now, broadcast.id
    schedule_reminders(services, event, now)
    return broadcast


async def notify_change(
    notifier: Notifier, services: Services, event: Event, *, cancelled: bool
) -> int:
    """Tell everyone registered for an upcoming occurrence, and the subscribers."""
    session = notifier.session
    now = services.clock()
    organisation = (
        await session.get(Organisation, event.organisation_id) if event.organisation_id else None
    )
    occurrence = next_occurrence(event, now) or event.starts_at
    coming = await coming_count(session, event.id, occurrence)
    waiting = await waiting_count(session, event.id, occurrence)

    def render() -> Reply:
        head = _("This event has been cancelled:") if cancelled else _("This event has changed:")
        buttons = [] if cancelled else card_buttons(event, occurrence, False)
        text = card(event, occurrence, organisation, coming, waiting)
        return make_reply(head + "\n\n" + text, buttons, Format.HTML)

    told: set[tuple[str, int]] = set()
    attendees = await session.scalars(
        select(Person)
        .join(Attendance, Attendance.person_id == Person.id)
        .where(
            Attendance.event_id == event.id,
            Attendance.occurrence >= now - duration(event),
            # who said they cannot come (and wants no reminder) is done with it
            or_(
                Attendance.coming.is_(True),
                Attendance.remind.is_(True),
                Attendance.waiting_since.is_not(None),
            ),
        )
    )
    for person in attendees:
        if ("p", person.id) not in told:
            told.add(("p", person.id))
            await notifier.to_person(person, render)
    for subscription, target in await subscribers(session, event):
        key = ("p" if isinstance(target, Person) else "c", target.id)
        if key not in told:
            told.add(key)
            await send(notifier, target, render, subscription.language)
    if not cancelled:
        schedule_reminders(services, event, now)
    return len(told)


def _shifted(occurrence: datetime, before: Event, event: Event) -> datetime:
    """Where an occurrence of the event as it was lands now: moved by the change of the first
    start in local wall-clock time, so a weekly event keeps its weekday across DST."""
    old_zone, new_zone = ZoneInfo(before.timezone), ZoneInfo(event.timezone)
    shift = event.starts_at.astimezone(new_zone).replace(
        tzinfo=None
    ) - before.starts_at.astimezone(old_zone).replace(tzinfo=None)
    local = occurrence.astimezone(old_zone).replace(tzinfo=None) + shift
    return local.replace(tzinfo=new_zone).astimezone(UTC)


async def reschedule(
    session: AsyncSession, services: Services, event: Event, before: Event, now: datetime
) -> int:
    """After an event moved (time, time zone or repetition changed): registrations for
    upcoming occurrences move with it, those that match no new occurrence are dropped, and
    the old occurrence's reminder jobs go. Returns how many registrations were dropped."""
    fields = ("starts_at", "ends_at", "timezone", "repeat", "repeat_until")
    if all(getattr(before, f) == getattr(event, f) for f in fields):
        return 0
    rows = list(
        await session.scalars(
            select(Attendance).where(
                Attendance.event_id == event.id, Attendance.occurrence >= now - duration(before)
            )
        )
    )
    moved: dict[tuple[int, datetime], Attendance] = {}
    dropped = 0
    for row in rows:
        await session.delete(row)
        target = _shifted(row.occurrence, before, event)
        if target not in occurrences(event, target, target) or target + duration(event) <= now:
            dropped += 1
            continue
        same = moved.get((row.person_id, target))
        if same is not None:  # two old registrations land on one occurrence: keep one
            same.coming, same.remind = same.coming or row.coming, same.remind or row.remind
            dropped += 1
            continue
        moved[(row.person_id, target)] = Attendance(
            event_id=event.id,
            person_id=row.person_id,
            occurrence=target,
            coming=row.coming,
            remind=row.remind,
            waiting_since=row.waiting_since,
            moved_up_at=row.moved_up_at,
            cancelled_at=row.cancelled_at,
            created_at=row.created_at,
        )
    await session.flush()  # the old rows go before the new ones meet the unique constraint
    session.add_all(moved.values())
    await session.flush()
    old_next, new_next = next_occurrence(before, now), next_occurrence(event, now)
    if old_next is not None and old_next != new_next:
        for kind in REMINDERS:
            services.remove_job_after_commit(
                f"remind:{event.id}:{occurrence_key(old_next)}:{kind}"
            )
    return dropped


async def fill_freed_seats(notifier: Notifier, event: Event, now: datetime) -> int:
    """After an edit gave more places (or lifted the limit), the first on each upcoming
    occurrence's waiting list move up and are told. Returns how many moved up."""
    session = notifier.session
    waiting = sorted(
        set(
            await session.scalars(
                select(Attendance.occurrence).where(
                    Attendance.event_id == event.id,
                    Attendance.waiting_since.is_not(None),
                    Attendance.occurrence >= now - duration(event),
                )
            )
        )
    )
    if not waiting:
        return 0
    await hold_seats(session, event.id)
    moved = 0
    for occurrence in waiting:
        for row in await move_up(session, event, occurrence, now):
            person = await session.get(Person, row.person_id)
            if person is not None:
                await notifier.to_person(person, partial(moved_up_message, event, occurrence))
                moved += 1
    return moved


def schedule_reminders(services: Services, event: Event, now: datetime) -> None:
    """Put the next occurrence's reminders into the persistent job store (if it runs here);
    the periodic upkeep covers whatever is not scheduled."""
    occurrence = next_occurrence(event, now)
    if services.scheduler is None or occurrence is None:
        return
    for kind, before in REMINDERS.items():
        when = occurrence - before
        if when > now:
            services.run_job_at(
                "event_reminder",
                when,
                [event.id, occurrence_key(occurrence), kind],
                f"remind:{event.id}:{occurrence_key(occurrence)}:{kind}",
            )


async def remind(
    session: AsyncSession, services: Services, event_id: int, key: str, kind: str, now: datetime
) -> int:
    """Send one reminder to those who come or asked; nothing if it is no longer meaningful."""
    event = await session.get(Event, event_id)
    from handlers.events.listing import parse_key

    occurrence = parse_key(key)
    if (
        event is None
        or occurrence is None
        or event.status != EventStatus.PUBLISHED
        or occurrence <= now
        or kind not in REMINDERS
        or occurrence not in occurrences(event, occurrence, occurrence)
    ):
        return 0  # cancelled, moved, or begun: a late reminder helps nobody
    due = occurrence - REMINDERS[kind]
    if due > now + timedelta(minutes=1):
        return 0  # not yet due
    if now > due + REMINDER_GRACE[kind]:
        return 0  # its moment passed while the bot was down
    if not await claim_alert(session, f"remind:{event.id}:{key}:{kind}", now):
        return 0
    notifier = Notifier(session, services)
    organisation = (
        await session.get(Organisation, event.organisation_id) if event.organisation_id else None
    )
    # Who cancelled has coming and remind off; who moved up from the waiting list comes.
    people = await session.execute(
        select(Person, Attendance.coming)
        .join(Attendance, Attendance.person_id == Person.id)
        .where(
            Attendance.event_id == event.id,
            Attendance.occurrence == occurrence,
            or_(Attendance.coming.is_(True), Attendance.remind.is_(True)),
        )
    )

    taken = await coming_count(session, event.id, occurrence)

    def render(coming: bool) -> Reply:
        head = _("Reminder: tomorrow") if kind == "day" else _("Reminder: in one hour")
        value = f"{event.id}:{key}"
        buttons = [[Button("event.uncome", _("I can't come after all"), value)]] if coming else []
        return make_reply(
            head + "\n\n" + card(event, occurrence, organisation, taken), buttons, Format.HTML
        )

    count = 0
    for person, coming in list(people):
        await notifier.to_person(person, partial(render, coming))
        count += 1
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return count


def digest_due(now: datetime, zone: ZoneInfo, weekday: int, hour: int) -> str | None:
    """The ISO week whose digest is due now in this time zone, or None before its time."""
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    slot = datetime(monday.year, monday.month, monday.day, hour, tzinfo=zone) + timedelta(
        days=weekday
    )
    if local < slot:
        return None
    year, week, _day = local.isocalendar()
    return f"{year}-W{week:02d}"


def digest_title(event: Event) -> str:
    """The title on its bullet's line, marked there if it is not in the reader's language."""
    title, original = multilang.pick(event.title)
    marker = multilang.note(original)
    return f"{title} {marker}" if marker else title


async def send_digests(session: AsyncSession, services: Services, now: datetime) -> int:
    """The weekly digest, at the configured day and hour in each recipient's time zone."""
    settings = services.settings
    notifier = Notifier(session, services)
    events = [
        e
        for e in await session.scalars(select(Event).where(Event.status == EventStatus.PUBLISHED))
    ]
    sent = 0
    for subscription in list(
        await session.scalars(select(Subscription).where(Subscription.digest.is_(True)))
    ):
        target = await recipient(session, subscription)
        if target is None:
            continue
        zone_name = (
            target.timezone
            if isinstance(target, Person) and target.timezone
            else settings.timezone
        )
        week = digest_due(now, ZoneInfo(zone_name), settings.digest_weekday, settings.digest_hour)
        if week is None:
            continue
        coming = sorted(
            (
                (e, o)
                for e in events
                if matches(subscription, e)
                for o in occurrences(e, now, now + timedelta(days=7))
            ),
            key=lambda pair: pair[1],
        )
        if not await claim_alert(session, f"digest:{subscription.id}:{week}", now):
            continue
        if not coming:
            continue

        def render(coming: list[tuple[Event, datetime]] = coming) -> Reply:
            lines = [_("Events in the coming week:"), ""]
            lines += [f"• {format_moment(o)} – {digest_title(e)}" for e, o in coming]
            lines += ["", _("Details and registration: /events")]
            return make_reply("\n".join(lines))

        await send(notifier, target, render, subscription.language)
        sent += 1
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    return sent


async def upkeep(session: AsyncSession, services: Services, now: datetime) -> dict[str, int]:
    """Runs every few minutes: announce what was never announced, send due reminders that
    have no job (lost, or beyond the job horizon), and the digests that are due."""
    notifier = Notifier(session, services)
    announced = 0
    for event in list(
        await session.scalars(
            select(Event).where(
                Event.status == EventStatus.PUBLISHED, Event.announced_at.is_(None)
            )
        )
    ):
        if await announce(notifier, services, event, now, None):
            announced += 1
    await session.commit()
    if notifier.queued:
        services.outbox_changed()
    reminded = 0
    for event in list(
        await session.scalars(select(Event).where(Event.status == EventStatus.PUBLISHED))
    ):
        for occurrence in occurrences(event, now, now + timedelta(hours=25)):
            for kind, before in REMINDERS.items():
                if occurrence - before <= now < occurrence:
                    reminded += await remind(
                        session, services, event.id, occurrence_key(occurrence), kind, now
                    )
        schedule_reminders(services, event, now)
    await session.commit()
    services.flush_jobs()
    digests = await send_digests(session, services, now)
    return {
        "announced": announced,
        "reminded": reminded,
        "digests": digests,
        "horizon_days": HORIZON.days,
    }


@router.job("event_reminder")
async def event_reminder(services: Services, event_id: int, occurrence: str, kind: str) -> None:
    """A day or an hour before an event (a date job, see `schedule_reminders`)."""
    async with services.session_factory() as session:
        await remind(session, services, event_id, occurrence, kind, services.clock())


@router.job("events_upkeep", every=timedelta(minutes=5))
async def events_upkeep(services: Services) -> None:
    """Announcements never made, reminders without a job, and the weekly digests."""
    async with services.session_factory() as session:
        done = await upkeep(session, services, services.clock())
    logger.debug("events upkeep: %s", done)
