"""The simulated bank's own API: SNAP inquiry-status (service 26), read from the ledger.

It checks Tagih's calls as a bank does. Tagih first gets a B2B access token (service 73)
with a SHA256withRSA signature over `clientId|X-TIMESTAMP`, verified with Tagih's public
key. Each inquiry-status call then carries the token and an HMAC-SHA512 signature keyed
with the client secret over `POST:path:accessToken:lowerhex(SHA-256(body)):X-TIMESTAMP`.
"""

from __future__ import annotations

import datetime as dt
import secrets

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billing.snap.codes import (
    RESPONSE_MESSAGES,
    SERVICE_INQUIRY_STATUS,
    SERVICE_TOKEN,
    Case,
    http_status,
    reason_json,
    response_code,
)
from billing.snap.keys import public_key_pem
from billing.snap.messages import echo_identity
from billing.snap.signature import (
    parse_timestamp,
    string_to_sign,
    verify_hmac,
    verify_token_request,
)
from jobs.payment_status import tagih_private_key
from models.types import utcnow
from tagih.banksim.ledger import Ledger
from tagih.settings import get_settings

STATUS_PATH = "/v1.0/transfer-va/status"
TOKEN_PATH = "/v1.0/access-token/b2b"


def _answer(case: Case, data: dict) -> JSONResponse:
    return JSONResponse(
        {
            "responseCode": response_code(case, SERVICE_INQUIRY_STATUS),
            "responseMessage": RESPONSE_MESSAGES[case],
            "virtualAccountData": data,
        },
        status_code=http_status(case),
    )


def _token_answer(case: Case, extra: dict | None = None) -> JSONResponse:
    body = {
        "responseCode": response_code(case, SERVICE_TOKEN),
        "responseMessage": RESPONSE_MESSAGES[case],
        **(extra or {}),
    }
    return JSONResponse(body, status_code=http_status(case))


class TokenBook:
    """The access tokens the simulator granted, with their expiry, in memory."""

    def __init__(self, ttl_seconds: int) -> None:
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self._expiry: dict[str, dt.datetime] = {}

    def grant(self) -> str:
        now = utcnow()
        self._expiry = {token: end for token, end in self._expiry.items() if end > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = now + self.ttl
        return token

    def revoke_all(self) -> None:
        """Forget every token granted, as a bank does when it restarts or rotates keys."""
        self._expiry.clear()

    def valid(self, token: str) -> bool:
        expires_at = self._expiry.get(token)
        return expires_at is not None and utcnow() < expires_at


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _timestamp_ok(request: Request, window: dt.timedelta) -> bool:
    moment = parse_timestamp(request.headers.get("x-timestamp", ""))
    return moment is not None and abs(utcnow() - moment) <= window


def tagih_public_key() -> str:
    """Return the public half of Tagih's development key, which the worker signs with."""
    return public_key_pem(tagih_private_key(get_settings()))


def create_simulator_app(
    ledger: Ledger,
    *,
    client_secret: str,
    client_id: str | None = None,
    tagih_public_key_pem: str | None = None,
    path_prefix: str = "/snap",
    token_ttl_seconds: int = 900,
    timestamp_window_seconds: int = 300,
) -> FastAPI:
    """Build the simulator's API for Tagih's client id, secret and public key.

    The client id defaults to SNAP_CLIENT_ID and the public key to Tagih's development key.
    """
    expected_client = client_id or get_settings().snap_client_id
    public_pem = tagih_public_key_pem or tagih_public_key()
    window = dt.timedelta(seconds=timestamp_window_seconds)
    tokens = TokenBook(token_ttl_seconds)
    app = FastAPI(title="Tagih bank simulator")
    app.state.tokens = tokens

    @app.post(path_prefix + TOKEN_PATH)
    async def access_token(request: Request) -> JSONResponse:
        client = request.headers.get("x-client-key", "")
        timestamp = request.headers.get("x-timestamp", "")
        signature = request.headers.get("x-signature", "")
        if (
            client != expected_client
            or not _timestamp_ok(request, window)
            or not verify_token_request(public_pem, client, timestamp, signature)
        ):
            return _token_answer(Case.UNAUTHORIZED)
        try:
            body = await request.json()
        except ValueError:
            return _token_answer(Case.INVALID_FIELD)
        if not isinstance(body, dict) or body.get("grantType") != "client_credentials":
            return _token_answer(Case.MISSING_FIELD)
        granted = {
            "accessToken": tokens.grant(),
            "tokenType": "Bearer",
            "expiresIn": str(token_ttl_seconds),
        }
        return _token_answer(Case.SUCCESS, granted)

    @app.post(path_prefix + STATUS_PATH)
    async def inquiry_status(request: Request) -> JSONResponse:
        token = _bearer(request)
        if not tokens.valid(token):
            return _answer(Case.INVALID_TOKEN, {})
        body = await request.body()
        timestamp = request.headers.get("x-timestamp", "")
        message = string_to_sign("POST", request.url.path, token, body, timestamp)
        if not _timestamp_ok(request, window) or not verify_hmac(
            client_secret, message, request.headers.get("x-signature", "")
        ):
            return _answer(Case.UNAUTHORIZED, {})
        try:
            data = (await request.json()) or {}
        except ValueError:
            return _answer(Case.INVALID_FIELD, {})
        if not isinstance(data, dict) or not isinstance(data.get("virtualAccountNo"), str):
            return _answer(Case.MISSING_FIELD, {})
        debit = ledger.paid_debit(data["virtualAccountNo"])
        if debit is None:
            return _answer(Case.NOT_FOUND, echo_identity(data))
        payload = debit.payload
        return _answer(
            Case.SUCCESS,
            {
                **echo_identity(payload),
                "paymentRequestId": payload["paymentRequestId"],
                "paidAmount": payload["paidAmount"],
                "trxDateTime": payload.get("trxDateTime"),
                "referenceNo": payload.get("referenceNo"),
                "paymentFlagStatus": "00",
                "paymentFlagReason": reason_json(Case.SUCCESS),
            },
        )

    return app
