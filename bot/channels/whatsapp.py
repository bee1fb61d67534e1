"""WhatsApp Cloud API through pywa: updates to Inbound, replies to Graph API messages.

Replies fit WhatsApp's limits by construction. Up to 3 buttons with titles of at most 20
characters become reply buttons, and others become lists of at most 10 rows with titles of
at most 24 characters. Interactive bodies keep to 1024 characters, so longer text goes
first as plain messages split at 4096. Rate-limit errors are waited out for chat replies
and passed to the notice sender as retryable DeliveryErrors.
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pywa import errors as wa_errors
from pywa_async import WhatsApp
from pywa_async.types import (
    Button as WAButton,
)
from pywa_async.types import (
    CallbackButton,
    CallbackSelection,
    Message,
    MessageStatus,
    MessageType,
    Section,
    SectionList,
    SectionRow,
)
from pywa_async.types import Document as WADocument
from pywa_async.types import Image as WAImage
from pywa_async.types.templates import TemplateLanguage

from bot.channels.base import Address, Delivery, DeliveryError
from bot.channels.telegram import split_text
from bot.core import Inbound, IncomingDocument, decode_callback
from bot.core.inbound import DocumentTooLarge
from bot.replies import Button, Document, OutboundMessage, Photo, Reply, Text
from tagih.settings import Settings

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
CAPTION_LIMIT = 1024
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_LIMIT = 20
LIST_ROWS_MAX = 10
ROW_TITLE_LIMIT = 24
ROW_DESCRIPTION_LIMIT = 72
LIST_BUTTON_LABEL = "Menu"  # the same word in Indonesian and English
RATE_LIMIT_WAIT = 1.0  # seconds before the first retry, doubled for each later one
MAX_ATTEMPTS = 3
GRAPH_HOST = "graph.facebook.com"

T = TypeVar("T")


def shorten(title: str, limit: int) -> str:
    """Cut a title to `limit` characters, marking the cut with an ellipsis."""
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def wa_phone(chat_id: str) -> str:
    return chat_id.lstrip("+")


class GraphBaseURLTransport(httpx.AsyncBaseTransport):
    """Send requests meant for graph.facebook.com to another base URL (a fake in tests).

    pywa fixes its Graph API host, so this transport rewrites the host of those requests;
    media downloads on other hosts pass through unchanged.
    """

    def __init__(self, base_url: str, inner: httpx.AsyncBaseTransport | None = None) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        self.scheme, self.host, self.port = parts.scheme, parts.hostname or "", parts.port
        self.prefix = parts.path
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == GRAPH_HOST and self.host != GRAPH_HOST:
            request.url = request.url.copy_with(
                scheme=self.scheme,
                host=self.host,
                port=self.port,
                path=self.prefix + request.url.path,
            )
            request.headers["Host"] = request.url.netloc.decode()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class WhatsAppChannel:
    """Send replies and notices through a pywa WhatsApp client."""

    name = "whatsapp"

    def __init__(self, wa: WhatsApp, *, rate_limit_wait: float = RATE_LIMIT_WAIT) -> None:
        self.wa = wa
        self.rate_limit_wait = rate_limit_wait

    async def send_replies(self, chat_id: str, replies: list[Reply]) -> list[str]:
        """Send chat replies in order, waiting out rate limits; return the message ids."""
        sent: list[str] = []
        for reply in replies:
            sent += await self._with_retry(lambda reply=reply: self._send(chat_id, reply))
        return sent

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        """Send a notice; implements the OutboundChannel protocol for the notice sender.

        Outside the 24-hour window only an approved template may open the conversation.
        """
        try:
            if not address.window_open and message.whatsapp_template:
                sent = [await self._send_template(address.value, message)]
            else:
                sent = await self._send_notice(address.value, message)
        except wa_errors.ThrottlingError as error:
            raise DeliveryError(
                "WhatsApp rate limit", permanent=False, retry_after=60.0
            ) from error
        except wa_errors.WhatsAppError as error:
            raise DeliveryError(
                f"WhatsApp rejected the message: code {error.code}", permanent=True
            ) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"WhatsApp request failed: {error}", permanent=False) from error
        return Delivery(provider_message_id=sent[0] if sent else None)

    async def _send_notice(self, to: str, message: OutboundMessage) -> list[str]:
        sent = await self._send(to, Text(message.text, message.buttons))
        for attachment in message.attachments:
            sent += await self._send(to, attachment)
        return sent

    async def _send_template(self, to: str, message: OutboundMessage) -> str:
        parameters = [
            {"type": "text", "text": value} for value in message.whatsapp_template_params
        ]
        result = await self.wa.send_template(
            to=wa_phone(to),
            name=message.whatsapp_template,
            language=TemplateLanguage(message.whatsapp_template_language),
            params=[{"type": "body", "parameters": parameters}],
        )
        return str(result.id)

    async def _with_retry(self, send: Callable[[], Awaitable[T]]) -> T:
        wait = self.rate_limit_wait
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await send()
            except wa_errors.ThrottlingError:
                if attempt == MAX_ATTEMPTS:
                    raise
                log.warning("WhatsApp rate limit: waiting %.1f s (attempt %d)", wait, attempt)
                await asyncio.sleep(wait)
                wait *= 2
        raise AssertionError("unreachable")

    async def _send(self, to: str, reply: Reply) -> list[str]:
        if isinstance(reply, Text):
            return await self._send_text(wa_phone(to), reply)
        return await self._send_file(wa_phone(to), reply)

    async def _send_text(self, to: str, reply: Text) -> list[str]:
        if not reply.buttons:
            return [await self._plain(to, piece) for piece in split_text(reply.text, TEXT_LIMIT)]
        sent: list[str] = []
        body = reply.text
        if len(body) > INTERACTIVE_BODY_LIMIT:
            sent += [await self._plain(to, piece) for piece in split_text(body, TEXT_LIMIT)]
            body = LIST_BUTTON_LABEL
        for index, keyboard in enumerate(keyboards(reply.buttons)):
            text = body if index == 0 else f"{LIST_BUTTON_LABEL} ({index + 1})"
            result = await self.wa.send_message(to=to, text=text, buttons=keyboard)
            sent.append(str(result.id))
        return sent

    async def _plain(self, to: str, text: str) -> str:
        result = await self.wa.send_message(to=to, text=text)
        return str(result.id)

    async def _send_file(self, to: str, reply: Document | Photo) -> list[str]:
        sent: list[str] = []
        caption = reply.caption
        if len(caption) > CAPTION_LIMIT:
            sent += await self._send_text(to, Text(caption))
            caption = ""
        if isinstance(reply, Document):
            result = await self.wa.send_document(
                to=to,
                document=reply.content,
                filename=reply.filename,
                caption=caption or None,
                mime_type=reply.mime_type,
            )
        else:
            result = await self.wa.send_image(
                to=to, image=reply.content, caption=caption or None, mime_type="image/png"
            )
        sent.append(str(result.id))
        return sent


def keyboards(buttons: Sequence[Button]) -> list[list[WAButton] | SectionList]:
    """Lay out buttons: up to 3 short ones as reply buttons, else lists of at most 10 rows."""
    short = all(len(item.title) <= BUTTON_TITLE_LIMIT for item in buttons)
    if len(buttons) <= REPLY_BUTTONS_MAX and short:
        return [
            [
                WAButton(title=shorten(item.title, BUTTON_TITLE_LIMIT), callback_data=item.payload)
                for item in buttons
            ]
        ]
    lists: list[list[WAButton] | SectionList] = []
    for start in range(0, len(buttons), LIST_ROWS_MAX):
        rows = [_row(item) for item in buttons[start : start + LIST_ROWS_MAX]]
        section = Section(title=LIST_BUTTON_LABEL, rows=rows)
        lists.append(SectionList(button_title=LIST_BUTTON_LABEL, sections=[section]))
    return lists


def _row(item: Button) -> SectionRow:
    title = shorten(item.title, ROW_TITLE_LIMIT)
    # A cut title keeps its full text in the row description, which allows 72 characters.
    description = shorten(item.title, ROW_DESCRIPTION_LIMIT) if title != item.title else None
    return SectionRow(title=title, callback_data=item.payload, description=description)


def _attachment(
    wa: WhatsApp, media_id: str, *, filename: str, mime_type: str, photo: bool = False
) -> IncomingDocument:
    async def download(max_bytes: int) -> bytes:
        media = await wa.get_media_url(media_id)
        if media.file_size and media.file_size > max_bytes:
            raise DocumentTooLarge(filename)
        received = bytearray()
        async for chunk in wa.stream_media(media.url):
            received += chunk
            if len(received) > max_bytes:
                raise DocumentTooLarge(filename)
        return bytes(received)

    return IncomingDocument(
        filename=filename, mime_type=mime_type, size=None, download=download, photo=photo
    )


def _document(wa: WhatsApp, document: WADocument) -> IncomingDocument:
    return _attachment(
        wa,
        document.id,
        filename=document.filename or "document",
        mime_type=document.mime_type or "application/octet-stream",
    )


def _image(wa: WhatsApp, image: WAImage) -> IncomingDocument:
    """Describe an image message, which carries no file name, by its media id and type."""
    mime_type = image.mime_type or "image/jpeg"
    extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ".jpg"
    filename = f"photo-{image.id}{extension}"
    return _attachment(wa, image.id, filename=filename, mime_type=mime_type, photo=True)


async def media_size(wa: WhatsApp, media_id: str) -> int | None:
    """Read a media file's size from the Graph API's media metadata, before any download."""
    media = await wa.get_media_url(media_id)
    return media.file_size


async def _incoming_file(wa: WhatsApp, message: Message) -> IncomingDocument:
    """Describe a document or image message, with the size that the Graph API declares."""
    if message.document is not None:
        incoming, media_id = _document(wa, message.document), message.document.id
    else:
        assert message.image is not None
        incoming, media_id = _image(wa, message.image), message.image.id
    incoming.size = await media_size(wa, media_id)
    return incoming


def _base_inbound(update: Message | CallbackButton | CallbackSelection) -> Inbound:
    user = update.from_user
    chat_id = user.wa_id or user.bsuid
    return Inbound(
        channel="whatsapp",
        chat_id=chat_id,
        update_key=update.id,
        user_id=user.bsuid,
        # WhatsApp itself vouches for the number a message comes from.
        phone=f"+{user.wa_id}" if user.wa_id else None,
    )


# Messages that ask for no answer: a reply to each reaction or deleted message would be noise.
IGNORED_TYPES = frozenset(
    {
        MessageType.REACTION,
        MessageType.SYSTEM,
        MessageType.UNKNOWN,
        MessageType.UNSUPPORTED,
        MessageType.EDIT,
        MessageType.REVOKE,
    }
)


async def inbound_from_message(wa: WhatsApp, message: Message) -> Inbound | None:
    """Read a message into an Inbound; None for message types the bot does not answer."""
    if message.type in IGNORED_TYPES:
        return None
    inbound = _base_inbound(message)
    if message.text:
        inbound.text = message.text
    elif message.document is not None or message.image is not None:
        inbound.document = await _incoming_file(wa, message)
        inbound.text = message.caption or ""
    return inbound


def inbound_from_callback(update: CallbackButton | CallbackSelection) -> Inbound:
    inbound = _base_inbound(update)
    inbound.callback = decode_callback(str(update.data))
    return inbound


def status_error(status: MessageStatus) -> str | None:
    """Return the failed status's error as "code message" (pywa 4.5 errors carry .code)."""
    error = status.error
    if error is None:
        return None
    return f"{error.code} {error.message}"


def is_update_body(body: bytes) -> bool:
    """Check that a webhook body has the entry[0].changes[0] field and value pywa reads.

    pywa 4.5 indexes those without checks and fails with IndexError or KeyError otherwise.
    """
    try:
        data = json.loads(body)
        change = data["entry"][0]["changes"][0]
    except (ValueError, TypeError, KeyError, IndexError):
        return False
    return (
        isinstance(change, dict)
        and isinstance(change.get("field"), str)
        and isinstance(change.get("value"), dict)
    )


class WebhookWhatsApp(WhatsApp):
    """The pywa client that also rejects signed webhook bodies that are not updates."""

    async def webhook_update_validator(
        self, update: bytes, hmac_header: str | None
    ) -> tuple[str, int] | None:
        rejected = await super().webhook_update_validator(update, hmac_header)
        if rejected is not None:
            return rejected
        if not is_update_body(update):
            log.warning("whatsapp webhook: signed body of %d bytes is not an update", len(update))
            return "Bad Request", 400
        return None


def graph_session(settings: Settings) -> httpx.AsyncClient:
    transport = GraphBaseURLTransport(settings.whatsapp_api_base_url)
    return httpx.AsyncClient(transport=transport, timeout=30)


def build_client(
    settings: Settings, session: httpx.AsyncClient, **server_options: Any
) -> WhatsApp:
    """Build the pywa client with its Graph API calls sent to WHATSAPP_API_BASE_URL."""
    assert settings.whatsapp_token is not None and settings.whatsapp_phone_id
    return WebhookWhatsApp(
        phone_id=settings.whatsapp_phone_id,
        token=settings.whatsapp_token.get_secret_value(),
        session=session,
        **server_options,
    )


class OutboundWhatsApp(WhatsAppChannel):
    """The WhatsApp channel as the notice sender uses it, owning its HTTP client."""

    def __init__(self, wa: WhatsApp, session: httpx.AsyncClient) -> None:
        super().__init__(wa)
        self._session = session

    async def aclose(self) -> None:
        await self._session.aclose()


def outbound_channel(settings: Settings) -> OutboundWhatsApp | None:
    """Return the WhatsApp channel for the notice sender, or None when it is not configured."""
    if settings.whatsapp_token is None or not settings.whatsapp_phone_id:
        return None
    session = graph_session(settings)
    return OutboundWhatsApp(build_client(settings, session), session)
