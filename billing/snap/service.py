"""Handling one SNAP request, from the received bytes to the response.

The order of checks follows SNAP's rules for virtual accounts: token, timestamp and
signature; X-EXTERNAL-ID unused today; mandatory and well-formed fields; then the bill.
An authenticated request leaves an audit row without secrets in the same transaction as
its effects. A request rejected before authentication is audited in a transaction of its
own, within a per-process budget (AuditBudget). A request that fails with an error is
logged in a transaction of its own, and the rollback releases its X-EXTERNAL-ID, so the
bank may retry with it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from billing.payments import Bill, PaymentOutcome, decide_inquiry, decide_payment
from billing.snap import codes
from billing.snap.auth import (
    MAX_EXTERNAL_ID_LENGTH,
    CredentialCache,
    claim_external_id,
    issue_token,
)
from billing.snap.codes import Case
from billing.snap.connections import Connection, find_connection
from billing.snap.messages import (
    BodyError,
    echo_identity,
    format_amount,
    parse_inquiry,
    parse_json_object,
    parse_payment,
)
from billing.snap.signature import (
    parse_timestamp,
    string_to_sign,
    verify_hmac,
    verify_token_request,
)
from locales import tr
from models import SnapRequestLog
from models.db import session_scope
from tagih.logs import short_hash

log = logging.getLogger(__name__)

SERVICE_PATHS = {
    codes.SERVICE_TOKEN: "/v1.0/access-token/b2b",
    codes.SERVICE_INQUIRY: "/v1.0/transfer-va/inquiry",
    codes.SERVICE_PAYMENT: "/v1.0/transfer-va/payment",
}
SERVICE_NAMES = {
    codes.SERVICE_TOKEN: "access-token",
    codes.SERVICE_INQUIRY: "inquiry",
    codes.SERVICE_PAYMENT: "payment",
}
MAX_BODY_BYTES = 64 * 1024
MAX_LOGGED_BODY_CHARS = 16 * 1024
# Enough of an unauthenticated body to see what a misconfigured client sends.
MAX_UNAUTHENTICATED_CHARS = 1024
_LOGGED_HEADERS = (
    "content-type",
    "x-timestamp",
    "x-client-key",
    "x-partner-id",
    "x-external-id",
    "channel-id",
    "user-agent",
)


@dataclass
class AuditBudget:
    """How many audit rows of unauthenticated requests one web process may still write.

    Anyone can send requests with a made-up token, and each would otherwise add a row of up
    to 16 KB. The budget refills at refill_per_second up to burst. Requests beyond it are
    counted, and the count is logged as a warning at most once a minute instead of stored.
    """

    refill_per_second: float = 5.0
    burst: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _tokens: float = -1.0
    _updated: float = 0.0
    _skipped: int = 0
    _warned_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        """Use one row of the budget; False when it is spent, which counts a skipped row."""
        with self._lock:
            now = self.clock()
            if self._tokens < 0:
                self._tokens = self.burst
            else:
                elapsed = max(0.0, now - self._updated)
                self._tokens = min(self.burst, self._tokens + elapsed * self.refill_per_second)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self._skipped += 1
            self._warn(now)
            return False

    def report(self) -> None:
        """Log the skipped rows not yet reported, at most once a minute.

        Called after every SNAP request, so the count of a burst that has ended is logged
        by the next request of any kind.
        """
        if not self._skipped:
            return
        with self._lock:
            self._warn(self.clock())

    def _warn(self, now: float) -> None:
        if not self._skipped or now - self._warned_at < 60:
            return
        log.warning(
            "%d unauthenticated SNAP requests were not stored for audit: more than "
            "%.0f per second arrived after a burst of %.0f",
            self._skipped,
            self.refill_per_second,
            self.burst,
        )
        self._skipped = 0
        self._warned_at = now


@dataclass(frozen=True)
class SnapConfig:
    default_connection: Connection
    timestamp_window_seconds: int = 300
    token_ttl_seconds: int = 900
    # Shared by the requests of one app, so each app (and each test's app) has its own.
    credentials: CredentialCache = field(default_factory=CredentialCache, compare=False)
    unauthenticated_audit: AuditBudget = field(default_factory=AuditBudget, compare=False)


@dataclass(frozen=True)
class SnapRequest:
    """A request as received: the bytes are kept because the signature covers them."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    received_at: dt.datetime
    body_too_large: bool = False

    @property
    def relative_path(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def header(self, name: str) -> str:
        return self.headers.get(name, "").strip()


@dataclass
class SnapResponse:
    status: int
    body: dict[str, Any]
    # Audit details that are not part of the response.
    partner_id: str | None = None
    virtual_account_no: str | None = None
    request_id: str | None = None
    logged_body: dict[str, Any] = field(default_factory=dict)
    # False for a request rejected before its token or signature was checked successfully.
    authenticated: bool = True


class Rejection(Exception):
    def __init__(self, case: Case):
        super().__init__(case.value)
        self.case = case


Authenticator = Callable[[Session, SnapRequest, SnapConfig], Connection | SnapResponse]
Handler = Callable[[Session, SnapRequest, SnapConfig, Connection], SnapResponse]
ParsedRequest = TypeVar("ParsedRequest")


def handle_request(service: str, request: SnapRequest, config: SnapConfig) -> SnapResponse:
    """Handle one SNAP request; the response is built only after its transaction commits.

    The token, signature and bank connection are checked first in a read-only session, so
    requests that fail authentication never take the write lock. Everything after that runs
    in one write transaction together with the audit row.
    """
    try:
        with session_scope() as session:
            admitted = _AUTHENTICATORS[service](session, request, config)
        if isinstance(admitted, SnapResponse):
            response = admitted
            _audit_rejection(service, request, response, config)
        else:
            with session_scope(write=True) as session:
                response = _HANDLERS[service](session, request, config, admitted)
                _insert_audit_row(session, service, request, response)
    except Exception as error:
        log.exception(
            "SNAP %s request failed; responding with a general error (external id %s)",
            SERVICE_NAMES[service],
            short_hash(request.header("x-external-id")),
        )
        response = _general_error(service, request)
        if _database_locked(error):
            # Another write would wait out the same lock, and the bank is waiting too.
            log.error(
                "SNAP %s request not audited: the database stayed locked (external id %s)",
                SERVICE_NAMES[service],
                short_hash(request.header("x-external-id")),
            )
        else:
            _audit_separately(service, request, response)
    config.unauthenticated_audit.report()
    log.info(
        "SNAP %s responded %s (external id %s)",
        SERVICE_NAMES[service],
        response.body.get("responseCode"),
        short_hash(request.header("x-external-id")),
    )
    return response


def _database_locked(error: Exception) -> bool:
    """Tell whether SQLite gave up waiting for its write lock (after busy_timeout)."""
    return isinstance(error, OperationalError) and "database is locked" in str(error)


def _general_error(service: str, request: SnapRequest) -> SnapResponse:
    if service == codes.SERVICE_TOKEN:
        return _token_response(Case.GENERAL_ERROR)
    return _va_response(service, Case.GENERAL_ERROR, _loose_body(request), None)


def _audit_separately(service: str, request: SnapRequest, response: SnapResponse) -> None:
    try:
        with session_scope(write=True) as session:
            _insert_audit_row(session, service, request, response)
    except Exception:
        log.exception(
            "Could not store the audit row of a failed SNAP %s request", SERVICE_NAMES[service]
        )


# --- Access token (service 73) ----------------------------------------------------------


def _token_response(case: Case, token: str | None = None, ttl: int = 0) -> SnapResponse:
    body: dict[str, Any] = {
        "responseCode": codes.response_code(case, codes.SERVICE_TOKEN),
        "responseMessage": codes.RESPONSE_MESSAGES[case],
    }
    logged = dict(body)
    if token is not None:
        body.update(accessToken=token, tokenType="Bearer", expiresIn=str(ttl))
        logged.update(tokenType="Bearer", expiresIn=str(ttl))
    return SnapResponse(codes.http_status(case), body, logged_body=logged)


def _in_window(request: SnapRequest, config: SnapConfig) -> bool:
    moment = parse_timestamp(request.header("x-timestamp"))
    if moment is None:
        return False
    window = dt.timedelta(seconds=config.timestamp_window_seconds)
    return abs(request.received_at - moment) <= window


def _path_matches(request: SnapRequest, connection: Connection, service: str) -> bool:
    return request.path == connection.path_prefix + SERVICE_PATHS[service]


def _authenticate_token(
    session: Session, request: SnapRequest, config: SnapConfig
) -> Connection | SnapResponse:
    """Return the bank connection of a valid token request, or the rejection to send."""
    client_id = request.header("x-client-key")
    connection = find_connection(session, client_id, config.default_connection)
    case = _check_token_request(request, config, connection)
    if case is None and connection is not None:
        return connection
    response = _token_response(case or Case.UNAUTHORIZED)
    response.partner_id = client_id[:128] or None
    # Field errors are found only after the signature was verified.
    response.authenticated = case in (Case.INVALID_FIELD, Case.MISSING_FIELD) and (
        not request.body_too_large
    )
    return response


def _handle_token(
    session: Session, request: SnapRequest, config: SnapConfig, connection: Connection
) -> SnapResponse:
    ttl = config.token_ttl_seconds
    token = issue_token(
        session, client_id=connection.client_id, now=request.received_at, ttl_seconds=ttl
    )
    response = _token_response(Case.SUCCESS, token, ttl)
    response.partner_id = request.header("x-client-key")[:128] or None
    return response


def _check_token_request(
    request: SnapRequest, config: SnapConfig, connection: Connection | None
) -> Case | None:
    """Return why a token request is rejected, or None when it is valid."""
    if request.body_too_large:
        return Case.INVALID_FIELD
    if connection is None or not _path_matches(request, connection, codes.SERVICE_TOKEN):
        return Case.UNAUTHORIZED
    if not _in_window(request, config):
        return Case.UNAUTHORIZED
    signature = request.header("x-signature")
    timestamp = request.header("x-timestamp")
    if not verify_token_request(
        connection.bank_public_key, connection.client_id, timestamp, signature
    ):
        return Case.UNAUTHORIZED
    try:
        data = parse_json_object(request.body)
    except BodyError:
        return Case.INVALID_FIELD
    grant_type = data.get("grantType")
    if grant_type in (None, ""):
        return Case.MISSING_FIELD
    if grant_type != "client_credentials":
        return Case.INVALID_FIELD
    return None


# --- Inquiry (24) and payment (25) ------------------------------------------------------


def _loose_body(request: SnapRequest) -> dict[str, Any]:
    """Return the body as a dict when it parses, for echoing fields back in a rejection."""
    if request.body_too_large:
        return {}
    try:
        return parse_json_object(request.body)
    except BodyError:
        return {}


def _echo_request_id(data: dict[str, Any], name: str) -> dict[str, str]:
    value = data.get(name)
    return {name: value} if isinstance(value, str) and len(value) <= 128 else {}


def _va_response(
    service: str, case: Case, data: dict[str, Any], bill: Bill | None, **extra: Any
) -> SnapResponse:
    """Build an inquiry or payment response; virtualAccountData is present on rejections too."""
    accepted = "00" if case is Case.SUCCESS else "01"
    va_data: dict[str, Any] = echo_identity(data)
    if service == codes.SERVICE_INQUIRY:
        va_data.update(_echo_request_id(data, "inquiryRequestId"))
        va_data.update(inquiryStatus=accepted, inquiryReason=codes.reason_json(case))
    else:
        va_data.update(_echo_request_id(data, "paymentRequestId"))
        paid = data.get("paidAmount")
        if isinstance(paid, dict):
            va_data["paidAmount"] = {
                key: paid[key][:32]
                for key in ("value", "currency")
                if isinstance(paid.get(key), str)
            }
        va_data.update(paymentFlagStatus=accepted, paymentFlagReason=codes.reason_json(case))
    if bill is not None:
        va_data["virtualAccountName"] = bill.customer.name[:255]
    va_data.update(extra)
    body = {
        "responseCode": codes.response_code(case, service),
        "responseMessage": codes.RESPONSE_MESSAGES[case],
        "virtualAccountData": va_data,
    }
    return SnapResponse(
        codes.http_status(case),
        body,
        virtual_account_no=va_data.get("virtualAccountNo"),
        logged_body=body,
    )


def _accepted_payment_body(data: dict[str, Any], bill: Bill) -> dict[str, Any]:
    return _va_response(codes.SERVICE_PAYMENT, Case.SUCCESS, data, bill).body


def _authenticate(
    session: Session, request: SnapRequest, config: SnapConfig, service: str
) -> Connection:
    """Check the bearer token, path, timestamp, partner id and signature of a request."""
    authorization = request.header("authorization")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Rejection(Case.INVALID_TOKEN)
    credentials = config.credentials
    client_id = credentials.token_client_id(session, token, now=request.received_at)
    if client_id is None:
        raise Rejection(Case.INVALID_TOKEN)
    connection = credentials.connection(session, client_id, config.default_connection)
    if connection is None:
        raise Rejection(Case.INVALID_TOKEN)
    if not _path_matches(request, connection, service):
        raise Rejection(Case.UNAUTHORIZED)
    if not _in_window(request, config):
        raise Rejection(Case.UNAUTHORIZED)
    if request.header("x-partner-id") != connection.expected_partner_id:
        raise Rejection(Case.UNAUTHORIZED)
    message = string_to_sign(
        request.method, request.relative_path, token, request.body, request.header("x-timestamp")
    )
    if not verify_hmac(
        connection.client_secret,
        message,
        request.header("x-signature"),
        connection.signature_encoding,
    ):
        raise Rejection(Case.UNAUTHORIZED)
    return connection


def _claim_external_id(session: Session, request: SnapRequest, connection: Connection) -> None:
    external_id = request.header("x-external-id")
    if not external_id:
        raise Rejection(Case.MISSING_FIELD)
    if len(external_id) > MAX_EXTERNAL_ID_LENGTH or not external_id.isprintable():
        raise Rejection(Case.INVALID_FIELD)
    if not request.header("channel-id"):
        raise Rejection(Case.MISSING_FIELD)
    if not claim_external_id(
        session,
        partner_id=connection.expected_partner_id,
        external_id=external_id,
        now=request.received_at,
    ):
        raise Rejection(Case.CONFLICT)


def _authenticate_va(service: str) -> Authenticator:
    """Build the authenticator of an inquiry or payment: size, token, path, signature."""

    def authenticate(
        session: Session, request: SnapRequest, config: SnapConfig
    ) -> Connection | SnapResponse:
        try:
            if request.body_too_large:
                raise Rejection(Case.INVALID_FIELD)
            return _authenticate(session, request, config, service)
        except Rejection as rejection:
            response = _va_response(service, rejection.case, _loose_body(request), None)
            response.authenticated = False
            return response

    return authenticate


def _admit(
    session: Session,
    request: SnapRequest,
    connection: Connection,
    parse: Callable[[dict[str, Any]], ParsedRequest],
) -> ParsedRequest:
    """Run the checks after authentication and before the bill: X-EXTERNAL-ID, body fields.

    Raises Rejection or BodyError with the case to respond with.
    """
    _claim_external_id(session, request, connection)
    return parse(parse_json_object(request.body))


def _handle_inquiry(
    session: Session, request: SnapRequest, config: SnapConfig, connection: Connection
) -> SnapResponse:
    data = _loose_body(request)
    try:
        parsed = _admit(session, request, connection, parse_inquiry)
    except (Rejection, BodyError) as rejection:
        return _va_response(codes.SERVICE_INQUIRY, rejection.case, data, None)

    case, bill = decide_inquiry(session, parsed, connection=connection, now=request.received_at)
    if case is not Case.SUCCESS or bill is None:
        response = _va_response(codes.SERVICE_INQUIRY, case, data, bill)
    else:
        response = _va_response(
            codes.SERVICE_INQUIRY,
            case,
            data,
            bill,
            totalAmount=format_amount(bill.account.amount),
            virtualAccountTrxType="C",
            freeTexts=[
                {
                    "english": tr("en", "Bill {number}", number=bill.invoice.number)[:64],
                    "indonesia": tr("id", "Bill {number}", number=bill.invoice.number)[:64],
                }
            ],
        )
    response.partner_id = connection.client_id
    response.request_id = parsed.inquiry_request_id
    if bill is not None:
        response.virtual_account_no = bill.account.number
    return response


def _handle_payment(
    session: Session, request: SnapRequest, config: SnapConfig, connection: Connection
) -> SnapResponse:
    data = _loose_body(request)
    try:
        parsed = _admit(session, request, connection, parse_payment)
    except (Rejection, BodyError) as rejection:
        return _va_response(codes.SERVICE_PAYMENT, rejection.case, data, None)

    outcome = decide_payment(
        session,
        parsed,
        connection=connection,
        now=request.received_at,
        raw_request={"headers": audit_headers(request.headers), "body": data},
        paid_at=_bank_time(parsed.trx_date_time, request, config),
        response_for=lambda bill: _accepted_payment_body(data, bill),
    )
    if outcome.payment is not None:
        # A new payment stored this body, and an identical retry gets the stored one again.
        body = outcome.payment.response
        response = SnapResponse(codes.http_status(Case.SUCCESS), body, logged_body=body)
    else:
        response = _va_response(codes.SERVICE_PAYMENT, outcome.case, data, outcome.bill)
    response.partner_id = connection.client_id
    response.request_id = parsed.payment_request_id
    if outcome.bill is not None:
        response.virtual_account_no = outcome.bill.account.number
    return response


# Maximum age of a trxDateTime that is taken as the payment's time. A bank re-sends an
# advice (flagAdvise "Y") hours or days after the payer paid.
MAX_PAYMENT_AGE = dt.timedelta(days=7)


def _bank_time(
    trx_date_time: dt.datetime | None, request: SnapRequest, config: SnapConfig
) -> dt.datetime:
    """Return when the payer paid: the bank's trxDateTime when plausible, else receipt time.

    Bank statements date a payment by the bank's time, so reconciliation around midnight
    needs it. A time in the future beyond the timestamp window, or older than
    MAX_PAYMENT_AGE, is taken for a clock or data error and the receipt time is used.
    """
    received = request.received_at
    if trx_date_time is None:
        return received
    window = dt.timedelta(seconds=config.timestamp_window_seconds)
    if received - MAX_PAYMENT_AGE <= trx_date_time <= received + window:
        return trx_date_time
    return received


def record_reported_payment(
    session: Session,
    data: dict[str, Any],
    *,
    connection: Connection,
    now: dt.datetime,
    source: str = "inquiry_status",
) -> PaymentOutcome:
    """Record a payment the bank reports outside a payment notice, as if the notice had come.

    `data` is the bank's virtualAccountData (identity, paymentRequestId, paidAmount, and
    optionally trxDateTime and referenceNo). The payment stores the response the notice would
    have got, so a late notice with the same data gets that response again.
    Raises BodyError when the bank's data is incomplete or malformed.
    """
    parsed = parse_payment(data)
    return decide_payment(
        session,
        parsed,
        connection=connection,
        now=now,
        raw_request={"body": data},
        source=source,
        paid_at=parsed.trx_date_time,
        response_for=lambda bill: _accepted_payment_body(data, bill),
    )


# --- Audit ------------------------------------------------------------------------------


def audit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Keep the headers worth auditing; the token and signature only as short hashes."""
    kept = {name: headers[name][:128] for name in _LOGGED_HEADERS if name in headers}
    if headers.get("x-signature"):
        kept["x-signature"] = "sha256:" + short_hash(headers["x-signature"])
    if headers.get("authorization"):
        kept["authorization"] = "sha256:" + short_hash(headers["authorization"])
    return kept


def _storable(text: str) -> str:
    """Replace NUL characters, which PostgreSQL text columns reject, by U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _audit_rejection(
    service: str, request: SnapRequest, response: SnapResponse, config: SnapConfig
) -> None:
    """Store the audit row of a request rejected before its transaction, within the budget."""
    if not response.authenticated and not config.unauthenticated_audit.take():
        return
    _audit_separately(service, request, response)


def _insert_audit_row(
    session: Session, service: str, request: SnapRequest, response: SnapResponse
) -> None:
    """Insert the audit row of a request with SQLAlchemy Core, which costs less than a model."""
    if request.body_too_large:
        body = f"<body over {MAX_BODY_BYTES} bytes, not kept>"
    else:
        limit = MAX_LOGGED_BODY_CHARS if response.authenticated else MAX_UNAUTHENTICATED_CHARS
        body = _storable(request.body.decode("utf-8", errors="replace")[:limit])
        if len(request.body) > limit:
            body += f"<{len(request.body)} bytes in all>"
    partner_id = response.partner_id or request.header("x-partner-id")
    virtual_account_no = (response.virtual_account_no or "").replace(" ", "")
    values = {
        "received_at": request.received_at,
        "service": SERVICE_NAMES[service],
        "path": _storable(request.relative_path[:255]),
        "partner_id": _storable(partner_id[:128]) or None,
        "external_id": _storable(request.header("x-external-id")[:64]) or None,
        "virtual_account_no": _storable(virtual_account_no[:40]) or None,
        "request_id": _storable((response.request_id or "")[:128]) or None,
        "headers": audit_headers(request.headers),
        "body": body,
        "http_status": response.status,
        "response_code": str(response.body.get("responseCode", ""))[:7],
        "response": response.logged_body,
    }
    session.execute(insert(SnapRequestLog.__table__), values)  # type: ignore[attr-defined]


_AUTHENTICATORS: dict[str, Authenticator] = {
    codes.SERVICE_TOKEN: _authenticate_token,
    codes.SERVICE_INQUIRY: _authenticate_va(codes.SERVICE_INQUIRY),
    codes.SERVICE_PAYMENT: _authenticate_va(codes.SERVICE_PAYMENT),
}
_HANDLERS: dict[str, Handler] = {
    codes.SERVICE_TOKEN: _handle_token,
    codes.SERVICE_INQUIRY: _handle_inquiry,
    codes.SERVICE_PAYMENT: _handle_payment,
}
