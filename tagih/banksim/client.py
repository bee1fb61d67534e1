"""A SNAP client that plays the bank: gets a B2B token, then signs inquiries and payments."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from billing.snap.connections import dev_private_key, normalise_prefix
from billing.snap.messages import format_amount
from billing.snap.signature import (
    format_timestamp,
    hmac_signature,
    sign_token_request,
    string_to_sign,
)
from models.types import utcnow
from tagih.settings import Settings

DEFAULT_CHANNEL_ID = "95221"


@dataclass
class BankReply:
    """Tagih's response: the HTTP status and the JSON body (empty when not JSON)."""

    status: int
    body: dict[str, Any]

    @property
    def response_code(self) -> str:
        return str(self.body.get("responseCode", ""))

    @property
    def accepted(self) -> bool:
        return self.response_code.startswith("200")


def split_va(va_number: str, company_code: str) -> dict[str, str]:
    """Return the SNAP identity triple of a VA number, the company code padded to 8."""
    digits = va_number.replace(" ", "")
    if not digits.startswith(company_code):
        raise ValueError(f"VA {va_number} does not start with company code {company_code}")
    partner_service_id = company_code.rjust(8)
    customer_no = digits[len(company_code) :]
    return {
        "partnerServiceId": partner_service_id,
        "customerNo": customer_no,
        "virtualAccountNo": partner_service_id + customer_no,
    }


def new_request_id() -> str:
    return secrets.token_hex(16)


@dataclass
class BankSimulator:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    private_key_pem: str = field(repr=False)
    path_prefix: str = "/snap"
    partner_id: str = ""
    channel_id: str = DEFAULT_CHANNEL_ID
    signature_encoding: str = "base64"
    timeout: float = 10.0
    _token: str | None = field(default=None, repr=False)
    _token_expires: dt.datetime | None = None
    _client: httpx.Client | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None) -> BankSimulator:
        """Build a simulator that uses the SNAP_* settings (the development key by default)."""
        return cls(
            base_url=base_url or settings.public_base_url,
            client_id=settings.snap_client_id,
            client_secret=settings.snap_client_secret.get_secret_value(),
            private_key_pem=dev_private_key(settings),
            path_prefix=normalise_prefix(settings.snap_path_prefix),
        )

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url.rstrip("/"), timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> BankSimulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _reply(self, response: httpx.Response) -> BankReply:
        try:
            body = response.json()
        except ValueError:
            body = {}
        return BankReply(response.status_code, body if isinstance(body, dict) else {})

    def request_token(self) -> BankReply:
        """Ask for a B2B access token (service 73), signed with the bank's private key."""
        timestamp = format_timestamp(utcnow())
        headers = {
            "Content-Type": "application/json",
            "X-TIMESTAMP": timestamp,
            "X-CLIENT-KEY": self.client_id,
            "X-SIGNATURE": sign_token_request(self.private_key_pem, self.client_id, timestamp),
        }
        path = self.path_prefix + "/v1.0/access-token/b2b"
        response = self.client.post(
            path, content=b'{"grantType":"client_credentials"}', headers=headers
        )
        return self._reply(response)

    def token(self) -> str:
        now = utcnow()
        if self._token and self._token_expires and now < self._token_expires:
            return self._token
        reply = self.request_token()
        if reply.response_code != "2007300":
            raise RuntimeError(f"access token rejected: {reply.response_code or reply.status}")
        self._token = str(reply.body["accessToken"])
        # Renew a minute early so a request never carries a token that expires in flight.
        lifetime = int(reply.body.get("expiresIn", "900")) - 60
        self._token_expires = now + dt.timedelta(seconds=max(lifetime, 0))
        return self._token

    def signed_post(
        self, path: str, payload: dict[str, Any], *, external_id: str | None = None
    ) -> BankReply:
        """POST a body minified, with every SNAP header and the HMAC-SHA512 signature."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        token = self.token()
        timestamp = format_timestamp(utcnow())
        message = string_to_sign("POST", path, token, body, timestamp)
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
            "X-TIMESTAMP": timestamp,
            "X-PARTNER-ID": self.partner_id or self.client_id,
            "X-EXTERNAL-ID": external_id or secrets.token_hex(16),
            "CHANNEL-ID": self.channel_id,
            "X-SIGNATURE": hmac_signature(self.client_secret, message, self.signature_encoding),
        }
        return self._reply(self.client.post(path, content=body, headers=headers))

    def inquiry(
        self, va_number: str, company_code: str, *, request_id: str | None = None
    ) -> BankReply:
        payload = {
            **split_va(va_number, company_code),
            "inquiryRequestId": request_id or new_request_id(),
            "channelCode": "6011",
            "language": "ID",
            "trxDateInit": format_timestamp(utcnow()),
        }
        return self.signed_post(self.path_prefix + "/v1.0/transfer-va/inquiry", payload)

    def payment_payload(
        self,
        va_number: str,
        company_code: str,
        amount: int,
        *,
        request_id: str | None = None,
        reference_no: str | None = None,
        paid_at: dt.datetime | None = None,
        flag_advise: str = "N",
    ) -> dict[str, Any]:
        request_id = request_id or new_request_id()
        return {
            **split_va(va_number, company_code),
            "paymentRequestId": request_id,
            "channelCode": "6011",
            "paidAmount": format_amount(amount),
            "totalAmount": format_amount(amount),
            "trxDateTime": format_timestamp(paid_at or utcnow()),
            "referenceNo": reference_no or request_id[:16].upper(),
            "flagAdvise": flag_advise,
        }

    def pay(
        self,
        va_number: str,
        company_code: str,
        amount: int,
        *,
        request_id: str | None = None,
        reference_no: str | None = None,
        flag_advise: str = "N",
    ) -> BankReply:
        payload = self.payment_payload(
            va_number,
            company_code,
            amount,
            request_id=request_id,
            reference_no=reference_no,
            flag_advise=flag_advise,
        )
        return self.send_payment(payload)

    def send_payment(self, payload: dict[str, Any]) -> BankReply:
        return self.signed_post(self.path_prefix + "/v1.0/transfer-va/payment", payload)
