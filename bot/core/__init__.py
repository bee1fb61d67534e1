"""The channel-neutral conversation core: a message in, a list of replies out.

Adapters build an `Inbound`, await `handle_inbound`, and render the replies. Flow modules
plug in through `bot.core.registry`.
"""

from bot.core.callbacks import CallbackData, Op, decode_callback
from bot.core.engine import (
    chat_language,
    error_replies,
    expects_text,
    handle_inbound,
    update_tag,
)
from bot.core.inbound import DocumentTooLarge, Inbound, IncomingDocument, SharedContact
from bot.core.states import State
from bot.core.turn import Step, Turn

__all__ = [
    "CallbackData",
    "DocumentTooLarge",
    "Inbound",
    "IncomingDocument",
    "Op",
    "SharedContact",
    "State",
    "Step",
    "Turn",
    "chat_language",
    "decode_callback",
    "error_replies",
    "expects_text",
    "handle_inbound",
    "update_tag",
]
