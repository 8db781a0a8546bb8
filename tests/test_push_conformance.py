"""Every kind of push reaches a person exactly once, on every platform.

The same eight pushes (an offer, a review card, a ticket answer, an event reminder, the weekly
digest, a broadcast, a poll and a survey invitation) are queued by the code that sends them for
real, for one person on the terminal, on Telegram (fake Bot API, real HTTP) and on Matrix (real
Synapse; the bot has to make the direct room first). Each must arrive once, and nothing else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import App, open_app
from bot.config import Settings
from bot.core import multilang
from bot.core.context import make_reply
from bot.core.notify import Notifier
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.console import ConsoleTransport
from bot.transports.telegram import TelegramTransport
from db.models import (
    Attendance,
    Broadcast,
    Event,
    Need,
    Person,
    PersonRole,
    Poll,
    Subscription,
    Survey,
)
from handlers.events.alerts import remind, send_digests
from handlers.events.listing import occurrence_key
from handlers.network.polls import ballot
from handlers.network.surveys import invitation
from handlers.network.tickets import _answer_message
from handlers.volunteering.offers import notify_coordinators_of_need, publish
from tests.support import Clock, make_volunteer, t, visible

#: What identifies each push in the text the person sees.
KINDS = {
    "offer": "Hausaufgabenhilfe in der Grundschule",
    "review": "Fahrradwerkstatt am Samstag",
    "ticket answer": "Die Beratungsstelle hat dienstags offen.",
    "reminder": t("de", "Reminder: tomorrow"),
    "digest": t("de", "Events in the coming week:"),
    "broadcast": "Rundbrief: Sommerfest am 5. Juli",
    "poll": "Welcher Termin passt fürs Plenum?",
    "survey": "Zufriedenheit mit der Begleitung",
}


async def volunteer(app: App, platform: str, user_id: str) -> int:
    """Lina, a volunteer who signed up earlier."""
    return await make_volunteer(app, user_id, platform=platform, activities=("childcare",))


async def push_everything(app: App, person_id: int) -> None:
    """Make the person a coordinator too, then queue one push of each kind."""
    services = app.services
    now = services.clock()
    async with app.session_factory() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        person.roles.append(PersonRole(role="coordinator", granted_at=now))
        notifier = Notifier(session, services)
        offered = Need(
            title=KINDS["offer"],
            activity="childcare",
            when_kind="flexible",
            until=now + timedelta(days=9),
        )
        reviewed = Need(
            title=KINDS["review"],
            activity="repairs",
            when_kind="flexible",
            status="pending_review",
            until=now + timedelta(days=9),
        )
        session.add_all([offered, reviewed])
        await session.flush()
        assert await publish(notifier, services, offered, now) == 1
        await notify_coordinators_of_need(notifier, services, reviewed)
        await notifier.to_person(person, _answer_message(1, KINDS["ticket answer"]))
        broadcast = Broadcast(created_by_person_id=person.id, audience="everyone", created_at=now)
        poll = Poll(
            question={"de": KINDS["poll"]},
            options=[{"de": "Montag"}, {"de": "Donnerstag"}],
            deadline=now + timedelta(days=3),
        )
        survey = Survey(
            title={"de": KINDS["survey"]},
            questions=[{"kind": "scale", "text": {"de": "Wie zufrieden sind Sie?"}}],
            audience="volunteers",
        )
        session.add_all([broadcast, poll, survey])
        await session.flush()
        notifier.broadcast_id = broadcast.id
        await notifier.to_person(
            person, lambda: make_reply(multilang.show({"de": KINDS["broadcast"]}))
        )
        notifier.broadcast_id = None
        await notifier.to_person(person, ballot(poll))
        await notifier.to_person(person, invitation(survey))
        occurrence = now.replace(second=0, microsecond=0) + timedelta(hours=23)
        event = Event(
            title={"de": "Nähcafé für alle"},
            starts_at=occurrence,
            ends_at=occurrence + timedelta(hours=2),
            timezone="Europe/Berlin",
            topic="everyday",
        )
        session.add(event)
        await session.flush()
        session.add(Attendance(event_id=event.id, person_id=person.id, occurrence=occurrence))
        session.add(Subscription(person_id=person.id, language="de", digest=True))
        await session.commit()
        event_id = event.id
    async with app.session_factory() as session:
        assert (
            await remind(session, services, event_id, occurrence_key(occurrence), "day", now) == 1
        )
    async with app.session_factory() as session:
        assert await send_digests(session, services, now) == 1
    services.outbox_changed()


def assert_each_once(texts: list[str]) -> None:
    for kind, marker in KINDS.items():
        hits = [text for text in texts if marker in text]
        assert len(hits) == 1, (kind, texts)
    assert len(texts) == len(KINDS), texts


class RunningClock(Clock):
    """Pinned to a Wednesday morning, then running: Telegram's pacing waits real seconds."""

    def __init__(self) -> None:
        super().__init__()
        self.began = time.monotonic()

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self.began)


@pytest.fixture
def clock() -> Clock:
    return RunningClock()


def pinned_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, default_language="de", timezone="Europe/Berlin")


async def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def settle(count: Callable[[], int], quiet: float = 1.5) -> None:
    """Wait until nothing more arrives for a moment (a duplicate would arrive late)."""
    seen = count()
    while True:
        await asyncio.sleep(quiet)
        if count() == seen:
            return
        seen = count()


async def test_every_push_arrives_once_on_the_terminal(settings: Settings, clock: Clock) -> None:
    app = await open_app(pinned_settings(settings), migrate=False, clock=clock)
    output = io.StringIO()
    console = ConsoleTransport(app, user="lina", output=output)
    try:
        await push_everything(app, await volunteer(app, "console", "lina"))
        await console.sender.drain()
        await console.sender.drain()  # nothing is left for a second round
    finally:
        await app.close()
    blocks = output.getvalue().split("[to lina]\n")[1:]
    assert_each_once([visible(block) for block in blocks])


async def test_every_push_arrives_once_on_telegram(
    telegram_settings: Settings, bot_api: FakeBotAPI, clock: Clock
) -> None:
    bot_api.private_needs_start = True
    app = await open_app(pinned_settings(telegram_settings), migrate=False, clock=clock)
    transport = TelegramTransport(app, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        await wait_until(lambda: transport.application.running and bool(transport.username))
        lina = await volunteer(app, "telegram", "501")
        bot_api.says(501, "/help")  # Lina uses the bot: her private chat is open
        await bot_api.wait_sent(501, 1)
        await push_everything(app, lina)
        await bot_api.wait_sent(501, 1 + len(KINDS), timeout=30)
        await settle(lambda: len(bot_api.sent_to(501)))
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
        await app.close()
    assert_each_once([visible(s.text) for s in bot_api.sent_to(501)[1:]])


@pytest.mark.slow
async def test_every_push_arrives_once_on_matrix(
    synapse: object, matrix_settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    from bot.transports.matrix import MatrixTransport
    from tests.matrix_people import MatrixPerson
    from tests.synapse import Synapse

    assert isinstance(synapse, Synapse)
    user_id = synapse.register(f"lina{len(synapse.passwords)}")
    lina = await MatrixPerson(
        synapse.url, user_id, synapse.passwords[user_id], tmp_path / "lina"
    ).start()
    app = await open_app(pinned_settings(matrix_settings), migrate=False, clock=clock)
    transport = MatrixTransport(app, sync_timeout_ms=1000)
    stop = asyncio.Event()
    task = asyncio.create_task(transport.run(stop))
    try:
        await asyncio.wait_for(transport.ready.wait(), 60)
        await push_everything(app, await volunteer(app, "matrix", user_id))
        await wait_until(lambda: bool(lina.client.invited_rooms))
        room = next(iter(lina.client.invited_rooms))
        await lina.join(room)  # she accepts the bot's invitation to a direct chat
        await lina.wait_replies(room, transport.user_id, len(KINDS), timeout=60, quiet=2.0)
        assert transport.client.rooms[room].encrypted and lina.undecrypted == 0
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await app.close()
        await lina.stop()
    assert_each_once([visible(r.body) for r in lina.received])
