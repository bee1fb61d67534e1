"""User flows on top of the conversation core; importing this package registers them all.

Another flow module (bot/flows/school.py) is picked up when it exists: it registers its own
menu entries and handlers through bot.core.registry when imported, and may define
`register()` for that.
"""

from __future__ import annotations

import importlib
import importlib.util

from bot.core import language
from bot.flows import merchant, payer

OPTIONAL_FLOWS = ("bot.flows.school",)


def _register_all() -> None:
    language.register()
    merchant.register()
    payer.register()
    for name in OPTIONAL_FLOWS:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        register = getattr(module, "register", None)
        if callable(register):
            register()


_register_all()
