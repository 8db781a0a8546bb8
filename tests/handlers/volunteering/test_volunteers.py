"""Volunteer sign-up and /profile, in German and Arabic."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from db.models import Person, VolunteerProfile
from handlers.basics.taxonomy import availability_bits
from tests.support import Conversation, make_volunteer, onboard, t


async def profile_of(app: App, user: str) -> VolunteerProfile | None:
    async with app.session_factory() as session:
        person = await session.scalar(select(Person).where(Person.platform_user_id == user))
        assert person is not None
        return await session.get(VolunteerProfile, person.id)


async def test_sign_up_in_german(chat: Conversation, app: App) -> None:
    await onboard(chat, "anna", "de")
    seen = await chat.press("anna", t("de", "Sign up as a volunteer"))
    assert seen[-1].text == t(
        "de", "What would you like to help with? Choose one or more, then press Done."
    )
    seen = await chat.press("anna", t("de", "Accompanying to appointments and authorities"))
    assert "✓ " + t("de", "Accompanying to appointments and authorities") in seen[-1].buttons
    await chat.press("anna", t("de", "Language mediation and interpreting"))
    seen = await chat.press("anna", t("de", "Done"))
    assert seen[-1].text.startswith(
        t("de", "Which languages do you speak? Choose all, then press Done.")
    )
    assert "Arabisch" in seen[-1].buttons and "Deutsch" in seen[-1].buttons
    await chat.press("anna", "Deutsch")
    await chat.press("anna", "Arabisch")
    seen = await chat.press("anna", t("de", "Done"))
    assert seen[-1].text == t("de", "How well do you speak {language}?", language="Deutsch")
    seen = await chat.press("anna", t("de", "native or fluent"))
    assert seen[-1].text == t("de", "How well do you speak {language}?", language="Arabisch")
    seen = await chat.press("anna", t("de", "good"))
    assert "Südstadt" in seen[-1].buttons
    await chat.press("anna", "Südstadt")
    await chat.press("anna", "Dienstag")
    await chat.press("anna", "Donnerstag")
    await chat.press("anna", t("de", "Done"))
    await chat.press("anna", t("de", "mornings"))
    await chat.press("anna", t("de", "Done"))
    await chat.press("anna", t("de", "Regularly"))
    await chat.press("anna", "3")
    seen = await chat.press("anna", "22:00–07:00")
    summary = seen[-1].text
    assert summary.startswith(t("de", "Please check your profile:"))
    assert "Arabisch (" + t("de", "good") + ")" in summary and "Südstadt" in summary
    seen = await chat.press("anna", t("de", "Save"))
    assert seen[-1].text == t(
        "de",
        "Thank you, {name}! Your volunteer profile is saved. I "
        "will send you offers that fit you. Change or pause them "
        "any time with /profile.",
        name="Anna",
    )
    profile = await profile_of(app, "anna")
    assert profile is not None
    assert sorted(a.activity for a in profile.activities) == [
        "accompany_authorities",
        "interpreting",
    ]
    assert {lang.language: lang.level for lang in profile.languages} == {
        "de": "native",
        "ar": "good",
    }
    assert profile.availability_bits == availability_bits(["tue", "thu"], ["morning"])
    assert (
        profile.district,
        profile.max_offers_per_week,
        profile.quiet_start,
        profile.quiet_end,
    ) == ("Südstadt", 3, 22, 7)


async def test_sign_up_in_arabic_by_typing(app: App) -> None:
    chat = Conversation(app, platform="numbers", inline_buttons=False)
    await onboard(chat, "samir", "ar")
    await chat.say("samir", "/volunteer")
    seen = await chat.say("samir", "1, 3")  # typed several at once
    assert seen[-1].text.startswith(
        t("ar", "Which languages do you speak? Choose all, then press Done.")
    )
    seen = await chat.say("samir", "Klingonisch")
    assert seen[0].text == t("ar", "I do not know that language. Please choose from the list.")
    await chat.say("samir", "3, 1")  # Arabic, German
    await chat.say("samir", "3")  # Arabic: native
    await chat.say("samir", "1")  # German: basic
    seen = await chat.say("samir", "123")
    assert seen[0].text == t(
        "ar", "Please choose a district from the list or type a postcode with 5 digits."
    )
    await chat.say("samir", "38112")
    await chat.say("samir", "6, 7")  # Saturday, Sunday
    seen = await chat.say("samir", "2")  # a single number toggles: afternoons ✓
    assert "✓ " + t("ar", "afternoons") in seen[-1].buttons
    await chat.say("samir", "4")  # Done
    await chat.say("samir", "2")  # now and then
    await chat.say("samir", "1")  # one offer a week
    seen = await chat.say("samir", "25-3")
    assert seen[0].text == t("ar", "Please give two different hours between 0 and 23, like 22-7.")
    seen = await chat.say("samir", "21-6")
    assert seen[-1].text.startswith(t("ar", "Please check your profile:"))
    await chat.say("samir", "1")  # save
    profile = await profile_of(app, "samir")
    assert profile is not None
    assert (profile.postcode, profile.quiet_start, profile.quiet_end) == ("38112", 21, 6)
    assert {lang.language: lang.level for lang in profile.languages} == {
        "ar": "native",
        "de": "basic",
    }


async def test_profile_pause_resume_edit_and_delete(chat: Conversation, app: App) -> None:
    await onboard(chat, "tom", "en")
    await chat.say("tom", "/volunteer")
    for label in (
        "Childcare",
        "Done",
        "English",
        "Done",
        "native or fluent",
        "Altstadt",
        "Monday",
        "Done",
        "evenings",
        "Done",
        "Regularly",
        "2",
        "No quiet hours",
        "Save",
    ):
        await chat.press("tom", label)
    seen = await chat.say("tom", "/profile")
    assert seen[0].text.startswith("Your volunteer profile")
    seen = await chat.press("tom", "Pause offers")
    assert seen[0].text == "Offers are paused. Resume them any time with /profile."
    assert (await profile_of(app, "tom")).status == "paused"  # type: ignore[union-attr]
    await chat.say("tom", "/profile")
    await chat.press("tom", "Resume offers")
    assert (await profile_of(app, "tom")).status == "active"  # type: ignore[union-attr]
    await chat.say("tom", "/profile")
    seen = await chat.press("tom", "Edit area")
    seen = await chat.press("tom", "Oststadt")
    assert seen[0].text == "Saved."
    assert seen[-1].text.startswith("Your volunteer profile") and "Oststadt" in seen[-1].text
    assert (await profile_of(app, "tom")).district == "Oststadt"  # type: ignore[union-attr]
    await chat.say("tom", "/profile")
    seen = await chat.press("tom", "Delete profile")
    assert "really" in seen[0].text
    seen = await chat.press("tom", "Yes, delete it")
    assert seen[0].text == "Your volunteer profile is deleted."
    assert await profile_of(app, "tom") is None
    seen = await chat.press("tom", "Yes, delete it")  # pressed twice: nothing breaks
    assert seen[0].text == "This is for volunteers. Sign up first with /volunteer."


async def test_sign_up_needs_consent(chat: Conversation) -> None:
    seen = await chat.say("neu", "/volunteer", lang="de")
    assert seen[0].text.startswith(
        t("de", "Before I can do that, I need your consent to store your data.")
    )


async def test_quiet_hours_and_weekly_maximum_are_edited_from_the_profile(
    chat: Conversation, app: App
) -> None:
    """Each edit opens its one question, saves and shows the profile again: quiet hours are
    no longer behind the weekly maximum, and neither needs a second run through a summary."""
    await make_volunteer(app, "rosa", limit=2, quiet=(22, 7))
    seen = await chat.say("rosa", "/profile")
    assert t("de", "Edit quiet hours") in seen[0].buttons
    assert t("de", "Edit offers per week") in seen[0].buttons
    seen = await chat.press("rosa", t("de", "Edit quiet hours"))
    assert [s.text for s in seen] == [
        t("de", "When should I not send you offers? You can also type hours like 22-7.")
    ]
    seen = await chat.press("rosa", "21:00–08:00")
    assert seen[0].text == t("de", "Saved.")
    assert seen[-1].text.startswith(t("de", "Your volunteer profile"))
    assert "21:00–08:00" in seen[-1].text
    profile = await profile_of(app, "rosa")
    assert profile is not None and (profile.quiet_start, profile.quiet_end) == (21, 8)

    seen = await chat.press("rosa", t("de", "Edit offers per week"))
    assert [s.text for s in seen] == [
        t("de", "How many offers would you like to get per week at most?")
    ]
    seen = await chat.press("rosa", "5")
    assert seen[0].text == t("de", "Saved.")
    assert seen[-1].text.startswith(t("de", "Your volunteer profile"))
    profile = await profile_of(app, "rosa")
    assert profile is not None
    assert (profile.max_offers_per_week, profile.quiet_start, profile.quiet_end) == (5, 21, 8)
    assert profile.status == "active" and [a.activity for a in profile.activities] == [
        "accompany_authorities"
    ]


async def test_quiet_hours_typed_on_a_numbered_transport(app: App) -> None:
    """Without buttons the same edit works by typing the hours."""
    chat = Conversation(app, platform="numbers", inline_buttons=False)
    await make_volunteer(app, "omid", platform="numbers", limit=3, language="fa")
    await chat.say("omid", "/profile")
    await chat.say("omid", t("fa", "Edit quiet hours"))
    seen = await chat.say("omid", "21-8")
    assert seen[0].text == t("fa", "Saved.")
    assert seen[-1].text.startswith(t("fa", "Your volunteer profile"))
    profile = await profile_of(app, "omid")
    assert profile is not None
    assert (profile.max_offers_per_week, profile.quiet_start, profile.quiet_end) == (3, 21, 8)
