"""One message from a person, in the same shape whatever channel it came through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.callbacks import CallbackData


class DocumentTooLarge(Exception):
    """A download went past the byte limit, whatever size the platform declared."""


class DocumentNotFound(Exception):
    """The document to download does not exist or is not a file; args[0] is its name."""


@dataclass
class IncomingDocument:
    """A file a person sent, described by the platform's metadata until it is downloaded.

    Images sent as photos arrive in this shape too, with a file name the adapter makes up.
    """

    filename: str
    mime_type: str
    size: int | None  # bytes, as the platform declares it; None when it gives none
    # Downloads at most `max_bytes` and raises DocumentTooLarge past it.
    download: Callable[[int], Awaitable[bytes]]
    content: bytes | None = None
    photo: bool = False  # sent as a photo message, not as a file

    @property
    def is_image(self) -> bool:
        """Return whether the platform declares the file an image, such as a photo."""
        return self.mime_type.lower().startswith("image/")

    async def fetch(self, max_bytes: int) -> bytes:
        if self.content is None:
            self.content = await self.download(max_bytes)
        if len(self.content) > max_bytes:
            raise DocumentTooLarge(self.filename)
        return self.content


@dataclass(frozen=True)
class SharedContact:
    """A contact card shared in the chat (Telegram's request-contact button)."""

    phone: str
    user_id: str | None  # the platform user the card belongs to


@dataclass
class Inbound:
    """A message in: who sent it, on which channel, and what it carries."""

    channel: str  # telegram, whatsapp, console
    chat_id: str  # where replies go on that channel
    update_key: str  # the platform's id for this update, unique per channel
    user_id: str | None = None  # the sender's platform user id
    phone: str | None = None  # E.164, only where the platform itself vouches for it
    text: str = ""
    callback: CallbackData | None = None
    contact: SharedContact | None = None
    document: IncomingDocument | None = None
    language_hint: str | None = None  # the app's language, for people not yet known
    language_choice: str | None = None  # chosen outside the chat (console --lang), kept
    # The sender's language once the core has found them, for replies to a later failure.
    reply_language: str | None = None
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def language(self) -> str | None:
        """Return the language for replies: the sender's once known, else the chosen one."""
        return self.reply_language or self.language_choice or self.language_hint
