"""POST /telegram: Bot API updates, checked against the webhook secret, handed to PTB.

Off when TELEGRAM_BOT_TOKEN is not set; a token without TELEGRAM_WEBHOOK_SECRET stops start-up.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from telegram import Update

from bot.channels.telegram import build_application
from tagih.logs import short_hash
from tagih.settings import Settings, SettingsError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def add_lifespan_hooks(
    app: FastAPI, start: Callable[[], Awaitable[Any]], stop: Callable[[], Awaitable[Any]]
) -> None:
    """Run `start` when the app starts and `stop` when it stops, around its other hooks."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            await start()
            try:
                yield state
            finally:
                await stop()

    app.router.lifespan_context = lifespan


def install(app: FastAPI, settings: Settings) -> None:
    """Add the Telegram route when the channel is configured."""
    if settings.telegram_bot_token is None:
        return
    if settings.telegram_webhook_secret is None:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is set but TELEGRAM_WEBHOOK_SECRET is missing. Set the secret "
            "given to setWebhook as secret_token."
        )
    secret = settings.telegram_webhook_secret.get_secret_value()
    application = build_application(settings)
    app.state.telegram = application
    add_lifespan_hooks(app, application.initialize, application.shutdown)

    @app.post("/telegram", include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        received = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(received.encode(), secret.encode()):
            log.warning("telegram webhook: request with a wrong secret token rejected")
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise TypeError("the body is not a JSON object")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError):
            log.warning("telegram webhook: body is not a Telegram update")
            return Response(status_code=400)
        log.debug("telegram update %s received", short_hash(update.update_id))

        await application.process_update(update)
        return Response(status_code=200)
