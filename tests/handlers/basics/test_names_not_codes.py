"""People read names, not codes: languages, levels and roles are named in the reader's
language wherever the bot shows them."""

from __future__ import annotations

from bot.app import App
from bot.core.i18n import use_locale
from handlers.basics.taxonomy import language_label
from lotse.demo import load_demo
from tests.support import Conversation, onboard, t


async def sign_up(chat: Conversation, user: str, language: str) -> None:
    await chat.say(user, "/volunteer")
    with use_locale(language):
        spoken = language_label("ar")
    for label in ("Childcare", "Done", spoken, "Done", "native or fluent", "Südstadt"):
        await chat.press(user, t(language, label) if label != spoken else spoken)
    for label in ("Montag", "Done", "mornings", "Done", "Regularly", "2", "No quiet hours"):
        await chat.press(user, t(language, label) if label != "Montag" else day(language))
    await chat.press(user, t(language, "Save"))


def day(language: str) -> str:
    from handlers.basics.taxonomy import day_name

    with use_locale(language):
        return day_name("mon")


async def test_mydata_names_the_language_and_the_roles(chat: Conversation) -> None:
    await onboard(chat, "oksana", "uk")
    await sign_up(chat, "oksana", "uk")
    seen = await chat.say("oksana", "/mydata")
    text = seen[0].text
    assert t("uk", "Language: {language}", language="українська") in text
    assert t("uk", "Roles: {roles}", roles="волонтер") in text
    assert ": uk\n" not in text and "volunteer" not in text


async def test_a_russian_reader_gets_language_names_in_lower_case_mid_sentence(
    chat: Conversation,
) -> None:
    await onboard(chat, "olga", "ru")
    await chat.say("olga", "/volunteer")
    await chat.press("olga", t("ru", "Childcare"))
    await chat.press("olga", t("ru", "Done"))
    seen = await chat.press("olga", "Арабский")  # a button: capitalised
    seen = await chat.press("olga", t("ru", "Done"))
    assert seen[0].text.startswith(
        t("ru", "How well do you speak {language}?", language="арабский")
    )


async def test_the_dari_need_asks_for_dari(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "hans", "de")
    seen = await chat.say("hans", "/needs")
    text = seen[0].text
    start = text.index("Frauenärztin")
    assert t("de", "Languages: {languages}", languages="Dari") in text[start : start + 600]
    await onboard(chat, "zahra", "fa")
    seen = await chat.say("zahra", "/needs")
    assert t("fa", "Languages: {languages}", languages="دری") in seen[0].text
