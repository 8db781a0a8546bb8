"""Messages to people and chats other than the one being answered, through the outbox.

Each message is rendered in the recipient's language and time zone, its buttons get tokens
that only the recipient can use, and it is stored in the same transaction as the change that
caused it. Used by handlers (through `Context`) and by scheduled jobs alike.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as button_tokens
from bot.core import deeplinks, reach
from bot.core.i18n import _, directed, is_rtl, use_locale
from bot.core.outbox import enqueue
from bot.core.services import Services
from bot.core.types import ChatKind, Format, OutgoingMessage, Reply
from db.models import ChatRecord, Person


@dataclass
class Notifier:
    session: AsyncSession
    services: Services
    queued: int = 0
    #: Set while sending a broadcast, so its progress can be counted in the outbox.
    broadcast_id: int | None = None

    async def to_person(
        self,
        person: Person,
        render: Callable[[], Reply],
        *,
        chat_id: str | None = None,
        language: str | None = None,
    ) -> None:
        """Queue a message for someone, in their private chat with the bot.

        Where that chat is comes from bot/core/reach.py; while there is none yet the
        message is held (and, on Telegram, the person is told once in a group how to open it).
        """
        settings = self.services.settings
        with use_locale(
            language or person.language or settings.default_language,
            person.timezone or settings.timezone,
        ):
            reply = render()
            rtl = is_rtl()
        route = (
            reach.Route(chat_id)
            if chat_id is not None
            else await reach.route_to(self.session, self.services, person)
        )
        await self._enqueue(
            person.platform, route.chat_id, reply, person.id, rtl, is_group=False, held=route.held
        )
        if route.tell_in is not None:
            await self._tell_to_open(person, route.tell_in)

    async def _tell_to_open(self, person: Person, group: ChatRecord) -> None:
        """Once, in a group: the bot has a message for this person and a link to get it."""
        link = self.services.deep_link(person.platform, deeplinks.payload(reach.INBOX_LINK))
        if link is None:
            return
        name = person.display_name or ""

        def render() -> Reply:
            return Reply(
                directed(
                    _(
                        "{name}, I have a message for you that I can only send in a private chat. "
                        "Please open it here: {link}"
                    ).format(
                        name=self.services.contact_html(
                            person.platform, person.platform_user_id, name or _("Hello")
                        ),
                        link=f'<a href="{html.escape(link)}">{html.escape(link)}</a>',
                    )
                ),
                format=Format.HTML,
            )

        await self.to_chat(group, render)

    async def to_chat(
        self, chat: ChatRecord, render: Callable[[], Reply], *, language: str | None = None
    ) -> None:
        """Queue a message for a (group) chat, in that chat's language."""
        settings = self.services.settings
        with use_locale(language or chat.language or settings.default_language, settings.timezone):
            reply = render()
            rtl = is_rtl()
        await self._enqueue(
            chat.platform,
            chat.platform_chat_id,
            reply,
            None,
            rtl,
            is_group=chat.kind == ChatKind.GROUP,
        )

    async def _enqueue(
        self,
        platform: str,
        chat_id: str,
        reply: Reply,
        person_id: int | None,
        rtl: bool,
        *,
        is_group: bool,
        held: bool = False,
    ) -> None:
        sent, _keyboard = await button_tokens.mint(
            self.session,
            platform,
            chat_id,
            reply,
            person_id,
            numbered=not self.services.capabilities_of(platform).inline_buttons,
            form=False,  # a push never takes over the open form: its options get handles
        )
        enqueue(
            self.session,
            platform,
            OutgoingMessage(
                chat_id, reply.text, sent, reply.format, reply.attachment, rtl, is_group=is_group
            ),
            person_id=person_id,
            not_before=self.services.clock(),
            broadcast_id=self.broadcast_id,
            held=held,
        )
        self.queued += 1
