"""What a button means is kept on our side; a transport only carries a reference to it.

Telegram's `callback_data` is client-controlled and limited to 64 bytes, so a Telegram button
carries a token, and the token's row says what it means. A platform without buttons (Matrix,
the terminal) shows numbered options, and the answer "2" or a label refers to the chat's
latest keyboard; that keyboard holds what each of its buttons means, so numbered answers need
no token rows at all (only the latest keyboard can be answered there anyway). Either way this
module checks that the button belongs to this chat, is meant for the presser, is not too old
and, for single-use buttons, has not been used.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import Reply, SentButton
from db.models import ButtonToken, Keyboard

TOKEN_BYTES = 12  # 16 characters of URL-safe base64, well under Telegram's 64 bytes
TOKEN_TTL = timedelta(days=30)
_TOKENS: Table = ButtonToken.__table__  # type: ignore[assignment]


class Rejection(enum.StrEnum):
    UNKNOWN = "unknown"  # forged, mistyped, or cleaned up
    FOREIGN = "foreign"  # meant for someone else in this group
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class ResolvedButton:
    action: str
    value: str
    token: str
    used_at: datetime | None = None
    in_keyboard: bool = False  # defined by the chat's numbered keyboard, not a token row


# A keyboard entry: [label, token, action, value, person id or None, used (0/1)].
# (Keyboards stored before entries carried their meaning hold [label, token] only; those
# tokens have rows.)
_LABEL, _TOKEN, _ACTION, _VALUE, _PERSON, _USED = range(6)


async def mint(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    reply: Reply,
    person_id: int | None,
    *,
    numbered: bool,
    keyboard: Keyboard | None = None,
    keyboard_loaded: bool = False,
) -> tuple[tuple[tuple[SentButton, ...], ...], Keyboard | None]:
    """Give each button of a reply its token and return the rows to send, with the keyboard.

    With buttons (`numbered` false) the tokens are stored, with one plain INSERT rather than
    as ORM objects. Numbered, the reply's buttons become the chat's keyboard instead
    (`keyboard` is the chat's keyboard if the caller has loaded it; with `keyboard_loaded`,
    None means the chat has none yet).
    """
    if not reply.buttons:
        return (), keyboard
    rows: list[tuple[SentButton, ...]] = []
    entries: list[list[Any]] = []
    for row in reply.buttons:
        sent = []
        for button in row:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            entries.append([button.label, token, button.action, button.value, person_id, 0])
            sent.append(SentButton(button.label, token))
        rows.append(tuple(sent))
    if numbered:
        keyboard = await remember(session, platform, chat_id, entries, keyboard, keyboard_loaded)
    else:
        await session.execute(
            insert(_TOKENS),
            [
                {
                    "token": e[_TOKEN],
                    "platform": platform,
                    "chat_id": chat_id,
                    "person_id": e[_PERSON],
                    "action": e[_ACTION],
                    "value": e[_VALUE],
                }
                for e in entries
            ],
        )
    return tuple(rows), keyboard


async def remember(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    entries: list[list[Any]],
    known: Keyboard | None = None,
    loaded: bool = False,
) -> Keyboard:
    """Make these buttons the chat's latest keyboard, so "2" or a label typed back presses one.

    `known` is the chat's keyboard when the caller has already loaded it (the dispatcher
    loads it with the update; `loaded` says None means none), which saves a lookup.
    """
    keyboard = known
    if keyboard is None:  # one made or loaded earlier in this transaction
        keyboard = next(
            (
                k
                for k in (*session.new, *session.identity_map.values())
                if isinstance(k, Keyboard) and (k.platform, k.chat_id) == (platform, chat_id)
            ),
            None,
        )
    if keyboard is None and not loaded:
        keyboard = await session.scalar(
            select(Keyboard).where(Keyboard.platform == platform, Keyboard.chat_id == chat_id)
        )
    if keyboard is None:
        keyboard = Keyboard(platform=platform, chat_id=chat_id)
        session.add(keyboard)
    keyboard.buttons = entries  # (its updated_at moves with it: the entries' age)
    return keyboard


def forget_keyboard(keyboard: Keyboard | None) -> None:
    """A free-text question follows: a typed "2" is now an answer, not button 2."""
    if keyboard is not None and keyboard.buttons:
        keyboard.buttons = []


def token_for_text(keyboard: Keyboard | None, text: str) -> str | None:
    """A typed number or exact label of the chat's latest keyboard, as that button's token."""
    if keyboard is None or not keyboard.buttons:
        return None
    typed = text.strip()
    if typed.isdigit() and typed.isascii():
        index = int(typed) - 1
        return keyboard.buttons[index][_TOKEN] if 0 <= index < len(keyboard.buttons) else None
    for entry in keyboard.buttons:
        if typed == entry[_LABEL].strip("\u200f\u2068\u2069 ").strip():
            return str(entry[_TOKEN])
    return None


def resolve_in_keyboard(
    keyboard: Keyboard | None, token: str, *, person_id: int, now: datetime
) -> ResolvedButton | Rejection | None:
    """A button of the chat's numbered keyboard, or None if the keyboard does not define it."""
    if keyboard is None:
        return None
    for entry in keyboard.buttons or ():
        if len(entry) <= _USED or entry[_TOKEN] != token:
            continue
        if entry[_PERSON] is not None and entry[_PERSON] != person_id:
            return Rejection.FOREIGN
        if keyboard.updated_at is not None and now - keyboard.updated_at > TOKEN_TTL:
            return Rejection.EXPIRED
        used = now if entry[_USED] else None
        return ResolvedButton(entry[_ACTION], entry[_VALUE], token, used, in_keyboard=True)
    return None


def mark_used_in_keyboard(keyboard: Keyboard, token: str) -> None:
    keyboard.buttons = [
        [*entry[:_USED], 1] if len(entry) > _USED and entry[_TOKEN] == token else entry
        for entry in keyboard.buttons
    ]


async def resolve(
    session: AsyncSession,
    token: str,
    *,
    platform: str,
    chat_id: str,
    person_id: int,
    now: datetime,
    loaded: ButtonToken | None = None,
) -> ResolvedButton | Rejection:
    """`loaded` is the token's row if the caller has it already (the dispatcher loads it with
    the update)."""
    if not token or len(token) > 64:
        return Rejection.UNKNOWN
    row = loaded if loaded is not None and loaded.token == token else None
    if row is None:
        row = await session.get(ButtonToken, token)
    if row is None or row.platform != platform or row.chat_id != chat_id:
        return Rejection.UNKNOWN
    if row.person_id is not None and row.person_id != person_id:
        return Rejection.FOREIGN
    if now - row.created_at > TOKEN_TTL:
        return Rejection.EXPIRED
    return ResolvedButton(row.action, row.value, token, row.used_at)


async def mark_used(session: AsyncSession, token: str, now: datetime) -> None:
    """Spend a single-use button (an approval, a vote): pressing it again changes nothing."""
    await session.execute(
        update(ButtonToken).where(ButtonToken.token == token).values(used_at=now)
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(
        delete(ButtonToken).where(ButtonToken.created_at < now - TOKEN_TTL)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
