"""The language switch, offered in every menu."""

from __future__ import annotations

from bot.core import registry
from bot.core.callbacks import Op
from bot.core.menu import button, menu_step
from bot.core.turn import Step, Turn
from bot.replies import Text
from locales import LANGUAGES, N_, tr

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}


async def choose_language(turn: Turn) -> Step:
    buttons = tuple(button(LANGUAGE_NAMES[code], Op.LANGUAGE, key=code) for code in LANGUAGES)

    return Step([Text(tr(turn.language, "Choose your language."), buttons)])


async def set_language(turn: Turn) -> Step:
    callback = turn.inbound.callback
    assert callback is not None
    if callback.key not in LANGUAGES:
        return await choose_language(turn)

    turn.identity.language = callback.key
    turn.language = callback.key
    return menu_step(turn, tr(turn.language, "Language set to English."))


def register() -> None:
    registry.register_menu_entry(
        "language", N_("Language / Bahasa"), choose_language, action=None, order=900
    )
    registry.register_op(Op.LANGUAGE, set_language)
