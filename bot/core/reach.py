"""Where the bot can reach a person privately, on every platform, modelled once.

A person is not a chat. On the terminal the user id is the chat. On Telegram it is too, but a
bot may only write there once the person has opened the chat (a group member who never started
the bot cannot be written to). On Matrix the bot needs a direct room: the one the person talked
to it in, or one it makes and the person joins.

A message for someone who cannot be reached yet is *held* in the outbox (with the user id as a
placeholder chat) instead of failing: on Telegram the person is told once, in the group where
they were last seen, with a link that opens the private chat; on Matrix the transport makes a
direct room. As soon as the private line exists, the held messages are released to it. Held
messages do not wait for ever: after `HOLD_FOR` they end as failed, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.core.types import ChatKind, Reach
from db.models import (
    ButtonToken,
    ChatRecord,
    DirectChat,
    DirectChatState,
    Keyboard,
    OutboxMessage,
    OutboxStatus,
    Person,
)

HOLD_FOR = timedelta(days=7)
#: The deep link that opens the private chat to receive held messages (handlers/reach.py).
INBOX_LINK = "inbox"
EXPIRED = "held for 7 days: the person never opened a private chat with the bot"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message for a person goes now."""

    chat_id: str
    #: Not deliverable yet: keep it in the outbox as held.
    held: bool = False
    #: A group in which to tell the person, once, how to open the private chat.
    tell_in: ChatRecord | None = None


def mode(services: Services, platform: str) -> Reach:
    return services.capabilities_of(platform).reach


async def _direct(session: AsyncSession, person_id: int, platform: str) -> DirectChat | None:
    return await session.scalar(
        select(DirectChat).where(
            DirectChat.person_id == person_id, DirectChat.platform == platform
        )
    )


async def route_to(session: AsyncSession, services: Services, person: Person) -> Route:
    """The private chat for a message to this person, or a held route until there is one."""
    how = mode(services, person.platform)
    if how == Reach.USER_ID:
        return Route(person.platform_user_id)
    direct = await _direct(session, person.id, person.platform)
    if direct is not None and direct.state == DirectChatState.READY and direct.chat_id:
        return Route(direct.chat_id)
    if direct is None:
        known = await _private_chat_seen(session, person, how)
        direct = DirectChat(
            person_id=person.id,
            platform=person.platform,
            chat_id=known,
            state=DirectChatState.READY if known else DirectChatState.WANTED,
            updated_at=services.clock(),
        )
        session.add(direct)
        if known:
            return Route(known)
    tell_in = None
    if how == Reach.OPENED and direct.group_chat_id and direct.told_at is None:
        tell_in = await session.scalar(
            select(ChatRecord).where(
                ChatRecord.platform == person.platform,
                ChatRecord.platform_chat_id == direct.group_chat_id,
                ChatRecord.unreachable_at.is_(None),
            )
        )
        if tell_in is not None:
            direct.told_at = services.clock()
    return Route(person.platform_user_id, held=True, tell_in=tell_in)


async def _private_chat_seen(session: AsyncSession, person: Person, how: Reach) -> str | None:
    """A private chat in which the person already wrote to the bot (recorded before direct
    chats were, or by another process): the place to reach them."""
    query = select(ChatRecord.platform_chat_id).where(
        ChatRecord.platform == person.platform,
        ChatRecord.kind == ChatKind.PRIVATE.value,
        ChatRecord.created_by == person.platform_user_id,
        ChatRecord.unreachable_at.is_(None),
    )
    if how == Reach.OPENED:  # on Telegram the private chat's id is the user's id
        query = query.where(ChatRecord.platform_chat_id == person.platform_user_id)
    return await session.scalar(query.order_by(ChatRecord.id.desc()).limit(1))


async def opened(
    session: AsyncSession, services: Services, person: Person, chat_id: str, now: datetime
) -> int:
    """The person wrote to the bot in a private chat: they can be reached there.

    Returns how many held messages were released to it (the caller wakes the senders).
    """
    if mode(services, person.platform) == Reach.USER_ID:
        return 0
    direct = await _direct(session, person.id, person.platform)
    if direct is not None and direct.state == DirectChatState.READY:
        if direct.chat_id == chat_id:
            return 0
        old = direct.chat_id
        direct.chat_id = chat_id
        direct.updated_at = now
        if old:  # a newer direct room: what was still queued for the old one goes here
            await _move_queued(session, person.id, person.platform, old, chat_id)
        return await release(session, person.id, person.platform, chat_id, now)
    if direct is None:
        session.add(
            DirectChat(
                person_id=person.id,
                platform=person.platform,
                chat_id=chat_id,
                state=DirectChatState.READY,
                updated_at=now,
            )
        )
    else:
        direct.chat_id = chat_id
        direct.state = DirectChatState.READY
        direct.told_at = None
        direct.updated_at = now
    return await release(session, person.id, person.platform, chat_id, now)


async def seen_in_group(
    session: AsyncSession, services: Services, person: Person, group_chat_id: str, now: datetime
) -> None:
    """Remember the group, to tell the person there should a private message be needed.

    Only for people who agreed to the privacy notice: of anyone else nothing is kept.
    """
    if mode(services, person.platform) != Reach.OPENED or not person.consent_version:
        return
    direct = await _direct(session, person.id, person.platform)
    if direct is None:
        session.add(
            DirectChat(
                person_id=person.id,
                platform=person.platform,
                state=DirectChatState.WANTED,
                group_chat_id=group_chat_id,
                updated_at=now,
            )
        )
    elif direct.state != DirectChatState.READY and direct.group_chat_id != group_chat_id:
        direct.group_chat_id = group_chat_id
        direct.updated_at = now


async def release(
    session: AsyncSession, person_id: int, platform: str, chat_id: str, now: datetime
) -> int:
    """Send what was held for a person to the private chat that now exists."""
    placeholder = await session.scalar(
        select(Person.platform_user_id).where(Person.id == person_id)
    )
    if placeholder is None:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.person_id == person_id,
            OutboxMessage.platform == platform,
            OutboxMessage.status == OutboxStatus.HELD,
        )
        .values(status=OutboxStatus.PENDING, chat_id=chat_id, not_before=now)
        .execution_options(synchronize_session=False)
    )
    if placeholder != chat_id:
        await _rekey_buttons(session, platform, placeholder, chat_id, person_id)
    return int(getattr(result, "rowcount", 0) or 0)


async def _rekey_buttons(
    session: AsyncSession, platform: str, old: str, new: str, person_id: int
) -> None:
    """Buttons minted for the placeholder chat answer in the real one (numbered keyboards
    are looked up by chat)."""
    await session.execute(
        update(ButtonToken)
        .where(
            ButtonToken.platform == platform,
            ButtonToken.chat_id == old,
            ButtonToken.person_id == person_id,
        )
        .values(chat_id=new)
        .execution_options(synchronize_session=False)
    )
    moved = await session.scalar(
        select(Keyboard.id).where(Keyboard.platform == platform, Keyboard.chat_id == old)
    )
    if moved is not None:
        await session.execute(
            delete(Keyboard).where(Keyboard.platform == platform, Keyboard.chat_id == new)
        )
        await session.execute(
            update(Keyboard)
            .where(Keyboard.id == moved)
            .values(chat_id=new)
            .execution_options(synchronize_session=False)
        )


async def _move_queued(
    session: AsyncSession, person_id: int, platform: str, old: str, new: str
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.person_id == person_id,
            OutboxMessage.platform == platform,
            OutboxMessage.chat_id == old,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(chat_id=new)
        .execution_options(synchronize_session=False)
    )


async def room_made(
    session: AsyncSession, person_id: int, platform: str, chat_id: str, now: datetime
) -> None:
    """Matrix: a direct room was made and the person invited; messages wait for the join."""
    direct = await _direct(session, person_id, platform)
    if direct is None:
        session.add(
            DirectChat(
                person_id=person_id,
                platform=platform,
                chat_id=chat_id,
                state=DirectChatState.INVITED,
                updated_at=now,
            )
        )
    else:
        direct.chat_id = chat_id
        direct.state = DirectChatState.INVITED
        direct.updated_at = now


async def joined(
    session: AsyncSession, platform: str, chat_id: str, user_id: str, now: datetime
) -> int:
    """The person joined the direct room made for them: release what was held."""
    direct = await session.scalar(
        select(DirectChat)
        .join(Person, Person.id == DirectChat.person_id)
        .where(
            DirectChat.platform == platform,
            DirectChat.chat_id == chat_id,
            Person.platform_user_id == user_id,
        )
    )
    if direct is None or direct.state == DirectChatState.READY:
        return 0
    direct.state = DirectChatState.READY
    direct.updated_at = now
    return await release(session, direct.person_id, platform, chat_id, now)


async def forget_room(
    session: AsyncSession, platform: str, chat_id: str, now: datetime, *, group: bool
) -> int:
    """A direct room is no longer one: it gained a third member (`group`), or the person left.

    Nothing personal is posted there any more: the direct chat is forgotten (a new one is
    made when needed) and what was queued for the person there is held again. Returns how
    many messages were held.
    """
    if group:
        await session.execute(
            update(ChatRecord)
            .where(ChatRecord.platform == platform, ChatRecord.platform_chat_id == chat_id)
            .values(kind=ChatKind.GROUP.value)
            .execution_options(synchronize_session=False)
        )
    directs = list(
        await session.scalars(
            select(DirectChat).where(
                DirectChat.platform == platform, DirectChat.chat_id == chat_id
            )
        )
    )
    held = 0
    for direct in directs:
        placeholder = await session.scalar(
            select(Person.platform_user_id).where(Person.id == direct.person_id)
        )
        if placeholder is not None:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.person_id == direct.person_id,
                    OutboxMessage.platform == platform,
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                )
                .values(status=OutboxStatus.HELD, chat_id=placeholder, claimed_until=None)
                .execution_options(synchronize_session=False)
            )
            held += int(getattr(result, "rowcount", 0) or 0)
            await _rekey_buttons(session, platform, chat_id, placeholder, direct.person_id)
        direct.chat_id = None
        direct.state = DirectChatState.WANTED
        direct.updated_at = now
    return held


async def wanted_rooms(session: AsyncSession, platform: str) -> list[tuple[int, str]]:
    """(person id, user id) of people with held messages and no direct room in the making."""
    rows = await session.execute(
        select(Person.id, Person.platform_user_id)
        .join(DirectChat, and_(DirectChat.person_id == Person.id, DirectChat.platform == platform))
        .where(
            DirectChat.state == DirectChatState.WANTED,
            exists().where(
                OutboxMessage.person_id == Person.id,
                OutboxMessage.platform == platform,
                OutboxMessage.status == OutboxStatus.HELD,
            ),
        )
        .order_by(Person.id)
    )
    return [(row[0], row[1]) for row in rows]


async def expire_held(session: AsyncSession, now: datetime) -> int:
    """Held messages older than `HOLD_FOR` end as failed, with the reason."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.HELD,
            OutboxMessage.not_before < now - HOLD_FOR,
        )
        .values(status=OutboxStatus.FAILED, last_error=EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
