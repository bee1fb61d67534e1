"""Parsing SNAP inquiry and payment bodies into checked values, and the amount format."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from billing.snap.codes import Case
from billing.snap.signature import parse_timestamp

# ASCII digits only: \d would also match other scripts' digits, which int() converts.
_AMOUNT = re.compile(r"([0-9]{1,15})\.([0-9]{2})")
_DIGITS = re.compile(r"[0-9]{1,20}")
MAX_REQUEST_ID_LENGTH = 128
MAX_TEXT_LENGTH = 128


class BodyError(Exception):
    """A body field is missing or malformed; `case` is MISSING_FIELD or INVALID_FIELD."""

    def __init__(self, case: Case, field: str):
        super().__init__(f"{case.value}: {field}")
        self.case = case
        self.field = field


@dataclass(frozen=True)
class Identity:
    """The VA a request is about, both as received (echoed back) and normalised."""

    partner_service_id: str  # as received
    customer_no: str  # as received, a number turned into its decimal text
    virtual_account_no: str  # as received

    def echo(self) -> dict[str, str]:
        return {
            "partnerServiceId": self.partner_service_id,
            "customerNo": self.customer_no,
            "virtualAccountNo": self.virtual_account_no,
        }


@dataclass(frozen=True)
class InquiryRequest:
    identity: Identity
    inquiry_request_id: str
    amount: int | None  # rupiah, when the bank sends the amount the payer typed


@dataclass(frozen=True)
class PaymentRequest:
    identity: Identity
    payment_request_id: str
    paid_amount: int  # rupiah
    currency: str
    paid_amount_echo: dict[str, str]
    trx_id: str | None
    reference_no: str | None
    channel_code: str | None
    trx_date_time: dt.datetime | None
    flag_advise: str | None

    def fingerprint(self) -> dict[str, Any]:
        """The data that must match for a repeated paymentRequestId to count as a retry.

        flagAdvise and trxDateTime are left out: a bank's retry may mark or re-time itself.
        """
        return {
            "partnerServiceId": self.identity.partner_service_id.strip().lstrip("0"),
            "customerNo": self.identity.customer_no.lstrip("0"),
            "paidAmount": self.paid_amount,
            "currency": self.currency,
            "trxId": self.trx_id,
            "referenceNo": self.reference_no,
        }


def format_amount(rupiah: int) -> dict[str, str]:
    """Return a SNAP amount object: {"value": "350000.00", "currency": "IDR"}."""
    return {"value": f"{rupiah}.00", "currency": "IDR"}


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Parse a body that must be a JSON object whose strings are all valid Unicode.

    JSON may escape half of a surrogate pair on its own ("\\ud800"), which Python accepts
    but no database or UTF-8 encoder does, so such a body is invalid as a whole.
    """
    try:
        data = json.loads(body)
        if b"\\u" in body:
            _check_encodable(data)
    except (ValueError, RecursionError) as error:
        raise BodyError(Case.INVALID_FIELD, "body") from error
    if not isinstance(data, dict):
        raise BodyError(Case.INVALID_FIELD, "body")
    return data


def _check_encodable(value: Any) -> None:
    """Raise UnicodeEncodeError (a ValueError) when a parsed JSON value has a lone surrogate."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _check_encodable(item)
    elif isinstance(value, list):
        for item in value:
            _check_encodable(item)


def echo_identity(data: dict[str, Any]) -> dict[str, str]:
    """Return the identity fields of a body that may be malformed, for a rejection's echo."""
    echoed = {}
    for name in ("partnerServiceId", "customerNo", "virtualAccountNo"):
        value = data.get(name)
        if isinstance(value, str) and len(value) <= 40:
            echoed[name] = value
        elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
            echoed[name] = str(value)
    return echoed


def _require(data: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        if data.get(name) in (None, ""):
            raise BodyError(Case.MISSING_FIELD, name)


def _text(data: dict[str, Any], name: str, max_length: int = MAX_TEXT_LENGTH) -> str | None:
    """Return an optional text field; NUL characters are invalid (PostgreSQL rejects them)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise BodyError(Case.INVALID_FIELD, name)
    return value


def parse_identity(data: dict[str, Any]) -> Identity:
    """Check the partnerServiceId / customerNo / virtualAccountNo triple.

    partnerServiceId is at most 8 characters, padded with spaces or zeros. customerNo is up
    to 20 digits, as text or a JSON number. virtualAccountNo is the two joined.
    """
    partner_service_id = data["partnerServiceId"]
    if not isinstance(partner_service_id, str) or len(partner_service_id) > 8:
        raise BodyError(Case.INVALID_FIELD, "partnerServiceId")
    if not partner_service_id.strip().isdigit() or not partner_service_id.isascii():
        raise BodyError(Case.INVALID_FIELD, "partnerServiceId")

    customer_no = data["customerNo"]
    if isinstance(customer_no, int) and not isinstance(customer_no, bool) and customer_no >= 0:
        customer_no = str(customer_no)
    if not isinstance(customer_no, str) or not _DIGITS.fullmatch(customer_no.strip()):
        raise BodyError(Case.INVALID_FIELD, "customerNo")
    customer_no = customer_no.strip()

    virtual_account_no = data["virtualAccountNo"]
    if not isinstance(virtual_account_no, str) or len(virtual_account_no) > 28:
        raise BodyError(Case.INVALID_FIELD, "virtualAccountNo")
    joined = virtual_account_no.strip()
    if not joined.isdigit() or not joined.isascii():
        raise BodyError(Case.INVALID_FIELD, "virtualAccountNo")
    # The VA number is the padded company code and the customerNo. A customerNo sent as a
    # JSON number lost its leading zeros, so zeros between the two parts are not compared.
    company = partner_service_id.strip().lstrip("0")
    unpadded = joined.lstrip("0")
    if not unpadded.startswith(company):
        raise BodyError(Case.INVALID_FIELD, "virtualAccountNo")
    if unpadded[len(company) :].lstrip("0") != customer_no.lstrip("0"):
        raise BodyError(Case.INVALID_FIELD, "virtualAccountNo")
    return Identity(partner_service_id, customer_no, virtual_account_no)


def parse_inquiry(data: dict[str, Any]) -> InquiryRequest:
    _require(data, ("partnerServiceId", "customerNo", "virtualAccountNo", "inquiryRequestId"))
    identity = parse_identity(data)
    request_id = _text(data, "inquiryRequestId", MAX_REQUEST_ID_LENGTH)
    assert request_id is not None
    for name in ("trxDateInit",):
        value = _text(data, name)
        if value is not None and parse_timestamp(value) is None:
            raise BodyError(Case.INVALID_FIELD, name)
    _text(data, "channelCode")
    _text(data, "language", 8)
    amount = None
    if data.get("amount") is not None:
        amount, _currency = parse_amount(data, "amount")
    return InquiryRequest(identity, request_id, amount)


def parse_amount(data: dict[str, Any], name: str) -> tuple[int, str]:
    """Return (rupiah, currency) from a SNAP amount object; rupiah must end in ".00"."""
    value = data.get(name)
    if not isinstance(value, dict):
        raise BodyError(Case.INVALID_FIELD, name)
    if value.get("value") in (None, "") or value.get("currency") in (None, ""):
        raise BodyError(Case.MISSING_FIELD, name)
    text, currency = value["value"], value["currency"]
    if not isinstance(text, str) or not isinstance(currency, str):
        raise BodyError(Case.INVALID_FIELD, name)
    match = _AMOUNT.fullmatch(text)
    if match is None or match[2] != "00" or currency != "IDR":
        raise BodyError(Case.INVALID_FIELD, name)
    return int(match[1]), currency


def parse_payment(data: dict[str, Any]) -> PaymentRequest:
    _require(
        data,
        ("partnerServiceId", "customerNo", "virtualAccountNo", "paymentRequestId", "paidAmount"),
    )
    identity = parse_identity(data)
    request_id = _text(data, "paymentRequestId", MAX_REQUEST_ID_LENGTH)
    assert request_id is not None
    paid, currency = parse_amount(data, "paidAmount")
    if data.get("totalAmount") is not None:
        parse_amount(data, "totalAmount")
    trx_date_time = None
    trx_date_text = _text(data, "trxDateTime")
    if trx_date_text is not None:
        trx_date_time = parse_timestamp(trx_date_text)
        if trx_date_time is None:
            raise BodyError(Case.INVALID_FIELD, "trxDateTime")
    flag_advise = _text(data, "flagAdvise", 1)
    if flag_advise not in (None, "Y", "N"):
        raise BodyError(Case.INVALID_FIELD, "flagAdvise")
    return PaymentRequest(
        identity=identity,
        payment_request_id=request_id,
        paid_amount=paid,
        currency=currency,
        paid_amount_echo={"value": data["paidAmount"]["value"], "currency": currency},
        trx_id=_text(data, "trxId", 64),
        reference_no=_text(data, "referenceNo", 64),
        channel_code=_text(data, "channelCode", 32),
        trx_date_time=trx_date_time,
        flag_advise=flag_advise,
    )
