"""The console channel: replies printed as text, buttons as a numbered list, files saved.

`tagih chat --as PHONE` talks to the conversation core through ConsoleSession, and the demo
and the notice sender print notices through ConsoleChannel.deliver.

Only the buttons of the bot's latest message get numbers. Typing such a number presses the
button, unless the current step takes typed text (a code, a name, a class): there "2" is
text, and "#2" presses the button. A number with a leading zero, like 01, is always text.
"""

from __future__ import annotations

import mimetypes
import re
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.channels.base import Address, Delivery, DeliveryError
from bot.core import Inbound, IncomingDocument, decode_callback, expects_text, handle_inbound
from bot.core.inbound import DocumentNotFound, DocumentTooLarge
from bot.replies import Button, Document, OutboundMessage, Photo, Reply, Text

_UNSAFE_NAME = re.compile(r"[\\/\x00-\x1f]")
# A button number, optionally marked with "#": no leading zero, and at most 3 digits, far
# more than any message has buttons.
_BUTTON_NUMBER = re.compile(r"(#?)([1-9][0-9]{0,2})")


def safe_filename(name: str) -> str:
    """Keep a file name's letters (any script) and spaces, without path separators."""
    cleaned = _UNSAFE_NAME.sub("_", name).strip().lstrip(".")
    return cleaned[:120] or "file"


class ConsoleChannel:
    """Print replies and notices to a text stream; save attached files to a folder."""

    name = "console"

    def __init__(
        self, stream: TextIO | None = None, download_dir: Path | str = "var/chat"
    ) -> None:
        self.stream = stream or sys.stdout
        self.download_dir = Path(download_dir)

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        """Print a notice for one recipient; implements the OutboundChannel protocol."""
        try:
            self._line(f"--- to {address.value} ---")
            if message.subject:
                self._line(message.subject)
            self._line(message.text)
            self._buttons(message.buttons)
            for attachment in message.attachments:
                self._document(attachment)
        except OSError as error:
            raise DeliveryError(f"console output failed: {error}", permanent=False) from error
        return Delivery(provider_message_id=f"console-{uuid.uuid4().hex[:16]}")

    def show(self, replies: Iterable[Reply]) -> list[Button]:
        """Print replies and return the buttons a typed number may press.

        Those are the buttons of the last reply, numbered from 1, and none when the last reply
        has none. Buttons of earlier replies are listed without numbers.
        """
        shown = list(replies)
        for index, reply in enumerate(shown):
            if isinstance(reply, Text):
                self._line(reply.text)
                if reply.request_contact:
                    self._line("(share contact: this console already knows your number)")
                if index == len(shown) - 1:
                    self._buttons(reply.buttons)
                else:
                    for item in reply.buttons:
                        self._line(f"  - {item.title}")
            elif isinstance(reply, Document):
                self._document(reply)
            elif isinstance(reply, Photo):
                self._document(Document(reply.filename, reply.content, "image/png", reply.caption))
        last = shown[-1] if shown else None
        return list(last.buttons) if isinstance(last, Text) else []

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _buttons(self, buttons: Iterable[Button], start: int = 1) -> None:
        for number, item in enumerate(buttons, start=start):
            self._line(f"  {number}) {item.title}")

    def _document(self, document: Document) -> None:
        self.download_dir.mkdir(parents=True, exist_ok=True)
        path = self.download_dir / safe_filename(document.filename)
        path.write_bytes(document.content)
        if document.caption:
            self._line(document.caption)
        self._line(f"[file saved: {path}]")


class ConsoleSession:
    """One person chatting from a terminal, identified by the phone given on the command line."""

    def __init__(self, phone: str, channel: ConsoleChannel, language: str | None = None) -> None:
        self.phone = phone
        self.channel = channel
        self.language = language
        self.offered: list[Button] = []

    def inbound(self, line: str) -> Inbound:
        """Turn a typed line into an Inbound: a number presses a button of the latest message
        (see the module docstring), /upload sends a file, anything else is text."""
        text = line.strip()
        inbound = Inbound(
            channel="console",
            chat_id=self.phone,
            update_key=uuid.uuid4().hex,
            user_id=self.phone,
            phone=self.phone,
            language_choice=self.language,
        )
        pressed = self._pressed(text)
        if pressed is not None:
            inbound.callback = decode_callback(pressed.payload)
        elif text.startswith("/upload "):
            inbound.document = file_document(Path(text.removeprefix("/upload ").strip()))
        else:
            inbound.text = text
        return inbound

    def _pressed(self, text: str) -> Button | None:
        """Return the button a typed number presses, or None when the text is not one."""
        match = _BUTTON_NUMBER.fullmatch(text)
        if match is None or int(match[2]) > len(self.offered):
            return None
        marked = match[1] == "#"
        if not marked and expects_text(channel="console", chat_id=self.phone):
            return None
        return self.offered[int(match[2]) - 1]

    async def send(self, line: str) -> list[Reply]:
        replies = await handle_inbound(self.inbound(line))
        # No replies means a duplicate delivery, so the latest message is still the same.
        if replies:
            self.offered = self.channel.show(replies)
        return replies


def file_document(path: Path) -> IncomingDocument:
    """Describe a local file as an incoming document; reading it waits until it is needed."""
    size = path.stat().st_size if path.is_file() else 0

    async def download(max_bytes: int) -> bytes:
        try:
            with path.open("rb") as handle:
                content = handle.read(max_bytes + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise DocumentNotFound(str(path)) from error
        if len(content) > max_bytes:
            raise DocumentTooLarge(path.name)
        return content

    mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return IncomingDocument(filename=path.name, mime_type=mime_type, size=size, download=download)
