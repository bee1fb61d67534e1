"""The registry of outbound channels the sender delivers through, built from settings.

A channel without settings is off: the sender skips it and tries the notice's next one.
The Telegram and WhatsApp adapters come from bot.channels.<name> modules that expose
`outbound_channel(settings) -> OutboundChannel | None`.

The console adapter prints notices for people who chat with `tagih chat --as PHONE` to the
worker's standard output, headed by their chat id. It is on outside production only, because
the output contains names, amounts and link codes. In production the registry marks it
unavailable, so the sender does not hold notices for it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator

from bot.channels.base import Address, Delivery, OutboundChannel
from bot.channels.email import EmailChannel, SmtpConfig
from bot.channels.sms import JsonGatewayProvider, SmsChannel
from bot.replies import OutboundMessage
from tagih.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHAT_ADAPTER_MODULES = ("telegram", "whatsapp")


CONSOLE_UNAVAILABLE = "console is never on in production"


class ChannelRegistry:
    """Channel adapters by name, and the channels that no setting can switch on here."""

    def __init__(self, channels: list[OutboundChannel] | None = None):
        self._channels: dict[str, OutboundChannel] = {}
        self._unavailable: dict[str, str] = {}
        for channel in channels or []:
            self.register(channel)

    def register(self, channel: OutboundChannel) -> None:
        self._channels[channel.name] = channel
        self._unavailable.pop(channel.name, None)

    def mark_unavailable(self, name: str, reason: str) -> None:
        """Record that channel `name` cannot be switched on in this environment, and why."""
        self._channels.pop(name, None)
        self._unavailable[name] = reason

    def unavailable_reason(self, name: str) -> str | None:
        """Return why a channel cannot be switched on here, or None when settings can."""
        return self._unavailable.get(name)

    def get(self, name: str) -> OutboundChannel | None:
        return self._channels.get(name)

    def names(self) -> list[str]:
        return sorted(self._channels)

    def __iter__(self) -> Iterator[OutboundChannel]:
        return iter(self._channels.values())

    async def aclose(self) -> None:
        for channel in self._channels.values():
            close = getattr(channel, "aclose", None)
            if close is not None:
                await close()


class RecordingChannel:
    """Keeps delivered messages in memory instead of sending them, for the demo."""

    def __init__(self, name: str = "console"):
        self.name = name
        self.delivered: list[tuple[Address, OutboundMessage]] = []

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        self.delivered.append((address, message))
        return Delivery(provider_message_id=f"{self.name}-{len(self.delivered)}")


def email_channel(settings: Settings) -> EmailChannel | None:
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return EmailChannel(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            sender=settings.smtp_from,
            starttls=settings.smtp_starttls,
        )
    )


def sms_channel(settings: Settings) -> SmsChannel | None:
    if not settings.sms_gateway_url:
        return None
    token = settings.sms_gateway_token.get_secret_value() if settings.sms_gateway_token else None
    return SmsChannel(JsonGatewayProvider(settings.sms_gateway_url, token, settings.sms_sender_id))


def chat_channel(module_name: str, settings: Settings) -> OutboundChannel | None:
    """Build a chat adapter from bot.channels.<module_name>, or None while it is missing."""
    configured = {
        "telegram": settings.telegram_bot_token is not None,
        "whatsapp": settings.whatsapp_token is not None and bool(settings.whatsapp_phone_id),
    }
    if not configured.get(module_name, False):
        return None
    try:
        module = importlib.import_module(f"bot.channels.{module_name}")
    except ImportError:
        log.warning("bot.channels.%s is missing; channel %s off", module_name, module_name)
        return None
    factory = getattr(module, "outbound_channel", None)
    if factory is None:
        log.warning("bot.channels.%s has no outbound_channel(settings); channel off", module_name)
        return None
    return factory(settings)


def console_channel() -> OutboundChannel | None:
    try:
        module = importlib.import_module("bot.channels.console")
    except ImportError:
        return None
    return module.ConsoleChannel()


def build_registry(
    settings: Settings | None = None, *, console: bool | None = None
) -> ChannelRegistry:
    """Build every channel that has settings; the others stay off.

    The console adapter, or a RecordingChannel while bot.channels.console is missing, is
    added outside production unless console=False. In production it is never added, even
    with console=True, and is marked unavailable instead.
    """
    settings = settings or get_settings()
    registry = ChannelRegistry()
    if settings.is_production:
        if console:
            log.warning("Console channel not registered, because it is never on in production")
        registry.mark_unavailable("console", CONSOLE_UNAVAILABLE)
    elif console is not False:
        registry.register(console_channel() or RecordingChannel("console"))
    candidates: list[OutboundChannel | None] = [
        chat_channel(name, settings) for name in CHAT_ADAPTER_MODULES
    ]
    candidates += [email_channel(settings), sms_channel(settings)]
    for channel in candidates:
        if channel is not None:
            registry.register(channel)
    log.info("Outbound channels on: %s", ", ".join(registry.names()) or "none")
    return registry
