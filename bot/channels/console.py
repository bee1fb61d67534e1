"""The console channel: replies printed as text, buttons as a numbered list, files saved.

`tagih chat --as PHONE` talks to the conversation core through ConsoleSession, and the demo
and the notice sender print notices through ConsoleChannel.deliver.
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
from bot.core import Inbound, IncomingDocument, decode_callback, handle_inbound
from bot.core.inbound import DocumentNotFound, DocumentTooLarge
from bot.replies import Button, Document, OutboundMessage, Photo, Reply, Text

_UNSAFE_NAME = re.compile(r"[\\/\x00-\x1f]")


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
        """Print replies; return the buttons offered, numbered from 1 in that order."""
        offered: list[Button] = []
        for reply in replies:
            if isinstance(reply, Text):
                self._line(reply.text)
                if reply.request_contact:
                    self._line("(share contact: this console already knows your number)")
                self._buttons(reply.buttons, start=len(offered) + 1)
                offered.extend(reply.buttons)
            elif isinstance(reply, Document):
                self._document(reply)
            elif isinstance(reply, Photo):
                self._document(Document(reply.filename, reply.content, "image/png", reply.caption))
        return offered

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
        """Turn a typed line into an Inbound: a number picks a button, /upload sends a file."""
        text = line.strip()
        inbound = Inbound(
            channel="console",
            chat_id=self.phone,
            update_key=uuid.uuid4().hex,
            user_id=self.phone,
            phone=self.phone,
            language_choice=self.language,
        )
        if text.isdigit() and 1 <= int(text) <= len(self.offered):
            inbound.callback = decode_callback(self.offered[int(text) - 1].payload)
        elif text.startswith("/upload "):
            inbound.document = file_document(Path(text.removeprefix("/upload ").strip()))
        else:
            inbound.text = text
        return inbound

    async def send(self, line: str) -> list[Reply]:
        replies = await handle_inbound(self.inbound(line))
        self.offered = self.channel.show(replies) or self.offered
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
