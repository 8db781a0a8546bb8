"""Questions to the team are never dropped by leaving: a person who closes the conversation (or
goes on to something else) before the answer still gets it, once, and the question stays on the
coordinators' desk until it is answered or the person withdraws it."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from db.models import Ticket
from tests.support import Conversation, onboard, t

SEEKING = "I am looking for help or information"
ORG_INTENT = "I act for an initiative or organisation"
QUESTION = "Mein Vermieter will die Kaution nicht zurückzahlen. Was kann ich tun?"
ANSWER = "Der Mieterverein berät dienstags um 15 Uhr, bringen Sie den Mietvertrag mit."


async def hand_over(chat: Conversation, user: str, language: str) -> None:
    """/ask finds nothing in an empty directory; the person asks for a person instead."""
    await onboard(chat, user, language, SEEKING)
    await chat.say(user, "/ask")
    await chat.press(user, t(language, "Housing"))
    await chat.press(user, t(language, "Tenancy problems"))
    await chat.press(user, t(language, "Any language"))
    seen = await chat.press(user, t(language, "Anywhere in the city"))
    assert seen[-1].buttons == [t(language, "Talk to a person")]
    await chat.press(user, t(language, "Talk to a person"))


async def desk(chat: Conversation) -> list[str]:
    """What coordinator Carla sees under "Open questions"."""
    await chat.say("carla", "/admin")
    seen = await chat.press("carla", t("de", "Open questions"))
    return [s.text for s in seen]


async def ticket_status(app: App) -> str:
    async with app.session_factory() as session:
        ticket = await session.scalar(select(Ticket))
    assert ticket is not None
    return ticket.status


async def test_a_question_closed_before_its_answer_is_still_answered_once(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await hand_over(chat, "farid", "fa")
    seen = await chat.say("farid", QUESTION)
    # the question is taken and not asked again
    assert [s.text for s in seen if s.chat_id == "farid"] == [
        t("fa", "Sent. You will get the answer here.")
    ]
    assert any(s.chat_id == "carla" and QUESTION in s.text for s in seen)

    seen = await chat.press("farid", t("fa", "Close the conversation"))
    assert [s.chat_id for s in seen] == ["farid"]  # the team is not told it was dropped
    assert seen[0].text == t(
        "fa",
        "Your question stays with the team until someone answers it; the answer will "
        "reach you here. If you no longer need an answer, withdraw your question.",
    )
    assert seen[0].buttons == [t("fa", "Withdraw my question")]
    assert await ticket_status(app) == "left"

    listed = await desk(chat)
    assert any(QUESTION in text for text in listed)
    seen = await chat.press("carla", t("de", "Answer it"))
    assert QUESTION in seen[0].text
    assert t("de", "The person has closed the conversation but still waits for an answer.") in (
        seen[0].text
    )
    seen = await chat.say("carla", ANSWER)
    assert [s.text for s in seen if s.chat_id == "carla"] == [
        t(
            "de",
            "Sent. The person had closed the conversation before your answer, so it is "
            "closed now.",
        )
    ]
    await chat.sender.drain()  # a second round delivers nothing more
    answers = [s for s in chat.messages("farid") if ANSWER in s.text]
    assert len(answers) == 1
    assert answers[0].text.startswith(t("fa", "Answer from the network's team:"))
    assert answers[0].buttons == []
    assert await ticket_status(app) == "closed"
    assert await desk(chat) == [t("de", "There are no open questions.")]


async def test_leaving_for_something_else_keeps_the_question_until_it_is_withdrawn(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await hand_over(chat, "olena", "uk")
    await chat.say("olena", QUESTION)
    await chat.say("olena", "/help")  # off to something else: nothing changes on the desk
    assert any(QUESTION in text for text in await desk(chat))

    # she comes back, closes, and then no longer needs the answer
    await chat.press("olena", t("uk", "Close the conversation"))
    seen = await chat.press("olena", t("uk", "Withdraw my question"))
    assert seen[0].text == t("uk", "Your question is withdrawn. Send /ask if you need help again.")
    assert [s.chat_id for s in seen] == ["olena"]  # nobody had taken it yet
    assert await ticket_status(app) == "closed"
    assert await desk(chat) == [t("de", "There are no open questions.")]
    seen = await chat.press("carla", t("de", "Answer it"))  # an older list of the desk
    assert seen[0].text == t("de", "This conversation is closed.")


async def test_coming_back_to_a_left_conversation_makes_it_ordinary_again(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await hand_over(chat, "samir", "ar")
    await chat.say("samir", QUESTION)
    await chat.press("samir", t("ar", "Close the conversation"))
    assert await ticket_status(app) == "left"
    await chat.say("samir", "/ask")
    await chat.press("samir", t("ar", "Housing"))
    await chat.press("samir", t("ar", "Tenancy problems"))
    await chat.press("samir", t("ar", "Any language"))
    await chat.press("samir", t("ar", "Anywhere in the city"))
    await chat.press("samir", t("ar", "Talk to a person"))
    assert await ticket_status(app) == "open"
    await chat.say("samir", "Und die Nebenkosten?")
    await chat.press("carla", t("de", "Answer it"))
    seen = await chat.say("carla", ANSWER)
    assert [s.text for s in seen if s.chat_id == "carla"] == [t("de", "Sent.")]
    answer = next(s for s in seen if s.chat_id == "samir")
    assert answer.buttons == [t("ar", "Reply"), t("ar", "Close the conversation")]
    assert await ticket_status(app) == "claimed"
