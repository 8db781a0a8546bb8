"""Neutral event and reply types shared by all transports and flows.

Handlers see only these, never a Telegram `Update` or a nio event, so one flow serves every
messenger. `raw` keeps the platform's object for debugging and is never used for routing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ChatKind(enum.StrEnum):
    PRIVATE = "private"
    GROUP = "group"


class Format(enum.StrEnum):
    """How a reply's text is to be read: plain text, or our small HTML subset (b, i, a, code)."""

    PLAIN = "plain"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Actor:
    """Someone who wrote to the bot: known by platform and the platform's user id."""

    platform: str
    user_id: str
    display_name: str | None = None
    language_code: str | None = None


@dataclass(frozen=True, slots=True)
class Chat:
    platform: str
    chat_id: str
    kind: ChatKind = ChatKind.PRIVATE
    title: str | None = None


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A pressed button, as the transport saw it: an opaque token or a numbered choice.

    The core resolves the token on the server side; nothing in it is trusted.
    """

    token: str
    #: Chosen by typing (a number or label in reply to the message), not by a tap.
    typed: bool = False


@dataclass(frozen=True, slots=True)
class Incoming:
    """One update: a text (maybe a command), or a button press, in a chat."""

    actor: Actor
    chat: Chat
    text: str | None = None
    button: ButtonPress | None = None
    reply_to_bot: bool = False
    #: The author (platform user id) of the message this one replies to, if any.
    reply_to_user: str | None = None
    #: A chat event instead of a message: "bot_added" (to a group), "bot_removed".
    event: str | None = None
    #: The options, as (handle, label), of the bot's message this one replies to: a typed
    #: `2` or label in a reply answers that message, whatever else is open.
    reply_options: tuple[tuple[str, str], ...] = ()
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def command(self) -> str | None:
        """`/start@lotse_bot arg` → `start`; `!help` (Matrix) → `help`; otherwise None."""
        if not self.text or self.text[:1] not in "/!":
            return None
        head = self.text[1:].split(maxsplit=1)[0] if len(self.text) > 1 else ""
        name = head.split("@", 1)[0].lower()
        return name if name and name.replace("_", "").isalnum() and name.isascii() else None

    @property
    def args(self) -> str:
        """What follows the command, e.g. the payload of `/start <payload>`."""
        if self.command is None or not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True, slots=True)
class Button:
    """A choice offered to the reader. Routed by `action` (+ `value`), never by its label."""

    action: str
    label: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Reply:
    """A message the bot sends: text in the reader's language, its buttons and format."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    format: Format = Format.PLAIN
    attachment: Attachment | None = None

    @property
    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True, slots=True)
class SentButton:
    """A button as delivered: its label and the opaque token that stands for it.

    `handle` is what a person types to choose it where there are no buttons (`2`, `5`, `1a`);
    empty on platforms with real buttons."""

    label: str
    token: str
    handle: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A reply ready for a transport: its buttons already replaced by server-side tokens."""

    chat_id: str
    text: str
    buttons: tuple[tuple[SentButton, ...], ...] = ()
    format: Format = Format.PLAIN
    attachment: Attachment | None = None
    rtl: bool = False
    #: Set when the message comes from the outbox (pacing keeps reservations by it).
    outbox_id: int | None = None
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class Handled:
    """What handling one update produced, for the transport to show.

    `notice` is a short remark about a button press (a stale or foreign button): Telegram shows
    it as the callback's toast, other transports as a message. `answered_step` tells a
    transport that can edit messages that the pressed keyboard has done its job.
    `replaces_pressed` says that the one message is the pressed question asked again (an
    option toggled in a multiple choice, another page): a transport that can edit messages
    shows it in place of the pressed one instead of sending it anew. `spent_pressed` says
    that the pressed message's item is handled (a single-use option): its buttons can go.
    """

    messages: list[OutgoingMessage] = field(default_factory=list)
    notice: str | None = None
    answered_step: bool = False
    replaces_pressed: bool = False
    spent_pressed: bool = False

    def all_messages(self, chat_id: str) -> list[OutgoingMessage]:
        """Messages plus the notice as a message, for transports without toasts."""
        if self.notice is None:
            return list(self.messages)
        return [OutgoingMessage(chat_id, self.notice), *self.messages]


class Reach(enum.StrEnum):
    """How the bot gets a private line to a person on a platform."""

    #: The user id is the private chat (the terminal, test transports).
    USER_ID = "user_id"
    #: The user id is the private chat, but only once the person has opened it (Telegram).
    OPENED = "opened"
    #: A direct room has to be found or made, and joined by the person (Matrix).
    ROOM = "room"


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a transport can show, declared up front instead of failing at run time."""

    inline_buttons: bool = False
    edits: bool = False
    native_polls: bool = False
    html: bool = False
    files: bool = True
    reach: Reach = Reach.USER_ID
