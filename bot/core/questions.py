"""Steps that wait for a button press, and what typed text does at them.

A step marks itself with `Question`, and the core stores the message with the buttons in the
conversation. While it waits, a typed cancel word does what the step's cancel button does,
and any other text asks the question again with its buttons. A typed yes never confirms,
because confirming issues bills, voids invoices or notifies parents, and a typed word may
answer an older message. Text goes to the state's handler instead when the step also takes
typed values, such as class names.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Any

from bot.core.callbacks import decode_callback
from bot.core.menu import menu_step
from bot.core.turn import QUESTION_KEY, Question, Step, Turn
from bot.replies import Button, Reply, Text
from locales import tr

# "batalkan" is left out because it is also the Indonesian for "void it" at a void question.
CANCEL_WORDS = frozenset(
    {"batal", "cancel", "tidak", "tidak jadi", "gak jadi", "nggak jadi", "no"}
)
CONFIRM_WORDS = frozenset(
    {"ya", "iya", "yes", "ok", "oke", "okay", "kirim", "send", "simpan", "save", "lanjut"}
)


@dataclass(frozen=True)
class StoredQuestion:
    """A question as the conversation stores it: the message, its buttons, how to cancel."""

    text: str
    buttons: tuple[Button, ...]
    question: Question

    def to_data(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[button.title, button.payload] for button in self.buttons],
            "cancel": self.question.cancel,
            "cancelled": self.question.cancelled,
        }

    @classmethod
    def from_data(cls, data: Any) -> StoredQuestion | None:
        """Read a stored question back, or return None for anything not stored by to_data."""
        if not isinstance(data, dict):
            return None
        text, buttons = data.get("text"), data.get("buttons")
        if not isinstance(text, str) or not isinstance(buttons, list):
            return None
        parsed = tuple(
            Button(str(pair[0]), str(pair[1]))
            for pair in buttons
            if isinstance(pair, list) and len(pair) == 2
        )
        cancel, cancelled = data.get("cancel"), data.get("cancelled")
        question = Question(
            cancel=cancel if isinstance(cancel, str) else None,
            cancelled=cancelled if isinstance(cancelled, str) else None,
        )
        return cls(text, parsed, question)


def answer_word(text: str) -> str:
    """Return typed text as a word to compare: case-folded, without punctuation around it."""
    words = text.casefold().split()
    cleaned = " ".join(words)
    start, end = 0, len(cleaned)
    while start < end and _is_edge(cleaned[start]):
        start += 1
    while end > start and _is_edge(cleaned[end - 1]):
        end -= 1
    return cleaned[start:end]


def _is_edge(character: str) -> bool:
    return character.isspace() or unicodedata.category(character)[0] in ("P", "S")


def store_question(step: Step, data: dict[str, Any]) -> None:
    """Store the question of a step in its conversation data, from its last buttons message."""
    if step.question is None:
        return
    asked = _last_buttons_message(step.replies)
    if asked is None:
        raise ValueError("a step with a question has no message with buttons")
    text = step.question.text or asked.text
    data[QUESTION_KEY] = StoredQuestion(text, asked.buttons, step.question).to_data()


def _last_buttons_message(replies: list[Reply]) -> Text | None:
    for reply in reversed(replies):
        if isinstance(reply, Text) and reply.buttons:
            return reply
    return None


def waiting_question(turn: Turn) -> StoredQuestion | None:
    """Return the question the chat waits on, or None."""
    return StoredQuestion.from_data((turn.conversation.data or {}).get(QUESTION_KEY))


def is_cancel(text: str) -> bool:
    return answer_word(text) in CANCEL_WORDS


def is_confirm(text: str) -> bool:
    return answer_word(text) in CONFIRM_WORDS


def press_cancel(turn: Turn, waiting: StoredQuestion) -> bool:
    """Turn the message into a press of the question's cancel button, when it has one."""
    callback = decode_callback(waiting.question.cancel)
    if callback is None:
        return False
    turn.inbound.callback = callback
    turn.inbound.text = ""
    return True


def cancelled_step(turn: Turn, waiting: StoredQuestion) -> Step:
    """Drop the step's draft and show the menu after the question's own cancel message."""
    cancelled = waiting.question.cancelled
    if cancelled is None:
        return ask_again_step(turn, waiting, confirm=False)
    return menu_step(turn, tr(turn.language, cancelled))


def can_cancel(waiting: StoredQuestion) -> bool:
    return waiting.question.cancel is not None or waiting.question.cancelled is not None


def ask_again_step(turn: Turn, waiting: StoredQuestion, *, confirm: bool) -> Step:
    """Ask the stored question again, with its buttons, after a line on the typed text."""
    if confirm and can_cancel(waiting):
        line = tr(turn.language, "To go ahead, tap the button. A typed reply can only cancel.")
    elif can_cancel(waiting):
        line = tr(turn.language, "Sorry, I did not understand that. Tap a button, or type cancel.")
    else:
        line = tr(
            turn.language, "Sorry, I did not understand that. Tap a button, or type menu to stop."
        )
    replies: list[Reply] = [Text(f"{line}\n\n{waiting.text}", waiting.buttons)]
    question = replace(waiting.question, text=waiting.text)
    return Step(replies, turn.conversation.state, turn.data, question)
