"""Group chats: a greeting when the bot is added, and forgetting a group that removed it."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.core.context import Context
from bot.core.i18n import _, isolate
from bot.core.router import Router
from db.models import ButtonToken, ChatRecord, FlowState, Keyboard, OutboxMessage

router = Router("groups")


@router.on_event("bot_added")
async def greet_group(ctx: Context) -> None:
    """Say who we are and how a group admin sets the group's language."""
    ctx.chat.unreachable_at = None
    ctx.reply(
        _("Hello everyone! I am the assistant of {network}.").format(
            network=isolate(ctx.settings.network_name)
        )
        + "\n"
        + _(
            "A group admin can choose the language I use here with /language. Send /help to "
            "see what I can do in this group."
        )
    )


@router.on_event("bot_removed")
async def forget_group(ctx: Context) -> None:
    """We cannot write there any more: stop queueing messages for this chat."""
    ctx.chat.unreachable_at = ctx.services.clock()


@router.on_event("chat_moved")
async def move_chat(ctx: Context) -> None:
    """The platform gave the group a new id (Telegram: group → supergroup). Keep its language,
    organisation link and subscriptions by moving the record; what waited in the outbox and
    any flow in progress move with it."""
    new_id = (ctx.incoming.text or "").strip()
    if not new_id or new_id == ctx.chat.platform_chat_id:
        return
    old_id = ctx.chat.platform_chat_id
    platform = ctx.platform
    existing = await ctx.session.scalar(
        select(ChatRecord).where(
            ChatRecord.platform == platform, ChatRecord.platform_chat_id == new_id
        )
    )
    if existing is not None:  # someone already wrote in the new group: keep the old settings
        await ctx.session.delete(existing)
        await ctx.session.flush()
    ctx.chat.platform_chat_id = new_id
    for table in (FlowState, OutboxMessage, Keyboard, ButtonToken):
        await ctx.session.execute(
            update(table)
            .where(table.platform == platform, table.chat_id == old_id)
            .values(chat_id=new_id)
        )
