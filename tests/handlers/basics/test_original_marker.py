"""People's texts shown in another language than the reader's carry the marker
"(original in …)" once per card: needs, events, partners and directory services."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.core import multilang
from bot.core.i18n import use_locale
from db.models import Need
from lotse.demo import load_demo
from tests.support import Conversation, onboard, t

SEEKING = "I am looking for help or information"


def marker(reader: str, original: str) -> str:
    with use_locale(reader):
        return multilang.note(original)


async def test_an_arabic_reader_sees_each_german_need_marked_once(
    chat: Conversation, app: App
) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "amal", "ar")
    seen = await chat.say("amal", "/needs")
    german = marker("ar", "de")
    assert german == t("ar", "(original in {language})", language="الألمانية")
    entries = seen[0].text.split("\n\n")[1:]
    needs = [entry for entry in entries if entry.split("\n")[0][:2].rstrip(".").isdigit()]
    assert needs and all(entry.count(german) == 1 for entry in needs)
    await onboard(chat, "hans", "de")
    seen = await chat.say("hans", "/needs")
    assert "(Original" not in seen[0].text


async def test_a_need_posted_in_arabic_is_marked_for_german_readers(
    chat: Conversation, app: App
) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    async with app.session_factory() as session:
        need = await session.scalar(select(Need).where(Need.slug == "need-jobcenter-begleitung"))
        assert need is not None
        need.title, need.text_language = "مرافقة إلى مركز العمل", "ar"
        await session.commit()
    await onboard(chat, "hans", "de")
    seen = await chat.say("hans", "/needs")
    entry = next(e for e in seen[0].text.split("\n\n") if "مرافقة" in e)
    assert entry.count(marker("de", "ar")) == 1
    await onboard(chat, "amal", "ar")
    seen = await chat.say("amal", "/needs")
    entry = next(e for e in seen[0].text.split("\n\n") if "مرافقة" in e)
    assert marker("ar", "de") not in entry and marker("ar", "ar") == ""


async def test_an_event_in_two_fields_is_marked_once(chat: Conversation, app: App) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "olga", "ru")
    seen = await chat.say("olga", "/events")
    german = marker("ru", "de")
    cards = [s.text for s in seen if german in s.text]
    assert cards, [s.text for s in seen]
    assert all(text.count(german) == 1 for text in cards)


async def test_partners_descriptions_are_marked_for_other_readers(
    chat: Conversation, app: App
) -> None:
    await load_demo(app.session_factory, now=app.services.clock())
    await onboard(chat, "fatemeh", "fa")
    seen = await chat.say("fatemeh", "/partners")
    text = "\n".join(s.text for s in seen)
    assert "Patenschaften" in text
    line = next(line for line in text.split("\n") if "Patenschaften" in line)
    assert line.count(marker("fa", "de")) == 1


def test_a_survey_invitation_marks_its_german_title_once_at_the_end() -> None:
    from db.models import Survey
    from handlers.network.surveys import invitation

    survey = Survey(
        id=1,
        title={"de": "Was braucht ihr?"},
        questions=[{"kind": "text", "text": {"de": "Was fehlt?"}}],
        anonymous=False,
    )
    with use_locale("ar"):
        text = invitation(survey)().text
    german = marker("ar", "de")
    assert text.count(german) == 1 and text.endswith(german)
    assert "Was braucht ihr?" in text.split("\n")[0]  # the sentence is not broken


def test_a_digest_line_carries_its_marker_on_the_same_line() -> None:
    from db.models import Event
    from handlers.events.alerts import digest_title

    event = Event(title={"de": "Nähcafé", "uk": "Швейне кафе"})
    with use_locale("uk"):
        assert digest_title(event) == "Швейне кафе"
    with use_locale("ru"):
        assert digest_title(event) == "Nähcafé " + marker("ru", "de")
        assert "\n" not in digest_title(event)
