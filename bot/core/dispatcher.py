"""Handles one update from start to finish, behind an error guard.

For each update: one database session; the person and chat are loaded (or created); the
locale is set; the update is routed to a command, a button action or the current flow step;
the replies get their button tokens; everything commits in one transaction with any outbox
messages the handler queued. If anything fails, the person gets a short apology in their
language and the bot carries on.
"""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from datetime import timedelta

from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as button_tokens
from bot.core import reach
from bot.core.context import Context, make_reply
from bot.core.flow import Answer
from bot.core.i18n import _, is_rtl, resolve_language, set_locale
from bot.core.loading import UpdateRows, load_update_rows
from bot.core.ratelimit import FloodLimiter, RateLimiter
from bot.core.router import Command
from bot.core.services import Services
from bot.core.types import Button, ChatKind, Handled, Incoming, OutgoingMessage, Reply
from db.models import ButtonToken, ChatRecord, Person, PersonRole, Role

logger = logging.getLogger(__name__)

LAST_SEEN_PRECISION = timedelta(minutes=10)

#: The dispatcher's own buttons: confirm a typed destructive choice, or keep things as they
#: are, and pick between messages whose handle or label was the same.
CONFIRM, KEEP, PICK = "core.confirm", "core.keep", "core.pick"

#: Longest text we take in one message; longer input is refused with a clear answer.
MAX_INPUT_LENGTH = 4000

_CONTROL_OK = {"\n", "\t"}


def clean_text(text: str) -> str:
    """NFC-normalise and drop control and format characters a person cannot have meant.

    Zero-width joiners stay (Farsi and emoji need them); bidi overrides and NULs go.
    """
    text = unicodedata.normalize("NFC", text)
    return "".join(
        ch
        for ch in text
        if ch in _CONTROL_OK
        or ch in "\u200c\u200d"
        or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    ).strip()


def cleaned(incoming: Incoming) -> Incoming:
    """The update with its text (command arguments included) and chat title cleaned.

    Cleaned once, before anything reads it: handlers take command arguments from
    `incoming.args`, and a NUL that reached PostgreSQL there failed the whole update.
    """
    text = incoming.text if incoming.text is None else clean_text(incoming.text)
    title = incoming.chat.title
    if title is not None:
        title = clean_text(title) or None
    if text == incoming.text and title == incoming.chat.title:
        return incoming
    chat = dataclasses.replace(incoming.chat, title=title)
    return dataclasses.replace(incoming, text=text, chat=chat)


class Dispatcher:
    def __init__(self, services: Services, limiter: FloodLimiter | None = None) -> None:
        self.services = services
        self.limiter: FloodLimiter = limiter if limiter is not None else RateLimiter()
        #: Local, trusted transports (the terminal chat) are not flood-limited.
        self.unlimited_platforms: set[str] = set()

    async def handle(self, incoming: Incoming) -> Handled:
        """Handle one update and return the direct replies for the transport to send."""
        settings = self.services.settings
        incoming = cleaned(incoming)
        verdict = (
            "ok"
            if incoming.actor.platform in self.unlimited_platforms
            else await self.limiter.check(incoming.actor.platform, incoming.actor.user_id)
        )
        if verdict != "ok":
            return self._slow_down(incoming, verdict)
        set_locale(
            resolve_language(None, incoming.actor.language_code, settings.default_language),
            settings.timezone,
        )
        try:
            async with self.services.session_factory() as session:
                ctx = await self._context(session, incoming)
                released = await self._note_private_chat(ctx)
                await self._route(ctx)
                await self._note_group(ctx)
                outgoing = await self._finish(ctx)
                await session.commit()
        except Exception:
            logger.exception("handling an update from %s failed", incoming.actor.platform)
            apology = make_reply(
                _("Sorry, something went wrong on our side. Please try again in a moment.")
            )
            return Handled([OutgoingMessage(incoming.chat.chat_id, apology.text, rtl=is_rtl())])
        if ctx.queued or released:
            self.services.outbox_changed()
        if self.services.pending_jobs:
            self.services.flush_jobs()
        # in place only when the one message is all there is to show, and has its buttons
        in_place = ctx.replaces_pressed and len(outgoing) == 1 and bool(outgoing[0].buttons)
        return Handled(outgoing, ctx.notice, ctx.answered_step, in_place, ctx.spent_pressed)

    def _slow_down(self, incoming: Incoming, verdict: str) -> Handled:
        """A flood: one polite word in the platform's language, then silence."""
        if verdict == "drop":
            return Handled()
        settings = self.services.settings
        set_locale(resolve_language(None, incoming.actor.language_code, settings.default_language))
        text = make_reply(
            _("You are sending messages very quickly. Please wait a moment, then try again.")
        ).text
        if incoming.button is not None:
            return Handled(notice=text)
        return Handled([OutgoingMessage(incoming.chat.chat_id, text, rtl=is_rtl())])

    # --- loading -------------------------------------------------------------------------
    async def _context(self, session: AsyncSession, incoming: Incoming) -> Context:
        rows = await load_update_rows(session, incoming)
        if rows.person is None or rows.chat is None:
            rows = await self._first_contact(session, incoming, rows)
        assert rows.person is not None and rows.chat is not None
        person = self._seen(incoming, rows.person)
        chat = self._seen_in(incoming, rows.chat)
        settings = self.services.settings
        language = (
            chat.language
            if chat.kind == ChatKind.GROUP and chat.language
            else resolve_language(
                person.language, incoming.actor.language_code, settings.default_language
            )
        )
        set_locale(language, person.timezone or settings.timezone)
        return Context(
            incoming,
            session,
            person,
            chat,
            self.services,
            rows.flow_state,
            rows.keyboard,
            pressed=rows.pressed,
        )

    async def _first_contact(
        self, session: AsyncSession, incoming: Incoming, rows: UpdateRows
    ) -> UpdateRows:
        """Create the person and/or the chat, together; another update of the same person
        may be creating them at this very moment, so a clash means: load theirs."""
        actor, now = incoming.actor, self.services.clock()
        for _attempt in range(3):
            if rows.person is not None and rows.chat is not None:
                return rows
            new: list[Person | ChatRecord] = []
            if rows.person is None:
                rows.person = Person(
                    platform=actor.platform,
                    platform_user_id=actor.user_id,
                    created_at=now,
                    last_seen_at=now,
                    roles=[],
                )
                new.append(rows.person)
            if rows.chat is None:
                rows.chat = ChatRecord(
                    platform=incoming.chat.platform,
                    platform_chat_id=incoming.chat.chat_id,
                    kind=incoming.chat.kind.value,
                    title=incoming.chat.title,
                    created_by=actor.user_id,
                    created_at=now,
                )
                new.append(rows.chat)
            try:
                async with session.begin_nested():
                    session.add_all(new)
                return rows
            except IntegrityError:
                rows = await load_update_rows(session, incoming)
        raise RuntimeError("could not create the person or chat of an update")

    async def _note_private_chat(self, ctx: Context) -> int:
        """Someone writing privately can be reached there: held messages go out now."""
        incoming = ctx.incoming
        if ctx.is_group or incoming.event is not None:
            return 0
        if incoming.actor.platform != incoming.chat.platform:
            return 0
        now = self.services.clock()
        return await reach.opened(
            ctx.session, self.services, ctx.person, incoming.chat.chat_id, now
        )

    async def _note_group(self, ctx: Context) -> None:
        """In a group, remember where to tell the person should a private message be needed
        (after handling: consent given with this very update counts)."""
        if not ctx.is_group or ctx.incoming.event is not None:
            return
        person = ctx.person
        if person in ctx.session.deleted or inspect(person).deleted:
            return
        await reach.seen_in_group(
            ctx.session, self.services, person, ctx.incoming.chat.chat_id, self.services.clock()
        )

    def _seen(self, incoming: Incoming, person: Person) -> Person:
        """Keep what we know of the person current (and no more often than needed)."""
        actor = incoming.actor
        now = self.services.clock()
        if now - person.last_seen_at > LAST_SEEN_PRECISION:
            person.last_seen_at = now  # precise enough for retention, and saves writes
        if person.retention_notified_at is not None:
            person.retention_notified_at = None  # they are back: no deletion pending
        if (actor.platform, actor.user_id) in self.services.settings.coordinators and not any(
            r.role == Role.COORDINATOR for r in person.roles
        ):
            person.roles.append(PersonRole(role=Role.COORDINATOR, granted_at=now))
        if person.consent_version and actor.display_name:
            name = clean_text(actor.display_name)[:128] or None
            if person.display_name != name:
                person.display_name = name
        return person

    @staticmethod
    def _seen_in(incoming: Incoming, chat: ChatRecord) -> ChatRecord:
        if chat.unreachable_at is not None:
            chat.unreachable_at = None  # they wrote to us, so we can write to them again
        if incoming.chat.title and chat.title != incoming.chat.title:
            chat.title = incoming.chat.title[:255]
        return chat

    # --- routing -------------------------------------------------------------------------
    async def _route(self, ctx: Context) -> None:
        incoming = ctx.incoming
        routes = self.services.routes
        if ctx.person.blocked_at is not None and not self._open_to_blocked(ctx):
            if incoming.event is None and not ctx.is_group:
                self._refuse_blocked(ctx)
            return
        if incoming.button is not None:
            await self._press(ctx, incoming.button.token, typed=incoming.button.typed)
            return
        if incoming.event is not None:
            handler = routes.events.get(incoming.event)
            if handler is not None:
                await handler(ctx)
            return
        text = incoming.text or ""  # cleaned by `handle`
        if len(text) > MAX_INPUT_LENGTH:
            ctx.reply(
                _(
                    "That message is too long for me ({count} characters). Please keep it "
                    "under {limit} characters."
                ).format(count=len(text), limit=MAX_INPUT_LENGTH)
            )
            return
        if not text:
            if not ctx.is_group:
                ctx.reply(_("I can only read text messages. Send /help to see what I can do."))
            return
        name = incoming.command
        if name is not None:
            command = routes.commands.get(name)
            if command is None:
                ctx.reply(
                    _("I don't know the command /{name}. Send /help to see what I can do.").format(
                        name=name
                    )
                )
                return
            await self._command(ctx, command)
            return
        typed = not self.services.capabilities_of(ctx.platform).inline_buttons
        if typed and await self._typed_answer(ctx, text):
            return
        if ctx.flow_state is not None:
            await ctx.handle_answer(Answer(text=text))
            return
        if ctx.is_group and not incoming.reply_to_bot:
            return  # people talking to each other in a group; not addressed to us
        if typed and await self._answer_open_by_label(ctx, text):
            return
        await self.services.hooks.not_understood(ctx)

    # --- answers typed where there are no buttons (docs/architecture.md) -----------------
    async def _typed_answer(self, ctx: Context, text: str) -> bool:
        """A typed handle, or a number or label of the open form; True if it was one.

        A reply to one of our messages answers that message first. A handle (`1a`) answers
        its group whatever the form shows; a handle that is nowhere is free text for an open
        form, and otherwise gets the list of what is open. Everything else is the form's.
        """
        chosen = self._chosen_in_reply(ctx.incoming.reply_options, text)
        if chosen is not None:
            text = chosen
        handle = button_tokens.parse_handle(text)
        if handle is not None:
            rows = await button_tokens.tokens_by_handle(
                ctx.session, ctx.platform, ctx.chat.platform_chat_id, handle, self.services.clock()
            )
            still_open = [row for row in rows if row.closed_at is None]
            if len(still_open) > 1:
                self._ask_which(ctx, still_open)
                return True
            if rows:
                row = still_open[0] if still_open else rows[0]
                if row.closed_at is not None:
                    ctx.reply(
                        _("You have already answered that: {what}").format(
                            what=row.context or handle
                        )
                    )
                    await self._list_open(ctx)
                    return True
                await self._press(ctx, row.token, typed=True, loaded=row)
                return True
            if ctx.flow_state is not None or (ctx.is_group and not ctx.incoming.reply_to_bot):
                return False
            ctx.reply(_("There is no option {handle} (any more).").format(handle=handle))
            await self._list_open(ctx)
            return True
        token = button_tokens.token_for_text(ctx.keyboard, text)
        if token is None:
            return False
        await self._press(ctx, token, typed=True)
        return True

    @staticmethod
    def _chosen_in_reply(options: tuple[tuple[str, str], ...], text: str) -> str | None:
        """In a reply to a message with options: the handle that `2`, a label or a handle
        names there."""
        if not options:
            return None
        typed = text.strip()
        if typed.isdigit() and typed.isascii():
            handles = [handle for handle, _label in options]
            if typed in handles:
                return typed
            if any(h.isdigit() and h != str(n) for n, h in enumerate(handles, start=1)):
                return None  # numbers are labels here (offers per week): never positions
            index = int(typed) - 1
            return handles[index] if 0 <= index < len(handles) else None
        for handle, label in options:
            if typed.lower() == handle.lower() or typed == button_tokens.bare_label(label):
                return handle
        return None

    async def _answer_open_by_label(self, ctx: Context, text: str) -> bool:
        """Nothing else took the text: the label of an open push's option answers it (asking
        which, if several groups have it); anything else gets the usual hint and, when pushes
        are open, the list of what can be answered."""
        rows = await button_tokens.open_tokens_by_label(
            ctx.session, ctx.platform, ctx.chat.platform_chat_id, text, self.services.clock()
        )
        rows = [r for r in rows if r.person_id in (None, ctx.person.id)]
        if len({row.handle_group for row in rows}) > 1:
            self._ask_which(ctx, rows)
            return True
        if rows:
            await self._press(ctx, rows[0].token, typed=True, loaded=rows[0])
            return True
        if ctx.is_group:
            return False
        groups = await self._open_groups(ctx)
        if not groups:
            return False  # only the form is open, and it is right above: the usual hint
        await self.services.hooks.not_understood(ctx)
        await self._list_open(ctx, groups)
        return True

    async def _open_groups(self, ctx: Context) -> list[button_tokens.Group]:
        return await button_tokens.open_groups(
            ctx.session,
            ctx.platform,
            ctx.chat.platform_chat_id,
            ctx.person.id,
            self.services.clock(),
        )

    async def _list_open(
        self, ctx: Context, groups: list[button_tokens.Group] | None = None
    ) -> None:
        """What can be answered now: the open question's options and the open messages'."""
        if groups is None:
            groups = await self._open_groups(ctx)
        lines: list[str] = []
        form = button_tokens.form_options(ctx.keyboard)
        if form:
            lines.append(_("The last question:"))
            lines += [f"  [{handle}] {button_tokens.bare_label(label)}" for handle, label in form]
        for group in groups:
            lines.append(group.context or _("A message"))
            lines += [f"  [{handle}] {label}" for handle, label in group.options]
        if not lines:
            ctx.reply(_("Nothing is waiting for an answer. Send /help to see what I can do."))
            return
        ctx.reply(
            "\n".join([_("You can answer with the code in brackets:"), *lines]),
        )

    def _ask_which(self, ctx: Context, rows: list[ButtonToken]) -> None:
        """The same handle or label in two open messages: the person says which they meant
        (answered next, like a question)."""
        ctx.reply(
            _("That fits more than one message. Which did you mean?"),
            [
                [
                    Button(
                        PICK,
                        f"{row.context or _('A message')} — {row.label or row.handle or ''}",
                        row.token,
                    )
                ]
                for row in rows[:8]
            ],
        )
        ctx.replies[-1].step = True

    def _open_to_blocked(self, ctx: Context) -> bool:
        """A blocked person may still see, delete and read about their data (GDPR Art. 15
        and 17): commands and buttons marked `for_blocked`, in a private chat. Which button
        was pressed is only known once its token is resolved; `_press` checks it there."""
        incoming = ctx.incoming
        if ctx.is_group or incoming.event is not None:
            return False
        if incoming.button is not None:
            return True
        command = self.services.routes.commands.get(incoming.command or "")
        if command is not None:
            return command.for_blocked
        if not self.services.capabilities_of(ctx.platform).inline_buttons:
            # a typed number or label may answer the buttons of /delete's question
            text = clean_text(incoming.text or "")
            return button_tokens.token_for_text(ctx.keyboard, text) is not None
        return False

    @staticmethod
    def _refuse_blocked(ctx: Context) -> None:
        ctx.reply(
            _(
                "You can no longer use this bot. If you think this is a mistake, "
                "please contact the coordinators of the network."
            )
        )

    async def _command(self, ctx: Context, command: Command) -> None:
        if ctx.is_group and not command.in_groups:
            ctx.reply(_("Please use /{name} in a private chat with me.").format(name=command.name))
            return
        if not ctx.is_group and not command.in_private:
            ctx.reply(_("/{name} works in group chats only.").format(name=command.name))
            return
        if command.needs_consent and not await self._consented(ctx):
            return
        if not await self.services.hooks.allowed(ctx, "command", command.name):
            return
        await command.handler(ctx)

    async def _press(
        self,
        ctx: Context,
        token: str,
        *,
        typed: bool = False,
        loaded: ButtonToken | None = None,
    ) -> None:
        """A button pressed, or chosen by a typed handle, number or label (`typed`)."""
        now = self.services.clock()
        resolved = button_tokens.resolve_in_keyboard(
            ctx.keyboard, token, person_id=ctx.person.id, now=now
        ) or await button_tokens.resolve(
            ctx.session,
            token,
            platform=ctx.platform,
            chat_id=ctx.chat.platform_chat_id,
            person_id=ctx.person.id,
            now=now,
            loaded=loaded or ctx.pressed,
        )
        if resolved is button_tokens.Rejection.FOREIGN:
            ctx.notify(_("This button is meant for someone else."))
            return
        if isinstance(resolved, button_tokens.Rejection):
            ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
            return
        if resolved.action in (CONFIRM, KEEP, PICK):
            await self._core_press(ctx, resolved)
            return
        routes = self.services.routes
        action = routes.buttons.get(resolved.action)
        if ctx.person.blocked_at is not None and (action is None or not action.for_blocked):
            self._refuse_blocked(ctx)
            return
        if resolved.action in routes.steps:
            if ctx.state != resolved.action:
                ctx.notify(_("This question has already been answered or has expired."))
                return
            ctx.answered_step = True
            await ctx.handle_answer(Answer(value=resolved.value))
            if ctx.state == resolved.action:
                ctx.show_in_place()  # the same question again
            return
        if action is None:
            ctx.notify(_("This button is no longer valid. Send /help to see what I can do."))
            return
        if action.needs_consent and not await self._consented(ctx):
            return
        if not await self.services.hooks.allowed(ctx, "button", action.action):
            return
        if action.once:
            ctx.spent_pressed = True
            if resolved.used_at is not None:
                ctx.notify(_("This button has already been used."))
                return
        if typed and action.is_destructive(resolved.value):
            await self._ask_to_confirm(ctx, resolved)
            return
        if action.once:
            if resolved.in_keyboard and ctx.keyboard is not None:
                button_tokens.mark_used_in_keyboard(ctx.keyboard, resolved.token)
            else:
                await button_tokens.mark_used(ctx.session, resolved.token, now)
            if resolved.handle_group is not None:  # the item is handled: its handles go
                await button_tokens.close_group(
                    ctx.session,
                    ctx.platform,
                    ctx.chat.platform_chat_id,
                    resolved.handle_group,
                    now,
                )
        await action.handler(ctx, resolved.value)

    async def _ask_to_confirm(self, ctx: Context, resolved: button_tokens.ResolvedButton) -> None:
        """A typed answer chose something that cannot simply be undone: one more tap first.

        The confirmation becomes the open form, so `1` confirms; the choice is kept as a token
        row (a form's option only lives in the keyboard the confirmation replaces)."""
        if resolved.in_keyboard:
            entry = button_tokens.keyboard_entry(ctx.keyboard, resolved.token)
            if entry is not None:
                await button_tokens.keep_as_token(
                    ctx.session, ctx.platform, ctx.chat.platform_chat_id, entry
                )
        choice = button_tokens.bare_label(resolved.label)
        if resolved.context:
            text = _("You chose “{choice}” for: {what}\nShall I do that?").format(
                choice=choice, what=resolved.context
            )
        else:
            text = _("You chose “{choice}”. Shall I do that?").format(choice=choice)
        ctx.reply(
            text,
            [
                [Button(CONFIRM, _("Yes, do it"), resolved.token)],
                [Button(KEEP, _("No, leave it"))],
            ],
        )
        ctx.replies[-1].step = True  # answered next, like a question: `1` or "Yes" confirms

    async def _core_press(self, ctx: Context, resolved: button_tokens.ResolvedButton) -> None:
        """The dispatcher's own options: a confirmation and a choice between messages.

        Both stood in for the open form for one answer; once answered, the flow the person
        is in (if the choice did not end it) asks its question again, so its options are
        the form once more."""
        generation, before = ctx.flow_generation, len(ctx.replies)
        if resolved.action == KEEP:
            ctx.reply(_("All right, nothing was changed."))
        elif resolved.action == CONFIRM:
            await self._press(ctx, resolved.value)
        else:  # PICK: as if its handle had been typed
            await self._press(ctx, resolved.value, typed=True)
        asked = any(pending.step for pending in ctx.replies[before:])
        if ctx.state is not None and ctx.flow_generation == generation and not asked:
            await ctx.goto(ctx.state)

    async def _consented(self, ctx: Context) -> bool:
        hooks = self.services.hooks
        if ctx.person.has_consented(hooks.consent_version):
            return True
        await hooks.ask_for_consent(ctx)
        return False

    # --- finishing -----------------------------------------------------------------------
    async def _finish(self, ctx: Context) -> list[OutgoingMessage]:
        # The handler's changes are flushed once, by the commit, not first by the insert of
        # the button tokens (which refer to nothing the handler may still have pending).
        with ctx.session.no_autoflush:
            return await self._outgoing(ctx)

    async def _outgoing(self, ctx: Context) -> list[OutgoingMessage]:
        numbered = not self.services.capabilities_of(ctx.platform).inline_buttons
        rtl = is_rtl()
        outgoing = []
        # Numbered, one keyboard is the open form (plain `2` answers it): the open flow's
        # question while the person is in a flow, else the last keyboard of this reply (a
        # command leaves the form it was typed in). Every other keyboard gets handles of its
        # own (`1a`), so it never takes over the form.
        in_form = ctx.flow_state is not None and ctx.incoming.command is None
        candidates = [
            i
            for i, pending in enumerate(ctx.replies)
            if pending.reply.buttons and (not in_form or pending.step)
        ]
        form = candidates[-1] if candidates else None
        for index, pending in enumerate(ctx.replies):
            reply: Reply = pending.reply
            sent, ctx.keyboard = await button_tokens.mint(
                ctx.session,
                ctx.platform,
                ctx.chat.platform_chat_id,
                reply,
                pending.person_id,
                numbered=numbered,
                keyboard=ctx.keyboard,
                keyboard_loaded=True,
                form=index == form,
            )
            outgoing.append(
                OutgoingMessage(
                    ctx.chat.platform_chat_id,
                    reply.text,
                    sent,
                    reply.format,
                    reply.attachment,
                    rtl,
                    is_group=ctx.is_group,
                )
            )
        return outgoing
