"""POST /telegram: Bot API updates, checked against the webhook secret, handed to PTB.

Off when TELEGRAM_BOT_TOKEN is not set; a token without TELEGRAM_WEBHOOK_SECRET stops start-up.
The web process starts whether or not the Bot API is reachable. The PTB Application is
initialised in the background, and until that succeeds updates get 503, so Telegram
delivers them again later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.channels.telegram import build_application
from tagih.logs import short_hash
from tagih.settings import Settings, SettingsError

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
NOT_READY_RETRY_AFTER = "30"  # seconds, sent in Retry-After while the Bot API is unreachable


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


class BackgroundInitialiser:
    """The PTB Application, initialised by a background task that retries until it succeeds.

    Application.initialize() calls getMe, so it fails while the Bot API is unreachable, and
    the app must serve its other routes meanwhile.
    """

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        *,
        retry_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self.application = application
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self.ready = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._initialise(), name="telegram-initialise")

    async def _initialise(self) -> None:
        wait = self.retry_seconds
        attempt = 1
        while True:
            try:
                await self.application.initialize()
            except TelegramError as error:
                log.warning(
                    "telegram: initialising the bot failed (attempt %d): %s: %s, retry in %.0f s",
                    attempt,
                    type(error).__name__,
                    error,
                    wait,
                )
            except Exception:  # a bug must not end the retries silently
                log.exception("telegram: initialising the bot failed (attempt %d)", attempt)
            else:
                self.ready = True
                log.info("telegram: bot initialised after %d attempt(s)", attempt)
                return
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.retry_max_seconds)
            attempt += 1

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.ready:
            await self.application.shutdown()


def parse_update(body: bytes, application: Application) -> Update | None:  # type: ignore[type-arg]
    """Parse a webhook body into an Update; None when it is not one."""
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise TypeError("the body is not a JSON object")
        if not isinstance(data.get("update_id"), int):
            raise TypeError("update_id is missing or not an integer")
        # PTB reads nested objects without checking their types, so a malformed field
        # raises AttributeError as well as the usual TypeError and KeyError.
        return Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        log.warning("telegram webhook: body is not a Telegram update: %s", type(error).__name__)
        return None


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
    initialiser = BackgroundInitialiser(
        application,
        retry_seconds=settings.telegram_init_retry_seconds,
        retry_max_seconds=settings.telegram_init_retry_max_seconds,
    )
    app.state.telegram = application
    app.state.telegram_initialiser = initialiser
    add_lifespan_hooks(app, initialiser.start, initialiser.stop)

    @app.post("/telegram", include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        received = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(received.encode(), secret.encode()):
            log.warning("telegram webhook: request with a wrong secret token rejected")
            return Response(status_code=403)
        if not initialiser.ready:
            log.warning("telegram webhook: bot not initialised yet; responded 503")
            return Response(status_code=503, headers={"Retry-After": NOT_READY_RETRY_AFTER})
        update = parse_update(await request.body(), application)
        if update is None:
            return Response(status_code=400)
        log.debug("telegram update %s received", short_hash(update.update_id))

        await application.process_update(update)
        return Response(status_code=200)
