"""The plug-in points of flow modules: menu entries, buttons, states, phrases and documents.

Flow modules register at import time, and bot.flows imports them all. A module such as
bot/flows/school.py adds its own menu entries and handlers here without editing others.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from enum import StrEnum

from billing.permissions import Action, is_allowed
from bot.core.callbacks import Op
from bot.core.turn import Step, Turn
from models import OrgKind

Handler = Callable[[Turn], Awaitable[Step]]


@dataclass(frozen=True)
class MenuEntry:
    key: str  # stable id used in button payloads, at most 24 characters
    title: str  # message id, translated when the menu is shown
    handler: Handler
    action: Action | None  # permission needed to see and use it; None: everyone known
    kinds: frozenset[OrgKind]
    order: int


_menu: dict[str, MenuEntry] = {}
_ops: dict[Op, Handler] = {}
_extensions: dict[str, Handler] = {}
_states: dict[str, Handler] = {}
_text_states: set[str] = set()
_phrases: list[tuple[re.Pattern[str], Action | None, Handler]] = []


@dataclass(frozen=True)
class _DocumentHandler:
    handler: Handler
    actions: frozenset[Action] | None
    states: frozenset[str] | None
    kinds: frozenset[OrgKind]


_document: list[_DocumentHandler] = []


class DocumentDeclined(Exception):
    """Raised by a document handler to pass the file to the next handler for the role.

    `step` is the reply to send when no later handler takes the file.
    """

    def __init__(self, step: Step) -> None:
        super().__init__("document declined")
        self.step = step


def register_menu_entry(
    key: str,
    title: str,
    handler: Handler,
    *,
    action: Action | None,
    kinds: frozenset[OrgKind] | set[OrgKind] = frozenset(OrgKind),
    order: int = 100,
) -> None:
    """Add an entry to the menu of the organisation kinds given, for roles allowed `action`."""
    if len(key) > 24:
        raise ValueError(f"menu key {key!r} is longer than 24 characters")
    _menu[key] = MenuEntry(key, title, handler, action, frozenset(kinds), order)


def unregister_menu_entry(key: str) -> None:
    _menu.pop(key, None)


def register_op(op: Op, handler: Handler) -> None:
    _ops[op] = handler


def register_button_handler(key: str, handler: Handler) -> None:
    """Handle buttons built as CallbackData(Op.EXTENSION, key=key, value=...)."""
    _extensions[key] = handler


def register_state_handler(state: StrEnum, handler: Handler, *, takes_text: bool = True) -> None:
    """Handle text typed while the chat is in `state`.

    `takes_text` is False for a state that waits for something else, such as a file, and
    only reminds the person of it. A channel then reads a typed number as a button press.
    """
    _states[str(state)] = handler
    if takes_text:
        _text_states.add(str(state))
    else:
        _text_states.discard(str(state))


def register_phrase(pattern: str, handler: Handler, *, action: Action | None = None) -> None:
    """Handle free text matching `pattern` (case-insensitive) when no state waits for text."""
    _phrases.append((re.compile(pattern, re.IGNORECASE), action, handler))


def register_document_handler(
    handler: Handler,
    *,
    action: Action | Collection[Action] | None,
    states: Collection[str] | None = None,
    kinds: Collection[OrgKind] = frozenset(OrgKind),
) -> None:
    """Handle documents from roles allowed `action` (any one of several actions).

    Other roles, and staff of organisation kinds not in `kinds`, are rejected before
    download. With `states`, the handler takes documents only while the chat is in one of
    them, unless no other handler takes the role's file.
    """
    actions = (
        None if action is None else frozenset([action] if isinstance(action, Action) else action)
    )
    _document.append(
        _DocumentHandler(
            handler,
            actions,
            None if states is None else frozenset(states),
            frozenset(kinds),
        )
    )


def menu_entries(kind: OrgKind, role: str) -> list[MenuEntry]:
    entries = [
        entry
        for entry in _menu.values()
        if kind in entry.kinds and (entry.action is None or is_allowed(role, entry.action))
    ]
    return sorted(entries, key=lambda entry: (entry.order, entry.key))


def menu_entry(key: str) -> MenuEntry | None:
    return _menu.get(key)


def op_handler(op: Op) -> Handler | None:
    return _ops.get(op)


def extension_handler(key: str) -> Handler | None:
    return _extensions.get(key)


def state_handler(state: str) -> Handler | None:
    return _states.get(state)


def takes_text(state: str) -> bool:
    """Return whether a state's handler takes typed values, such as a name or a number."""
    return state in _text_states


def phrase_handler(text: str, role: str) -> Handler | None:
    for pattern, action, handler in _phrases:
        if pattern.search(text) and (action is None or is_allowed(role, action)):
            return handler
    return None


def document_handlers(kind: OrgKind, role: str, state: str | None = None) -> list[Handler]:
    """Return the document handlers for a role of an organisation kind in a state, in the
    order to try them.

    Handlers registered for the state come first, in registration order. A handler limited
    to other states follows them, so the role is never left without one.
    """
    allowed = [
        entry
        for entry in _document
        if kind in entry.kinds
        and (entry.actions is None or any(is_allowed(role, action) for action in entry.actions))
    ]
    in_state = [
        entry.handler for entry in allowed if entry.states is None or state in entry.states
    ]
    return in_state + [entry.handler for entry in allowed if entry.handler not in in_state]


def document_handler(kind: OrgKind, role: str, state: str | None = None) -> Handler | None:
    """Return the first document handler for a role, or None when it may send no documents."""
    handlers = document_handlers(kind, role, state)
    return handlers[0] if handlers else None
