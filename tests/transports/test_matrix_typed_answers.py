"""Typed answers on the real Synapse: pushes with their own handles in the middle of a form,
number labels, a reply that answers the message it replies to, report notices acted on by
handle, and `/events` cards after the filter keyboard (encrypted direct rooms throughout)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, open_app
from bot.config import Settings
from bot.transports.matrix import MatrixTransport
from db.models import Attendance, Offer, Person, VolunteerProfile
from tests.drivers import Shown, shown_from_matrix
from tests.matrix_people import MatrixPerson, Received
from tests.support import Clock, Conversation, make_volunteer, onboard, t
from tests.synapse import Synapse
from tests.test_typed_answers import a_coordinator_posts_a_need

pytestmark = pytest.mark.slow


@dataclasses.dataclass
class Room:
    """A person's encrypted direct room with the bot, and what they read there."""

    person: MatrixPerson
    room_id: str
    bot: str

    def shown(self) -> list[tuple[Received, Shown]]:
        return [(r, shown_from_matrix(r)) for r in self.person.from_bot(self.room_id, self.bot)]

    async def say(self, text: str, *, reply_to: str | None = None) -> list[Shown]:
        before = len(self.person.from_bot(self.room_id, self.bot))
        await self.person.say(self.room_id, text, reply_to=reply_to)
        replies = await self.person.wait_replies(self.room_id, self.bot, before + 1, quiet=0.8)
        return [shown_from_matrix(r) for r in replies[before:]]

    async def wait_for(self, predicate, timeout: float = 30) -> tuple[Received, Shown]:  # type: ignore[no-untyped-def]
        for _ in range(int(timeout * 10)):
            for received, shown in reversed(self.shown()):
                if predicate(shown):
                    return received, shown
            await asyncio.sleep(0.1)
        raise AssertionError(f"not shown: {[s.text for _, s in self.shown()]}")


@dataclasses.dataclass
class Lotse:
    app: App
    matrix: MatrixTransport
    synapse: Synapse
    folder: Path
    people: list[MatrixPerson] = dataclasses.field(default_factory=list)

    async def room(self, name: str) -> Room:
        user_id = self.synapse.register(f"{name}{len(self.synapse.passwords)}")
        person = await MatrixPerson(
            self.synapse.url, user_id, self.synapse.passwords[user_id], self.folder / name
        ).start()
        self.people.append(person)
        room_id = await person.create_room([self.matrix.user_id], direct=True)
        await person.wait_for_member(room_id, self.matrix.user_id)
        return Room(person, room_id, self.matrix.user_id)


@pytest.fixture
async def lotse(
    matrix_settings: Settings, synapse: Synapse, tmp_path: Path
) -> AsyncIterator[Lotse]:
    settings = dataclasses.replace(
        matrix_settings, coordinators=frozenset({("fake", "carla")}), default_language="de"
    )
    app = await open_app(settings, migrate=False, clock=Clock())
    matrix = MatrixTransport(app, sync_timeout_ms=1000)
    stop = asyncio.Event()
    task = asyncio.create_task(matrix.run(stop))
    running = Lotse(app, matrix, synapse, tmp_path / "people")
    try:
        await asyncio.wait_for(matrix.ready.wait(), 60)
        yield running
    finally:
        for person in running.people:
            await person.stop()
        stop.set()
        await asyncio.wait_for(task, 30)
        await app.close()


def handle_of(shown: Shown, label: str) -> str:
    return shown.handles[shown.buttons.index(label)]


async def test_an_offer_in_the_middle_of_an_edit_and_a_reply_that_answers_it(
    lotse: Lotse,
) -> None:
    app = lotse.app
    lina = await lotse.room("lina")
    person_id = await make_volunteer(
        app, lina.person.user_id, platform="matrix", activities=("childcare",), limit=3
    )
    [profile] = await lina.say("/profile")
    await lina.say(handle_of(profile, t("de", "Edit offers per week")))
    _event, question = await lina.wait_for(
        lambda s: s.text == t("de", "How many offers would you like to get per week at most?")
    )
    assert question.handles == ["1", "2", "3", "5", "10"]  # shown as [5]: five is 5

    await a_coordinator_posts_a_need(app)
    app.services.outbox_changed()
    offer_event, offer = await lina.wait_for(lambda s: t("de", "I can help") in s.buttons)
    assert offer.handles == ["1a", "1b", "1c"]

    shown = await lina.say("5")  # the form's answer, although the offer came after it
    assert any(t("de", "Your volunteer profile") in s.text for s in shown)
    # a reply to the offer: its own "1" is "I can help", whatever else is open
    await lina.say("1", reply_to=offer_event.event_id)
    async with app.session_factory() as session:
        profile_row = await session.get(VolunteerProfile, person_id)
        offer_row = await session.scalar(
            select(Offer).where(Offer.volunteer_person_id == person_id)
        )
    assert profile_row is not None and profile_row.max_offers_per_week == 5
    assert profile_row.status == "active"
    assert offer_row is not None and offer_row.status == "interested"


async def test_two_report_notices_the_first_blocked_by_its_handle_after_confirming(
    lotse: Lotse,
) -> None:
    app = lotse.app
    cora = await lotse.room("cora")
    await cora.say("/start")
    async with app.session_factory() as session:
        from db.models import PersonRole

        person = await session.scalar(
            select(Person).where(Person.platform_user_id == cora.person.user_id)
        )
        assert person is not None
        person.consent_version, person.consent_at = 2, app.services.clock()
        person.roles.append(PersonRole(role="coordinator", granted_at=app.services.clock()))
        await session.commit()
    chat = Conversation(app, platform="tg")
    for reporter, about in (("rita", "tom"), ("rolf", "udo")):
        await onboard(chat, reporter, "de")
        await onboard(chat, about, "de")
        await chat.say(about, "/help", group="treff")
        await chat.say(reporter, "/report", group="treff", reply_to_user=about)
    app.services.outbox_changed()
    block = t("de", "Block this person")
    _e, first = await cora.wait_for(lambda s: block in s.buttons and "Tom" in s.text)
    await cora.wait_for(lambda s: block in s.buttons and "Udo" in s.text)
    shown = await cora.say(handle_of(first, block))
    assert shown[-1].buttons == [t("de", "Yes, do it"), t("de", "No, leave it")]
    await cora.say(shown[-1].handles[0])
    async with app.session_factory() as session:
        blocked = set(
            await session.scalars(
                select(Person.platform_user_id).where(Person.blocked_at.is_not(None))
            )
        )
    assert blocked == {"tom"}


async def test_events_attend_by_handle_after_choosing_a_filter(lotse: Lotse) -> None:
    from tests.handlers.events.test_events import ORG_INTENT, publish_event

    app = lotse.app
    chat = Conversation(app)
    await onboard(chat, "carla", "de", ORG_INTENT)
    await publish_event(chat)
    await chat.press("carla", t("de", "Publish"))
    dirk = await lotse.room("dirk")
    await dirk.say("/start")
    _e, welcome = await dirk.wait_for(lambda s: "Deutsch" in s.buttons)
    await dirk.say(handle_of(welcome, "Deutsch"))
    await dirk.say("1")  # I agree
    await dirk.say("1")  # an intent
    shown = await dirk.say("/events")
    card = next(s for s in shown if "Nähcafé" in s.text)
    assert card.handles[0].endswith("a") and shown[-1].handles[:2] == ["1", "2"]
    await dirk.say("2")  # the district filter
    await dirk.say(card.handles[0])  # "I'll come" on the card above
    async with app.session_factory() as session:
        attending = list(await session.scalars(select(Attendance)))
    assert len(attending) == 1 and attending[0].cancelled_at is None
