"""The contract every outbound channel adapter fulfils for the notice sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.replies import OutboundMessage


class DeliveryError(Exception):
    """A channel could not deliver a message.

    permanent=True means retrying this channel is useless (unknown number, blocked bot,
    template rejected), so the sender moves to the next channel. retry_after, when the
    provider gives one, is the number of seconds to wait before the next try.
    """

    def __init__(self, reason: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Delivery:
    provider_message_id: str | None = None


@dataclass(frozen=True)
class Address:
    """Where one person is reached on one channel: chat id, E.164 phone or e-mail address."""

    channel: str
    value: str
    # WhatsApp only: whether the person wrote to us within the last 24 hours.
    window_open: bool = False


class OutboundChannel(Protocol):
    name: str

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery: ...
