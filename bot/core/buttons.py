"""Server-side button tokens: what a button means is stored here, a transport carries a token.

Telegram's `callback_data` is client-controlled and limited to 64 bytes; a numbered answer on
Matrix or the terminal refers to "button 2 of the latest keyboard". Both resolve through this
module, which checks that the token exists, belongs to this chat, is meant for the presser and
is not too old.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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


async def mint(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    reply: Reply,
    person_id: int | None,
    *,
    remember_keyboard: bool,
) -> tuple[tuple[SentButton, ...], ...]:
    """Store a token for each button of a reply and return the rows to send.

    The tokens are written with one plain INSERT rather than as ORM objects: nothing reads
    them back in this transaction, and a keyboard has up to a dozen buttons.
    """
    if not reply.buttons:
        return ()
    rows: list[tuple[SentButton, ...]] = []
    stored: list[dict[str, object]] = []
    for row in reply.buttons:
        sent = []
        for button in row:
            token = secrets.token_urlsafe(TOKEN_BYTES)
            stored.append(
                {
                    "token": token,
                    "platform": platform,
                    "chat_id": chat_id,
                    "person_id": person_id,
                    "action": button.action,
                    "value": button.value,
                }
            )
            sent.append(SentButton(button.label, token))
        rows.append(tuple(sent))
    await session.execute(insert(_TOKENS), stored)
    if remember_keyboard:
        await remember(session, platform, chat_id, [b for r in rows for b in r])
    return tuple(rows)


async def remember(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    buttons: list[SentButton],
    known: Keyboard | None = None,
) -> Keyboard:
    """Keep the chat's latest keyboard, so "2" or a label typed back presses that button.

    `known` is the chat's keyboard when the caller has already loaded it (the dispatcher
    loads it with the update), which saves a lookup.
    """
    keyboard = known
    if keyboard is None:
        keyboard = await session.scalar(
            select(Keyboard).where(Keyboard.platform == platform, Keyboard.chat_id == chat_id)
        )
    if keyboard is None:
        keyboard = Keyboard(platform=platform, chat_id=chat_id)
        session.add(keyboard)
    keyboard.buttons = [[b.label, b.token] for b in buttons]
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
        return keyboard.buttons[index][1] if 0 <= index < len(keyboard.buttons) else None
    for label, token in keyboard.buttons:
        if typed == label.strip("\u200f\u2068\u2069 ").strip():
            return token
    return None


async def resolve(
    session: AsyncSession,
    token: str,
    *,
    platform: str,
    chat_id: str,
    person_id: int,
    now: datetime,
) -> ResolvedButton | Rejection:
    if not token or len(token) > 64:
        return Rejection.UNKNOWN
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
