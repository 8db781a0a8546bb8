"""The link that opens a private chat to receive what the bot kept for someone.

On Telegram a bot cannot start a private chat: for a group member who never started it, the
bot keeps its messages and says in the group how to get them (bot/core/reach.py). The
dispatcher releases them as soon as the person writes privately; this only says so.
"""

from __future__ import annotations

from bot.core.context import Context
from bot.core.i18n import _
from bot.core.reach import INBOX_LINK
from bot.core.router import Router

router = Router("inbox")


@router.deep_link(INBOX_LINK, needs_consent=False)
async def inbox_link(ctx: Context, _argument: str) -> None:
    ctx.reply(_("Thank you for opening this chat. The messages I kept for you follow now."))
