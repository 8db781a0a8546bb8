"""Everything an update needs from the database, in one statement.

Each update needs the person (with roles), the chat, the flow state of this person in this chat
and the chat's latest numbered keyboard. Four lookups by unique key used to be four statements,
and each statement's fixed cost (SQLAlchemy, the driver) is far larger than SQLite's work for an
indexed lookup; one row with four outer joins does the same in one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.elements import BindParameter

from bot.core.types import Incoming
from db.models import ButtonToken, ChatRecord, FlowState, Keyboard, Person


@dataclass(slots=True)
class UpdateRows:
    person: Person | None
    chat: ChatRecord | None
    flow_state: FlowState | None
    keyboard: Keyboard | None
    pressed: ButtonToken | None = None  # the token row of a pressed button


_platform: BindParameter[str] = bindparam("platform")
_user_id: BindParameter[str] = bindparam("user_id")
_chat_platform: BindParameter[str] = bindparam("chat_platform")
_chat_id: BindParameter[str] = bindparam("chat_id")

#: Built once: constructing a statement of this size costs as much as running it.
_QUERY = (
    select(Person, ChatRecord, FlowState, Keyboard)
    .select_from(select(literal(1).label("one")).subquery())
    .outerjoin(Person, and_(Person.platform == _platform, Person.platform_user_id == _user_id))
    .outerjoin(
        ChatRecord,
        and_(ChatRecord.platform == _chat_platform, ChatRecord.platform_chat_id == _chat_id),
    )
    .outerjoin(
        FlowState,
        and_(
            FlowState.platform == _platform,
            FlowState.chat_id == _chat_id,
            FlowState.user_id == _user_id,
        ),
    )
    .outerjoin(Keyboard, and_(Keyboard.platform == _platform, Keyboard.chat_id == _chat_id))
    .options(joinedload(Person.roles))
)


#: For a button press, the pressed token's row comes along, so that resolving the press needs
#: no statement of its own. (Only a token of at most 64 characters is looked up, as in
#: `buttons.resolve`.)
_QUERY_WITH_TOKEN = _QUERY.add_columns(ButtonToken).outerjoin(
    ButtonToken, ButtonToken.token == bindparam("token")
)


async def load_update_rows(session: AsyncSession, incoming: Incoming) -> UpdateRows:
    parameters = {
        "platform": incoming.actor.platform,
        "user_id": incoming.actor.user_id,
        "chat_platform": incoming.chat.platform,
        "chat_id": incoming.chat.chat_id,
    }
    token = incoming.button.token if incoming.button is not None else ""
    if 0 < len(token) <= 64:
        result = await session.execute(_QUERY_WITH_TOKEN, {**parameters, "token": token})
        person, chat, flow_state, keyboard, pressed = result.unique().one()
        return UpdateRows(person, chat, flow_state, keyboard, pressed)
    result = await session.execute(_QUERY, parameters)
    person, chat, flow_state, keyboard = result.unique().one()
    return UpdateRows(person, chat, flow_state, keyboard)
