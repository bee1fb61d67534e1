"""The safety net for lost payment notices: ask the bank about VAs that were looked up.

A payer's bank calls the inquiry endpoint before it takes the money, so a VA with an
inquiry and no payment after a grace period may have a payment whose notice never came.
For each such VA the job calls the bank's SNAP inquiry-status (service 26) and records a
payment it reports exactly as if the notice had arrived.

The bank authenticates Tagih as Tagih authenticates the bank: a B2B access token (service
73) requested with a SHA256withRSA signature over `clientId|X-TIMESTAMP` made with Tagih's
private key, then an HMAC-SHA512 signature with the client secret on every call, over
`POST:path:accessToken:lowerhex(SHA-256(body)):X-TIMESTAMP`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import col, select

from billing.payments import ACCEPTED_INQUIRY
from billing.snap.codes import Case
from billing.snap.connections import Connection, all_connections, default_connection
from billing.snap.keys import load_or_create_dev_key
from billing.snap.messages import BodyError
from billing.snap.service import record_reported_payment
from billing.snap.signature import (
    format_timestamp,
    hmac_signature,
    sign_token_request,
    string_to_sign,
)
from models import SnapRequestLog, VAStatus, VirtualAccount
from models.db import session_scope
from models.types import utcnow
from tagih.logs import short_hash
from tagih.settings import Settings, get_settings, read_pem

log = logging.getLogger(__name__)

STATUS_PATH = "/v1.0/transfer-va/status"
TOKEN_PATH = "/v1.0/access-token/b2b"
TOKEN_GRANTED = "2007300"
INVALID_TOKEN = "4012601"  # inquiry-status: invalid or expired token
# A token is renewed this long before the expiry the bank returned, so that no call
# carries a token that expires on the way.
TOKEN_MARGIN = dt.timedelta(seconds=60)
# A notice normally follows the payment within seconds; wait this long before asking.
GRACE = dt.timedelta(minutes=2)
# Inquiries older than this are no longer followed up.
LOOKBACK = dt.timedelta(days=3)
MAX_ACCOUNTS_PER_RUN = 500


class BankAuthError(Exception):
    """Raised when a bank does not grant Tagih an access token."""


def dev_tagih_key_file(settings: Settings) -> Path:
    """Return where development keeps Tagih's own key pair, beside the bank's."""
    return Path(settings.snap_dev_key_file).with_name("snap-dev-tagih-key.pem")


def tagih_private_key(settings: Settings) -> str:
    """Return the private key Tagih signs its access-token requests to banks with.

    SNAP_TAGIH_PRIVATE_KEY when set. Otherwise development uses a key generated once beside
    SNAP_DEV_KEY_FILE, whose public half the bank simulator trusts, and production has none.
    """
    if settings.snap_tagih_private_key:
        return read_pem(settings.snap_tagih_private_key)
    if settings.is_production:
        raise BankAuthError(
            "SNAP_TAGIH_PRIVATE_KEY is not set, so Tagih cannot get an access token from a "
            "bank. Set Tagih's RSA private key and give the bank its public half."
        )
    return load_or_create_dev_key(dev_tagih_key_file(settings))


@dataclass
class AccessTokens:
    """Tagih's B2B access tokens at each bank, kept until shortly before they expire.

    Each worker process keeps its own tokens, because a bank grants one to every request.
    """

    _tokens: dict[tuple[str, str], tuple[str, dt.datetime]] = field(
        default_factory=dict, repr=False
    )

    async def get(
        self, client: httpx.AsyncClient, connection: Connection, private_key: str
    ) -> str:
        """Return a valid token at the connection's bank, requesting one when needed.

        Raises BankAuthError when the bank rejects the request, and httpx.HTTPError when
        it cannot be reached.
        """
        key = (connection.base_url, connection.client_id)
        cached = self._tokens.get(key)
        if cached is not None and utcnow() < cached[1]:
            return cached[0]
        token, lifetime = await self._request(client, connection, private_key)
        self._tokens[key] = (token, utcnow() + lifetime - TOKEN_MARGIN)
        return token

    def drop(self, connection: Connection) -> None:
        self._tokens.pop((connection.base_url, connection.client_id), None)

    async def _request(
        self, client: httpx.AsyncClient, connection: Connection, private_key: str
    ) -> tuple[str, dt.timedelta]:
        timestamp = format_timestamp(utcnow())
        headers = {
            "Content-Type": "application/json",
            "X-TIMESTAMP": timestamp,
            "X-CLIENT-KEY": connection.client_id,
            "X-SIGNATURE": sign_token_request(private_key, connection.client_id, timestamp),
        }
        url = connection.base_url.rstrip("/") + TOKEN_PATH
        response = await client.post(
            url, content=b'{"grantType":"client_credentials"}', headers=headers
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        code = str(answer.get("responseCode", "")) if isinstance(answer, dict) else ""
        token = answer.get("accessToken") if code == TOKEN_GRANTED else None
        if not isinstance(token, str) or not token:
            raise BankAuthError(
                f"bank {connection.name} rejected the access-token request "
                f"(HTTP {response.status_code}, responseCode {code or 'missing'})"
            )
        try:
            seconds = int(answer.get("expiresIn", 900))
        except (TypeError, ValueError):
            seconds = 900  # the SNAP default lifetime
        return token, dt.timedelta(seconds=seconds)


# The worker's tokens, kept from one run of the job to the next.
ACCESS_TOKENS = AccessTokens()


def _status_request(
    connection: Connection,
    account: VirtualAccount,
    token: str,
    now: dt.datetime,
    inquiry_request_id: str | None = None,
) -> tuple[str, bytes, dict[str, str]]:
    """Build the URL, body and signed headers of an inquiry-status call.

    inquiry_request_id is the id of the bank's own accepted inquiry, which names the
    transaction Tagih asks about; a new random id is sent when none was recorded.
    """
    customer_no = account.customer_no
    partner_service_id = account.company_code.rjust(8)
    body = json.dumps(
        {
            "partnerServiceId": partner_service_id,
            "customerNo": customer_no,
            "virtualAccountNo": partner_service_id + customer_no,
            "inquiryRequestId": inquiry_request_id or secrets.token_hex(16),
        },
        separators=(",", ":"),
    ).encode()
    url = connection.base_url.rstrip("/") + STATUS_PATH
    timestamp = format_timestamp(now)
    # NOTE: Tagih signs with the client id and secret the bank uses to call Tagih, so a
    # bank that issues Tagih credentials of its own cannot be asked yet.
    message = string_to_sign("POST", urlsplit(url).path, token, body, timestamp)
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-TIMESTAMP": timestamp,
        "X-PARTNER-ID": connection.expected_partner_id,
        "X-EXTERNAL-ID": secrets.token_hex(16),
        "CHANNEL-ID": "95221",
        "X-SIGNATURE": hmac_signature(
            connection.client_secret, message, connection.signature_encoding
        ),
    }
    return url, body, headers


def _response_code(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return ""
    return str(answer.get("responseCode", "")) if isinstance(answer, dict) else ""


async def ask_payment_status(
    client: httpx.AsyncClient,
    connection: Connection,
    account: VirtualAccount,
    *,
    private_key: str,
    tokens: AccessTokens = ACCESS_TOKENS,
    inquiry_request_id: str | None = None,
) -> dict[str, Any] | None:
    """Return the bank's virtualAccountData when it reports the VA paid, else None.

    A token the bank no longer accepts is dropped and the call made once more with a new
    one. Raises BankAuthError when the bank grants no token, httpx.HTTPError when the
    bank cannot be reached or returns another error status, and ValueError when its answer
    is not a JSON object.
    """
    for attempt in range(2):
        token = await tokens.get(client, connection, private_key)
        url, body, headers = _status_request(
            connection, account, token, utcnow(), inquiry_request_id
        )
        response = await client.post(url, content=body, headers=headers)
        if attempt == 0 and _response_code(response) == INVALID_TOKEN:
            tokens.drop(connection)
            continue
        break
    if response.status_code == 404:
        return None
    response.raise_for_status()
    answer = response.json()
    if not isinstance(answer, dict):
        raise ValueError(f"the bank returned JSON {type(answer).__name__}, not an object")
    data = answer.get("virtualAccountData") or {}
    if not isinstance(data, dict) or data.get("paymentFlagStatus") != "00":
        return None
    return data


def _pending_accounts(now: dt.datetime) -> list[VirtualAccount]:
    with session_scope() as session:
        return list(
            session.exec(
                select(VirtualAccount)
                .where(
                    VirtualAccount.status == VAStatus.OPEN,
                    VirtualAccount.last_inquiry_at != None,  # noqa: E711
                    VirtualAccount.last_inquiry_at <= now - GRACE,
                    VirtualAccount.last_inquiry_at >= now - LOOKBACK,
                )
                .order_by(VirtualAccount.last_inquiry_at)
                .limit(MAX_ACCOUNTS_PER_RUN)
            ).all()
        )


def _accepted_inquiries(accounts: list[VirtualAccount]) -> dict[str, tuple[str, str]]:
    """Return, per VA number, the bank client id and request id of its latest inquiry.

    Only inquiries Tagih accepted count: they tell which bank the payer was paying through,
    and the id that bank uses for the transaction.
    """
    numbers = [account.number for account in accounts]
    with session_scope() as session:
        rows = session.exec(
            select(
                SnapRequestLog.virtual_account_no,
                SnapRequestLog.partner_id,
                SnapRequestLog.request_id,
            )
            .where(
                col(SnapRequestLog.virtual_account_no).in_(numbers),
                *ACCEPTED_INQUIRY,
            )
            .order_by(col(SnapRequestLog.id).desc())
        ).all()
    latest: dict[str, tuple[str, str]] = {}
    for number, partner_id, request_id in rows:
        if number and partner_id and request_id and number not in latest:
            latest[number] = (partner_id, request_id)
    return latest


def _bank_of(
    account: VirtualAccount, connections: list[Connection], inquiry: tuple[str, str] | None
) -> Connection | None:
    """Return the connection to ask: the bank that made the inquiry, else one that serves
    the VA's company code."""
    if inquiry is not None:
        for connection in connections:
            if connection.client_id == inquiry[0]:
                return connection
    return next((c for c in connections if c.serves_company_code(account.company_code)), None)


def _record(data: dict[str, Any], connection: Connection, account: VirtualAccount) -> bool:
    """Record a payment the bank reported; True when it is new (not already recorded)."""
    try:
        with session_scope(write=True) as session:
            outcome = record_reported_payment(session, data, connection=connection, now=utcnow())
    except BodyError as error:
        log.warning(
            "Bank reported VA %s paid with invalid data (%s); not recorded",
            account.id,
            error,
        )
        return False
    if outcome.case is not Case.SUCCESS:
        log.warning(
            "Bank reported VA %s paid, but Tagih rejects the payment (%s)",
            account.id,
            outcome.case.value,
        )
        return False
    return not outcome.replayed


async def check_pending_payments(
    now: dt.datetime | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    tokens: AccessTokens = ACCESS_TOKENS,
) -> dict[str, int]:
    """Ask the bank about every open VA with an inquiry and no payment; record what it paid.

    Returns counts: checked, recorded, not_paid, errors, and skipped (no bank connection
    with a base URL serves the VA's company code, or Tagih has no key to sign with).
    """
    now = now or utcnow()
    result = {"checked": 0, "recorded": 0, "not_paid": 0, "errors": 0, "skipped": 0}
    with session_scope() as session:
        connections = [
            connection
            for connection in all_connections(session, default_connection(get_settings()))
            if connection.base_url
        ]
    accounts = _pending_accounts(now)
    if not connections or not accounts:
        result["skipped"] = len(accounts)
        return result
    try:
        private_key = tagih_private_key(get_settings())
    except BankAuthError as error:
        log.error("Payment status of %s VAs not checked: %s", len(accounts), error)
        result["skipped"] = len(accounts)
        return result
    inquiries = _accepted_inquiries(accounts)
    async with httpx.AsyncClient(timeout=10, transport=transport) as client:
        for account in accounts:
            inquiry = inquiries.get(account.number)
            connection = _bank_of(account, connections, inquiry)
            if connection is None:
                result["skipped"] += 1
                continue
            try:
                data = await ask_payment_status(
                    client,
                    connection,
                    account,
                    private_key=private_key,
                    tokens=tokens,
                    inquiry_request_id=inquiry[1] if inquiry else None,
                )
            except (httpx.HTTPError, ValueError, BankAuthError) as error:
                log.warning(
                    "Payment status of VA %s from bank %s failed: %s",
                    account.id,
                    connection.name,
                    error,
                )
                result["errors"] += 1
                continue
            result["checked"] += 1
            if data is None:
                result["not_paid"] += 1
            elif _record(data, connection, account):
                result["recorded"] += 1
                log.info(
                    "Recorded a payment into VA %s found by inquiry-status (request %s)",
                    account.id,
                    short_hash(str(data.get("paymentRequestId"))),
                )
    return result
