"""Organisations, needs, matching and the consented hand-over, as whole stories."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import App
from db.models import FlowState, Need, Offer, Organisation, Person
from handlers.basics.taxonomy import availability_bits
from tests.support import Clock, Conversation, make_volunteer, onboard, t, tn

ORG_INTENT = "I act for an initiative or organisation"


async def register_organisation(chat: Conversation, user: str, language: str, name: str) -> str:
    """Register and have coordinator Carla approve; returns the invitation code."""
    await onboard(chat, user, language, ORG_INTENT)
    await chat.press(user, t(language, "My organisation"))
    await chat.say(user, name)
    await chat.press(user, t(language, "Welcome initiative"))
    await chat.press(user, "Südstadt")
    await chat.say(user, "Wir begleiten neu angekommene Familien im Alltag.")
    await chat.say(user, "kontakt@example.org")
    seen = await chat.press(user, t(language, "Send"))
    review = [s for s in seen if s.chat_id == "carla"]
    assert review and review[0].text.startswith(
        t("de", "A new organisation asks to join the network:")
    )
    assert name in review[0].text
    seen = await chat.press("carla", t("de", "Approve"), chat_id="carla")
    welcome = next(s for s in seen if s.chat_id == user)
    code = welcome.text.split(
        t(language, "Invitation code: {code}. Others join with /join {code}", code="CODE").split(
            "CODE"
        )[0]
    )[1][:8]
    return code


async def coordinator(chat: Conversation) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)


async def test_organisation_registration_approval_and_joining(
    chat: Conversation, app: App
) -> None:
    await coordinator(chat)
    code = await register_organisation(chat, "amal", "ar", "Nachbarschaftshilfe Süd")
    async with app.session_factory() as session:
        org = await session.scalar(
            select(Organisation).where(Organisation.name == "Nachbarschaftshilfe Süd")
        )
        assert org is not None and org.status == "approved" and org.invite_code == code
    await onboard(chat, "ben", "en", ORG_INTENT)
    seen = await chat.say("ben", "/join WRONG1")
    assert seen[0].text == "I do not know this invitation code. Please check it."
    seen = await chat.say("ben", f"/join {code}")
    assert (
        seen[0].text == "Welcome to “Nachbarschaftshilfe Süd”! You can now post needs for "
        "it with /need."
    )
    # a second review of the same registration changes nothing
    seen = await chat.press("carla", t("de", "Decline"), chat_id="carla")
    assert seen[0].text == t("de", "This registration was already reviewed.")
    # someone who is not a coordinator cannot approve, even with a forged press
    seen = await chat.say("ben", "/organisation")
    assert "Nachbarschaftshilfe Süd" in seen[0].text


async def test_a_need_posted_in_a_group_in_one_line_reaches_the_right_volunteers(
    chat: Conversation, app: App, clock: Clock
) -> None:
    await coordinator(chat)
    await register_organisation(chat, "anna", "de", "Willkommen Süd")
    match = await make_volunteer(app, "lina", languages={"ar": "native", "de": "good"})
    paused = await make_volunteer(app, "paul", languages={"ar": "native"}, paused=True)
    await make_volunteer(app, "omar", languages={"fa": "native"})  # wrong language
    await make_volunteer(app, "kai", activities=("childcare",), languages={"ar": "native"})
    quiet = await make_volunteer(app, "nina", languages={"ar": "good"}, quiet=(8, 12))
    full = await make_volunteer(app, "fritz", languages={"ar": "basic"}, limit=1)
    # fritz already had his one offer this week
    chat.admins.add(("#helfer", "anna"))
    seen = await chat.say("anna", "/linkgroup", group="helfer")
    assert seen[0].text == t(
        "de",
        "This group is now linked to “{name}”. Members can post needs here with /need.",
        name="Willkommen Süd",
    )
    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wednesday 10:00 in Berlin
    async with app.session_factory() as session:
        from db.models import VolunteerProfile

        profile = await session.get(VolunteerProfile, full)
        assert profile is not None
        profile.offers_week, profile.offers_this_week = "2026-W48", 1
        await session.commit()
    seen = await chat.say(
        "anna", "/need Begleitung zum Jobcenter Di 10:00 Arabisch", group="helfer"
    )
    # title, activity, date and language were understood: only the rest is asked
    assert seen[0].text == t(
        "de",
        "Describe the task in a few sentences: what will the "
        "volunteer do, and what should they know? (Or skip.)",
    )
    await chat.press("anna", t("de", "Skip"), group="helfer")
    await chat.press("anna", "Südstadt", group="helfer")
    await chat.say("anna", "Jobcenter, Bahnhofstraße 12", group="helfer")
    seen = await chat.press("anna", "1", group="helfer")
    preview = seen[1].text
    assert "Begleitung zum Jobcenter" in preview and "Arabisch" in preview
    assert "Di., 1. Dez. 2026, 10:00" in preview
    seen = await chat.press("anna", t("de", "Publish"), group="helfer")
    assert seen[0].chat_id == "#helfer"
    assert seen[0].text == tn(
        "de",
        "Published! I am asking {count} volunteer who fits.",
        "Published! I am asking {count} volunteers who fit.",
        1,
        count=1,
    )
    offers = [s for s in seen if s.chat_id == "lina"]
    assert len(offers) == 1 and "Begleitung zum Jobcenter" in offers[0].text
    assert offers[0].buttons == [
        t("de", "I can help"),
        t("de", "Not this time"),
        t("de", "Pause offers"),
    ]
    async with app.session_factory() as session:
        asked = set(await session.scalars(select(Offer.volunteer_person_id)))
    assert asked == {match}
    assert not asked & {paused, quiet, full}


async def test_hand_over_with_both_consents_and_a_full_need_closing(
    chat: Conversation, app: App
) -> None:
    await coordinator(chat)
    await register_organisation(chat, "anna", "de", "Willkommen Süd")
    for name in ("lina", "mona", "rami"):
        await make_volunteer(app, name, languages={"ar": "native"}, language="ar")
    await chat.say("anna", "/need Begleitung zum Amt Arabisch")
    await chat.press("anna", t("de", "Skip"))
    await chat.press("anna", "Südstadt")
    await chat.press("anna", t("de", "Skip"))
    await chat.press("anna", t("de", "Flexible, by arrangement"))
    await chat.press("anna", "1")
    await chat.press("anna", t("de", "1 month"))
    seen = await chat.press("anna", t("de", "Publish"))
    offered = sorted(s.chat_id for s in seen if s.chat_id in ("lina", "mona", "rami"))
    assert offered == ["lina", "mona", "rami"]
    # Lina (Arabic) says yes: Anna learns who, but no contact yet
    seen = await chat.press("lina", t("ar", "I can help"))
    to_anna = next(s for s in seen if s.chat_id == "anna")
    assert "Lina" in to_anna.text and "fake" not in to_anna.text
    assert to_anna.buttons == [t("de", "Accept"), t("de", "Decline")]
    # Mona says yes too, Rami says not this time
    await chat.press("mona", t("ar", "I can help"))
    await chat.press("rami", t("ar", "Not this time"))
    # Anna declines Mona kindly, accepts Lina: now both get each other's contact
    seen = await chat.press("anna", t("de", "Decline"))
    assert [s.chat_id for s in seen] == ["anna", "mona"]
    assert "Mona" not in seen[1].text
    accept_lina = [s for s in chat.messages("anna") if "Lina" in s.text][-1].token(
        t("de", "Accept")
    )
    seen = await chat.tap("anna", accept_lina)
    to_lina = next(s for s in seen if s.chat_id == "lina")
    assert "fake: anna" in to_lina.text
    assert "fake: lina" in seen[0].text
    assert t(
        "de",
        "“{title}” now has all the helpers it needs and is closed.",
        title="Begleitung zum Amt",
    ) in [s.text for s in seen]
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and (need.status, need.helpers_count) == ("full", 1)
        statuses = {o.volunteer_person_id: o.status for o in await session.scalars(select(Offer))}
    assert sorted(statuses.values()) == ["accepted", "declined", "rejected"]
    # pressing Accept again, or someone else pressing it, changes nothing
    seen = await chat.tap("anna", accept_lina)  # the same button again (or a replay)
    assert seen[0].text == t("de", "This button has already been used.")
    seen = await chat.press("anna", t("de", "Accept"))  # Mona's, after declining her
    assert seen[0].text == t("de", "This offer was already answered or withdrawn.")
    # Lina withdraws: the need opens again and Anna is told
    seen = await chat.press("lina", t("ar", "I can no longer help"))
    assert any(s.chat_id == "anna" and "Lina" in s.text for s in seen)
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and (need.status, need.helpers_count) == ("open", 0)


async def test_retention_deletes_a_helper_like_delete_does_and_the_need_opens_again(
    chat: Conversation, app: App, clock: Clock
) -> None:
    from handlers.people.mydata import retention

    await coordinator(chat)
    await register_organisation(chat, "anna", "de", "Willkommen Süd")
    await make_volunteer(app, "lina", languages={"ar": "native"}, language="ar")
    await chat.say("anna", "/need Begleitung zum Amt Arabisch")
    await chat.press("anna", t("de", "Skip"))
    await chat.press("anna", "Südstadt")
    await chat.press("anna", t("de", "Skip"))
    await chat.press("anna", t("de", "Flexible, by arrangement"))
    await chat.press("anna", "1")
    await chat.press("anna", t("de", "1 month"))
    await chat.press("anna", t("de", "Publish"))
    await chat.press("lina", t("ar", "I can help"))
    await chat.press("anna", t("de", "Accept"))
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and need.status == "full"
        # Lina has not been seen for over a year and ignored the reminder a month ago
        lina = await session.scalar(select(Person).where(Person.platform_user_id == "lina"))
        assert lina is not None
        lina.last_seen_at = clock() - timedelta(days=400)
        lina.retention_notified_at = clock() - timedelta(days=40)
        await session.commit()
    async with app.session_factory() as session:
        assert await retention(session, app.services, clock()) == (0, 1)
    await chat.sender.drain()
    # as after /delete, the notice does not carry the name that is being erased
    assert chat.last("anna").text == t(
        "de", "A volunteer can no longer help with “{title}”.", title="Begleitung zum Amt"
    )
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and (need.status, need.helpers_count) == ("open", 0)
        assert list(await session.scalars(select(Offer.status))) == []  # erased with her


async def test_needs_from_people_without_an_approved_group_wait_for_a_coordinator(
    chat: Conversation, app: App
) -> None:
    await coordinator(chat)
    await onboard(chat, "eva", "en", ORG_INTENT)
    await make_volunteer(app, "lina", activities=("childcare",))
    await chat.say("eva", "/need Kinderbetreuung beim Elterncafé")
    for label in ("Skip", "Done", "Weststadt", "Skip", "Every week", "Friday"):
        await chat.press("eva", label)
    await chat.say("eva", "16:00")
    await chat.press("eva", "2")
    await chat.press("eva", "3 months")
    seen = await chat.press("eva", "Publish")
    assert seen[0].text.startswith("Thank you! A coordinator will check your need")
    review = next(s for s in seen if s.chat_id == "carla")
    assert review.buttons == [t("de", "Publish"), t("de", "Decline")]
    assert not [s for s in seen if s.chat_id == "lina"]
    seen = await chat.press("carla", t("de", "Publish"), chat_id="carla")
    assert any(s.chat_id == "lina" for s in seen)
    assert any(s.chat_id == "eva" and "is published" in s.text for s in seen)


async def test_bad_input_in_the_need_flow(chat: Conversation, app: App) -> None:
    await coordinator(chat)
    await register_organisation(chat, "anna", "de", "Willkommen Süd")
    await chat.say("anna", "/need")
    seen = await chat.say("anna", "ab")
    assert seen[0].text == t("de", "That is too short. Please write a little more.")
    seen = await chat.say("anna", "x" * 500)
    assert seen[0].text == t(
        "de",
        "That is too long ({count} characters). Please keep it under {limit} characters.",
        count=500,
        limit=120,
    )
    seen = await chat.say("anna", "y" * 10_000)
    assert "10000" in seen[0].text or "10.000" in seen[0].text
    await chat.say("anna", "Hilfe beim Umzug")
    await chat.say("anna", "Wir ziehen am Samstag um und brauchen starke Hände.")
    await chat.press("anna", t("de", "Transport and driving"))
    seen = await chat.say("anna", "Klingonisch")
    assert seen[0].text == t("de", "I do not know that language. Please choose from the list.")
    await chat.press("anna", t("de", "Done"))
    await chat.press("anna", "Nordviertel")
    await chat.press("anna", t("de", "Skip"))
    await chat.press("anna", t("de", "On a date"))
    seen = await chat.say("anna", "01.01.2020 10:00")
    assert seen[0].text == t("de", "That date is in the past. Please give a date from today on.")
    seen = await chat.say("anna", "31.02. 10:00")
    assert seen[0].text == t(
        "de", "Please give a date and time, for example 12.12. 10:00 or Tue 10:00."
    )
    seen = await chat.say("anna", "12.12.")
    assert seen[0].text == t("de", "Please add a time, for example 10:00.")
    await chat.say("anna", "12.12. 10:00")
    seen = await chat.say("anna", "0")
    assert seen[0].text == t("de", "Please give a number from 1 to {max}.", max=50)
    seen = await chat.say("anna", "2")
    assert seen[1].text.startswith("Hilfe beim Umzug")
    # change the date from the preview
    await chat.press("anna", t("de", "Change something"))
    await chat.press("anna", t("de", "Date and time"))
    await chat.press("anna", t("de", "On a date"))
    seen = await chat.say("anna", "13.12. 09:00")
    assert "13. Dez. 2026, 09:00" in seen[1].text
    seen = await chat.press("anna", t("de", "Cancel"))
    assert seen[0].text == t("de", "The need was not published.")
    async with app.session_factory() as session:
        assert await session.scalar(select(Need)) is None


async def test_need_in_an_unlinked_group_is_refused(chat: Conversation) -> None:
    await onboard(chat, "anna", "de", ORG_INTENT)
    seen = await chat.say("anna", "/need Hilfe", group="irgendwo")
    assert seen[0].text == t(
        "de",
        "This group is not linked to an organisation yet. A group "
        "admin can link it with /linkgroup.",
    )


def numbered_entries(text: str) -> list[str]:
    """The entries of a /needs page: each starts a paragraph with its number."""
    return re.split(r"\n\n(?=\d+\. )", text)[1:]


async def test_browsing_needs_with_filters_and_pages(chat: Conversation, app: App) -> None:
    from lotse.demo import load_demo

    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "vera", "de")
    # one message per page: the needs numbered, an "I can help" button for each
    (page,) = await chat.say("vera", "/needs")
    assert page.text.startswith(t("de", "Open needs: {count}", count=10))
    assert t("de", "Page {page} of {pages}", page=1, pages=2) in page.text
    helps = [t("de", "I can help with no. {number}", number=n) for n in range(1, 6)]
    assert page.buttons[:5] == helps and t("de", "Next") in page.buttons
    assert all(f"{n}. " in page.text for n in range(1, 6)) and "6. " not in page.text
    (page,) = await chat.press("vera", t("de", "Next"))
    assert t("de", "Previous") in page.buttons and "6. " in page.text
    assert page.buttons[0] == t("de", "I can help with no. {number}", number=6)
    await chat.press("vera", t("de", "Language"))
    (page,) = await chat.press("vera", "Ukrainisch")
    entries = numbered_entries(page.text)
    assert entries and all("Ukrainisch" in entry for entry in entries)
    assert page.text.startswith(
        t("de", "Open needs for {filters}: {count}", filters="Ukrainisch", count=len(entries))
    )
    await chat.press("vera", t("de", "Activity"))
    (page,) = await chat.press("vera", t("de", "Childcare"))
    both = t("de", "Childcare") + " und Ukrainisch"
    found = len(numbered_entries(page.text))
    assert page.text == t("de", "No open needs match {filters}.", filters=both) or (
        page.text.startswith(
            t("de", "Open needs for {filters}: {count}", filters=both, count=found)
        )
    )
    seen = await chat.press("vera", t("de", "Clear filters"))
    assert seen[-1].text.startswith(t("de", "Open needs: {count}", count=10))


async def test_a_need_on_one_platform_reaches_a_volunteer_on_another(app: App) -> None:
    telegram_like = Conversation(app, platform="tg")
    matrix_like = Conversation(app, platform="mx")
    await onboard(telegram_like, "carla", "de", ORG_INTENT)  # not a coordinator here
    await make_volunteer(
        app, "@lina:example.org", platform="mx", name="Lina", activities=("childcare",)
    )
    async with app.session_factory() as session:
        carla = await session.scalar(select(Person).where(Person.platform == "tg"))
        from db.models import PersonRole

        assert carla is not None
        carla.roles.append(PersonRole(role="coordinator", granted_at=app.services.clock()))
        await session.commit()
    await telegram_like.say("carla", "/need Kinderbetreuung")
    for label in (
        "Skip",
        "Done",
        "Altstadt",
        "Skip",
        "Flexible, by arrangement",
        "1",
        "2 weeks",
        "Publish",
    ):
        await telegram_like.press(
            "carla", t("de", label) if label not in ("Altstadt", "1") else label
        )
    await matrix_like.sender.drain()
    offer = matrix_like.last("@lina:example.org")
    assert "Kinderbetreuung" in offer.text
    await matrix_like.press("@lina:example.org", t("de", "I can help"))
    await telegram_like.sender.drain()
    assert "Lina" in telegram_like.last("carla").text


async def test_expiry_and_next_round(chat: Conversation, app: App, clock: Clock) -> None:
    from handlers.volunteering.offers import expire_needs, next_rounds

    await coordinator(chat)
    for index in range(8):
        await make_volunteer(
            app,
            f"v{index}",
            activities=("transport",),
            bits=availability_bits(["mon"], ["morning"]),
        )
    await chat.say("carla", "/need Fahrdienst für Familie Haddad")
    await chat.press("carla", t("de", "Skip"))
    await chat.press("carla", t("de", "Done"))
    for label in ("Altstadt", "Skip", "Flexible, by arrangement", "1", "2 weeks"):
        await chat.press(
            "carla", t("de", label) if label != "Altstadt" and label != "1" else label
        )
    seen = await chat.press("carla", t("de", "Publish"))
    first = {s.chat_id for s in seen if s.chat_id.startswith("v")}
    assert len(first) == 3
    clock.advance(hours=25)
    async with app.session_factory() as session:
        assert await next_rounds(session, app.services, clock()) == 3
    await chat.sender.drain()
    second = {s.chat_id for s in chat.log if s.chat_id.startswith("v")} - first
    assert len(second) == 3
    clock.advance(days=14)
    async with app.session_factory() as session:
        assert await expire_needs(session, app.services, clock()) == 1
    async with app.session_factory() as session:
        need = await session.scalar(select(Need))
        assert need is not None and need.status == "expired"
    assert timedelta  # imported for readers of the clock arithmetic


async def test_a_page_of_needs_answered_by_number_where_there_are_no_buttons(app: App) -> None:
    """Matrix and the terminal: the page's keyboard says what each number means, so no
    button tokens are stored, and a single-use "I can help" still works only once."""
    from db.models import ButtonToken
    from lotse.demo import load_demo

    await load_demo(app.session_factory, now=app.services.clock())
    chat = Conversation(app, platform="numbers", inline_buttons=False)
    await make_volunteer(app, "lina", platform="numbers", language="de")
    (page,) = await chat.say("lina", "/needs")
    second = numbered_entries(page.text)[1].split("\n")[0].removeprefix("2. ")
    seen = await chat.say("lina", "2")  # "I can help with no. 2"
    assert seen[0].text.startswith("Danke! Ich habe den Verantwortlichen Bescheid gegeben.")
    seen = await chat.say("lina", t("de", "I can help with no. {number}", number=2))
    assert seen[0].text == t("de", "This button has already been used.")
    async with app.session_factory() as session:
        stored = await session.scalars(
            select(ButtonToken).where(ButtonToken.platform == "numbers")
        )
        assert list(stored) == []
        offer = await session.scalar(select(Offer).join(Need).where(Need.title == second))
        assert offer is not None and offer.status == "interested"


async def test_a_strangers_need_in_a_linked_group_does_not_speak_for_the_organisation(
    chat: Conversation, app: App
) -> None:
    await coordinator(chat)
    await register_organisation(chat, "anna", "de", "Willkommen Süd")
    chat.admins.add(("#helfer", "anna"))
    await chat.say("anna", "/linkgroup", group="helfer")
    await onboard(chat, "sam", "en")  # in the group, but not a member of the initiative
    await chat.say("sam", "/need Childcare during the moving day", group="helfer")
    for label in ("Skip", "Done", "Altstadt", "Skip", "Flexible, by arrangement", "1"):
        await chat.press("sam", label, group="helfer")
    seen = await chat.press("sam", "2 weeks", group="helfer")
    assert "Willkommen Süd" not in "\n".join(s.text for s in seen)  # the preview
    seen = await chat.press("sam", "Publish", group="helfer")
    assert seen[0].text.startswith("Thank you! A coordinator will check your need")
    review = next(s for s in seen if s.chat_id == "carla")
    assert (
        t(
            "de",
            "Posted in a linked group by someone who is not a member of its organisation.",
        )
        in review.text
    )
    assert "Willkommen Süd" not in review.text
    async with app.session_factory() as session:
        need = await session.scalar(
            select(Need).where(Need.title == "Childcare during the moving day")
        )
    assert need is not None and need.organisation_id is None and need.status == "pending_review"
    # a member's need in the same group still carries the organisation's name
    await chat.say("anna", "/need Begleitung zum Amt", group="helfer")
    async with app.session_factory() as session:
        flow = await session.scalar(select(FlowState).where(FlowState.user_id == "anna"))
    assert flow is not None and flow.data["org_id"] is not None
