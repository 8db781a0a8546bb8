"""The network's charter, votes with and without quorum, and a survey in two languages."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from bot.app import App
from db.models import Organisation, OrganisationMember, Person, Poll, SurveyResponse
from handlers.network.polls import close_due
from tests.support import Clock, Conversation, onboard, t, tn

ORG_INTENT = "I act for an initiative or organisation"


async def test_charter_shows_members_and_is_edited_in_two_languages(
    chat: Conversation, app: App
) -> None:
    from lotse.demo import load_demo

    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "carla", "de", ORG_INTENT)
    seen = await chat.say("nadia", "/about", lang="ar")  # no consent needed to read it
    text = seen[0].text
    assert t("ar", "Our goal") in text and t("ar", "Our members") in text
    assert t("ar", "Shelter") + ": 2" in text
    seen = await chat.say("carla", "/about")
    assert seen[0].buttons == [t("de", "Edit the charter")]
    await chat.press("carla", t("de", "Edit the charter"))
    await chat.press("carla", t("de", "Our goal"))
    seen = await chat.say("carla", "de: Niemand bleibt allein.\nar: لا أحد يبقى وحيدًا.")
    assert seen[0].text == t("de", "The charter is updated.")
    assert "لا أحد يبقى وحيدًا." in (await chat.say("nadia", "/about"))[0].text
    english = (await chat.say("ella", "/about", lang="en"))[0].text
    assert "Niemand bleibt allein.\n(original in German)" in english


async def organisation_admins(app: App, *names: str) -> None:
    async with app.session_factory() as session:
        for number, name in enumerate(names):
            person = await session.scalar(select(Person).where(Person.platform_user_id == name))
            assert person is not None
            org = Organisation(
                slug=f"org{number}",
                name=f"Initiative {number}",
                kind="welcome_initiative",
                status="approved",
            )
            session.add(org)
            await session.flush()
            session.add(
                OrganisationMember(organisation_id=org.id, person_id=person.id, role="admin")
            )
        await session.commit()


async def start_poll(chat: Conversation, mode: str, quorum: int) -> None:
    await chat.say("carla", "/poll")
    await chat.say("carla", "de: Sommerfest im Juli?\nar: حفلة صيفية في يوليو؟")
    await chat.say("carla", "Ja\nNein")
    await chat.press("carla", t("de", mode))
    await chat.press("carla", t("de", "1 week"))
    await chat.say("carla", str(quorum))
    await chat.press("carla", t("de", "Start"))


async def test_a_vote_per_organisation_with_quorum(
    chat: Conversation, app: App, clock: Clock
) -> None:
    for name, language in (("carla", "de"), ("amal", "ar"), ("ben", "en"), ("cem", "tr")):
        await onboard(chat, name, language, ORG_INTENT)
    await organisation_admins(app, "amal", "ben", "cem")
    await start_poll(chat, "One vote per organisation", quorum=2)
    ballot = chat.last("amal")
    assert "حفلة صيفية في يوليو؟" in ballot.text and ballot.buttons == ["Ja", "Nein"]
    seen = await chat.press("amal", "Ja")
    assert seen[0].text == t("ar", "Thank you, your vote for “{option}” is counted.", option="Ja")
    await chat.press("ben", "Ja")
    await chat.press("cem", "Nein")
    assert not [s for s in chat.messages("carla") if s.buttons == ["Ja", "Nein"]]
    clock.advance(days=8)
    async with app.session_factory() as session:
        assert await close_due(session, app.services, clock()) == 1
    await chat.sender.drain()
    result = chat.last("ben").text
    assert result.startswith("The vote has closed.") and "Decision: Ja" in result
    seen = await chat.say("cem", "/decisions")
    assert "Ja: 2" in seen[0].text and "Nein: 1" in seen[0].text


async def test_a_vote_without_quorum(chat: Conversation, app: App, clock: Clock) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "dora", "uk")
    await start_poll(chat, "One vote per person", quorum=5)
    await chat.press("dora", "Nein")
    seen = await chat.press("dora", "Ja")  # a second vote is refused
    assert seen[0].text in (
        t("uk", "You have already voted."),
        t("uk", "This button has already been used."),
    )
    clock.advance(days=8)
    async with app.session_factory() as session:
        await close_due(session, app.services, clock())
        poll = await session.scalar(select(Poll))
        assert poll is not None and poll.result == {
            "counts": [0, 1],
            "quorum_reached": False,
            "winners": [1],
        }
    await chat.sender.drain()
    assert (
        tn(
            "uk",
            "No decision: the quorum was not reached ({count} of {quorum} vote).",
            "No decision: the quorum was not reached ({count} of {quorum} votes).",
            5,
            count=1,
            quorum=5,
        )
        in chat.last("dora").text
    )


async def test_a_survey_answered_in_two_languages(chat: Conversation, app: App) -> None:
    await onboard(chat, "carla", "de", ORG_INTENT)
    await onboard(chat, "olena", "uk")
    await onboard(chat, "samir", "ar")
    await chat.say("carla", "/survey")
    await chat.say("carla", "de: Was braucht ihr?\nuk: Що вам потрібно?")
    await chat.press("carla", t("de", "Single choice"))
    await chat.say("carla", "de: Wie oft kommt ihr?\nar: كم مرة تأتون؟")
    await chat.say("carla", "Jede Woche\nJeden Monat\nSelten")
    await chat.press("carla", t("de", "Add a question"))
    await chat.press("carla", t("de", "Multiple choice"))
    await chat.say("carla", "Welche Angebote fehlen?")
    await chat.say("carla", "Deutschkurs\nKinderbetreuung\nBeratung")
    await chat.press("carla", t("de", "Add a question"))
    await chat.press("carla", t("de", "Scale from 1 to 5"))
    await chat.say("carla", "Wie zufrieden seid ihr?")
    await chat.press("carla", t("de", "Add a question"))
    await chat.press("carla", t("de", "Free text"))
    await chat.say("carla", "Was sollen wir besser machen?")
    await chat.press("carla", t("de", "Finish"))
    await chat.press("carla", t("de", "Everyone"))
    await chat.press("carla", t("de", "Yes, anonymous"))
    seen = await chat.press("carla", t("de", "Send"))
    assert seen[0].text == tn(
        "de",
        "The survey was sent to {count} person.",
        "The survey was sent to {count} people.",
        3,
        count=3,
    )
    invitation = chat.last("olena")
    assert "Що вам потрібно?" in invitation.text
    # Olena answers two questions, stops, and continues later
    seen = await chat.press("olena", t("uk", "Start"))
    assert "Wie oft kommt ihr?" in seen[0].text  # no Ukrainian given: the original
    await chat.press("olena", "Jede Woche")
    await chat.press("olena", "Deutschkurs")
    await chat.say("olena", "/cancel")
    seen = await chat.say("olena", "/surveys")
    assert (
        t(
            "uk",
            "{title}: {done} of {total} questions answered",
            title="Що вам потрібно?",
            done=1,
            total=4,
        )
        in seen[0].text
    )
    await chat.press("olena", t("uk", "Continue"))
    await chat.press("olena", "Deutschkurs")
    await chat.press("olena", "Beratung")
    await chat.press("olena", t("uk", "Done"))
    await chat.press("olena", "4")
    seen = await chat.say("olena", "Mehr Abendkurse")
    assert seen[-1].text == t("uk", "Thank you for taking part!")
    # Samir answers in Arabic
    seen = await chat.press("samir", t("ar", "Start"))
    assert "كم مرة تأتون؟" in seen[0].text
    await chat.press("samir", "Selten")
    await chat.press("samir", "Kinderbetreuung")
    await chat.press("samir", t("ar", "Done"))
    await chat.press("samir", "5")
    await chat.press("samir", t("ar", "Skip"))
    async with app.session_factory() as session:
        responses = list(await session.scalars(select(SurveyResponse)))
    assert sorted(r.language for r in responses) == ["ar", "uk"]
    assert all(r.person_id is None for r in responses)  # anonymous
    seen = await chat.press("carla", t("de", "Results"))
    summary, picture, table = seen[0], seen[1], seen[2]
    assert t("de", "Responses: {count}", count=2) in summary.text
    assert "Deutschkurs: 1" in summary.text and "Kinderbetreuung: 1" in summary.text
    assert "4,5" in summary.text  # the average, in German
    assert picture.message.attachment is not None
    assert picture.message.attachment.content.startswith(b"\x89PNG")
    assert table.message.attachment is not None
    content = table.message.attachment.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))  # German Excel splits on ";"
    assert len(rows) == 3 and "Mehr Abendkurse" in rows[1] + rows[2]
    assert rows[0][:2] == ["Antwort", "Sprache"] and rows[2][1] == "Arabisch"


def test_survey_charts_draw_arabic_and_farsi_joined_and_right_to_left() -> None:
    from handlers.network.surveys import drawn

    assert drawn("Ja, gern") == "Ja, gern"
    shown = drawn("نعم")  # "yes": three letters that join
    assert len(shown) == 3 and all("\ufe70" <= ch <= "\ufeff" for ch in shown)
    assert shown[0] == "\ufee2"  # the last letter, final form, comes first from the left
