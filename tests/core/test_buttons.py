"""Numbered keyboards (Matrix, the terminal) carry what their buttons mean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import buttons
from db.models import Keyboard

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def keyboard(*entries: list[object], age: timedelta = timedelta(0)) -> Keyboard:
    return Keyboard(platform="mx", chat_id="!room", buttons=list(entries), updated_at=NOW - age)


def test_a_typed_number_or_label_finds_the_button() -> None:
    board = keyboard(
        ["Ja", "t1", "poll.vote", "1", None, 0], ["Nein", "t2", "poll.vote", "2", 7, 0]
    )
    assert buttons.token_for_text(board, "2") == "t2"
    assert buttons.token_for_text(board, " Ja ") == "t1"
    assert buttons.token_for_text(board, "3") is None
    assert buttons.token_for_text(board, "٢") is None  # only ASCII digits count as numbers
    resolved = buttons.resolve_in_keyboard(board, "t2", person_id=7, now=NOW)
    assert isinstance(resolved, buttons.ResolvedButton)
    assert (resolved.action, resolved.value, resolved.used_at) == ("poll.vote", "2", None)


def test_someone_elses_expired_or_spent_button_is_refused() -> None:
    board = keyboard(["Ja", "t1", "poll.vote", "1", 7, 0])
    assert buttons.resolve_in_keyboard(board, "t1", person_id=8, now=NOW) is (
        buttons.Rejection.FOREIGN
    )
    old = keyboard(["Ja", "t1", "poll.vote", "1", 7, 0], age=buttons.TOKEN_TTL + timedelta(1))
    assert buttons.resolve_in_keyboard(old, "t1", person_id=7, now=NOW) is (
        buttons.Rejection.EXPIRED
    )
    buttons.mark_used_in_keyboard(board, "t1")
    resolved = buttons.resolve_in_keyboard(board, "t1", person_id=7, now=NOW)
    assert isinstance(resolved, buttons.ResolvedButton) and resolved.used_at is not None


def test_a_keyboard_stored_before_entries_carried_their_meaning_falls_back_to_tokens() -> None:
    board = keyboard(["Ja", "t1"])
    assert buttons.token_for_text(board, "1") == "t1"
    assert buttons.resolve_in_keyboard(board, "t1", person_id=7, now=NOW) is None
