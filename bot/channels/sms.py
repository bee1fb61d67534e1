"""SMS notices through an HTTP gateway.

The gateway's wire format lives in one provider class, so supporting a real provider
means writing one subclass of SmsProvider.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.channels.base import Address, Delivery, DeliveryError
from bot.replies import OutboundMessage

log = logging.getLogger(__name__)


class SmsProvider:
    """The request and response format of one SMS gateway."""

    def build_request(
        self, client: httpx.AsyncClient, phone: str, text: str, idempotency_key: str | None
    ) -> httpx.Request:
        raise NotImplementedError

    def parse_response(self, response: httpx.Response) -> Delivery:
        raise NotImplementedError


class JsonGatewayProvider(SmsProvider):
    """A gateway taking {"to", "from", "text", "reference"} as JSON with a bearer token.

    It returns 2xx with {"id": ...}, and the Idempotency-Key header lets it drop a resend.
    """

    def __init__(self, url: str, token: str | None, sender_id: str):
        self.url = url
        self.token = token
        self.sender_id = sender_id

    def build_request(
        self, client: httpx.AsyncClient, phone: str, text: str, idempotency_key: str | None
    ) -> httpx.Request:
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body: dict[str, Any] = {"to": phone, "from": self.sender_id, "text": text}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
            body["reference"] = idempotency_key
        return client.build_request("POST", self.url, json=body, headers=headers)

    def parse_response(self, response: httpx.Response) -> Delivery:
        try:
            data = response.json()
        except ValueError:
            data = {}
        message_id = data.get("id") or data.get("message_id") if isinstance(data, dict) else None
        return Delivery(provider_message_id=str(message_id) if message_id else None)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Read a Retry-After header given in seconds; None when absent or not a number."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class SmsChannel:
    name = "sms"
    supports_idempotency_key = True

    def __init__(self, provider: SmsProvider, client: httpx.AsyncClient | None = None):
        self.provider = provider
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(20.0))

    async def deliver(
        self, address: Address, message: OutboundMessage, *, idempotency_key: str | None = None
    ) -> Delivery:
        request = self.provider.build_request(
            self.client, address.value, message.text, idempotency_key
        )
        try:
            response = await self.client.send(request)
        except httpx.TimeoutException as error:
            raise DeliveryError("SMS gateway timed out", permanent=False) from error
        except httpx.TransportError as error:
            raise DeliveryError(
                f"SMS gateway connection failed: {type(error).__name__}", permanent=False
            ) from error
        status = response.status_code
        if status == 429 or status >= 500:
            raise DeliveryError(
                f"SMS gateway returned HTTP {status}",
                permanent=False,
                retry_after=retry_after_seconds(response),
            )
        if status >= 400:
            raise DeliveryError(f"SMS gateway rejected the message: HTTP {status}", permanent=True)
        return self.provider.parse_response(response)

    async def aclose(self) -> None:
        await self.client.aclose()
