"""On Telegram a push's buttons are its own: pressing one answers it and takes its keyboard
away, the open form stays as it was, and a typed reply to a message presses its button."""

from __future__ import annotations

from sqlalchemy import select

from bot.testing.telegram_api import FakeBotAPI
from bot.transports.telegram import TelegramTransport
from db.models import Offer, VolunteerProfile
from tests.support import make_volunteer, t
from tests.test_typed_answers import a_coordinator_posts_a_need

LINA = 611


async def test_a_pressed_offer_loses_its_keyboard_and_the_open_form_is_untouched(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    app = telegram.app
    lina = await make_volunteer(
        app, str(LINA), platform="telegram", activities=("childcare",), limit=3
    )
    bot_api.started.add(LINA)
    bot_api.says(LINA, "/profile", language="de")
    [profile] = await bot_api.wait_sent(LINA)
    bot_api.presses(LINA, profile, t("de", "Edit offers per week"))
    asked = t("de", "How many offers would you like to get per week at most?")
    await bot_api.wait_for(lambda: any(s.text == asked for s in bot_api.sent_to(LINA)))
    question = next(s for s in bot_api.sent_to(LINA) if s.text == asked)

    await a_coordinator_posts_a_need(app)
    telegram.app.services.outbox_changed()
    help_label = t("de", "I can help")

    def offers() -> list:  # type: ignore[type-arg]
        return [s for s in bot_api.sent_to(LINA) if help_label in dict(s.buttons)]

    await bot_api.wait_for(lambda: bool(offers()))
    [offer] = offers()

    edits_before = len(bot_api.edits)
    bot_api.presses(LINA, offer, help_label)
    await bot_api.wait_for(
        lambda: any(
            e.get("message_id") == offer.message_id and not e.get("reply_markup")
            for e in bot_api.edits[edits_before:]
        )
    )
    assert not [e for e in bot_api.edits if e.get("message_id") == question.message_id]
    async with app.session_factory() as session:
        row = await session.scalar(select(Offer).where(Offer.volunteer_person_id == lina))
        assert row is not None and row.status == "interested"

    # "5" typed in reply to the question presses its button labelled 5 (not the fifth)
    before = len(bot_api.sent_to(LINA))
    bot_api.says(LINA, "5", language="de", reply_to=question)
    await bot_api.wait_sent(LINA, before + 1)
    async with app.session_factory() as session:
        profile_row = await session.get(VolunteerProfile, lina)
        assert profile_row is not None and profile_row.max_offers_per_week == 5
