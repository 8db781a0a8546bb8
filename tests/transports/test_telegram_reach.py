"""Telegram: a bot cannot open a private chat. A group member who never started the bot gets
what the bot has to tell them once they open the chat, and is told so in the group, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from bot.core.notify import Notifier
from bot.core.reach import EXPIRED, expire_held
from bot.testing.telegram_api import FakeBotAPI, Sent
from bot.transports.telegram import TelegramTransport
from db.models import ChatRecord, Need, Organisation, OutboxMessage, Person
from handlers.volunteering.offers import publish
from tests.support import make_volunteer, t, visible

GROUP = -1001
ANNA = 700  # leads an initiative; writes in its group, never started the bot
LINA, OMAR = 501, 502  # volunteers who signed up with the bot


async def anna_posts_a_need_in_her_group(telegram: TelegramTransport, bot_api: FakeBotAPI) -> int:
    """Anna agrees to the privacy notice in the group; her need is published there."""
    app = telegram.app
    async with app.session_factory() as session:
        org = Organisation(slug="willkommen", name="Willkommen Süd", kind="initiative")
        org.status = "approved"
        session.add(org)
        await session.flush()
        session.add(
            ChatRecord(
                platform="telegram",
                platform_chat_id=str(GROUP),
                kind="group",
                title="Helferkreis Süd",
                organisation_id=org.id,
            )
        )
        await session.commit()
    bot_api.says(ANNA, "/need Kinderbetreuung", chat_id=GROUP, name="Anna")
    [consent] = await bot_api.wait_sent(GROUP, 1)
    await press(bot_api, consent, ANNA, t("de", "I agree"))
    thanks, _intent = (await bot_api.wait_sent(GROUP, 3))[1:]
    assert visible(thanks.text) == t("de", "Thank you! Your consent is stored.")
    now = app.services.clock()
    async with app.session_factory() as session:
        anna = await session.scalar(select(Person).where(Person.platform_user_id == str(ANNA)))
        assert anna is not None and anna.consent_version
        need = Need(
            organisation_id=org.id,
            poster_person_id=anna.id,
            title="Kinderbetreuung beim Elterncafé",
            activity="childcare",
            when_kind="flexible",
            until=now + timedelta(days=14),
        )
        session.add(need)
        await session.flush()
        notifier = Notifier(session, app.services)
        asked = await publish(notifier, app.services, need, now)
        await session.commit()
    app.services.outbox_changed()
    return asked


async def press(bot_api: FakeBotAPI, sent: Sent, user: int, label: str) -> None:
    raw = next(b for b, _ in sent.buttons if visible(b) == label)
    before = len(bot_api.sent)
    bot_api.presses(user, sent, raw)
    await bot_api.wait_for(lambda: len(bot_api.sent) > before)


async def test_a_lead_who_never_started_the_bot_gets_its_offers_after_opening_the_chat(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.private_needs_start = True  # like Telegram: 403 for a chat never opened
    for volunteer in (LINA, OMAR):
        await make_volunteer(
            telegram.app, str(volunteer), platform="telegram", activities=("childcare",)
        )
        async with telegram.app.session_factory() as session:
            person = await session.scalar(
                select(Person).where(Person.platform_user_id == str(volunteer))
            )
            assert person is not None
            person.language, person.display_name = "de", None
            await session.commit()
        bot_api.says(volunteer, "/help")  # they signed up here: the chat is open
        await bot_api.wait_sent(volunteer, 1)
    assert await anna_posts_a_need_in_her_group(telegram, bot_api) == 2
    said = len(bot_api.sent_to(GROUP))
    for volunteer in (LINA, OMAR):
        [*_, offer] = await bot_api.wait_sent(volunteer, 2)
        assert "Kinderbetreuung" in visible(offer.text)
        await press(bot_api, offer, volunteer, t("de", "I can help"))
    # Anna is told once in her group, with a link that opens the private chat
    await bot_api.wait_sent(GROUP, said + 1)
    await asyncio.sleep(0.5)
    told = [visible(s.text) for s in bot_api.sent_to(GROUP)[said:]]
    assert told == [
        t(
            "de",
            "{name}, I have a message for you that I can only send in a private chat. "
            "Please open it here: {link}",
            name="User700",
            link="https://t.me/lotse_test_bot?start=inbox",
        )
    ]
    assert bot_api.sent_to(ANNA) == []
    async with telegram.app.session_factory() as session:
        held = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == str(ANNA)))
        )
    assert [m.status for m in held] == ["held", "held"]
    # she follows the link: a thank-you and both offers of help, each once (the direct
    # answer and the released outbox race, so their order is not fixed)
    bot_api.says(ANNA, "/start inbox")
    await bot_api.wait_sent(ANNA, 3)
    await asyncio.sleep(0.5)
    sent = bot_api.sent_to(ANNA)
    thanks = t("de", "Thank you for opening this chat. The messages I kept for you follow now.")
    offer = t(
        "de", "Someone offers to help with “{title}”:", title="Kinderbetreuung beim Elterncafé"
    )
    assert len(sent) == 3
    assert [visible(s.text) for s in sent].count(thanks) == 1
    offers = [s for s in sent if visible(s.text).startswith(offer)]
    assert len(offers) == 2
    for message in offers:
        assert [visible(b) for b, _ in message.buttons] == [t("de", "Accept"), t("de", "Decline")]
    assert len(bot_api.sent_to(GROUP)) == said + 1  # nothing more was said in the group


async def test_held_messages_end_as_failed_after_seven_days(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.private_needs_start = True
    await make_volunteer(telegram.app, str(LINA), platform="telegram", activities=("childcare",))
    bot_api.says(LINA, "/help")
    await bot_api.wait_sent(LINA, 1)
    assert await anna_posts_a_need_in_her_group(telegram, bot_api) == 1
    [*_, offer] = await bot_api.wait_sent(LINA, 2)
    await press(bot_api, offer, LINA, t("de", "I can help"))
    await bot_api.wait_for(lambda: any("start=inbox" in (s.text or "") for s in bot_api.sent))
    clock = telegram.app.services.clock
    async with telegram.app.session_factory() as session:
        assert await expire_held(session, clock() + timedelta(days=6)) == 0
        assert await expire_held(session, clock() + timedelta(days=7, minutes=1)) == 1
        await session.commit()
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.chat_id == str(ANNA))
        )
    assert message is not None
    assert (message.status, message.last_error) == ("failed", EXPIRED)
