"""Building blocks for flow steps: single and multiple choice, typed lists, validated text.

A multiple choice shows ✓ on the chosen options and a "Done" button; pressing an option
toggles it (on Telegram the message is edited in place). On transports without buttons the
person may also type several numbers or labels at once: "1, 3, 5".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.context import Context
from bot.core.flow import Answer
from bot.core.i18n import _, format_number
from bot.core.types import Button

DONE = "__done__"
SKIP = "__skip__"
CHECK = "✓ "

Option = tuple[str, str]  # (value, label)


def rows(buttons: Sequence[Button], per_row: int = 2) -> list[list[Button]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def choice_buttons(state: str, options: Sequence[Option], per_row: int = 2) -> list[list[Button]]:
    return rows([Button(state, label, value) for value, label in options], per_row)


def multi_buttons(
    state: str, options: Sequence[Option], selected: Sequence[str], per_row: int = 2
) -> list[list[Button]]:
    buttons = [
        Button(state, (CHECK if value in selected else "") + label, value)
        for value, label in options
    ]
    return [*rows(buttons, per_row), [Button(state, _("Done"), DONE)]]


def parse_typed(text: str, options: Sequence[Option]) -> list[str] | None:
    """ "1, 3" or "Arabic, English" → option values; None if anything is not an option."""
    parts = [p.strip() for p in re.split(r"[,;،\n]+", text) if p.strip()]
    if not parts:
        return None
    chosen: list[str] = []
    labels = {label.casefold(): value for value, label in options}
    for part in parts:
        if part.isdecimal() and 1 <= int(part) <= len(options):
            value = options[int(part) - 1][0]
        elif part.casefold() in labels:
            value = labels[part.casefold()]
        else:
            return None
        if value not in chosen:
            chosen.append(value)
    return chosen


def single_choice(answer: Answer, options: Sequence[Option]) -> str | None:
    """The value of a pressed button or of a typed number or label."""
    if answer.is_button:
        return answer.value if answer.value in {v for v, _ in options} else None
    chosen = parse_typed(answer.text or "", options)
    return chosen[0] if chosen and len(chosen) == 1 else None


def multi_choice(
    ctx: Context, key: str, answer: Answer, options: Sequence[Option], *, minimum: int = 1
) -> bool | None:
    """Handle an answer to a multiple choice stored under `key`.

    Returns True when the choice is complete, False to ask again (toggled, or not enough
    chosen yet), None when the answer made no sense.
    """
    values = {v for v, _ in options}
    selected: list[str] = list(ctx.data.get(key, []))
    if answer.is_button:
        if answer.value == DONE:
            if len(selected) < minimum:
                ctx.reply(_("Please choose at least one option, then press Done."))
                return False
            return True
        if answer.value not in values:
            return None
        selected.remove(answer.value) if answer.value in selected else selected.append(
            answer.value
        )
        ctx.remember(**{key: selected})
        return False
    typed = parse_typed(answer.text or "", options)
    if typed is None:
        return None
    ctx.remember(**{key: typed})
    return len(typed) >= minimum


def text_answer(ctx: Context, answer: Answer, *, limit: int, minimum: int = 1) -> str | None:
    """Free text within limits; the person is told what was wrong.

    Marks the answer as read as free text: a step that stays where it is after this has
    answered itself, and the flow engine does not repeat its question (`asks_again`)."""
    if not answer.is_button:
        ctx.read_free_text = True
    if answer.is_button or answer.text is None:
        ctx.reply(_("Please type your answer."))
        return None
    text = answer.text.strip()
    if len(text) < minimum:
        ctx.reply(_("That is too short. Please write a little more."))
        return None
    if len(text) > limit:
        ctx.reply(
            _(
                "That is too long ({count} characters). Please keep it under {limit} characters."
            ).format(count=format_number(len(text)), limit=format_number(limit))
        )
        return None
    return text


def lines_answer(
    ctx: Context, answer: Answer, *, most: int, limit: int, again: str
) -> list[str] | None:
    """Options typed one per line (a vote's answers, a survey question's choices): two to
    `most` different ones, each cut to 60 characters; else `again` tells what to write."""
    text = text_answer(ctx, answer, limit=limit)
    if text is None:
        return None
    lines = [line.strip()[:60] for line in text.splitlines() if line.strip()]
    if not 2 <= len(lines) <= most or len(set(lines)) != len(lines):
        ctx.reply(again)
        return None
    return lines


#: The preview's answer that means: go ahead (publish, save, send, start).
PUBLISH = "publish"


def preview_buttons(state: str, go_ahead: str, *, editable: bool = True) -> list[list[Button]]:
    """Under a preview of what will be published or sent: go ahead, change something (if
    `editable`), or cancel."""
    cancel = Button(state, _("Cancel"), "cancel")
    if not editable:
        return [[Button(state, go_ahead, PUBLISH), cancel]]
    return [
        [Button(state, go_ahead, PUBLISH)],
        [Button(state, _("Change something"), "edit"), cancel],
    ]


def preview_answer(
    ctx: Context, answer: Answer, *, state: str, cancelled: str, edit: str | None = None
) -> str | None:
    """`PUBLISH`, or the state to go to: `edit` (which field?), `state` again (not one of
    the buttons) or the end, after telling the person `cancelled`."""
    if answer.value == "edit" and edit is not None:
        return edit
    if answer.value == "cancel":
        ctx.reply(cancelled)
        return None
    if answer.value != PUBLISH:
        ctx.reply(_("Please answer with one of the buttons."))
        return state
    return PUBLISH


@dataclass(frozen=True)
class Area:
    """Where: one of the network's districts, or a postcode typed in."""

    district: str | None = None
    postcode: str | None = None

    @property
    def text(self) -> str:
        return self.district or self.postcode or ""


def district_options(ctx: Context) -> list[Option]:
    return [(d, d) for d in ctx.settings.districts]


def area_buttons(ctx: Context, state: str) -> list[list[Button]]:
    return choice_buttons(state, district_options(ctx))


def area_answer(ctx: Context, answer: Answer) -> Area | None:
    """A district button (or its number or name), or a five-digit postcode; None after telling
    the person what to send instead."""
    text = (answer.text or "").strip()
    if not answer.is_button and len(text) == 5 and text.isdigit() and text.isascii():
        return Area(postcode=text)
    district = single_choice(answer, district_options(ctx))
    if district is None:
        ctx.reply(_("Please choose a district from the list or type a postcode with 5 digits."))
        return None
    return Area(district=district)


def chosen(ctx: Context, answer: Answer, options: Sequence[Option]) -> str | None:
    """The chosen option's value, or None after asking the person to pick from the list."""
    value = single_choice(answer, options)
    if value is None:
        ctx.reply(_("Please choose one of the options below."))
    return value


def ask_which_field(ctx: Context, state: str, fields: dict[str, str]) -> None:
    """The "change something" question of a preview: which part? (`fields`: key → N_ label)"""
    ctx.reply(
        _("What would you like to change?"),
        choice_buttons(state, [(k, _(v)) for k, v in fields.items()]),
    )


def which_field(ctx: Context, answer: Answer, fields: dict[str, str]) -> str | None:
    return chosen(ctx, answer, [(k, _(v)) for k, v in fields.items()])
