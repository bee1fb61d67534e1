"""The safety net for lost payment notices: ask the bank about VAs that were looked up.

A payer's bank calls the inquiry endpoint before it takes the money, so a VA with an
inquiry and no payment after a grace period may have a payment whose notice never came.
For each such VA the job calls the bank's SNAP inquiry-status (service 26) and records a
payment it reports exactly as if the notice had arrived.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import select

from billing.snap.codes import Case
from billing.snap.connections import Connection, all_connections, default_connection
from billing.snap.messages import BodyError
from billing.snap.service import record_reported_payment
from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
from models import VAStatus, VirtualAccount
from models.db import session_scope
from models.types import utcnow
from tagih.logs import short_hash
from tagih.settings import get_settings

log = logging.getLogger(__name__)

STATUS_PATH = "/v1.0/transfer-va/status"
# A notice normally follows the payment within seconds; wait this long before asking.
GRACE = dt.timedelta(minutes=2)
# Inquiries older than this are no longer followed up.
LOOKBACK = dt.timedelta(days=3)
MAX_ACCOUNTS_PER_RUN = 500


def _status_request(
    connection: Connection, account: VirtualAccount, now: dt.datetime
) -> tuple[str, bytes, dict[str, str]]:
    """Build the URL, body and signed headers of an inquiry-status call.

    NOTE: banks authenticate this call with a B2B token that Tagih gets with its own key
    pair. That exchange is not built yet, so the access-token part of the signature is
    empty, as the bank simulator expects.
    """
    customer_no = account.customer_no
    partner_service_id = account.company_code.rjust(8)
    body = json.dumps(
        {
            "partnerServiceId": partner_service_id,
            "customerNo": customer_no,
            "virtualAccountNo": partner_service_id + customer_no,
            "inquiryRequestId": secrets.token_hex(16),
        },
        separators=(",", ":"),
    ).encode()
    url = connection.base_url.rstrip("/") + STATUS_PATH
    timestamp = format_timestamp(now)
    message = string_to_sign("POST", urlsplit(url).path, "", body, timestamp)
    headers = {
        "Content-Type": "application/json",
        "X-TIMESTAMP": timestamp,
        "X-PARTNER-ID": connection.expected_partner_id,
        "X-EXTERNAL-ID": secrets.token_hex(16),
        "CHANNEL-ID": "95221",
        "X-SIGNATURE": hmac_signature(
            connection.client_secret, message, connection.signature_encoding
        ),
    }
    return url, body, headers


async def ask_payment_status(
    client: httpx.AsyncClient, connection: Connection, account: VirtualAccount
) -> dict[str, Any] | None:
    """Return the bank's virtualAccountData when it reports the VA paid, else None.

    Raises httpx.HTTPError when the bank cannot be reached or returns an error status.
    """
    url, body, headers = _status_request(connection, account, utcnow())
    response = await client.post(url, content=body, headers=headers)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    data = response.json().get("virtualAccountData") or {}
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
    now: dt.datetime | None = None, *, transport: httpx.AsyncBaseTransport | None = None
) -> dict[str, int]:
    """Ask the bank about every open VA with an inquiry and no payment; record what it paid.

    Returns counts: checked, recorded, not_paid, errors, and skipped (no bank connection
    with a base URL serves the VA's company code).
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
    async with httpx.AsyncClient(timeout=10, transport=transport) as client:
        for account in accounts:
            connection = next(
                (c for c in connections if c.serves_company_code(account.company_code)), None
            )
            if connection is None:
                result["skipped"] += 1
                continue
            try:
                data = await ask_payment_status(client, connection, account)
            except (httpx.HTTPError, ValueError) as error:
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
