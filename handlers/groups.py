"""Group chats: a greeting when the bot is added, and forgetting a group that removed it."""

from __future__ import annotations

from bot.core.context import Context
from bot.core.i18n import _, isolate
from bot.core.router import Router

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
