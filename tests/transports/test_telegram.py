"""Lotse on Telegram: real python-telegram-bot over HTTP against a fake Bot API server that
checks every request against the official API description."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.i18n import SHIPPED_LANGUAGES
from bot.core.types import OutgoingMessage
from bot.testing.telegram_api import FakeBotAPI, Sent
from bot.transports.telegram import TelegramTransport
from tests.support import make_volunteer, t, visible

ANNA, OLENA, BERT = 501, 502, 503
GROUP = -1001234


async def test_onboarding_in_german(telegram: TelegramTransport, bot_api: FakeBotAPI) -> None:
    bot_api.says(ANNA, "/start", language="de")
    [welcome] = await bot_api.wait_sent(ANNA)
    assert "Netzwerk Wiesenfeld" in welcome.text
    assert [label for label, _ in welcome.buttons][:2] == ["Deutsch", "English"]
    assert all(len(data.encode()) <= 64 for _, data in welcome.buttons)

    press = bot_api.presses(ANNA, welcome, "Deutsch")
    notice = (await bot_api.wait_sent(ANNA, 2))[1]
    assert t("de", "Privacy notice (version {version})", version=2) in notice.text
    await bot_api.wait_for(lambda: press["callback_query"]["id"] in bot_api.callback_answers)
    # the answered question loses its keyboard, so it cannot be answered twice
    await bot_api.wait_for(
        lambda: any(e["message_id"] == welcome.message_id for e in bot_api.edits)
    )

    bot_api.presses(ANNA, notice, t("de", "I agree"))
    intent = (await bot_api.wait_sent(ANNA, 3))[2]
    assert intent.text == t("de", "What brings you here?")
    bot_api.presses(ANNA, intent, t("de", "I want to volunteer"))
    sent = await bot_api.wait_sent(ANNA, 5)
    assert sent[-1].text == t("de", "What would you like to do?")
    assert all(s.params["parse_mode"] == "HTML" for s in sent)


async def test_onboarding_in_ukrainian_by_typing(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.says(OLENA, "/start@lotse_test_bot", language="uk")
    [welcome] = await bot_api.wait_sent(OLENA)
    assert visible(welcome.text).startswith(
        t(
            "uk",
            "Welcome to {network}! I connect volunteers, initiatives and people looking "
            "for help in our city.",
            network="Netzwerk Wiesenfeld",
        )
    )
    bot_api.presses(OLENA, welcome, "Українська", language="uk")
    notice = (await bot_api.wait_sent(OLENA, 2))[1]
    bot_api.presses(OLENA, notice, t("uk", "I agree"), language="uk")
    intent = (await bot_api.wait_sent(OLENA, 3))[2]
    bot_api.presses(OLENA, intent, t("uk", "I am looking for help or information"), language="uk")
    sent = await bot_api.wait_sent(OLENA, 5)
    assert sent[-1].text == t("uk", "What would you like to do?")
    bot_api.says(OLENA, "/help", language="uk")
    help_text = (await bot_api.wait_sent(OLENA, 6))[-1]
    assert t("uk", "Show what I can do") in help_text.text


async def test_group_greeting_commands_and_admin_language(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.admins.add((GROUP, ANNA))
    bot_api.bot_added(GROUP, by=ANNA)
    [greeting] = await bot_api.wait_sent(GROUP)
    assert "/language" in greeting.text

    bot_api.says(BERT, "/help@some_other_bot", chat_id=GROUP)  # not for us: ignored
    bot_api.says(BERT, "/help@lotse_test_bot", chat_id=GROUP)
    sent = await bot_api.wait_sent(GROUP, 2)
    assert t("de", "Here is what I can do:") in sent[1].text

    bot_api.says(BERT, "/language", chat_id=GROUP)
    refused = (await bot_api.wait_sent(GROUP, 3))[2]
    assert refused.text == t("de", "Only an admin of this group can change its language.")

    bot_api.says(ANNA, "/language", chat_id=GROUP)
    question = (await bot_api.wait_sent(GROUP, 4))[3]
    # Bert presses Anna's button: told off in a toast, nothing changes
    press = bot_api.presses(BERT, question, "العربية")
    await bot_api.wait_for(lambda: press["callback_query"]["id"] in bot_api.callback_answers)
    answer = bot_api.callback_answers[press["callback_query"]["id"]]
    assert visible(answer["text"]) == t("de", "This button is meant for someone else.")
    bot_api.presses(ANNA, question, "العربية")
    done = (await bot_api.wait_sent(GROUP, 5))[4]
    assert visible(done.text) == t(
        "ar", "From now on I will write in {language} in this group.", language="العربية"
    )
    # a reply to the bot is addressed to it even without a command (privacy mode)
    bot_api.says(BERT, "hallo?", chat_id=GROUP, reply_to=done)
    hint = (await bot_api.wait_sent(GROUP, 6))[5]
    assert visible(hint.text).startswith(
        t(
            "ar",
            "Sorry, I did not understand that. Send /help "
            "to see what I can do, or /menu for the main "
            "menu.",
        )
    )
    bot_api.says(BERT, "just chatting", chat_id=GROUP)
    bot_api.says(BERT, "/help", chat_id=GROUP)
    await bot_api.wait_sent(GROUP, 7)
    assert len(bot_api.sent_to(GROUP)) == 7  # the chatter got no answer


async def test_forged_and_stale_buttons_change_nothing(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.says(ANNA, "/start", language="en")
    [welcome] = await bot_api.wait_sent(ANNA)
    forged = bot_api.presses(ANNA, welcome, "", data="x" * 64, language="en")
    await bot_api.wait_for(lambda: forged["callback_query"]["id"] in bot_api.callback_answers)
    assert "no longer valid" in bot_api.callback_answers[forged["callback_query"]["id"]]["text"]
    bot_api.presses(ANNA, welcome, "English", language="en")
    await bot_api.wait_sent(ANNA, 2)
    again = bot_api.presses(ANNA, welcome, "Deutsch", language="en")
    await bot_api.wait_for(lambda: again["callback_query"]["id"] in bot_api.callback_answers)
    assert (
        "already been answered" in bot_api.callback_answers[again["callback_query"]["id"]]["text"]
    )
    assert len(bot_api.sent_to(ANNA)) == 2


async def test_command_menu_in_every_language(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    for language in SHIPPED_LANGUAGES:
        private = bot_api.commands[("all_private_chats", language)]
        group = bot_api.commands[("all_group_chats", language)]
        names = [c["command"] for c in private]
        assert {"start", "help", "language", "privacy"} <= set(names)
        assert "start" not in [c["command"] for c in group]
        assert {"help", "language"} <= {c["command"] for c in group}
        help_entry = next(c for c in private if c["command"] == "help")
        assert visible(help_entry["description"]) == t(language, "Show what I can do")
    assert ("all_private_chats", "") in bot_api.commands  # fallback for other languages


async def test_html_is_escaped_and_long_texts_are_split(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    paragraph = "<b>Tom & Jerry</b> " + "lorem ipsum " * 40
    text = "\n\n".join([paragraph] * 30)  # about 15,000 characters
    await telegram.send(OutgoingMessage(str(ANNA), text))
    sent = bot_api.sent_to(ANNA)
    assert len(sent) == 5
    assert all(len(s.params["text"]) <= 4096 for s in sent)
    # cut between paragraphs only
    assert all(p == paragraph for s in sent for p in s.text.split("\n\n"))
    assert sent[0].params["text"].startswith("&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;")
    assert "".join(s.text for s in sent).replace("\n", "") == text.replace("\n", "")


async def test_deep_links(telegram: TelegramTransport, bot_api: FakeBotAPI) -> None:
    services = telegram.app.services
    assert services.deep_link("telegram", "privacy") == (
        "https://t.me/lotse_test_bot?start=privacy"
    )
    bot_api.says(ANNA, "/start privacy", language="de")
    [notice] = await bot_api.wait_sent(ANNA)
    assert notice.text.startswith(t("de", "Privacy notice (version {version})", version=2))
    bot_api.says(BERT, "/start ../../etc/passwd", language="en")
    sent = await bot_api.wait_sent(BERT, 2)
    assert sent[0].text == "This link is not valid or no longer works."


async def test_a_published_need_gets_a_link_to_share(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    bot_api.says(900, "/start", language="en")  # 900 is a coordinator here
    [welcome] = await bot_api.wait_sent(900)
    bot_api.presses(900, welcome, "English", language="en")
    notice = (await bot_api.wait_sent(900, 2))[1]
    bot_api.presses(900, notice, "I agree", language="en")
    await bot_api.wait_sent(900, 3)
    bot_api.says(900, "/need Begleitung zum Amt", language="en")
    await bot_api.wait_sent(900, 4)
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

        def offered(label: str = label) -> list[Sent]:
            return [
                s
                for s in reversed(bot_api.sent_to(900))
                if any(text == label for text, _ in s.buttons)
            ]

        await bot_api.wait_for(lambda: bool(offered()))
        before = len(bot_api.sent_to(900))
        bot_api.presses(900, offered()[0], label, language="en")
        await bot_api.wait_sent(900, before + 1)
    await bot_api.wait_for(
        lambda: any("t.me/lotse_test_bot?start=need_" in s.text for s in bot_api.sent_to(900))
    )


async def test_a_group_that_becomes_a_supergroup_keeps_its_settings(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    old, new = -4001, -1004001
    bot_api.admins.add((old, ANNA))
    bot_api.says(ANNA, "/language", chat_id=old)
    question = (await bot_api.wait_sent(old))[0]
    bot_api.presses(ANNA, question, "Українська")
    await bot_api.wait_sent(old, 2)
    bot_api.push(
        {
            "message": {
                "message_id": 77,
                "date": 0,
                "chat": {"id": old, "type": "group", "title": "Helfer"},
                "from": bot_api.user(ANNA),
                "migrate_to_chat_id": new,
            }
        }
    )
    await asyncio.sleep(0.5)
    bot_api.says(BERT, "/help", chat_id=new)
    [reply] = await bot_api.wait_sent(new)
    assert visible(reply.text).startswith(t("uk", "Here is what I can do:"))


async def test_a_toggled_option_changes_in_place(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    """Choosing several activities edits the question where it was pressed: the ✓ moves,
    and the chat does not fill up with copies of the question."""
    bot_api.says(BERT, "/start", language="de")
    [welcome] = await bot_api.wait_sent(BERT)
    bot_api.presses(BERT, welcome, "Deutsch")
    notice = (await bot_api.wait_sent(BERT, 2))[1]
    bot_api.presses(BERT, notice, t("de", "I agree"))
    intent = (await bot_api.wait_sent(BERT, 3))[2]
    bot_api.presses(BERT, intent, t("de", "I want to volunteer"))
    await bot_api.wait_sent(BERT, 4)
    bot_api.says(BERT, "/volunteer", language="de")
    asked = t("de", "What would you like to help with? Choose one or more, then press Done.")
    # the intent's answer may still be arriving: wait for the question itself, not a count
    await bot_api.wait_for(lambda: any(s.text == asked for s in bot_api.sent_to(BERT)))
    question = bot_api.sent_to(BERT)[-1]
    assert question.text == asked
    before = len(bot_api.sent_to(BERT))
    childcare = t("de", "Childcare")
    bot_api.presses(BERT, question, childcare)
    await bot_api.wait_for(lambda: ("✓ " + childcare) in [label for label, _ in question.buttons])
    bot_api.presses(BERT, question, t("de", "Sorting donations"))
    await bot_api.wait_for(
        lambda: sum(label.startswith("✓") for label, _ in question.buttons) == 2
    )
    await asyncio.sleep(0.2)
    assert len(bot_api.sent_to(BERT)) == before  # edited, not sent again
    bot_api.presses(BERT, question, t("de", "Done"))
    languages = (await bot_api.wait_sent(BERT, before + 1))[-1]
    assert languages.text == t("de", "Which languages do you speak? Choose all, then press Done.")


async def test_paging_through_needs_turns_the_page_in_place(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    from lotse.demo import load_demo

    await load_demo(telegram.app.session_factory, now=telegram.app.services.clock())
    bot_api.says(OLENA, "/start", language="de")
    [welcome] = await bot_api.wait_sent(OLENA)
    bot_api.presses(OLENA, welcome, "Deutsch")
    notice = (await bot_api.wait_sent(OLENA, 2))[1]
    bot_api.presses(OLENA, notice, t("de", "I agree"))
    await bot_api.wait_sent(OLENA, 3)
    bot_api.says(OLENA, "/needs", language="de")
    await bot_api.wait_for(lambda: bot_api.sent_to(OLENA)[-1].text.startswith("Offene"))
    page = bot_api.sent_to(OLENA)[-1]
    before = len(bot_api.sent_to(OLENA))
    bot_api.presses(OLENA, page, t("de", "Next"))
    second = t("de", "Page {page} of {pages}", page=2, pages=2)
    await bot_api.wait_for(lambda: second in page.text)
    assert t("de", "Previous") in [label for label, _ in page.buttons]
    assert len(bot_api.sent_to(OLENA)) == before


async def test_a_link_never_shows_a_need_that_is_not_public(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    """A need waiting for review or declined by a coordinator stays private, even to someone
    who guesses its link."""
    from db.models import Need

    now = telegram.app.services.clock()
    ids = {}
    async with telegram.app.session_factory() as session:
        for status in ("pending_review", "declined", "open"):
            need = Need(
                title=f"Umzugshilfe ({status})",
                description="Bei Familie K. in der Lindenstraße 3, Erdgeschoss",
                activity="accompany_authorities",
                when_kind="flexible",
                until=now + timedelta(days=14),
                status=status,
            )
            session.add(need)
            await session.flush()
            ids[status] = need.id
        await session.commit()
    bot_api.says(900, "/start", language="en")  # 900 is a coordinator here
    [welcome] = await bot_api.wait_sent(900)
    bot_api.presses(900, welcome, "English", language="en")
    notice = (await bot_api.wait_sent(900, 2))[1]
    bot_api.presses(900, notice, "I agree", language="en")
    intent = (await bot_api.wait_sent(900, 3))[2]
    bot_api.presses(900, intent, "I want to volunteer", language="en")
    await bot_api.wait_for(
        lambda: any(s.text.startswith("What would you") for s in bot_api.sent_to(900))
    )
    for status in ("pending_review", "declined", "open"):
        before = len(bot_api.sent_to(900))
        bot_api.says(900, f"/start need_{ids[status]}", language="en")
        shown = (await bot_api.wait_sent(900, before + 1))[before]
        if status == "open":
            assert "Umzugshilfe (open)" in shown.text
        else:
            assert shown.text == "This need does not exist (any more)."
            assert "Lindenstraße" not in shown.text


async def test_a_report_asked_for_and_answered_arrives_once_without_a_name(
    telegram: TelegramTransport, bot_api: FakeBotAPI
) -> None:
    """Anna types /report alone and is asked; the coordinator (900) answers her through the
    bot; the answer reaches Anna's private chat once and does not say who wrote it."""
    await make_volunteer(telegram.app, str(ANNA), platform="telegram", language="uk")
    await make_volunteer(telegram.app, "900", platform="telegram", language="de")
    bot_api.says(900, "/help", name="Carla")  # 900 is a coordinator here
    await bot_api.wait_sent(900, 1)
    bot_api.says(ANNA, "/report", name="Anna")
    [asked] = await bot_api.wait_sent(ANNA, 1)
    assert visible(asked.text) == t(
        "uk",
        "What would you like to report to the coordinators? Please describe what happened "
        "in one message, or send /cancel to stop.",
    )
    bot_api.says(ANNA, "Jemand verlangt Geld für die Begleitung zum Amt.", name="Anna")
    thanks = (await bot_api.wait_sent(ANNA, 2))[1]
    assert visible(thanks.text) == t(
        "uk", "Thank you. The coordinators have been told and will look at it."
    )
    notice = (await bot_api.wait_sent(900, 2))[1]
    assert "Jemand verlangt Geld" in visible(notice.text)
    label = next(b for b, _ in notice.buttons if visible(b) == t("de", "Answer the reporter"))
    bot_api.presses(900, notice, label)
    await bot_api.wait_sent(900, 3)
    bot_api.says(900, "Danke, wir sprechen heute mit der Person.", name="Carla")
    done = (await bot_api.wait_sent(900, 4))[3]
    assert visible(done.text) == t("de", "Your answer is on its way. It does not show your name.")
    await bot_api.wait_sent(ANNA, 3)
    await asyncio.sleep(1.5)  # a duplicate would arrive late
    [answer] = bot_api.sent_to(ANNA)[2:]
    assert visible(answer.text).startswith(t("uk", "The coordinators answer your report:"))
    assert "Danke, wir sprechen heute mit der Person." in visible(answer.text)
    assert "Carla" not in answer.text and "900" not in answer.text
