"""Typed answers never cross: a push in the middle of a form, several lists, number labels.

On Matrix and in the terminal a person types `3`, a label or a handle (`1a`); what they meant
must not depend on what arrived last (docs/architecture.md, "Answers without buttons").
These stories run on a platform without buttons; tests/transports/test_matrix_typed_answers.py
runs the main ones on the real Synapse.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.app import App
from db.models import Offer, Person, PersonRole, Report, VolunteerProfile
from tests.support import Conversation, make_volunteer, onboard, t


def typed(app: App) -> Conversation:
    return Conversation(app, platform="mx", inline_buttons=False)


def handles(text_lines: list[str]) -> dict[str, str]:
    """`  [1a] Label` lines → {label: handle}."""
    found = {}
    for line in text_lines:
        match = re.match(r"^\s*\[(\w+)\](?: (.*))?$", line)
        if match:
            found[match.group(2) or match.group(1)] = match.group(1)
    return found


def shown_handles(seen) -> list[str]:  # type: ignore[no-untyped-def]
    return [button.handle for row in seen.message.buttons for button in row]


async def a_coordinator_posts_a_need(app: App, title: str = "Kinderbetreuung") -> Conversation:
    """Carla, a coordinator on a messenger with buttons, publishes a childcare need."""
    buttons = Conversation(app, platform="tg")
    await onboard(buttons, "carla", "de", "I act for an initiative or organisation")
    async with app.session_factory() as session:
        carla = await session.scalar(select(Person).where(Person.platform == "tg"))
        assert carla is not None
        carla.roles.append(PersonRole(role="coordinator", granted_at=app.services.clock()))
        await session.commit()
    await buttons.say("carla", f"/need {title}")
    for label in ("Skip", "Done", "Altstadt", "Skip", "Flexible, by arrangement", "1"):
        await buttons.press("carla", t("de", label) if label not in ("Altstadt", "1") else label)
    await buttons.press("carla", t("de", "2 weeks"))
    await buttons.press("carla", t("de", "Publish"))
    return buttons


async def test_an_offer_arriving_mid_edit_never_takes_the_forms_answer(app: App) -> None:
    """Lina edits her weekly maximum; an offer arrives before she answers. Her `5` is the
    form's (the label 5, not the fifth option), and the offer answers to its own handle."""
    chat = typed(app)
    lina = await make_volunteer(app, "lina", platform="mx", activities=("childcare",), limit=3)
    await chat.say("lina", "/profile")
    seen = await chat.press("lina", t("de", "Edit offers per week"))
    question = seen[-1]
    assert question.text == t("de", "How many offers would you like to get per week at most?")
    assert shown_handles(question) == ["1", "2", "3", "5", "10"]  # numbers typed as themselves

    await a_coordinator_posts_a_need(app)
    await chat.sender.drain()
    offer = chat.last("lina")
    assert "Kinderbetreuung" in offer.text
    assert shown_handles(offer) == ["1a", "1b", "1c"]  # its own handles, not 1, 2, 3

    seen = await chat.say("lina", "5")
    async with app.session_factory() as session:
        profile = await session.scalar(
            select(VolunteerProfile).where(VolunteerProfile.person_id == lina)
        )
        assert profile is not None
        assert profile.max_offers_per_week == 5 and profile.status == "active"
    assert t("de", "Your volunteer profile") in seen[-1].text

    seen = await chat.say("lina", "1A")  # any case, any order
    async with app.session_factory() as session:
        offer_row = await session.scalar(select(Offer).where(Offer.volunteer_person_id == lina))
        assert offer_row is not None and offer_row.status == "interested"

    seen = await chat.say("lina", "1c")  # the offer is handled: its handles answer no more
    assert seen[0].text.startswith(t("de", "You have already answered that: {what}", what="")[:20])


async def test_a_destructive_choice_typed_is_confirmed_first_and_can_be_kept(app: App) -> None:
    chat = typed(app)
    lina = await make_volunteer(app, "lina", platform="mx", activities=("childcare",))
    await a_coordinator_posts_a_need(app)
    await chat.sender.drain()
    seen = await chat.say("lina", "1c")  # "Pause offers"
    assert seen[-1].text.startswith(
        t("de", "You chose “{choice}” for: {what}\nShall I do that?", choice="X", what="Y")[:10]
    )
    assert t("de", "Pause offers") in seen[-1].text and "Kinderbetreuung" in seen[-1].text
    assert seen[-1].buttons == [t("de", "Yes, do it"), t("de", "No, leave it")]
    seen = await chat.say("lina", "2")
    assert seen[-1].text == t("de", "All right, nothing was changed.")
    async with app.session_factory() as session:
        profile = await session.scalar(
            select(VolunteerProfile).where(VolunteerProfile.person_id == lina)
        )
        assert profile is not None and profile.status == "active"
    await chat.say("lina", "1c")
    await chat.say("lina", "1")  # yes
    async with app.session_factory() as session:
        profile = await session.scalar(
            select(VolunteerProfile).where(VolunteerProfile.person_id == lina)
        )
        assert profile is not None and profile.status == "paused"


async def test_an_answer_that_fits_nothing_lists_what_is_open(app: App) -> None:
    chat = typed(app)
    await make_volunteer(app, "lina", platform="mx", activities=("childcare",))
    await a_coordinator_posts_a_need(app)
    await chat.sender.drain()
    seen = await chat.say("lina", "7b")
    assert seen[0].text == t("de", "There is no option {handle} (any more).", handle="7b")
    listing = seen[1].text.splitlines()
    assert listing[0] == t("de", "You can answer with the code in brackets:")
    assert any("Kinderbetreuung" in line for line in listing)
    assert handles(listing)[t("de", "I can help")] == "1a"
    seen = await chat.say("lina", "banana")
    assert seen[0].text == t(
        "de",
        "Sorry, I did not understand that. Send /help to see what "
        "I can do, or /menu for the main menu.",
    )
    assert "[1a]" in seen[1].text


async def test_two_report_notices_the_first_acted_on_by_its_handle(app: App) -> None:
    """A coordinator typed `1` for the first report after a second arrived, and blocked the
    wrong person. Now each notice has its handles, and a block asks first."""
    chat = typed(app)
    await onboard(chat, "cora", "de", "I want to volunteer")
    async with app.session_factory() as session:
        cora = await session.scalar(select(Person).where(Person.platform_user_id == "cora"))
        assert cora is not None
        cora.roles.append(PersonRole(role="coordinator", granted_at=app.services.clock()))
        await session.commit()
    for reporter, about in (("rita", "tom"), ("rolf", "udo")):
        await onboard(chat, reporter, "de", "I want to volunteer")
        await onboard(chat, about, "de", "I want to volunteer")
        await chat.say(about, "/help", group="treff")
        await chat.say(reporter, "/report", group="treff", reply_to_user=about)
    await chat.sender.drain()
    notices = [s for s in chat.messages("cora") if shown_handles(s)[:1] in (["1a"], ["2a"])]
    assert [shown_handles(n)[0] for n in notices] == ["1a", "2a"]
    block = t("de", "Block this person")
    first_block = next(
        h
        for h, label in zip(shown_handles(notices[0]), notices[0].buttons, strict=True)
        if label == block
    )
    seen = await chat.say("cora", first_block)
    assert t("de", "Yes, do it") in seen[-1].buttons
    await chat.say("cora", "1")
    async with app.session_factory() as session:
        blocked = {
            p.platform_user_id
            for p in await session.scalars(select(Person).where(Person.blocked_at.is_not(None)))
        }
        reports = list(await session.scalars(select(Report)))
    assert blocked == {"tom"}
    assert len(reports) == 2


async def test_events_attend_by_handle_after_the_filter_keyboard(app: App) -> None:
    """`/events` shows event cards and then its filters; the filters own `1`, `2`, the cards
    answer to their handles, also after a filter was chosen."""
    from tests.handlers.events.test_events import ORG_INTENT, publish_event

    chat = Conversation(app, inline_buttons=False)  # Carla coordinates on this platform
    await onboard(chat, "carla", "de", ORG_INTENT)
    await publish_event(chat)
    await chat.press("carla", t("de", "Publish"))
    await onboard(chat, "dirk", "de")
    seen = await chat.say("dirk", "/events")
    card = next(s for s in seen if "Nähcafé" in s.text)
    filters = seen[-1]
    assert shown_handles(card) == ["1a", "1b", "1c"]
    assert shown_handles(filters) == ["1", "2", "3"]
    seen = await chat.say("dirk", "2")  # the filter: district
    assert "Südstadt" in seen[-1].buttons
    seen = await chat.say("dirk", "1a")  # "I'll come" on the card above
    async with app.session_factory() as session:
        from db.models import Attendance

        attending = list(await session.scalars(select(Attendance)))
    assert len(attending) == 1 and attending[0].cancelled_at is None


async def test_a_confirmation_asked_in_the_middle_of_a_form_is_answered_like_a_question(
    app: App,
) -> None:
    """Lina is editing her weekly maximum when an offer arrives; she types the offer's
    "Pause offers" code. The confirmation is answered by typing "Yes, do it" (not taken as
    anything else), and then her question is asked again and still answers to its numbers."""
    chat = typed(app)
    lina = await make_volunteer(app, "lina", platform="mx", activities=("childcare",), limit=3)
    await chat.say("lina", "/profile")
    await chat.press("lina", t("de", "Edit offers per week"))
    await a_coordinator_posts_a_need(app)
    await chat.sender.drain()
    seen = await chat.say("lina", "1c")
    assert shown_handles(seen[-1]) == ["1", "2"]
    seen = await chat.say("lina", t("de", "No, leave it"))
    assert seen[0].text == t("de", "All right, nothing was changed.")
    assert seen[-1].text == t("de", "How many offers would you like to get per week at most?")
    await chat.say("lina", "1c")
    await chat.say("lina", t("de", "Yes, do it"))
    await chat.say("lina", "2")  # the form's answer: two a week
    async with app.session_factory() as session:
        profile = await session.scalar(
            select(VolunteerProfile).where(VolunteerProfile.person_id == lina)
        )
        assert profile is not None
        assert (profile.status, profile.max_offers_per_week) == ("paused", 2)
