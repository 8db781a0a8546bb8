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
    shown = await driver.say("eva", "Hallo, wer bist du?")
    assert shown[-1].text == t(
        "de",
        "Sorry, I did not understand that. Send /help to see what "
        "I can do, or /menu for the main menu.",
    )
