"""Telegram through python-telegram-bot: updates to Inbound, replies to Bot API calls.

Texts are split at 4096 characters and captions kept within 1024, so the Bot API never
rejects a reply for its length. A flood-control error (retry_after) is waited out for
chat replies and passed on to the notice sender as DeliveryError.retry_after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    PhotoSize,
    ReplyKeyboardMarkup,
    Update,
)
from telegram import Document as TelegramDocument
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler
from telegram.warnings import PTBDeprecationWarning

from bot.channels.base import Address, Delivery, DeliveryError
from bot.core import (
    Inbound,
    IncomingDocument,
    SharedContact,
    chat_language,
    decode_callback,
    error_replies,
    handle_inbound,
)
from bot.core.inbound import DocumentTooLarge
from bot.replies import Button, Document, OutboundMessage, Photo, Reply, Text
from tagih.logs import short_hash
from tagih.settings import Settings

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MAX_RETRY_WAIT = 30.0  # seconds a chat reply may wait out flood control
MAX_ATTEMPTS = 3

T = TypeVar("T")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split text into pieces of at most `limit` characters, at line breaks where possible."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def opt_in_timedelta() -> None:
    """Take python-telegram-bot's timedelta time periods (PTB_TIMEDELTA, since v22.2).

    Without it, reading RetryAfter.retry_after emits a deprecation warning in PTB 22.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def retry_seconds(error: RetryAfter) -> float:
    """Read retry_after as seconds, whether PTB returns an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def _keyboard(buttons: tuple[Button, ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    rows = [[InlineKeyboardButton(item.title, callback_data=item.payload)] for item in buttons]
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    """Send replies and notices through a python-telegram-bot Bot."""

    name = "telegram"

    def __init__(self, bot: Bot, *, max_retry_wait: float = MAX_RETRY_WAIT) -> None:
        self.bot = bot
        self.max_retry_wait = max_retry_wait

    async def send_replies(self, chat_id: str, replies: list[Reply]) -> list[int]:
        """Send chat replies in order, waiting out flood control; return the message ids."""
        sent: list[int] = []
        for reply in replies:
            sent += await self._with_retry(lambda reply=reply: self._send(chat_id, reply))
        return sent

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        """Send a notice; implements the OutboundChannel protocol for the notice sender."""
        replies: list[Reply] = [Text(message.text, message.buttons)]
        replies += list(message.attachments)
        sent: list[int] = []
        try:
            for reply in replies:
                sent += await self._send(address.value, reply)
        except RetryAfter as error:
            raise DeliveryError(
                "Telegram flood control", permanent=False, retry_after=retry_seconds(error)
            ) from error
        except (Forbidden, BadRequest) as error:
            raise DeliveryError(
                f"Telegram rejected the message: {error}", permanent=True
            ) from error
        except (NetworkError, TelegramError) as error:
            raise DeliveryError(f"Telegram request failed: {error}", permanent=False) from error
        return Delivery(provider_message_id=str(sent[0]) if sent else None)

    async def _with_retry(self, send: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return await send()
            except RetryAfter as error:
                wait = retry_seconds(error)
                if attempt == MAX_ATTEMPTS or wait > self.max_retry_wait:
                    raise
                log.warning("Telegram flood control: waiting %.0f s (attempt %d)", wait, attempt)
                await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _send(self, chat_id: str, reply: Reply) -> list[int]:
        if isinstance(reply, Text):
            return await self._send_text(chat_id, reply)
        if isinstance(reply, Document):
            return await self._send_file(chat_id, reply, self.bot.send_document)
        return await self._send_file(chat_id, reply, self.bot.send_photo)

    async def _send_text(self, chat_id: str, reply: Text) -> list[int]:
        markup: Any = _keyboard(reply.buttons)
        if reply.request_contact:
            contact = KeyboardButton(reply.contact_label or "📱", request_contact=True)
            markup = ReplyKeyboardMarkup([[contact]], one_time_keyboard=True, resize_keyboard=True)
        pieces = split_text(reply.text)
        sent = []
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            message = await self.bot.send_message(
                chat_id, piece, reply_markup=markup if last else None
            )
            sent.append(message.message_id)
        return sent

    async def _send_file(self, chat_id: str, reply: Document | Photo, method: Any) -> list[int]:
        sent = []
        caption = reply.caption
        if len(caption) > CAPTION_LIMIT:
            sent += await self._send_text(chat_id, Text(caption))
            caption = ""
        upload = InputFile(reply.content, filename=reply.filename)
        message = await method(chat_id, upload, caption=caption or None)
        sent.append(message.message_id)
        return sent


def _attachment(
    bot: Bot,
    file_id: str,
    *,
    filename: str,
    mime_type: str,
    size: int | None,
    photo: bool = False,
) -> IncomingDocument:
    async def download(max_bytes: int) -> bytes:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > max_bytes:
            raise DocumentTooLarge(filename)
        content = bytes(await file.download_as_bytearray())
        if len(content) > max_bytes:
            raise DocumentTooLarge(filename)
        return content

    return IncomingDocument(
        filename=filename, mime_type=mime_type, size=size, download=download, photo=photo
    )


def _document(bot: Bot, document: TelegramDocument) -> IncomingDocument:
    return _attachment(
        bot,
        document.file_id,
        filename=document.file_name or "document",
        mime_type=document.mime_type or "application/octet-stream",
        size=document.file_size,
    )


def _photo(bot: Bot, sizes: Sequence[PhotoSize]) -> IncomingDocument:
    """Describe the largest size of a photo, which Telegram re-encodes as a JPEG."""
    largest = max(sizes, key=lambda size: size.width * size.height)
    return _attachment(
        bot,
        largest.file_id,
        filename=f"photo-{largest.file_unique_id}.jpg",
        mime_type="image/jpeg",
        size=largest.file_size,
        photo=True,
    )


def inbound_from_update(update: Update, bot: Bot) -> Inbound | None:
    """Read a private-chat message or button press; None for updates the bot ignores."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None or chat.type != "private":
        return None
    inbound = Inbound(
        channel="telegram",
        chat_id=str(chat.id),
        update_key=str(update.update_id),
        user_id=str(user.id),
        language_hint=user.language_code,
    )
    if update.callback_query is not None:
        inbound.callback = decode_callback(update.callback_query.data)
        return inbound
    message = update.message
    if message is None:
        return None
    inbound.text = message.text or message.caption or ""
    if message.contact is not None:
        contact_user = message.contact.user_id
        inbound.contact = SharedContact(
            phone=message.contact.phone_number,
            user_id=str(contact_user) if contact_user is not None else None,
        )
    if message.document is not None:
        inbound.document = _document(bot, message.document)
    elif message.photo:
        inbound.document = _photo(bot, message.photo)
    return inbound


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hand one update to the conversation core and send its replies."""
    inbound = inbound_from_update(update, context.bot)
    if inbound is None:
        log.info("telegram update %s ignored", short_hash(update.update_id))
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    replies = await handle_inbound(inbound)

    await TelegramChannel(context.bot).send_replies(inbound.chat_id, replies)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log the traceback, tell the person in one short line.

    The line is in the person's language as the core picks it, so someone who chose English
    reads it in English whatever language their Telegram app uses.
    """
    if not isinstance(update, Update) or context.error is None:
        log.error("telegram error outside an update", exc_info=context.error)
        return
    tag = short_hash(f"telegram:{update.update_id}")
    user = update.effective_user
    hint = user.language_code if user else None
    chat = update.effective_chat
    if chat is not None:
        language = chat_language(channel="telegram", chat_id=str(chat.id), hint=hint)
    else:
        language = hint
    replies = error_replies(context.error, tag, language)
    if chat is None:
        return
    try:
        await TelegramChannel(context.bot).send_replies(str(chat.id), replies)
    except TelegramError as error:
        log.warning("update %s: could not send the error line: %s", tag, type(error).__name__)


class OutboundTelegram(TelegramChannel):
    """The Telegram channel as the notice sender uses it: initialises its Bot on first use."""

    def __init__(self, bot: Bot) -> None:
        super().__init__(bot)
        self._ready = False

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        if not self._ready:
            try:
                await self.bot.initialize()
            except TelegramError as error:
                raise DeliveryError(
                    f"Telegram is unreachable: {error}", permanent=False
                ) from error
            self._ready = True
        return await super().deliver(address, message)

    async def aclose(self) -> None:
        if self._ready:
            await self.bot.shutdown()


def outbound_channel(settings: Settings) -> OutboundTelegram | None:
    """Return the Telegram channel for the notice sender, or None when it is not configured."""
    if settings.telegram_bot_token is None:
        return None
    opt_in_timedelta()
    base = settings.telegram_api_base_url.rstrip("/")
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
    )
    return OutboundTelegram(bot)


def build_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """Build the PTB Application for webhook use: no updater, API base URL from settings."""
    assert settings.telegram_bot_token is not None
    opt_in_timedelta()
    base = settings.telegram_api_base_url.rstrip("/")
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        .updater(None)
        .build()
    )
    application.add_handler(TypeHandler(Update, on_update))
    application.add_error_handler(on_error)
    return application
