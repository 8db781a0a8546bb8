"""Telegram through python-telegram-bot: updates in, neutral events to the dispatcher, replies
and outbox messages out as HTML with inline keyboards.

Long polling by default; webhook mode when LOTSE_WEBHOOK_URL is set (with a secret token that
PTB's webhook server checks on every request). Updates are handled concurrently across chats
and in order within a chat. Outbox delivery is paced inside Telegram's limits (30 messages/s
overall, one per second per chat, 20 per minute per group); a 429 re-queues the message for
its `retry_after` instead of sleeping on it, a 403 marks the chat unreachable. A message that
takes several calls (a file and its text, a text over 4096 characters) goes out one part per
chat slot, each part recorded as sent, so a retry continues where it stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import html
import logging
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.request import HTTPXRequest

from bot.app import App
from bot.core.buttons import bare_label
from bot.core.i18n import SHIPPED_LANGUAGES, _, use_locale
from bot.core.outbox import (
    OutboxSender,
    Parts,
    PermanentFailure,
    RetryLater,
    TransientError,
    Unreachable,
)
from bot.core.types import (
    Actor,
    ButtonPress,
    Capabilities,
    Chat,
    ChatKind,
    Handled,
    Incoming,
    OutgoingMessage,
    Reach,
)
from bot.leader import TELEGRAM_POLLING, Leadership
from bot.transports.pacing import Pacer, SendLimits
from bot.transports.telegram_text import split, to_html
from bot.workers import WorkerCount, share

logger = logging.getLogger(__name__)

PLATFORM = "telegram"
#: A bot may write to a person only once they opened the private chat (bot/core/reach.py).
CAPABILITIES = Capabilities(
    inline_buttons=True, edits=True, native_polls=True, html=True, reach=Reach.OPENED
)
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
MAX_RETRY_AFTER = 300.0


def contact_html(user_id: str, name: str) -> str:
    """A mention that opens the person's profile in Telegram."""
    return f'<a href="tg://user?id={int(user_id)}">{html.escape(name)}</a>'


class TelegramTransport:
    def __init__(
        self,
        app: App,
        *,
        limits: SendLimits | None = None,
        worker: str | None = None,
        poll_timeout: float = 10.0,
    ) -> None:
        self.app = app
        settings = app.settings
        if not settings.telegram_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        base = settings.telegram_api_url
        self.application: Application = self._build(settings.telegram_token, base, poll_timeout)
        self.poll_timeout = poll_timeout
        self.username = ""
        rate = app.settings.telegram_rate
        self.pacer = Pacer(limits or SendLimits(overall_per_second=rate))
        self.rate = self.pacer.limits.overall_per_second  # for all processes together
        self.sender = OutboxSender(
            app.session_factory,
            PLATFORM,
            self.deliver,
            worker=worker or app.settings.worker_id,
            clock=app.services.clock,
            max_retry_after=MAX_RETRY_AFTER,
            in_parts=True,
        )
        self._chat_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        services = app.services
        services.capabilities[PLATFORM] = CAPABILITIES
        services.group_admin_checks[PLATFORM] = self.is_group_admin
        services.link_builders[PLATFORM] = self.deep_link
        services.contact_builders[PLATFORM] = contact_html
        services.outbox_listeners.append(self.sender.wake)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @staticmethod
    def _build(token: str, base: str, poll_timeout: float) -> Application:
        return (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{base}/bot")
            .base_file_url(f"{base}/file/bot")
            .request(HTTPXRequest(connection_pool_size=32, read_timeout=30))
            .get_updates_request(HTTPXRequest(read_timeout=poll_timeout + 10))
            .concurrent_updates(64)
            .build()
        )

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        backoff = 1.0
        while True:
            try:
                await self.application.initialize()  # getMe: checks the token
                break
            except (NetworkError, TimedOut) as exc:
                logger.warning("Telegram is not reachable (%s); retrying in %.0fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
        self.username = self.application.bot.username or ""
        await self.set_commands()
        await self.application.start()
        settings = self.app.settings
        updater = self.application.updater
        assert updater is not None
        if settings.webhook_url:
            secret = settings.webhook_secret or secrets.token_urlsafe(32)
            await updater.start_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=urlparse(settings.webhook_url).path.lstrip("/"),
                webhook_url=settings.webhook_url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info(
                "Telegram webhook listening on %s:%s",
                settings.webhook_listen,
                settings.webhook_port,
            )

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling, in one process only: Telegram allows a single getUpdates consumer."""
        updater = self.application.updater
        assert updater is not None
        leadership = Leadership(self.app.engine, TELEGRAM_POLLING, "telegram polling")
        while not stop.is_set():
            if not await leadership.acquire(stop):
                return
            await updater.start_polling(
                timeout=timedelta(seconds=self.poll_timeout), allowed_updates=ALLOWED_UPDATES
            )
            logger.info("Telegram long polling as @%s", self.username)
            try:
                await leadership.watch(stop)
            finally:
                if updater.running:
                    await updater.stop()
                await leadership.release()

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def share_rate(self, processes: int) -> None:
        """Telegram's limit is per bot: with several processes, each sends its share."""
        self.pacer.limits = dataclasses.replace(
            self.pacer.limits, overall_per_second=share(self.rate, processes)
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        counter = WorkerCount(self.app.engine, self.share_rate)
        counting = asyncio.create_task(counter.run(stop), name="telegram-share")

        async def send_when_counted() -> None:
            await counter.ready.wait()
            await self.sender.run(stop)

        sender = asyncio.create_task(send_when_counted(), name="telegram-outbox")
        try:
            if self.app.settings.webhook_url:
                await stop.wait()  # every process serves the webhook behind the balancer
            else:
                await self.poll(stop)
                await stop.wait()
        finally:
            stop.set()
            await sender
            await counting
            await self.stop()

    # --- platform questions --------------------------------------------------------------
    async def is_group_admin(self, chat_id: str, user_id: str) -> bool:
        try:
            member = await self.application.bot.get_chat_member(int(chat_id), int(user_id))
        except TelegramError as exc:
            logger.info("getChatMember failed for %s: %s", chat_id, exc)
            return False
        return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)

    def deep_link(self, payload: str) -> str:
        return f"https://t.me/{self.username}?start={payload}"

    async def set_commands(self) -> None:
        """The command menu in every shipped language; groups get their subset."""
        routes = self.app.services.routes
        bot = self.application.bot
        for language in (None, *SHIPPED_LANGUAGES):
            with use_locale(language or self.app.settings.default_language):
                private = [
                    BotCommand(c.name, _(c.description)[:256])
                    for c in routes.listed_commands(group=False)
                ]
                group = [
                    BotCommand(c.name, _(c.description)[:256])
                    for c in routes.listed_commands(group=True)
                ]
            code = language or ""
            await bot.set_my_commands(
                private, scope=BotCommandScopeAllPrivateChats(), language_code=code or None
            )
            await bot.set_my_commands(
                group, scope=BotCommandScopeAllGroupChats(), language_code=code or None
            )

    # --- updates in ----------------------------------------------------------------------
    def to_incoming(self, update: Update) -> Incoming | None:
        """A neutral event for the dispatcher, or None for what is not for us."""
        if update.callback_query is not None:
            return self._callback_incoming(update.callback_query)
        if update.my_chat_member is not None:
            change = update.my_chat_member
            if change.chat.type == ChatType.PRIVATE:
                return None
            joined = change.new_chat_member.status in (
                ChatMemberStatus.MEMBER,
                ChatMemberStatus.ADMINISTRATOR,
            )
            left = change.new_chat_member.status in (
                ChatMemberStatus.LEFT,
                ChatMemberStatus.BANNED,
            )
            was_in = change.old_chat_member.status in (
                ChatMemberStatus.MEMBER,
                ChatMemberStatus.ADMINISTRATOR,
                ChatMemberStatus.RESTRICTED,
            )
            if joined and not was_in:
                event = "bot_added"
            elif left:
                event = "bot_removed"
            else:
                return None
            user = change.from_user
            return Incoming(
                Actor(PLATFORM, str(user.id), user.first_name, user.language_code),
                self._chat(change.chat),
                event=event,
                raw=update,
            )
        message = update.message
        if message is not None and message.migrate_to_chat_id and message.from_user:
            # a group became a supergroup and got a new id: the chat moves, its settings stay
            user = message.from_user
            return Incoming(
                Actor(PLATFORM, str(user.id), user.first_name, user.language_code),
                self._chat(message.chat),
                text=str(message.migrate_to_chat_id),
                event="chat_moved",
                raw=update,
            )
        if message is None or message.from_user is None or message.from_user.is_bot:
            return None
        if message.migrate_from_chat_id:
            return None
        text = message.text or ""
        if text.startswith("/"):
            head = text.split(maxsplit=1)[0]
            if "@" in head and head.split("@", 1)[1].lower() != self.username.lower():
                return None  # a command for another bot in the same group
        reply_to = message.reply_to_message
        reply_to_bot = bool(
            reply_to is not None
            and reply_to.from_user is not None
            and reply_to.from_user.id == self.application.bot.id
        )
        if message.chat.type != ChatType.PRIVATE and not message.text:
            return None  # photos and joins in groups are not for us
        user = message.from_user
        replied_author = (
            reply_to.from_user.id
            if reply_to is not None and reply_to.from_user is not None
            else None
        )
        pressed = self._pressed_by_reply(reply_to, text) if reply_to_bot else None
        if pressed is not None:  # "2" or a label in reply to our message: that button
            return Incoming(
                Actor(PLATFORM, str(user.id), user.first_name, user.language_code),
                self._chat(message.chat),
                button=ButtonPress(pressed, typed=True),
                raw=update,
            )
        return Incoming(
            Actor(PLATFORM, str(user.id), user.first_name, user.language_code),
            self._chat(message.chat),
            text=text,
            reply_to_bot=reply_to_bot,
            reply_to_user=str(replied_author) if replied_author else None,
            raw=update,
        )

    @staticmethod
    def _pressed_by_reply(replied: Message | None, text: str) -> str | None:
        """The callback data of the button of `replied` that a typed `2` or label names."""
        markup = replied.reply_markup if replied is not None else None
        if markup is None or not text.strip():
            return None
        buttons = [b for row in markup.inline_keyboard for b in row if b.callback_data]
        labels = [bare_label(b.text) for b in buttons]
        typed = text.strip()
        if typed in labels:  # a label, also one that is a number: "5" means five
            return str(buttons[labels.index(typed)].callback_data)
        numbers_are_labels = any(label.isdigit() for label in labels)
        if not numbers_are_labels and typed.isdigit() and 1 <= int(typed) <= len(buttons):
            return str(buttons[int(typed) - 1].callback_data)
        return None

    def _callback_incoming(self, query: CallbackQuery) -> Incoming | None:
        if query.message is None:
            return None
        user = query.from_user
        return Incoming(
            Actor(PLATFORM, str(user.id), user.first_name, user.language_code),
            self._chat(query.message.chat),
            button=ButtonPress(query.data or ""),
            raw=query,
        )

    @staticmethod
    def _chat(chat: object) -> Chat:
        from telegram import Chat as TgChat

        assert isinstance(chat, TgChat)
        kind = ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP
        return Chat(PLATFORM, str(chat.id), kind, chat.title)

    async def _on_update(self, update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        incoming = self.to_incoming(update)
        query = update.callback_query
        if incoming is None:
            if query is not None:
                await self._answer(query, None)
            return
        async with self._chat_locks[incoming.chat.chat_id]:
            handled = await self.app.dispatcher.handle(incoming)
            if query is not None:
                await self._answer(query, handled.notice)
                pressed = query.message if isinstance(query.message, Message) else None
                if pressed is not None and handled.replaces_pressed:
                    if await self._edit_in_place(pressed, handled.messages[0]):
                        handled = dataclasses.replace(handled, messages=handled.messages[1:])
                    else:
                        await self._remove_keyboard(pressed)
                elif pressed is not None and (handled.answered_step or handled.spent_pressed):
                    await self._remove_keyboard(pressed)  # answered: its buttons have done
            await self._send_replies(incoming, handled)
        if not self._chat_locks[incoming.chat.chat_id].locked():
            self._chat_locks.pop(incoming.chat.chat_id, None)

    async def _answer(self, query: CallbackQuery, notice: str | None) -> None:
        """Every callback query is answered, or the person's button keeps spinning."""
        try:
            await query.answer(text=notice[:200] if notice else None)
        except TelegramError as exc:
            logger.info("answerCallbackQuery failed: %s", exc)

    async def _edit_in_place(self, pressed: Message, message: OutgoingMessage) -> bool:
        """Show the question asked again in the pressed message: a toggled option changes
        its ✓ where it was pressed, and the chat does not fill up with copies."""
        pieces = split(to_html(message))
        if message.attachment is not None or len(pieces) != 1:
            return False
        try:
            async with self.pacer.overall_slot():
                await pressed.edit_text(
                    pieces[0], parse_mode=ParseMode.HTML, reply_markup=self._markup(message)
                )
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True  # it already reads like that
            logger.info("could not edit a question in place: %s", exc)
            return False
        except TelegramError as exc:
            logger.info("could not edit a question in place: %s", exc)
            return False
        return True

    async def _remove_keyboard(self, message: Message) -> None:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except TelegramError as exc:
            logger.debug("could not remove a keyboard: %s", exc)

    async def _send_replies(self, incoming: Incoming, handled: Handled) -> None:
        for message in handled.messages:
            parts = Parts()
            try:
                await self.send(message, parts)
            except RetryAfter as exc:
                logger.warning("direct reply rate limited; queueing the rest of it (%s)", exc)
                await self._queue_instead(message, parts.sent)
            except Forbidden:
                return
            except TelegramError as exc:
                logger.warning("direct reply to %s failed: %s", incoming.chat.chat_id, exc)

    async def _queue_instead(self, message: OutgoingMessage, parts_sent: int = 0) -> None:
        """The outbox takes over, from the first part that did not go out."""
        from bot.core.outbox import enqueue

        async with self.app.session_factory() as session:
            row = enqueue(session, PLATFORM, message)
            row.parts_sent = parts_sent
            await session.commit()
        self.sender.wake()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        logger.error("error in the Telegram update loop: %r", context.error)

    # --- messages out --------------------------------------------------------------------
    def calls(self, message: OutgoingMessage) -> list[Callable[[], Awaitable[Any]]]:
        """The Bot API calls one message takes, in order: its file if any, then its text in
        pieces of at most 4096 characters (the buttons on the last). The same message always
        gives the same parts, so progress recorded by number stays valid after a restart."""
        bot = self.application.bot
        chat_id = int(message.chat_id)
        calls: list[Callable[[], Awaitable[Any]]] = []
        attachment = message.attachment
        if attachment is not None:
            send_file = (
                bot.send_photo  # shown as a picture, e.g. a chart
                if attachment.mime_type.startswith("image/")
                else bot.send_document
            )

            async def file() -> Any:
                upload = InputFile(attachment.content, filename=attachment.filename)
                return await send_file(chat_id, upload)

            calls.append(file)
        pieces = split(to_html(message))
        markup = self._markup(message)
        for index, piece in enumerate(pieces):
            calls.append(
                functools.partial(
                    bot.send_message,
                    chat_id,
                    piece,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if index == len(pieces) - 1 else None,
                )
            )
        return calls

    async def send(self, message: OutgoingMessage, parts: Parts | None = None) -> None:
        """A direct reply: every part not yet sent, one chat interval apart (Telegram allows
        about one message a second per chat, a file counting as one)."""
        parts = parts or Parts()
        calls = self.calls(message)
        gap = self.pacer.limits.per_chat_interval + self.pacer.limits.margin
        first = parts.sent
        while parts.sent < len(calls):
            if parts.sent > first:
                await asyncio.sleep(gap)
            async with parts.part(len(calls)), self.pacer.overall_slot():
                await calls[parts.sent]()

    @staticmethod
    def _markup(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
        if not message.buttons:
            return None
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label[:64], callback_data=b.token) for b in row]
                for row in message.buttons
            ]
        )

    async def deliver(self, message: OutgoingMessage, parts: Parts | None = None) -> None:
        """Outbox delivery inside Telegram's limits, one part per chat slot; errors become the
        outbox's verdicts. Parts already sent are skipped; when the next part's slot is later,
        the message goes back to the outbox until then (without counting as an attempt)."""
        parts = parts or Parts()
        calls = self.calls(message)
        while parts.sent < len(calls):
            wait = self.pacer.wait_for_chat(message.chat_id, message.is_group, message.outbox_id)
            if wait > 0:
                raise RetryLater(wait, "pacing", counts=False)
            try:
                async with parts.part(len(calls)), self.pacer.overall_slot():
                    await calls[parts.sent]()
            except RetryAfter as exc:
                after = exc.retry_after
                seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
                self.pacer.block(message.chat_id, seconds)
                raise RetryLater(seconds, str(exc)) from exc
            except Forbidden as exc:
                raise Unreachable(str(exc)) from exc
            except ChatMigrated as exc:
                raise PermanentFailure(f"chat moved to {exc.new_chat_id}") from exc
            except BadRequest as exc:
                if "chat not found" in str(exc).lower():
                    raise Unreachable(str(exc)) from exc
                raise PermanentFailure(str(exc)) from exc
            except (TimedOut, NetworkError) as exc:
                raise TransientError(str(exc)) from exc
            finally:
                self.pacer.chat_done(message.chat_id, message.is_group)
