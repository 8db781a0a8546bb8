"""The audit log of coordinators' actions (approvals, blocks, broadcasts, exports …)."""

from __future__ import annotations

from typing import Any

from bot.core.context import Context
from db.models import AuditEntry


def audit(ctx: Context, action: str, target: str = "", **details: Any) -> None:
    """Record who did what to which record. Details hold ids and counts, not message texts."""
    ctx.session.add(
        AuditEntry(
            at=ctx.services.clock(),
            actor_person_id=ctx.person.id,
            action=action,
            target=target[:128],
            details=details,
        )
    )
