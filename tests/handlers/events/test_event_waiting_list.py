"""A full event keeps a waiting list: who cannot come after all frees the seat, the first who
waits moves up and is told once (in the conversation, on the terminal, on Telegram), the
organiser's count stays right, reminders follow who really comes, and two people pressing for
the last seat at once never overbook it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, open_app
from bot.config import Settings
from bot.core.types import Actor, ButtonPress, Chat, ChatKind, Incoming
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.console import ConsoleTransport
from bot.transports.telegram import TelegramTransport
from db.models import Attendance, Event, Person
from handlers.events.alerts import upkeep
from handlers.people.mydata_export import collect
from tests.handlers.events.test_events import ORG_INTENT, publish_event
from tests.support import Clock, Conversation, make_volunteer, onboard, t, visible
from tests.test_push_conformance import RunningClock, pinned_settings, settle, wait_until

FULL = (
    "This event is full. You are number {place} on the waiting list; I will tell you as soon "
    "as a place is free."
)
MOVED_UP = (
    "Good news: a place became free. You are now registered for {title} on {date}. I will "
    "remind you a day and an hour before."
)
CANCELLED = "Your registration is cancelled, and your place is free for someone else."
CANT_COME = "I can't come after all"


def moved_up_notices(chat: Conversation, user: str, language: str) -> list[str]:
    head = t(language, MOVED_UP, title="X", date="Y").split("X")[0]
    return [s.text for s in chat.messages(user) if s.text.startswith(head)]


async def published_event(chat: Conversation, app: App, capacity: str) -> str:
    """Carla publishes the sewing café (1 December, 18:00 in Berlin); returns its link."""
    await onboard(chat, "carla", "de", ORG_INTENT)
    await publish_event(chat, capacity=capacity)
    await chat.press("carla", t("de", "Publish"))
    async with app.session_factory() as session:
        event = await session.scalar(select(Event))
        assert event is not None
        return f"/start event_{event.id}"


async def attendance_of(app: App, user: str) -> Attendance:
    async with app.session_factory() as session:
        row = await session.scalar(
            select(Attendance)
            .join(Person, Person.id == Attendance.person_id)
            .where(Person.platform_user_id == user)
        )
        assert row is not None
        return row


async def test_a_freed_seat_goes_to_the_first_on_the_waiting_list(
    chat: Conversation, app: App, clock: Clock
) -> None:
    link = await published_event(chat, app, capacity="1")
    for user, language in (("dirk", "de"), ("samira", "ar"), ("olena", "uk")):
        await onboard(chat, user, language)
        await chat.say(user, link)
    await chat.press("dirk", t("de", "I'll come"))
    # the event is full: Samira and Olena wait, in the order they asked
    seen = await chat.press("samira", t("ar", "I'll come"))
    assert seen[0].text == t("ar", FULL, place=1)
    seen = await chat.press("olena", t("uk", "I'll come"))
    assert seen[0].text == t("uk", FULL, place=2)
    seen = await chat.press("samira", t("ar", "I'll come"))
    assert seen[0].text == t(
        "ar", "You are already on the waiting list, as number {place}.", place=1
    )
    shown = (await chat.say("carla", link))[0]
    assert t("de", "Places: {free} of {capacity} free", free=0, capacity=1) in shown.text
    assert t("de", "Waiting list: {count}", count=2) in shown.text
    # Dirk cannot come after all: his card offers the way out
    shown = (await chat.say("dirk", link))[0]
    assert t("de", "You are registered.") in shown.text
    assert shown.buttons[0] == t("de", CANT_COME)
    seen = await chat.press("dirk", t("de", CANT_COME))
    assert seen[0].text == t("de", CANCELLED)
    # Samira moves up and is told once; Olena is now first in line
    assert len(moved_up_notices(chat, "samira", "ar")) == 1
    assert moved_up_notices(chat, "olena", "uk") == []
    shown = (await chat.say("samira", link))[0]
    assert t("ar", "You are registered.") in shown.text
    assert shown.buttons[0] == t("ar", CANT_COME)
    shown = (await chat.say("olena", link))[0]
    assert t("uk", "You are number {place} on the waiting list.", place=1) in shown.text
    assert shown.buttons[0] == t("uk", "Leave the waiting list")
    shown = (await chat.say("carla", link))[0]
    assert t("de", "Places: {free} of {capacity} free", free=0, capacity=1) in shown.text
    assert t("de", "Waiting list: {count}", count=1) in shown.text
    # a day before, only who comes is reminded: Samira, not Dirk, not Olena
    clock.now = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 1
    await chat.sender.drain()
    reminder = chat.last("samira")
    assert reminder.text.startswith(t("ar", "Reminder: tomorrow"))
    assert reminder.buttons == [t("ar", CANT_COME)]
    for user, language in (("dirk", "de"), ("olena", "uk")):
        assert not any(
            s.text.startswith(t(language, "Reminder: tomorrow")) for s in chat.messages(user)
        )
    # Samira cancels from the reminder; Olena moves up and gets the hour's reminder
    seen = await chat.press("samira", t("ar", CANT_COME))
    assert seen[0].text == t("ar", CANCELLED)
    assert len(moved_up_notices(chat, "olena", "uk")) == 1
    assert len(moved_up_notices(chat, "samira", "ar")) == 1
    clock.now = datetime(2026, 12, 1, 16, 10, tzinfo=UTC)
    async with app.session_factory() as session:
        assert (await upkeep(session, app.services, clock()))["reminded"] == 1
    await chat.sender.drain()
    assert chat.last("olena").text.startswith(t("uk", "Reminder: in one hour"))
    # /mydata shows each attendance as it is
    async with app.session_factory() as session:
        exported = {}
        for user in ("dirk", "samira", "olena"):
            person = await session.scalar(select(Person).where(Person.platform_user_id == user))
            assert person is not None
            exported[user] = (await collect(session, person))["event_attendance"][0]
    assert exported["dirk"]["coming"] is False and exported["dirk"]["cancelled_at"]
    assert exported["samira"]["moved_up_at"] and exported["samira"]["cancelled_at"]
    assert exported["olena"]["coming"] is True and exported["olena"]["moved_up_at"]
    assert exported["olena"]["waiting_since"] is None


async def test_leaving_the_waiting_list_moves_nobody(chat: Conversation, app: App) -> None:
    link = await published_event(chat, app, capacity="1")
    for user in ("dirk", "eva"):
        await onboard(chat, user, "de")
        await chat.say(user, link)
        await chat.press(user, t("de", "I'll come"))
    await chat.say("eva", link)
    seen = await chat.press("eva", t("de", "Leave the waiting list"))
    assert seen[0].text == t("de", "You have left the waiting list.")
    row = await attendance_of(app, "eva")
    assert not row.coming and row.waiting_since is None and row.cancelled_at is not None
    assert (await attendance_of(app, "dirk")).coming


async def test_more_places_after_an_edit_move_the_waiting_up(chat: Conversation, app: App) -> None:
    link = await published_event(chat, app, capacity="1")
    for user in ("dirk", "eva"):
        await onboard(chat, user, "de")
        await chat.say(user, link)
        await chat.press(user, t("de", "I'll come"))
    await chat.say("carla", link)
    await chat.press("carla", t("de", "Change"))
    await chat.press("carla", t("de", "Places"))
    await chat.say("carla", "2")
    await chat.press("carla", t("de", "Save"))
    assert len(moved_up_notices(chat, "eva", "de")) == 1
    assert (await attendance_of(app, "eva")).coming


async def test_people_pressing_for_the_last_seats_at_once_never_overbook(
    chat: Conversation, app: App
) -> None:
    link = await published_event(chat, app, capacity="2")
    people = [f"person{i}" for i in range(6)]
    presses = []
    for user in people:
        await onboard(chat, user, "de")
        card = (await chat.say(user, link))[0]
        presses.append(
            Incoming(
                Actor("fake", user, user.capitalize(), None),
                Chat("fake", user, ChatKind.PRIVATE),
                button=ButtonPress(card.token(t("de", "I'll come"))),
            )
        )
    await asyncio.gather(*(app.dispatcher.handle(incoming) for incoming in presses))
    async with app.session_factory() as session:
        rows = list(await session.scalars(select(Attendance)))
    assert sum(row.coming for row in rows) == 2
    waiting = sorted((row.waiting_since, row.id) for row in rows if not row.coming)
    assert len(waiting) == 4 and all(since is not None for since, _id in waiting)


# --- the move-up push on the terminal and on Telegram -------------------------------------------
@pytest.fixture
def running_clock() -> Clock:
    return RunningClock()


async def full_event_with_lina_waiting(app: App, lina_id: int) -> str:
    """Dirk (on the fake platform) holds the only seat; Lina waits. Returns the event link."""
    dirk = await make_volunteer(app, "dirk")
    now = app.services.clock()
    occurrence = now.replace(second=0, microsecond=0) + timedelta(days=3)
    async with app.session_factory() as session:
        event = Event(
            title={"de": "Nähcafé für alle"},
            starts_at=occurrence,
            ends_at=occurrence + timedelta(hours=2),
            timezone="Europe/Berlin",
            topic="everyday",
            capacity=1,
        )
        session.add(event)
        await session.flush()
        session.add_all(
            [
                Attendance(event_id=event.id, person_id=dirk, occurrence=occurrence),
                Attendance(
                    event_id=event.id,
                    person_id=lina_id,
                    occurrence=occurrence,
                    coming=False,
                    remind=False,
                    waiting_since=now,
                ),
            ]
        )
        await session.commit()
        return f"/start event_{event.id}"


async def dirk_cannot_come(app: App, link: str) -> None:
    chat = Conversation(app)
    await chat.say("dirk", link)
    seen = await chat.press("dirk", t("de", CANT_COME))
    assert seen[0].text == t("de", CANCELLED)


def moved_up_texts(texts: list[str]) -> list[str]:
    head = t("de", MOVED_UP, title="X", date="Y").split("X")[0]
    return [text for text in texts if head in text]


async def test_the_move_up_arrives_once_on_the_terminal(
    settings: Settings, running_clock: Clock
) -> None:
    app = await open_app(pinned_settings(settings), migrate=False, clock=running_clock)
    output = io.StringIO()
    console = ConsoleTransport(app, user="lina", output=output)
    try:
        lina = await make_volunteer(app, "lina", platform="console")
        await dirk_cannot_come(app, await full_event_with_lina_waiting(app, lina))
        await console.drain()
        await console.drain()  # nothing is left for a second round
        assert (await attendance_of(app, "lina")).coming
    finally:
        await app.close()
    blocks = [visible(block) for block in output.getvalue().split("[to lina]\n")[1:]]
    assert len(blocks) == 1 and len(moved_up_texts(blocks)) == 1
    assert t("de", CANT_COME) in blocks[0]


async def test_the_move_up_arrives_once_on_telegram(
    telegram_settings: Settings, bot_api: FakeBotAPI, running_clock: Clock
) -> None:
    app = await open_app(pinned_settings(telegram_settings), migrate=False, clock=running_clock)
    transport = TelegramTransport(app, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        await wait_until(lambda: transport.application.running and bool(transport.username))
        lina = await make_volunteer(app, "501", platform="telegram")
        bot_api.says(501, "/help")  # Lina uses the bot: her private chat is open
        await bot_api.wait_sent(501, 1)
        await dirk_cannot_come(app, await full_event_with_lina_waiting(app, lina))
        app.services.outbox_changed()
        await bot_api.wait_sent(501, 2, timeout=30)
        await settle(lambda: len(bot_api.sent_to(501)))
        assert (await attendance_of(app, "501")).coming
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await app.close()
    pushed = bot_api.sent_to(501)[1:]
    assert len(pushed) == 1 and len(moved_up_texts([visible(s.text) for s in pushed])) == 1
    assert [visible(b) for b, _ in pushed[0].buttons] == [t("de", CANT_COME)]


@pytest.mark.slow
async def test_the_move_up_arrives_once_on_matrix(
    synapse: object, matrix_settings: Settings, running_clock: Clock, tmp_path: Path
) -> None:
    """Lina waits on Matrix; the bot has to make her direct room for the move-up first."""
    from bot.transports.matrix import MatrixTransport
    from tests.matrix_people import MatrixPerson
    from tests.synapse import Synapse

    assert isinstance(synapse, Synapse)
    user_id = synapse.register(f"lina{len(synapse.passwords)}")
    lina = await MatrixPerson(
        synapse.url, user_id, synapse.passwords[user_id], tmp_path / "lina"
    ).start()
    app = await open_app(pinned_settings(matrix_settings), migrate=False, clock=running_clock)
    transport = MatrixTransport(app, sync_timeout_ms=1000)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        await asyncio.wait_for(transport.ready.wait(), 60)
        lina_id = await make_volunteer(app, user_id, platform="matrix")
        await dirk_cannot_come(app, await full_event_with_lina_waiting(app, lina_id))
        app.services.outbox_changed()
        await wait_until(lambda: bool(lina.client.invited_rooms))
        room = next(iter(lina.client.invited_rooms))
        await lina.join(room)
        await lina.wait_replies(room, transport.user_id, 1, timeout=60, quiet=2.0)
        assert (await attendance_of(app, user_id)).coming
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await app.close()
        await lina.stop()
    received = [visible(r.body) for r in lina.received]
    assert len(received) == 1 and len(moved_up_texts(received)) == 1
