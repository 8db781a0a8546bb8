"""Matrix has no "message a user": pushes to a person go to their direct room, found or made
by the bot (invited, `is_direct`, encrypted), and wait until the person has joined it.
Against a real Synapse, with end-to-end encryption."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, open_app
from bot.config import Settings
from bot.core.context import make_reply
from bot.core.notify import Notifier
from bot.testing.telegram_api import FakeBotAPI
from bot.transports.matrix import MatrixTransport
from bot.transports.telegram import TelegramTransport
from db.models import ChatRecord, DirectChat, Need, OutboxMessage, Person, PersonRole
from handlers.volunteering.offers import notify_coordinators_of_need
from tests.drivers import shown_from_matrix
from tests.matrix_people import MatrixPerson
from tests.support import make_volunteer, t, tn, visible
from tests.synapse import Synapse

pytestmark = pytest.mark.slow

EVA = 800  # posts a need on Telegram


@dataclasses.dataclass
class Both:
    app: App
    matrix: MatrixTransport
    telegram: TelegramTransport
    bot_api: FakeBotAPI


@pytest.fixture
async def both(matrix_settings: Settings) -> AsyncIterator[Both]:
    """One Lotse on Matrix (real Synapse) and Telegram (fake Bot API) at once."""
    bot_api = await FakeBotAPI(private_needs_start=True).start()
    settings = dataclasses.replace(
        matrix_settings, telegram_token=bot_api.token, telegram_api_url=bot_api.url
    )
    app = await open_app(settings, migrate=False)
    matrix = MatrixTransport(app, sync_timeout_ms=1000)
    telegram = TelegramTransport(app, poll_timeout=1)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(matrix.run(stop)), asyncio.create_task(telegram.run(stop))]
    try:
        await asyncio.wait_for(matrix.ready.wait(), 60)
        await bot_api.wait_for(lambda: telegram.application.running and telegram.username)
        yield Both(app, matrix, telegram, bot_api)
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await app.close()
        await bot_api.stop()
    assert bot_api.violations == []


async def person(synapse: Synapse, name: str, tmp_path: Path) -> MatrixPerson:
    user_id = synapse.register(f"{name}{len(synapse.passwords)}")
    return await MatrixPerson(
        synapse.url, user_id, synapse.passwords[user_id], tmp_path / name
    ).start()


async def accept_invitation(who: MatrixPerson, bot: str, timeout: float = 30) -> str:
    """Like a person in Element: the bot's invitation to a direct chat appears; they join."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for room_id in list(who.client.invited_rooms):
            await who.join(room_id)
            await who.wait_for_member(room_id, who.user_id)
            return room_id
        await asyncio.sleep(0.1)
    raise AssertionError(f"{who.user_id} was not invited by {bot}")


async def make_coordinator(app: App, user_id: str) -> None:
    now = app.services.clock()
    async with app.session_factory() as session:
        session.add(
            Person(
                platform="matrix",
                platform_user_id=user_id,
                display_name="Carla",
                language="de",
                intent="organisation",
                consent_version=2,
                consent_at=now,
                created_at=now,
                last_seen_at=now,
                roles=[PersonRole(role="coordinator", granted_at=now)],
            )
        )
        await session.commit()


async def test_review_and_offer_reach_matrix_people_in_new_encrypted_direct_rooms(
    synapse: Synapse, both: Both, tmp_path: Path
) -> None:
    app, bot = both.app, both.matrix.user_id
    carla = await person(synapse, "carla", tmp_path)
    lina = await person(synapse, "lina", tmp_path)
    try:
        await make_coordinator(app, carla.user_id)
        await make_volunteer(app, lina.user_id, platform="matrix", activities=("childcare",))
        both.bot_api.says(EVA, "/help", name="Eva")  # Eva uses the bot on Telegram
        await both.bot_api.wait_sent(EVA, 1)
        async with app.session_factory() as session:
            eva = await session.scalar(select(Person).where(Person.platform_user_id == str(EVA)))
            assert eva is not None
            need = Need(
                poster_person_id=eva.id,
                title="Kinderbetreuung beim Elterncafé",
                activity="childcare",
                when_kind="flexible",
                status="pending_review",
                until=app.services.clock() + timedelta(days=14),
            )
            session.add(need)
            await session.flush()
            await notify_coordinators_of_need(Notifier(session, app.services), app.services, need)
            await session.commit()
        app.services.outbox_changed()

        # Carla is invited to a new direct room; once she joins, the review card arrives
        room = await accept_invitation(carla, bot)
        [card] = await carla.wait_replies(room, bot, 1, quiet=1.0)
        assert card.body.startswith(t("de", "A need is waiting for your review:"))
        assert shown_from_matrix(card).buttons == [t("de", "Publish"), t("de", "Decline")]
        assert both.matrix.client.rooms[room].encrypted and carla.undecrypted == 0
        assert shown_from_matrix(card).handles == ["1a", "1b"]  # a push: codes of its own
        await carla.say(room, "1a")  # Publish
        replies = await carla.wait_replies(room, bot, 2, quiet=0.5)
        assert replies[1].body == tn(
            "de",
            "Published. {count} volunteer was asked.",
            "Published. {count} volunteers were asked.",
            1,
            count=1,
        )

        # Lina gets the offer in her own new, encrypted direct room, and accepts it
        lina_room = await accept_invitation(lina, bot)
        assert lina_room != room
        [offer] = await lina.wait_replies(lina_room, bot, 1, quiet=1.0)
        assert "Kinderbetreuung beim Elterncafé" in offer.body
        assert shown_from_matrix(offer).buttons[0] == t("de", "I can help")
        assert both.matrix.client.rooms[lina_room].encrypted and lina.undecrypted == 0
        await lina.say(lina_room, shown_from_matrix(offer).handles[0])  # I can help
        await lina.wait_replies(lina_room, bot, 2)

        # Eva, who posted the need on Telegram, hears of it there
        sent = await both.bot_api.wait_sent(EVA, 3, timeout=20)
        texts = [visible(s.text) for s in sent]
        assert any(
            x.startswith(
                t(
                    "de",
                    "Your need “{title}” is published. I am asking volunteers who fit.",
                    title="Kinderbetreuung beim Elterncafé",
                )
            )
            for x in texts
        )
        offered = [
            x
            for x in texts
            if x.startswith(
                t(
                    "de",
                    "Someone offers to help with “{title}”:",
                    title="Kinderbetreuung beim Elterncafé",
                )
            )
        ]
        assert len(offered) == 1
        async with app.session_factory() as session:
            statuses = list(await session.scalars(select(OutboxMessage.status)))
            directs = list(
                await session.scalars(select(DirectChat).where(DirectChat.platform == "matrix"))
            )
        assert set(statuses) == {"sent"}, statuses
        assert {d.chat_id for d in directs} == {room, lina_room}
        assert {d.state for d in directs} == {"ready"}
    finally:
        await carla.stop()
        await lina.stop()


async def test_a_direct_room_that_gains_a_third_member_is_a_group_at_once(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    """Nothing personal goes to a room someone else can read: the bot makes a new one."""
    app, bot = matrix_bot.app, matrix_bot.user_id
    anna = await person(synapse, "anna", tmp_path)
    bert = await person(synapse, "bert", tmp_path)
    try:
        room = await anna.create_room([bot], direct=True, encrypted=True)
        await anna.wait_for_member(room, bot)
        await anna.say(room, "/help")
        await anna.wait_replies(room, bot, 1)
        async with app.session_factory() as session:
            direct = await session.scalar(select(DirectChat))
            assert direct is not None and (direct.chat_id, direct.state) == (room, "ready")
        await anna.client.room_invite(room, bert.user_id)
        for _ in range(200):  # the bot notices the third member
            async with app.session_factory() as session:
                direct = await session.scalar(select(DirectChat))
                chat = await session.scalar(
                    select(ChatRecord).where(ChatRecord.platform_chat_id == room)
                )
            if direct is not None and direct.chat_id is None:
                break
            await asyncio.sleep(0.1)
        assert direct is not None and direct.chat_id is None
        assert chat is not None and chat.kind == "group"

        async with app.session_factory() as session:
            who = await session.scalar(
                select(Person).where(Person.platform_user_id == anna.user_id)
            )
            assert who is not None
            notifier = Notifier(session, app.services)
            await notifier.to_person(
                who, lambda: make_reply("Ihr Termin beim Jobcenter: Di 10:00")
            )
            await session.commit()
        app.services.outbox_changed()
        new_room = await accept_invitation(anna, bot)
        assert new_room != room
        [private] = await anna.wait_replies(new_room, bot, 1, quiet=1.0)
        assert private.body == "Ihr Termin beim Jobcenter: Di 10:00"
        assert matrix_bot.client.rooms[new_room].encrypted
        assert len(anna.from_bot(room, bot)) == 1  # only the answer to /help, from before
    finally:
        await anna.stop()
        await bert.stop()


async def test_a_message_queued_before_the_room_became_a_group_is_held_not_posted(
    matrix_bot: MatrixTransport,
) -> None:
    """The last guard, at sending time: a private message never goes to a room of three."""
    from types import SimpleNamespace

    from bot.core.outbox import RetryLater
    from bot.core.types import OutgoingMessage

    app = matrix_bot.app
    room_id, anna = "!shared:localhost", "@anna:localhost"
    matrix_bot.client.rooms[room_id] = SimpleNamespace(  # type: ignore[assignment]
        room_id=room_id,
        users={matrix_bot.user_id: None, anna: None, "@bert:localhost": None},
        encrypted=True,
    )
    now = app.services.clock()
    async with app.session_factory() as session:
        person = Person(platform="matrix", platform_user_id=anna, created_at=now, roles=[])
        session.add(person)
        await session.flush()
        session.add(
            DirectChat(person_id=person.id, platform="matrix", chat_id=room_id, state="ready")
        )
        message = OutboxMessage(
            platform="matrix",
            chat_id=room_id,
            person_id=person.id,
            status="sending",
            payload={"text": "Ihr Termin: Di 10:00", "buttons": []},
        )
        session.add(message)
        await session.commit()
    try:
        with pytest.raises(RetryLater):
            await matrix_bot.send(
                OutgoingMessage(room_id, "Ihr Termin: Di 10:00", outbox_id=message.id)
            )
    finally:
        del matrix_bot.client.rooms[room_id]
    async with app.session_factory() as session:
        held = await session.get(OutboxMessage, message.id)
        direct = await session.scalar(select(DirectChat))
    assert held is not None and (held.status, held.chat_id) == ("held", anna)
    assert direct is not None and (direct.chat_id, direct.state) == (None, "wanted")


async def test_a_direct_room_the_person_already_shares_with_the_bot_is_used(
    synapse: Synapse, matrix_bot: MatrixTransport, tmp_path: Path
) -> None:
    """Anna opened a direct chat with the bot but never wrote in it: no second room is made."""
    app, bot = matrix_bot.app, matrix_bot.user_id
    anna = await person(synapse, "anna", tmp_path)
    try:
        room = await anna.create_room([bot], direct=True, encrypted=True)
        await anna.wait_for_member(room, bot)
        for _ in range(100):  # the bot has seen the room with both of them in it
            known = matrix_bot.client.rooms.get(room)
            if known is not None and set(known.users) == {bot, anna.user_id}:
                break
            await asyncio.sleep(0.1)
        now = app.services.clock()
        async with app.session_factory() as session:
            who = Person(
                platform="matrix", platform_user_id=anna.user_id, created_at=now, roles=[]
            )
            session.add(who)
            await session.flush()
            await Notifier(session, app.services).to_person(
                who, lambda: make_reply("Ihr Termin beim Jobcenter: Di 10:00")
            )
            await session.commit()
        app.services.outbox_changed()
        [message] = await anna.wait_replies(room, bot, 1, quiet=1.0)
        assert message.body == "Ihr Termin beim Jobcenter: Di 10:00"
        assert not anna.client.invited_rooms  # no new room was made
    finally:
        await anna.stop()
