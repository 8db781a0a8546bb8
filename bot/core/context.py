"""The context a handler works with: the update, the person, the chat, and how to answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core import buttons as button_tokens
from bot.core.flow import Answer, Flow, asks_again
from bot.core.i18n import current_language, directed
from bot.core.notify import Notifier
from bot.core.services import Services
from bot.core.types import (
    Attachment,
    Button,
    ChatKind,
    Format,
    Incoming,
    Reply,
)
from db.models import ButtonToken, ChatRecord, FlowState, Keyboard, Person


@dataclass(slots=True)
class PendingReply:
    reply: Reply
    person_id: int | None  # who may press its buttons; None: anyone in the chat
    #: Asked by the open flow's step: its buttons are the form that owns plain answers.
    step: bool = False


@dataclass
class Context:
    incoming: Incoming
    session: AsyncSession
    person: Person
    chat: ChatRecord
    services: Services
    flow_state: FlowState | None = None
    keyboard: Keyboard | None = None  # the chat's latest numbered keyboard (see buttons.py)
    pressed: ButtonToken | None = None  # the token row of the button pressed, if any
    replies: list[PendingReply] = field(default_factory=list)
    _notifier: Notifier | None = None
    notice: str | None = None
    answered_step: bool = False
    replaces_pressed: bool = False  # see Handled
    spent_pressed: bool = False  # see Handled
    _flow_generation: int = 0  # bumped when a flow starts or ends
    read_free_text: bool = False  # the step read the answer as free text (see asks_again)

    # --- who and where -------------------------------------------------------------------
    @property
    def settings(self) -> Any:
        return self.services.settings

    @property
    def is_group(self) -> bool:
        return self.chat.kind == ChatKind.GROUP

    @property
    def platform(self) -> str:
        return self.incoming.actor.platform

    @property
    def language(self) -> str:
        return current_language()

    # --- answering -----------------------------------------------------------------------
    def reply(
        self,
        text: str,
        buttons: Sequence[Sequence[Button]] | Sequence[Button] = (),
        *,
        format: Format = Format.PLAIN,
        attachment: Attachment | None = None,
        anyone: bool = False,
    ) -> None:
        """Answer in this chat, in the current locale. Buttons are the sender's unless `anyone`."""
        self.replies.append(
            PendingReply(
                make_reply(text, buttons, format, attachment), None if anyone else self.person.id
            )
        )

    def show_in_place(self) -> None:
        """This update's reply is the pressed message's view, changed (a toggled option,
        another page, a filter): a transport that can edit messages shows it where the
        button was pressed instead of sending it anew."""
        if self.incoming.button is not None:
            self.replaces_pressed = True

    def notify(self, text: str) -> None:
        """A short remark about the button just pressed (a toast where the platform has one)."""
        self.notice = directed(text)

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = Notifier(self.session, self.services)
        return self._notifier

    @property
    def queued(self) -> int:
        return self._notifier.queued if self._notifier else 0

    async def send_to(self, person: Person, render: Callable[[], Reply]) -> None:
        """Queue a message for someone else, rendered in their language and time zone."""
        await self.notifier.to_person(person, render)

    async def send_to_chat(self, chat: ChatRecord, render: Callable[[], Reply]) -> None:
        """Queue a message for a (group) chat, in that chat's language."""
        await self.notifier.to_chat(chat, render)

    # --- flows ---------------------------------------------------------------------------
    @property
    def flow_generation(self) -> int:
        """Changes whenever a flow starts or ends: tells whether a handler left the flow."""
        return self._flow_generation

    @property
    def state(self) -> str | None:
        return self.flow_state.state if self.flow_state else None

    @property
    def data(self) -> dict[str, Any]:
        """The answers this flow has collected so far (stored as JSON with the state)."""
        if self.flow_state is None:
            raise RuntimeError("no flow is running")
        return self.flow_state.data

    def remember(self, **values: Any) -> None:
        """Save answers; reassigning the dict makes SQLAlchemy notice the change."""
        if self.flow_state is None:
            raise RuntimeError("no flow is running")
        self.flow_state.data = {**self.flow_state.data, **values}

    def forget(self, *keys: str) -> None:
        """Drop answers, so that the flow asks for them again."""
        if self.flow_state is None:
            raise RuntimeError("no flow is running")
        self.flow_state.data = {k: v for k, v in self.flow_state.data.items() if k not in keys}

    async def start_flow(self, flow: Flow, *, at: str | None = None, **data: Any) -> None:
        """Begin a flow (replacing any other) at its first state, or at `at`."""
        state = at or flow.first
        if state not in flow.steps:
            raise ValueError(f"{state!r} is not a state of flow {flow.name}")
        self._flow_generation += 1
        if self.flow_state is not None and self.flow_state not in self.session.new:
            self.flow_state.state = state
            self.flow_state.data = dict(data)
        else:
            await self.end_flow()
            self.flow_state = FlowState(
                platform=self.platform,
                chat_id=self.chat.platform_chat_id,
                user_id=self.incoming.actor.user_id,
                state=state,
                data=dict(data),
            )
            self.session.add(self.flow_state)
        await self.goto(state)

    async def goto(self, state: str | None) -> None:
        """Move to a state and ask its question; `None` ends the flow."""
        if state is None:
            await self.end_flow()
            return
        flow = self.services.routes.steps[state]
        if self.flow_state is None:
            raise RuntimeError("goto() outside a flow; use start_flow()")
        self.flow_state.state = state
        before = len(self.replies)
        await flow.steps[state].ask(self)
        for pending in self.replies[before:]:
            pending.step = True
        if not any(r.reply.buttons for r in self.replies[before:]):
            # A free-text question: a typed "2" is an answer, not button 2 of an old keyboard.
            button_tokens.forget_keyboard(self.keyboard)

    async def handle_answer(self, answer: Answer) -> None:
        if self.flow_state is None:
            return
        state = self.flow_state.state
        flow = self.services.routes.steps.get(state)
        if flow is None:  # a state from an older version of the bot
            await self.end_flow()
            return
        generation, before = self._flow_generation, len(self.replies)
        self.read_free_text = False
        next_state = await flow.steps[state].handle(self, answer)
        if self._flow_generation != generation:
            return  # the step ended this flow or started another one itself
        if next_state is not None and not asks_again(
            state=state,
            next_state=next_state,
            typed=not answer.is_button,
            free_text=self.read_free_text,
            replied=len(self.replies) > before,
        ):
            return  # the step's own reply answered; the question stays open as it was
        await self.goto(next_state)

    async def end_flow(self) -> None:
        self._flow_generation += 1
        if self.flow_state is not None:
            if self.flow_state in self.session.new:
                self.session.expunge(self.flow_state)
            elif self.flow_state in self.session:
                await self.session.delete(self.flow_state)
            self.flow_state = None
        # else: there is none; the dispatcher loaded this chat's flow state with the update


def make_reply(
    text: str,
    buttons: Sequence[Sequence[Button]] | Sequence[Button] = (),
    format: Format = Format.PLAIN,
    attachment: Attachment | None = None,
) -> Reply:
    """Build a reply in the current locale: right-to-left lines get their direction mark."""
    rows: list[tuple[Button, ...]] = []
    for item in buttons:
        row = (item,) if isinstance(item, Button) else tuple(item)
        rows.append(tuple(Button(b.action, directed(b.label), b.value) for b in row))
    return Reply(directed(text), tuple(rows), format, attachment)
