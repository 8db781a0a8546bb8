"""A free-text answer is taken and the conversation moves on: the next message is the next
question, never the same question again (nor after a mistake: then only what to fix)."""

from __future__ import annotations

from bot.app import App
from tests.support import Conversation, onboard, t

ORG_INTENT = "I act for an initiative or organisation"

ORGANISATION = (
    "Wir begleiten neu angekommene Familien im Alltag: zu Ämtern, Ärztinnen und Schulen.\n"
    + "Jeden Dienstag gibt es ein offenes Café mit Hausaufgabenhilfe und Beratung. " * 10
)
NEED = (
    "Familie K. zieht am Samstag von der Erstaufnahme in die eigene Wohnung um.\n"
    + "Wir brauchen zwei Menschen, die beim Tragen helfen und ein Auto fahren können. " * 11
)


async def test_long_descriptions_are_taken_and_the_next_step_follows(
    chat: Conversation, app: App
) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "anna", "de", ORG_INTENT)
    await chat.press("anna", t("de", "My organisation"))
    seen = await chat.say("anna", "ab")
    assert [s.text for s in seen] == [t("de", "That is too short. Please write a little more.")]
    seen = await chat.say("anna", "Willkommen Süd")
    assert [s.text for s in seen] == [t("de", "What kind of organisation is it?")]
    await chat.press("anna", t("de", "Welcome initiative"))
    await chat.press("anna", "Südstadt")
    assert 800 < len(ORGANISATION.strip()) <= 1000
    seen = await chat.say("anna", ORGANISATION)
    assert [s.text for s in seen] == [
        t(
            "de",
            "How can people reach the organisation? A public e-mail address, phone number "
            "or website. It will be shown in the partner directory.",
        )
    ]
    await chat.say("anna", "kontakt@example.org")
    await chat.press("anna", t("de", "Send"))
    await chat.press("carla", t("de", "Approve"), chat_id="carla")

    await chat.say("anna", "/need")
    seen = await chat.say("anna", "Hilfe beim Umzug")
    assert [s.text for s in seen] == [
        t(
            "de",
            "Describe the task in a few sentences: what will the volunteer do, and what "
            "should they know? (Or skip.)",
        )
    ]
    assert 900 < len(NEED.strip()) <= 1000
    seen = await chat.say("anna", NEED)
    assert [s.text for s in seen] == [t("de", "Which kind of help is it?")]
