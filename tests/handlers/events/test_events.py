"""Events and alerts with a controllable clock: announcement, reminders, weekly digest in
German, Arabic and Ukrainian, cancellation, capacity, bad input, and a restart in the middle
of a 2,000-recipient announcement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from bot.app import App, open_app
from bot.config import Settings
from bot.core.outbox import LEASE, OutboxSender
from bot.core.types import OutgoingMessage
from db.models import Attendance, Event, OutboxMessage, Person, Subscription
from handlers.events.alerts import remind, send_digests, upkeep
from tests.support import Clock, Conversation, onboard, t, tn

ORG_INTENT = "I act for an initiative or organisation"


async def subscribe(chat: Conversation, user: str, language: str, digest: bool = True) -> None:
    from bot.core.i18n import LANGUAGE_NAMES

    await chat.say(user, "/subscribe")
    await chat.press(user, t(language, "Done"))  # all topics
    await chat.press(user, t(language, "The whole city"))
    await chat.press(user, t(language, "All events"))
    await chat.press(user, LANGUAGE_NAMES[language])
    seen = await chat.press(user, t(language, "Yes") if digest else t(language, "No"))
    assert seen[0].text.startswith(
        t(language, "Done! You will get alerts for: {summary}", summary="X").split("X")[0]
    )


async def publish_event(chat: Conversation, capacity: str = "2") -> None:
    await chat.say("carla", "/newevent")
    await chat.say("carla", "de: Nähcafé für alle\nar: مقهى الخياطة للجميع\nuk: Швейне кафе")
    await chat.press("carla", t("de", "Skip"))
    await chat.say("carla", "01.12.2026 18:00")
    await chat.say("carla", "20:00")
    await chat.press("carla", "Südstadt")
    await chat.say("carla", "Lindenweg 4")
    await chat.press("carla", t("de", "Everyday help"))
    await chat.press("carla", t("de", "everyone"))
    await chat.press("carla", t("de", "Done"))
    if capacity == "none":
        await chat.press("carla", t("de", "No limit"))
    else:
        await chat.say("carla", capacity)
    seen = await chat.press("carla", t("de", "once"))
    assert "Nähcafé für alle" in seen[0].text


async def setup(chat: Conversation) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    for user, language in (("dirk", "de"), ("samira", "ar"), ("olena", "uk")):
        await onboard(chat, user, language)
        await subscribe(chat, user, language)


async def test_announcement_reminders_and_cancellation(
    chat: Conversation, app: App, clock: Clock
) -> None:
    await setup(chat)
    await publish_event(chat)
    seen = await chat.press("carla", t("de", "Publish"))
    assert seen[0].text == tn(
        "de",
        "Published! The announcement goes to {count} subscriber.",
        "Published! The announcement goes to {count} subscribers.",
        3,
        count=3,
    )
    german, arabic, ukrainian = (chat.last(u) for u in ("dirk", "samira", "olena"))
    assert "Nähcafé für alle" in german.text and "Di., 1. Dez. 2026, 18:00" in german.text
    assert "مقهى الخياطة للجميع" in arabic.text and "ديسمبر" in arabic.text
    assert "Швейне кафе" in ukrainian.text and "груд." in ukrainian.text
    assert german.buttons == [
        t("de", "I'll come"),
        t("de", "Remind me"),
        t("de", "Add to calendar"),
    ]
    seen = await chat.press("carla", t("de", "Show progress"))
    assert seen[0].text == t("de", "Delivered to {delivered} of {total}.", delivered=3, total=3)
    # capacity 2: the third is told it is full and waits first in line
    await chat.press("dirk", t("de", "I'll come"))
    await chat.press("samira", t("ar", "I'll come"))
    seen = await chat.press("olena", t("uk", "I'll come"))
    assert seen[0].text == t(
        "uk",
        "This event is full. You are number {place} on the waiting list; I will tell you as "
        "soon as a place is free.",
        place=1,
    )
    await chat.press("olena", t("uk", "Remind me"))
    # the calendar file
    seen = await chat.press("dirk", t("de", "Add to calendar"))
    calendar = seen[0].message.attachment
    assert calendar is not None and calendar.mime_type == "text/calendar"
    assert b"DTSTART:20261201T170000Z" in calendar.content
    assert b"SUMMARY:N\xc3\xa4hcaf\xc3\xa9 f\xc3\xbcr alle" in calendar.content
    # 24 hours before: everyone who comes or asked is reminded, once
    clock.now = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)
    async with app.session_factory() as session:
        done = await upkeep(session, app.services, clock())
    assert done["reminded"] == 3
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 0
    await chat.sender.drain()

    def got(user: str, language: str, message: str) -> bool:
        return any(s.text.startswith(t(language, message)) for s in chat.messages(user))

    assert got("samira", "ar", "Reminder: tomorrow") and got("olena", "uk", "Reminder: tomorrow")
    # one hour before
    clock.now = datetime(2026, 12, 1, 16, 10, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 3
    await chat.sender.drain()
    assert got("dirk", "de", "Reminder: in one hour")
    # a reminder job that runs late, after the start, is dropped
    async with app.session_factory() as session:
        event = await session.scalar(select(Event))
        assert event is not None
        assert (
            await remind(
                session,
                app.services,
                event.id,
                "20261201T1700",
                "hour",
                datetime(2026, 12, 1, 18, 0, tzinfo=UTC),
            )
            == 0
        )
    # cancelling tells attendees and subscribers
    clock.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    await chat.say("carla", "/events")
    await chat.press("carla", t("de", "Cancel the event"))
    seen = await chat.press("carla", t("de", "Yes, cancel it"))
    assert seen[0].text == tn(
        "de",
        "The event is cancelled. {count} person was told.",
        "The event is cancelled. {count} people were told.",
        3,
        count=3,
    )
    assert chat.last("samira").text.startswith(t("ar", "This event has been cancelled:"))


async def test_after_downtime_a_reminder_whose_moment_has_passed_is_skipped(
    chat: Conversation, app: App, clock: Clock
) -> None:
    await setup(chat)
    await publish_event(chat, capacity="none")  # 1 December, 18:00 in Berlin (17:00 UTC)
    await chat.press("carla", t("de", "Publish"))
    await chat.press("dirk", t("de", "I'll come"))
    # the bot was down from the evening before until 90 minutes before the start
    clock.now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 0
    async with app.session_factory() as session:
        event = await session.scalar(select(Event))
        assert event is not None
        late_job = await remind(session, app.services, event.id, "20261201T1700", "day", clock())
        assert late_job == 0  # the stored job that fired late says nothing either
    await chat.sender.drain()
    assert not any(s.text.startswith(t("de", "Reminder: tomorrow")) for s in chat.messages("dirk"))
    # the hour reminder, at its time, still goes out
    clock.now = datetime(2026, 12, 1, 16, 5, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 1
    await chat.sender.drain()
    assert chat.last("dirk").text.startswith(t("de", "Reminder: in one hour"))


async def test_moving_an_event_moves_registrations_and_reminders(
    chat: Conversation, app: App, clock: Clock
) -> None:
    from bot import scheduler as scheduling

    jobs = scheduling.create_scheduler(app)
    jobs.start(paused=True)
    app.services.scheduler = jobs
    try:
        await setup(chat)
        await publish_event(chat, capacity="none")  # Tuesday 1 December, 18:00 in Berlin
        await chat.press("carla", t("de", "Publish"))
        await chat.press("dirk", t("de", "I'll come"))
        await chat.press("samira", t("ar", "Remind me"))
        # Carla moves it to Thursday, 3 December, same time
        await chat.say("carla", "/events")
        await chat.press("carla", t("de", "Change"))
        await chat.press("carla", t("de", "Date and time"))
        await chat.say("carla", "03.12.2026 18:00")
        await chat.say("carla", "20:00")
        await chat.press("carla", t("de", "Save"))
        assert chat.last("dirk").text.startswith(t("de", "This event has changed:"))
        assert "Do., 3. Dez. 2026, 18:00" in chat.last("dirk").text
        async with app.session_factory() as session:
            registered = {
                (a.person_id, a.occurrence) for a in await session.scalars(select(Attendance))
            }
        thursday = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
        assert {occurrence for _person, occurrence in registered} == {thursday}
        assert len(registered) == 2
        reminders = sorted(job.id.split(":", 2)[2] for job in jobs.get_jobs())
        assert [r for r in reminders if "T" in r] == ["20261203T1700:day", "20261203T1700:hour"]
    finally:
        app.services.scheduler = None
        jobs.shutdown(wait=False)
    # the day before the old date nobody is reminded; the day before the new one, both are
    clock.now = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 0
    clock.now = datetime(2026, 12, 2, 17, 5, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 2


async def test_weekly_digest_in_three_languages(
    chat: Conversation, app: App, clock: Clock
) -> None:
    await setup(chat)
    await publish_event(chat, capacity="none")
    await chat.press("carla", t("de", "Publish"))
    clock.now = datetime(2026, 11, 30, 6, 30, tzinfo=UTC)  # Monday 07:30 in Berlin
    async with app.session_factory() as session:
        assert await send_digests(session, app.services, clock()) == 0  # not yet 8:00
    clock.now = datetime(2026, 11, 30, 7, 5, tzinfo=UTC)  # Monday 08:05
    async with app.session_factory() as session:
        assert await send_digests(session, app.services, clock()) == 3
    async with app.session_factory() as session:
        assert await send_digests(session, app.services, clock()) == 0  # once a week
    await chat.sender.drain()
    assert chat.last("dirk").text.startswith(t("de", "Events in the coming week:"))
    assert "Di., 1. Dez. 2026, 18:00 – Nähcafé für alle" in chat.last("dirk").text
    assert "الثلاثاء" in chat.last("samira").text  # the weekday in Arabic
    assert "вт, 1 груд. 2026\u202fр., 18:00 – Швейне кафе" in chat.last("olena").text


async def test_bad_input_when_creating_an_event(chat: Conversation) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await chat.say("carla", "/newevent")
    await chat.say("carla", "Infoabend")
    await chat.press("carla", t("de", "Skip"))
    seen = await chat.say("carla", "01.01.2020 10:00")
    assert seen[0].text == t("de", "That date is in the past. Please give a date from today on.")
    seen = await chat.say("carla", "12.12. 18:00 Mars/Olympus")
    assert seen[0].text == t(
        "de",
        "I do not know the time zone {zone}. Please use a name like Europe/Berlin.",
        zone="Mars/Olympus",
    )
    await chat.say("carla", "12.12. 18:00 Europe/Kyiv")
    seen = await chat.say("carla", "17:00")
    assert seen[0].text == t("de", "The end must be after the start.")
    seen = await chat.say("carla", "19:30")
    assert seen[0].text == t(
        "de",
        "Where does it take place? An address, or a link for "
        "online events (https://…). Choose the district if it is "
        "in the city.",
    )
    seen = await chat.say("dirk", "/newevent", lang="de")
    assert seen[0].text.startswith(
        t("de", "Before I can do that, I need your consent to store your data.")
    )


async def test_a_restart_during_a_2000_recipient_announcement(
    chat: Conversation, app: App, settings: Settings, clock: Clock
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    now = clock()
    async with app.session_factory() as session:
        await session.execute(
            insert(Person),
            [
                {
                    "platform": "bulk",
                    "platform_user_id": f"u{i}",
                    "language": "de",
                    "consent_version": 2,
                    "consent_at": now,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for i in range(2000)
            ],
        )
        ids = list(await session.scalars(select(Person.id).where(Person.platform == "bulk")))
        await session.execute(
            insert(Subscription),
            [
                {
                    "person_id": pid,
                    "topics": ",",
                    "language": "de",
                    "digest": False,
                    "created_at": now,
                }
                for pid in ids
            ],
        )
        await session.commit()
    await publish_event(chat, capacity="none")
    await chat.press("carla", t("de", "Publish"))
    async with app.session_factory() as session:
        queued = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.platform == "bulk")
        )
    assert queued == 2000  # queued together with the event, in one transaction
    delivered: list[str] = []
    hang = asyncio.Event()

    async def deliver_then_die(message: OutgoingMessage) -> None:
        if len(delivered) >= 700:
            await hang.wait()  # the process dies here: this one never goes out
        delivered.append(message.chat_id)

    sender = OutboxSender(
        app.session_factory, "bulk", deliver_then_die, clock=clock, concurrency=1
    )
    task = asyncio.create_task(sender.drain())
    while len(delivered) < 700:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await app.close()
    restarted = await open_app(settings, migrate=False, clock=clock)  # a new process
    try:

        async def deliver(message: OutgoingMessage) -> None:
            delivered.append(message.chat_id)

        again = OutboxSender(restarted.session_factory, "bulk", deliver, clock=clock)
        await again.recover()  # on SQLite the old process is surely gone: at once
        clock.advance(seconds=LEASE.total_seconds() + 1)  # elsewhere: when its lease runs out
        await again.drain()
    finally:
        await restarted.close()
    assert len(delivered) == 2000 and len(set(delivered)) == 2000


async def test_reminder_jobs_persist_in_the_job_store(
    chat: Conversation, app: App, clock: Clock
) -> None:
    from bot import scheduler as scheduling

    first = scheduling.create_scheduler(app)
    first.start(paused=True)
    app.services.scheduler = first
    await onboard(chat, "carla", "de", ORG_INTENT)
    await publish_event(chat, capacity="none")
    await chat.press("carla", t("de", "Publish"))
    first.shutdown(wait=False)
    app.services.scheduler = None
    second = scheduling.create_scheduler(app)
    second.start(paused=True)
    try:
        jobs = {job.id: job for job in second.get_jobs()}
    finally:
        second.shutdown(wait=False)
    day = next(j for k, j in jobs.items() if k.endswith(":day"))
    assert day.next_run_time == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert any(k.endswith(":hour") for k in jobs)
    assert timedelta


async def test_a_farsi_reader_counts_places_in_persian_digits(
    chat: Conversation, app: App
) -> None:
    from lotse.demo import load_demo

    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "maryam", "fa")
    seen = await chat.say("maryam", "/events")
    places = t("fa", "Places: {free} of {capacity} free", free="X", capacity="Y").split("X")[0]
    lines = [line for s in seen for line in s.text.split("\n") if line.startswith(places)]
    assert lines and not any(c in "0123456789" for line in lines for c in line)
