"""Onboarding: /start → language → consent → what brings you here → main menu."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.app import App, open_app
from bot.core.i18n import RLM
from db.models import ButtonToken, ChatRecord, FlowState, Keyboard, Person
from tests.support import Conversation, t


async def person(app: App, user: str) -> Person:
    async with app.session_factory() as session:
        found = await session.scalar(select(Person).where(Person.platform_user_id == user))
        assert found is not None
        return found


async def test_volunteer_onboards_in_german(chat: Conversation, app: App) -> None:
    seen = await chat.say("anna", "/start", lang="de-DE")
    assert "Netzwerk Wiesenfeld" in seen[0].text
    assert seen[0].buttons == [
        "Deutsch",
        "English",
        "العربية",
        "Українська",
        "فارسی",
        "Türkçe",
        "Русский",
    ]

    seen = await chat.press("anna", "Deutsch")
    assert t("de", "Privacy notice (version {version})", version=2) in seen[0].text
    assert seen[0].buttons == [t("de", "I agree"), t("de", "No, thanks")]

    seen = await chat.press("anna", t("de", "I agree"))
    assert seen[-1].text == t("de", "What brings you here?")

    seen = await chat.press("anna", t("de", "I want to volunteer"))
    assert seen[-1].text == t("de", "What would you like to do?")
    assert t("de", "Change the language") in seen[-1].buttons

    anna = await person(app, "anna")
    assert (anna.language, anna.intent, anna.consent_version) == ("de", "volunteer", 2)
    assert anna.consent_at == app.services.clock()


async def test_refugee_onboards_in_arabic_right_to_left(chat: Conversation, app: App) -> None:
    await chat.say("samir", "/start", lang="ar")
    await chat.press("samir", "العربية")
    seen = await chat.press("samir", t("ar", "I agree"))
    question = seen[-1]
    assert question.text == t("ar", "What brings you here?")
    assert question.message.rtl
    assert question.message.text.startswith(RLM)  # each line reads right to left
    assert all(line.startswith(RLM) for line in question.message.text.split("\n") if line)
    seen = await chat.press("samir", t("ar", "I am looking for help or information"))
    assert any(t("ar", "What would you like to do?") == s.text for s in seen)
    help_text = (await chat.say("samir", "/help"))[0]
    assert t("ar", "Show what I can do") in help_text.text
    assert "/help" in help_text.text
    assert (await person(app, "samir")).intent == "seeking_help"


async def test_first_language_comes_from_the_platform(chat: Conversation) -> None:
    seen = await chat.say("olena", "/start", lang="uk-UA")
    assert seen[0].text.startswith(
        t(
            "uk",
            "Welcome to {network}! I connect volunteers, "
            "initiatives and people looking for help in our "
            "city.",
            network="Netzwerk Wiesenfeld",
        )
    )
    seen = await chat.say("nobody", "/start", lang="pt-BR")  # not shipped: the default, German
    assert t("de", "Which language would you like me to use?") in seen[0].text


@pytest.mark.parametrize("inline_buttons", [True, False], ids=["buttons", "numbered"])
async def test_declining_stores_nothing_but_the_refusal(app: App, inline_buttons: bool) -> None:
    chat = Conversation(app, inline_buttons=inline_buttons)
    choose = chat.press if inline_buttons else chat.say  # a tap, or the label typed back
    await chat.say("lee", "/start", lang="en")
    await choose("lee", "Українська")
    seen = await choose("lee", t("uk", "No, thanks"))
    assert seen[-1].text == t(
        "uk",
        "Understood. I have stored only that you declined and the language you chose, nothing "
        "else.\n"
        "Without your consent I cannot sign you up as a volunteer, pass on your requests or "
        "send you offers and news. You can still read /help and /privacy.\n"
        "If you change your mind, send /start.",
    )
    lee = await person(app, "lee")
    assert lee.consent_declined_at is not None
    assert (lee.language, lee.display_name, lee.intent, lee.consent_version) == (
        "uk",  # the language the refusal was given in
        None,
        None,
        None,
    )
    async with app.session_factory() as session:
        for table in (FlowState, ChatRecord, Keyboard, ButtonToken):
            count = select(func.count()).select_from(table)
            assert await session.scalar(count) == 0, table.__tablename__
    # what needs consent asks for it again, in their language, and they can change their mind
    seen = await chat.say("lee", "/menu")
    assert seen[0].text.startswith(
        t("uk", "Before I can do that, I need your consent to store your data.")
    )
    await choose("lee", t("uk", "I agree"))
    assert (await person(app, "lee")).consent_version == 2


async def test_half_finished_onboarding_continues_after_a_restart(
    chat: Conversation, app: App, settings
) -> None:
    await chat.say("mira", "/start", lang="ru")
    await chat.press("mira", "Русский")
    # the process stops here; a new one opens the same database
    await app.close()
    app2 = await open_app(settings, migrate=False)
    try:
        chat2 = Conversation(app2)
        chat2.log = list(chat.log)
        seen = await chat2.press("mira", t("ru", "I agree"))
        assert seen[-1].text == t("ru", "What brings you here?")
        seen = await chat2.press("mira", t("ru", "I act for an initiative or organisation"))
        assert seen[-1].text == t("ru", "What would you like to do?")
    finally:
        await app2.close()


async def test_answers_by_number_or_label_where_there_are_no_inline_buttons(app: App) -> None:
    chat = Conversation(app, platform="numbers", inline_buttons=False)
    await chat.say("ali", "/start", lang="fa")
    seen = await chat.say("ali", "5")  # فارسی
    assert seen[0].text.startswith(t("fa", "Privacy notice (version {version})", version=2))
    seen = await chat.say("ali", t("fa", "I agree"))
    assert seen[-1].text == t("fa", "What brings you here?")
    seen = await chat.say("ali", "9")  # no such option
    assert seen[0].text == t("fa", "Please choose one of the options below.")
    seen = await chat.say("ali", "1")
    assert any(s.text == t("fa", "What would you like to do?") for s in seen)


async def test_start_again_brings_back_the_menu(chat: Conversation) -> None:
    await chat.say("tom", "/start", lang="en")
    await chat.press("tom", "English")
    await chat.press("tom", "I agree")
    await chat.press("tom", "I want to volunteer")
    seen = await chat.say("tom", "/start")
    assert [s.text for s in seen] == ["Welcome back!", "What would you like to do?"]


async def test_unknown_input_gets_a_hint_never_silence(chat: Conversation) -> None:
    seen = await chat.say("eva", "hello?", lang="de")  # a newcomer's first words: the welcome
    assert t("de", "Which language would you like me to use?") in seen[0].text
    await chat.press("eva", "Deutsch")
    await chat.press("eva", t("de", "I agree"))
    await chat.press("eva", t("de", "I want to volunteer"))
    seen = await chat.say("eva", "hello?")
    assert seen[0].text == t(
        "de",
        "Sorry, I did not understand that. Send /help to see what "
        "I can do, or /menu for the main menu.",
    )
    seen = await chat.say("eva", "/frobnicate")
    assert seen[0].text == t(
        "de",
        "I don't know the command /{name}. Send /help to see what I can do.",
        name="frobnicate",
    )


async def test_bad_input_is_answered_clearly(chat: Conversation, app: App) -> None:
    await chat.say("kim", "/start", lang="en")
    seen = await chat.say("kim", "x" * 10_000)
    assert "too long" in seen[0].text
    seen = await chat.say("kim", "\u202e\u0000\u200b")  # only control/format characters
    assert "only read text" in seen[0].text
    seen = await chat.say("kim", "Klingon")
    assert seen[0].text == "Please choose one of the languages below."
    seen = await chat.say("kim", "english")  # typed language names work too
    assert "Privacy notice" in seen[0].text
    # a forged token, and an old button of a step already answered
    seen = await chat.tap("kim", "forged-token-123")
    assert "no longer valid" in seen[0].text
    seen = await chat.press("kim", "Deutsch")
    assert "already been answered" in seen[0].text
    # pressing the same consent button twice does not break anything
    await chat.press("kim", "I agree")
    seen = await chat.press("kim", "I agree")
    assert "already been answered" in seen[0].text or "Thank you" in seen[0].text
    assert (await person(app, "kim")).consent_version == 2


async def test_a_button_meant_for_someone_else_in_a_group(chat: Conversation) -> None:
    chat.admins.add(("#helfer", "anna"))
    await chat.say("anna", "/language", group="helfer", lang="de")
    seen = await chat.press("bert", "English", group="helfer")
    assert seen[0].text == t("de", "This button is meant for someone else.")
    seen = await chat.press("anna", "English", group="helfer")
    assert seen[0].text == "From now on I will write in English in this group."
    seen = await chat.say("bert", "/language", group="helfer")
    assert seen[0].text == "Only an admin of this group can change its language."
    seen = await chat.say("bert", "/start", group="helfer")
    assert seen[0].text == "Please use /start in a private chat with me."
    # chatter between people in a group is not answered
    assert await chat.say("bert", "see you tomorrow", group="helfer") == []


async def test_cancel_leaves_a_flow(chat: Conversation) -> None:
    await chat.say("jo", "/start", lang="tr")
    seen = await chat.say("jo", "/cancel")
    assert seen[0].text == t(
        "tr", "Cancelled. Send /menu for the main menu or /help for all commands."
    )
    seen = await chat.say("jo", "/cancel")
    assert seen[0].text == t("tr", "There is nothing to cancel.")


async def test_coordinators_are_recognised_from_the_settings(chat: Conversation, app) -> None:
    await chat.say("carla", "/start", lang="de")
    carla = await person(app, "carla")
    assert [r.role for r in carla.roles] == ["coordinator"]


async def test_a_failing_handler_apologises_and_the_bot_goes_on(
    chat: Conversation, app: App, monkeypatch
) -> None:
    import handlers.basics.menu as common

    async def broken(ctx) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(
        app.services.routes.commands,
        "help",
        app.services.routes.commands["help"].__class__("help", broken, "x", True, True, False),
    )
    seen = await chat.say("uwe", "/help", lang="uk")
    assert seen[0].text == t(
        "uk", "Sorry, something went wrong on our side. Please try again in a moment."
    )
    seen = await chat.say("uwe", "/start")
    assert seen[0].buttons[0] == "Deutsch"
    assert common  # the real handler module is untouched


async def test_deep_links_open_the_bot_at_a_place(chat: Conversation) -> None:
    # needs no consent: opens at once, even for someone new
    seen = await chat.say("neu", "/start privacy", lang="de")
    assert seen[0].text.startswith(t("de", "Privacy notice (version {version})", version=2))
    # needs consent: the onboarding first, then the place the link pointed to
    seen = await chat.say("ana", "/start menu", lang="en")
    assert "Which language" in seen[0].text
    await chat.press("ana", "English")
    await chat.press("ana", "I agree")
    seen = await chat.press("ana", "I want to volunteer")
    assert seen[-1].text == "What would you like to do?"
    # a deep link to a flow does not ask its question twice
    seen = await chat.say("ana", "/start language")
    assert [s.text for s in seen] == ["Which language would you like me to use?"]
    # malformed or unknown payloads are refused clearly
    for payload in ("need_<script>", "x" * 65, "nonsense_1"):
        seen = await chat.say("ana", f"/start {payload}")
        assert seen[0].text == "This link is not valid or no longer works."
        assert seen[-1].text == "What would you like to do?"


async def test_bot_added_to_a_group_greets_it(chat: Conversation, app: App) -> None:
    from bot.core.types import Actor, Chat, ChatKind, Incoming

    incoming = Incoming(
        Actor("fake", "anna", "Anna", "ar"),
        Chat("fake", "#nachbarn", ChatKind.GROUP, "Nachbarn"),
        event="bot_added",
    )
    seen = await chat.send(incoming)
    assert seen[0].chat_id == "#nachbarn"
    assert "/language" in seen[0].text and "Netzwerk Wiesenfeld" in seen[0].text
