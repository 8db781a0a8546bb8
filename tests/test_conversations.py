"""Conversations that must go the same way on every messenger (fake, Telegram, Matrix)."""

from __future__ import annotations

from tests.drivers import Driver
from tests.support import t


async def test_onboarding_in_german(driver: Driver) -> None:
    shown = await driver.say("anna", "/start")
    assert shown[0].buttons[:3] == ["Deutsch", "English", "العربية"]
    shown = await driver.press("anna", "Deutsch")
    assert shown[-1].text.startswith(t("de", "Privacy notice (version {version})", version=2))
    shown = await driver.press("anna", t("de", "I agree"))
    assert shown[-1].text == t("de", "What brings you here?")
    shown = await driver.press("anna", t("de", "I want to volunteer"))
    assert shown[-1].text == t("de", "What would you like to do?")
    assert t("de", "Change the language") in shown[-1].buttons


async def test_onboarding_in_arabic(driver: Driver) -> None:
    await driver.say("samir", "/start")
    shown = await driver.press("samir", "العربية")
    assert shown[-1].text.startswith(t("ar", "Privacy notice (version {version})", version=2))
    shown = await driver.press("samir", t("ar", "I agree"))
    shown = await driver.press("samir", t("ar", "I am looking for help or information"))
    assert shown[-1].text == t("ar", "What would you like to do?")
    shown = await driver.say("samir", "/help")
    assert t("ar", "Show what I can do") in shown[-1].text


async def test_only_a_group_admin_sets_the_group_language(driver: Driver) -> None:
    await driver.make_group("helfer", admin="anna", members=["bert", "carl"])
    shown = await driver.say("bert", "/language", group="helfer")
    assert shown[-1].text == t("de", "Only an admin of this group can change its language.")
    shown = await driver.say("anna", "/language", group="helfer")
    assert shown[-1].text == t("de", "Which language should I use in this group?")
    shown = await driver.press("anna", "Українська", group="helfer")
    assert shown[-1].text == t(
        "uk", "From now on I will write in {language} in this group.", language="українська"
    )
    shown = await driver.say("bert", "/help", group="helfer")
    assert shown[-1].text.startswith(t("uk", "Here is what I can do:"))


async def test_unknown_input_gets_a_hint(driver: Driver) -> None:
    await driver.say("eva", "/start")
    await driver.press("eva", "Deutsch")
    await driver.press("eva", t("de", "I agree"))
    await driver.press("eva", t("de", "I want to volunteer"))
    shown = await driver.say("eva", "Hallo, wer bist du?")
    assert shown[-1].text == t(
        "de",
        "Sorry, I did not understand that. Send /help to see what "
        "I can do, or /menu for the main menu.",
    )


WELCOME = (
    "Welcome to {network}! I connect volunteers, initiatives and people looking for help in "
    "our city."
)


async def test_a_newcomers_first_words_whatever_they_are_get_the_welcome(
    driver: Driver,
) -> None:
    """Nobody has to know about /start: "hello" in any script, or a number, is a first hello;
    the languages likely for what they wrote come first."""
    shown = await driver.say("mona", "مرحبا")
    assert shown[-1].buttons[:2] == ["العربية", "فارسی"]
    assert shown[-1].text.startswith(t("ar", WELCOME, network="Netzwerk Wiesenfeld"))
    assert t("ar", "Which language would you like me to use?") in shown[-1].text
    shown = await driver.press("mona", "العربية")
    assert shown[-1].text.startswith(t("ar", "Privacy notice (version {version})", version=2))

    shown = await driver.say("olek", "привіт")
    assert shown[-1].buttons[:2] == ["Українська", "Русский"]
    assert t("uk", "Which language would you like me to use?") in shown[-1].text

    shown = await driver.say("hans", "hello")
    assert shown[-1].buttons[:3] == ["Deutsch", "English", "Türkçe"]
    assert t("de", "Which language would you like me to use?") in shown[-1].text

    shown = await driver.say("nuri", "5")
    assert t("de", "Which language would you like me to use?") in shown[-1].text
    assert len(shown[-1].buttons) == 7


async def test_help_lists_only_what_the_person_may_use(driver: Driver) -> None:
    await driver.say("anna", "/start")
    await driver.press("anna", "Deutsch")
    await driver.press("anna", t("de", "I agree"))
    await driver.press("anna", t("de", "I want to volunteer"))
    shown = await driver.say("anna", "/help")
    assert "/volunteer" in shown[-1].text and "/needs" in shown[-1].text
    for command in ("/admin", "/poll", "/broadcast", "/appoint", "/newevent", "/linkgroup"):
        assert command not in shown[-1].text
    assert t("de", "For coordinators:") not in shown[-1].text
