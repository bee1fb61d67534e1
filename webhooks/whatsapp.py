"""GET|POST /whatsapp: the verify-token handshake and signed updates, served by pywa.

Off when WHATSAPP_PHONE_ID or WHATSAPP_TOKEN is not set. When they are set, a missing
WHATSAPP_APP_SECRET or WHATSAPP_VERIFY_TOKEN stops start-up: updates are never accepted
without checking X-Hub-Signature-256. pywa returns 200 at once and runs the handlers
below as a background task of the request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import FastAPI
from pywa_async import WhatsApp
from pywa_async.types import CallbackButton, CallbackSelection, Message, MessageStatus, RawUpdate

from bot.channels.whatsapp import (
    WhatsAppChannel,
    build_client,
    graph_session,
    inbound_from_callback,
    inbound_from_message,
    status_error,
)
from bot.core import Inbound, error_replies, handle_inbound, update_tag
from bot.core.services import record_delivery_status
from models.db import session_scope
from tagih.logs import short_hash
from tagih.settings import Settings, SettingsError
from webhooks.telegram import add_lifespan_hooks

log = logging.getLogger(__name__)


@dataclass
class WhatsAppWebhook:
    """The mounted client, and how many updates its handlers have finished."""

    client: WhatsApp
    handled: int = 0


def _check_settings(settings: Settings) -> None:
    missing = [
        name
        for name, value in (
            ("WHATSAPP_APP_SECRET", settings.whatsapp_app_secret),
            ("WHATSAPP_VERIFY_TOKEN", settings.whatsapp_verify_token),
        )
        if value is None or not value.get_secret_value()
    ]
    if missing:
        raise SettingsError(
            "WhatsApp is configured (WHATSAPP_PHONE_ID and WHATSAPP_TOKEN) but "
            + ", ".join(missing)
            + " is missing. Set the app secret from the Meta app settings and the verify "
            "token given to the webhook subscription."
        )


async def _reply(channel: WhatsAppChannel, inbound: Inbound) -> None:
    replies = await handle_inbound(inbound)
    try:
        await channel.send_replies(inbound.chat_id, replies)
    except Exception as error:  # the one error path: log it, tell the person briefly
        tag = update_tag(inbound)
        fallback = error_replies(error, tag, inbound.language)
        try:
            await channel.send_replies(inbound.chat_id, fallback)
        except Exception as second:  # the platform itself is failing
            log.warning("update %s: could not send the error line: %s", tag, type(second).__name__)


def _register_handlers(webhook: WhatsAppWebhook) -> None:
    wa = webhook.client
    channel = WhatsAppChannel(wa)

    @wa.on_message()
    async def on_message(client: WhatsApp, message: Message) -> None:
        inbound = await inbound_from_message(client, message)
        if inbound is None:
            log.info(
                "whatsapp message %s of type %s ignored", short_hash(message.id), message.type
            )
            return
        await _reply(channel, inbound)

    @wa.on_callback_button()
    async def on_button(client: WhatsApp, button: CallbackButton) -> None:
        await _reply(channel, inbound_from_callback(button))

    @wa.on_callback_selection()
    async def on_selection(client: WhatsApp, selection: CallbackSelection) -> None:
        await _reply(channel, inbound_from_callback(selection))

    @wa.on_message_status()
    async def on_status(client: WhatsApp, status: MessageStatus) -> None:
        with session_scope(write=True) as session:
            record_delivery_status(session, status.id, status.status.value, status_error(status))

    @wa.on_raw_update()
    async def on_done(client: WhatsApp, update: RawUpdate) -> None:
        # pywa calls raw-update handlers after the others, so this counts finished updates.
        webhook.handled += 1


def install(app: FastAPI, settings: Settings) -> None:
    """Add the WhatsApp routes when the channel is configured."""
    if settings.whatsapp_token is None or not settings.whatsapp_phone_id:
        return
    _check_settings(settings)
    assert settings.whatsapp_app_secret is not None and settings.whatsapp_verify_token is not None
    session = graph_session(settings)
    client = build_client(
        settings,
        session,
        server=app,
        webhook_endpoint="/whatsapp",
        verify_token=settings.whatsapp_verify_token.get_secret_value(),
        app_secret=settings.whatsapp_app_secret.get_secret_value(),
        validate_updates=True,
        # The update key stored in the database drops duplicates, also across restarts and
        # processes, so pywa's in-memory check is off.
        skip_duplicate_updates=False,
    )
    webhook = WhatsAppWebhook(client)
    _register_handlers(webhook)
    app.state.whatsapp = webhook

    async def start() -> None:
        return None

    add_lifespan_hooks(app, start, session.aclose)
