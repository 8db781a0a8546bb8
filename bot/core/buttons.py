"""What a button means is kept on our side; a transport only carries a reference to it.

Telegram's `callback_data` is client-controlled and limited to 64 bytes, so a Telegram button
carries a token, and the token's row says what it means. A platform without buttons (Matrix,
the terminal, any SMS-like one) shows each option with a *handle* the person types back
(docs/architecture.md, "Answers without buttons"):

- The latest reply's last keyboard is the chat's open form: its options are numbered `1`, `2`, …
  (or carry their own label when the labels are numbers: `5` means the label 5, never the fifth
  option) and live in the chat's `Keyboard` row, replaced by the next one, so a plain answer
  needs no lookup of its own.
- Every other message with options (a push from the outbox, an earlier list in the same reply)
  is a *group* with a number of its own in this chat, and its options are `1a`, `1b`, `2a`, …
  They are token rows with their handle, answerable in any order until the group is handled
  (a single-use option pressed) or its tokens expire, and they never take over the form's
  plain answers.

Either way this module checks that the button belongs to this chat, is meant for the presser,
is not too old and, for single-use buttons, has not been used.
"""

from __future__ import annotations

import enum
import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.types import Reply, SentButton
from db.models import ButtonToken, Keyboard

TOKEN_BYTES = 12  # 16 characters of URL-safe base64, well under Telegram's 64 bytes
TOKEN_TTL = timedelta(days=30)
#: Group numbers run 1…999 in a chat and then start again (the newest group wins a handle).
GROUP_LIMIT = 999
#: How much of a message's first line a group keeps, to say what its options belong to.
CONTEXT_LENGTH = 60
_HANDLE = re.compile(r"^\s*(\d{1,3})\s*([a-z]{1,2})\s*$", re.IGNORECASE)
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
    label: str = ""
    #: The first line of the message the option belongs to (for a group's option).
    context: str = ""
    handle_group: int | None = None


# A keyboard entry: [label, token, action, value, person id or None, used (0/1), handle].
# (Keyboards stored before entries carried their meaning hold [label, token] only; those
# tokens have rows. Entries stored before handles existed are answered by position.)
_LABEL, _TOKEN, _ACTION, _VALUE, _PERSON, _USED, _HANDLE_AT = range(7)


def letters(index: int) -> str:
    """0 → a, 25 → z, 26 → aa: an option's letter within its group."""
    word = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        word = chr(ord("a") + rest) + word
    return word


def bare_label(label: str) -> str:
    """A label as typed back: without direction marks, isolates and outer spaces."""
    return label.strip("\u200e\u200f\u2068\u2069 ").strip()


def form_handles(labels: list[str]) -> list[str]:
    """The open form's handles: positions, unless some labels are numbers themselves.

    Options labelled 1, 2, 3, 5, 10 are typed as their label, so `5` always means five; the
    options among them that are not numbers get letters (`a`, `b`), which no label can be.
    """
    bare = [bare_label(label) for label in labels]
    if not any(b.isdigit() and b.isascii() for b in bare):
        return [str(number) for number in range(1, len(labels) + 1)]
    handles: list[str] = []
    letter = 0
    for b in bare:
        if b.isdigit() and b.isascii() and b not in handles:
            handles.append(b)
        else:
            handles.append(letters(letter))
            letter += 1
    return handles


def first_line(text: str) -> str:
    """What a group's options belong to, for lists of what is open and for confirmations."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [bare_label(line) for line in plain.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return ""
    line = lines[0]
    if line.endswith((":", "：")) and len(lines) > 1:  # "A need that fits you:" + its title
        line = f"{line} {lines[1]}"
    return line if len(line) <= CONTEXT_LENGTH else line[: CONTEXT_LENGTH - 1] + "…"


def parse_handle(text: str) -> str | None:
    """`1a`, `12 B` → the normalised handle `1a`, `12b`; anything else → None."""
    match = _HANDLE.match(text)
    if match is None:
        return None
    return f"{int(match.group(1))}{match.group(2).lower()}"


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
    form: bool = True,
) -> tuple[tuple[tuple[SentButton, ...], ...], Keyboard | None]:
    """Give each button of a reply its token and return the rows to send, with the keyboard.

    With buttons (`numbered` false) the tokens are stored, with one plain INSERT rather than
    as ORM objects. Numbered, a `form` (the latest reply's last keyboard) becomes the chat's
    keyboard (`keyboard` is the chat's keyboard if the caller has loaded it; with
    `keyboard_loaded`, None means the chat has none yet); anything else becomes a group
    with handles of its own (`1a`, `1b`), stored as tokens.
    """
    if not reply.buttons:
        return (), keyboard
    flat = [button for row in reply.buttons for button in row]
    tokens = [secrets.token_urlsafe(TOKEN_BYTES) for _button in flat]
    if not numbered:
        handles = [""] * len(flat)
        group = None
    elif form:
        handles = form_handles([button.label for button in flat])
        group = None
    else:
        group = await next_group(session, platform, chat_id)
        handles = [f"{group}{letters(index)}" for index in range(len(flat))]
    rows: list[tuple[SentButton, ...]] = []
    at = 0
    for row in reply.buttons:
        rows.append(
            tuple(
                SentButton(button.label, tokens[at + i], handles[at + i])
                for i, button in enumerate(row)
            )
        )
        at += len(row)
    if numbered and form:
        entries = [
            [b.label, tokens[i], b.action, b.value, person_id, 0, handles[i]]
            for i, b in enumerate(flat)
        ]
        keyboard = await remember(session, platform, chat_id, entries, keyboard, keyboard_loaded)
        return tuple(rows), keyboard
    context = first_line(reply.text) if group is not None else ""
    await session.execute(
        insert(_TOKENS),
        [
            {
                "token": tokens[i],
                "platform": platform,
                "chat_id": chat_id,
                "person_id": person_id,
                "action": b.action,
                "value": b.value,
                "handle": handles[i] or None,
                "handle_group": group,
                "label": bare_label(b.label)[:128],
                "context": context,
            }
            for i, b in enumerate(flat)
        ],
    )
    return tuple(rows), keyboard


async def next_group(session: AsyncSession, platform: str, chat_id: str) -> int:
    """The next group number in this chat: one more than the newest group's (1 after 999).

    Groups made earlier in this transaction are counted from the session, since their rows
    share one timestamp. Two transactions pushing to one chat at once may pick the same
    number; answering that handle then asks which of the two was meant.
    """
    made: dict[tuple[str, str], int] = session.info.setdefault("handle_groups", {})
    newest = made.get((platform, chat_id))
    if newest is None:
        newest = await session.scalar(
            select(ButtonToken.handle_group)
            .where(
                ButtonToken.platform == platform,
                ButtonToken.chat_id == chat_id,
                ButtonToken.handle_group.is_not(None),
            )
            .order_by(ButtonToken.created_at.desc(), ButtonToken.handle_group.desc())
            .limit(1)
        )
    number = 1 if newest is None or newest >= GROUP_LIMIT else newest + 1
    made[(platform, chat_id)] = number
    return number


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
    """A typed handle or exact label of the chat's open form, as that button's token."""
    if keyboard is None or not keyboard.buttons:
        return None
    typed = text.strip()
    for position, entry in enumerate(keyboard.buttons, start=1):
        handle = entry[_HANDLE_AT] if len(entry) > _HANDLE_AT else str(position)
        if typed.lower() == str(handle):
            return str(entry[_TOKEN])
    for entry in keyboard.buttons:
        if typed == bare_label(entry[_LABEL]):
            return str(entry[_TOKEN])
    return None


def form_options(keyboard: Keyboard | None) -> list[tuple[str, str]]:
    """The open form's (handle, label) pairs, for a list of what can be answered."""
    if keyboard is None:
        return []
    return [
        (str(entry[_HANDLE_AT]) if len(entry) > _HANDLE_AT else str(position), entry[_LABEL])
        for position, entry in enumerate(keyboard.buttons or (), start=1)
    ]


def keyboard_entry(keyboard: Keyboard | None, token: str) -> list[Any] | None:
    for entry in (keyboard.buttons if keyboard is not None else None) or ():
        if len(entry) > _USED and entry[_TOKEN] == token:
            return list(entry)
    return None


async def keep_as_token(
    session: AsyncSession, platform: str, chat_id: str, entry: list[Any]
) -> None:
    """Store a form option as a token row, so that it outlives the form (a confirmation that
    replaces the form still knows what was chosen)."""
    if await session.get(ButtonToken, entry[_TOKEN]) is not None:
        return
    await session.execute(
        insert(_TOKENS).values(
            token=entry[_TOKEN],
            platform=platform,
            chat_id=chat_id,
            person_id=entry[_PERSON],
            action=entry[_ACTION],
            value=entry[_VALUE],
            label=bare_label(entry[_LABEL])[:128],
            context="",
        )
    )


@dataclass(frozen=True, slots=True)
class Group:
    """A message's options with their handles, still to be answered."""

    number: int
    context: str
    options: tuple[tuple[str, str], ...]  # (handle, label)


def _live(platform: str, chat_id: str, now: datetime) -> Any:
    return and_(
        ButtonToken.platform == platform,
        ButtonToken.chat_id == chat_id,
        ButtonToken.handle.is_not(None),
        ButtonToken.closed_at.is_(None),
        ButtonToken.created_at >= now - TOKEN_TTL,
    )


async def tokens_by_handle(
    session: AsyncSession, platform: str, chat_id: str, handle: str, now: datetime
) -> list[ButtonToken]:
    """The unexpired options with this handle in the chat, newest first (usually one)."""
    rows = await session.scalars(
        select(ButtonToken)
        .where(
            ButtonToken.platform == platform,
            ButtonToken.chat_id == chat_id,
            ButtonToken.handle == handle,
            ButtonToken.created_at >= now - TOKEN_TTL,
        )
        .order_by(ButtonToken.created_at.desc())
    )
    return list(rows)


async def open_tokens_by_label(
    session: AsyncSession, platform: str, chat_id: str, label: str, now: datetime
) -> list[ButtonToken]:
    """Open options of groups whose label is exactly what was typed, newest first."""
    rows = await session.scalars(
        select(ButtonToken)
        .where(_live(platform, chat_id, now), ButtonToken.label == bare_label(label)[:128])
        .order_by(ButtonToken.created_at.desc())
        .limit(20)
    )
    return list(rows)


async def open_groups(
    session: AsyncSession,
    platform: str,
    chat_id: str,
    person_id: int,
    now: datetime,
    limit: int = 8,
) -> list[Group]:
    """The newest groups of options still open for this person in this chat."""
    rows = (
        await session.scalars(
            select(ButtonToken)
            .where(
                _live(platform, chat_id, now),
                (ButtonToken.person_id.is_(None)) | (ButtonToken.person_id == person_id),
            )
            .order_by(ButtonToken.created_at.desc())
            .limit(limit * 6)
        )
    ).all()
    groups: dict[tuple[int, str], list[ButtonToken]] = {}
    for row in rows:
        key = (row.handle_group or 0, row.context)
        if key not in groups and len(groups) >= limit:
            continue
        groups.setdefault(key, []).append(row)
    found = [
        Group(
            number,
            context,
            tuple(
                (str(t.handle), t.label)
                for t in sorted(members, key=lambda t: (len(t.handle or ""), t.handle or ""))
            ),
        )
        for (number, context), members in groups.items()
    ]
    return sorted(found, key=lambda g: g.number)


async def close_group(
    session: AsyncSession, platform: str, chat_id: str, group: int, now: datetime
) -> None:
    """The item is handled: its handles no longer answer, nor count as open."""
    await session.execute(
        update(ButtonToken)
        .where(
            ButtonToken.platform == platform,
            ButtonToken.chat_id == chat_id,
            ButtonToken.handle_group == group,
            ButtonToken.closed_at.is_(None),
        )
        .values(closed_at=now)
    )


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
        return ResolvedButton(
            entry[_ACTION], entry[_VALUE], token, used, in_keyboard=True, label=entry[_LABEL]
        )
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
    return ResolvedButton(
        row.action,
        row.value,
        token,
        row.used_at,
        label=row.label or "",
        context=row.context or "",
        handle_group=row.handle_group if row.closed_at is None else None,
    )


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
