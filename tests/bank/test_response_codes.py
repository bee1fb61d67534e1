"""Every SNAP response code of the access token, inquiry and payment services."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlmodel import func, select

from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
from models import (
    Invoice,
    InvoiceStatus,
    Payment,
    SnapAccessToken,
    SnapExternalId,
    SnapRequestLog,
    VAStatus,
    VirtualAccount,
)
from models.db import get_engine, session_scope
from models.types import utcnow
from tagih.banksim.client import BankSimulator, split_va
from tests.bank.conftest import COMPANY_CODE, make_bills

INQUIRY = "/snap/v1.0/transfer-va/inquiry"
PAYMENT = "/snap/v1.0/transfer-va/payment"
TOKEN = "/snap/v1.0/access-token/b2b"


def _code(reply: Any) -> str:
    return reply.body.get("responseCode", "")


def _payment_rows() -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(Payment)).one()


def _inquiry_body(va_number: str, **changes: Any) -> dict[str, Any]:
    return {**split_va(va_number, COMPANY_CODE), "inquiryRequestId": "inq-1", **changes}


def _post_raw(
    bank: BankSimulator, path: str, body: bytes, *, timestamp: str | None = None, **headers: str
) -> httpx.Response:
    """Send a body signed as the bank would, with headers overridden as given."""
    token = bank.token()
    stamp = timestamp or format_timestamp(utcnow())
    signature = hmac_signature(
        bank.client_secret, string_to_sign("POST", path, token, body, stamp)
    )
    sent = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-TIMESTAMP": stamp,
        "X-PARTNER-ID": bank.client_id,
        "X-EXTERNAL-ID": headers.pop("external_id", "ext-" + stamp + str(len(body))),
        "CHANNEL-ID": "95221",
        "X-SIGNATURE": signature,
    }
    sent.update({name.replace("_", "-").upper(): value for name, value in headers.items()})
    return bank.client.post(path, content=body, headers=sent)


# --- Access token ----------------------------------------------------------------------


def test_token_success(bank: BankSimulator) -> None:
    reply = bank.request_token()
    assert _code(reply) == "2007300"
    assert reply.body["tokenType"] == "Bearer"
    assert reply.body["expiresIn"] == "900"


def test_token_forged_signature(bank: BankSimulator) -> None:
    stamp = format_timestamp(utcnow())
    response = bank.client.post(
        TOKEN,
        content=b'{"grantType":"client_credentials"}',
        headers={"X-TIMESTAMP": stamp, "X-CLIENT-KEY": bank.client_id, "X-SIGNATURE": "AAAA"},
    )
    assert response.status_code == 401
    assert response.json()["responseCode"] == "4017300"


def test_token_unknown_client(bank: BankSimulator) -> None:
    bank.client_id = "someone-else"
    assert _code(bank.request_token()) == "4017300"


def test_token_stale_timestamp(bank: BankSimulator) -> None:
    from billing.snap.signature import sign_token_request

    stamp = format_timestamp(utcnow() - dt.timedelta(minutes=10))
    response = bank.client.post(
        TOKEN,
        content=b'{"grantType":"client_credentials"}',
        headers={
            "X-TIMESTAMP": stamp,
            "X-CLIENT-KEY": bank.client_id,
            "X-SIGNATURE": sign_token_request(bank.private_key_pem, bank.client_id, stamp),
        },
    )
    assert response.json()["responseCode"] == "4017300"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"{}", "4007302"), (b'{"grantType":"password"}', "4007301"), (b"not json", "4007301")],
)
def test_token_bad_body(bank: BankSimulator, body: bytes, code: str) -> None:
    from billing.snap.signature import sign_token_request

    stamp = format_timestamp(utcnow())
    response = bank.client.post(
        TOKEN,
        content=body,
        headers={
            "X-TIMESTAMP": stamp,
            "X-CLIENT-KEY": bank.client_id,
            "X-SIGNATURE": sign_token_request(bank.private_key_pem, bank.client_id, stamp),
        },
    )
    assert response.json()["responseCode"] == code


def test_token_expired(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    bank.token()
    with session_scope(write=True) as session:
        session.exec(update(SnapAccessToken).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
    reply = bank.inquiry(bill.va_number, COMPANY_CODE)
    assert _code(reply) == "4012401"
    assert reply.body["virtualAccountData"]["inquiryStatus"] == "01"


# --- Inquiry ---------------------------------------------------------------------------


def test_inquiry_codes(bank: BankSimulator) -> None:
    paid, voided, expired, other = make_bills(4)
    bank.pay(paid.va_number, COMPANY_CODE, paid.amount)
    with session_scope(write=True) as session:
        invoice = session.get(Invoice, voided.invoice_id)
        invoice.status = InvoiceStatus.VOID
        session.add(invoice)
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number == voided.va_number)
            .values(status=VAStatus.CLOSED)
        )
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number == expired.va_number)
            .values(expires_at=utcnow() - dt.timedelta(days=1))
        )

    assert _code(bank.inquiry(other.va_number, COMPANY_CODE)) == "2002400"
    assert _code(bank.inquiry(paid.va_number, COMPANY_CODE)) == "4042414"
    assert _code(bank.inquiry(voided.va_number, COMPANY_CODE)) == "4042419"
    assert _code(bank.inquiry(expired.va_number, COMPANY_CODE)) == "4042419"
    assert _code(bank.inquiry(COMPANY_CODE + "99999999999", COMPANY_CODE)) == "4042412"

    wrong_amount = _inquiry_body(other.va_number, amount={"value": "1.00", "currency": "IDR"})
    assert _code(bank.signed_post(INQUIRY, wrong_amount)) == "4042413"
    missing = _inquiry_body(other.va_number)
    del missing["inquiryRequestId"]
    assert _code(bank.signed_post(INQUIRY, missing)) == "4002402"
    assert _code(bank.signed_post(INQUIRY, _inquiry_body(other.va_number, customerNo=[1]))) == (
        "4002401"
    )


def test_inquiry_id_reused_for_other_va(bank: BankSimulator) -> None:
    first, second = make_bills(2)
    assert _code(bank.inquiry(first.va_number, COMPANY_CODE, request_id="same")) == "2002400"
    assert _code(bank.inquiry(first.va_number, COMPANY_CODE, request_id="same")) == "2002400"
    assert _code(bank.inquiry(second.va_number, COMPANY_CODE, request_id="same")) == "4042418"


def test_payment_reusing_inquiry_id_of_other_va(bank: BankSimulator) -> None:
    first, second = make_bills(2)
    assert _code(bank.inquiry(first.va_number, COMPANY_CODE, request_id="inq-1")) == "2002400"
    # The payment that follows an inquiry carries its id, so another VA is inconsistent.
    assert _code(bank.pay(second.va_number, COMPANY_CODE, second.amount, request_id="inq-1")) == (
        "4042518"
    )
    assert _payment_rows() == 0
    assert _code(bank.pay(first.va_number, COMPANY_CODE, first.amount, request_id="inq-1")) == (
        "2002500"
    )
    assert _payment_rows() == 1


def test_inquiry_reused_external_id(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    body = _inquiry_body(bill.va_number)
    assert _code(bank.signed_post(INQUIRY, body, external_id="e-1")) == "2002400"
    reply = bank.signed_post(INQUIRY, body, external_id="e-1")
    assert _code(reply) == "4092400"
    assert reply.status == 409


def test_inquiry_forged_signature(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    body = json.dumps(_inquiry_body(bill.va_number)).encode()
    response = _post_raw(bank, INQUIRY, body, x_signature="Zm9yZ2Vk")
    assert response.status_code == 401
    assert response.json()["responseCode"] == "4012400"


def test_numeric_customer_no(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    body = _inquiry_body(bill.va_number)
    body["customerNo"] = int(body["customerNo"])
    assert _code(bank.signed_post(INQUIRY, body)) == "2002400"


def test_zero_padded_company_code(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    body = _inquiry_body(bill.va_number)
    body["partnerServiceId"] = "000" + COMPANY_CODE
    body["virtualAccountNo"] = "000" + bill.va_number
    assert _code(bank.signed_post(INQUIRY, body)) == "2002400"


# --- Payment ---------------------------------------------------------------------------


def test_payment_codes(bank: BankSimulator) -> None:
    open_bill, voided, other = make_bills(3)
    with session_scope(write=True) as session:
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number == voided.va_number)
            .values(status=VAStatus.CLOSED)
        )

    wrong = bank.pay(open_bill.va_number, COMPANY_CODE, open_bill.amount - 1)
    assert _code(wrong) == "4042513"
    assert wrong.body["virtualAccountData"]["paymentFlagStatus"] == "01"
    assert wrong.body["virtualAccountData"]["paymentFlagReason"]["english"]
    assert _code(bank.pay(voided.va_number, COMPANY_CODE, voided.amount)) == "4042519"
    assert _code(bank.pay(COMPANY_CODE + "77777777777", COMPANY_CODE, 1)) == "4042512"
    assert _payment_rows() == 0

    assert _code(
        bank.pay(open_bill.va_number, COMPANY_CODE, open_bill.amount, request_id="p1")
    ) == ("2002500")
    assert _code(
        bank.pay(open_bill.va_number, COMPANY_CODE, open_bill.amount, request_id="p2")
    ) == ("4042514")
    # The same request id with other data: another VA, or another amount.
    assert _code(bank.pay(other.va_number, COMPANY_CODE, other.amount, request_id="p1")) == (
        "4042518"
    )
    assert _payment_rows() == 1


def test_payment_field_errors(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    cases = [
        ({"paidAmount": None}, "4002502"),
        ({"paymentRequestId": ""}, "4002502"),
        ({"paidAmount": {"value": "350000", "currency": "IDR"}}, "4002501"),
        ({"paidAmount": {"value": "350000.50", "currency": "IDR"}}, "4002501"),
        ({"paidAmount": {"value": "350000.00", "currency": "USD"}}, "4002501"),
        ({"paidAmount": {"value": 350000, "currency": "IDR"}}, "4002501"),
        ({"paidAmount": "350000.00"}, "4002501"),
        ({"paymentRequestId": 12}, "4002501"),
        ({"partnerServiceId": "123456789"}, "4002501"),
        ({"virtualAccountNo": "99" + bill.va_number}, "4002501"),
        ({"trxDateTime": "yesterday"}, "4002501"),
        ({"flagAdvise": "X"}, "4002501"),
    ]
    for changes, expected in cases:
        reply = bank.send_payment({**payload, **changes})
        assert _code(reply) == expected, changes
        assert "virtualAccountData" in reply.body
    assert _payment_rows() == 0


def test_payment_date_formats(bank: BankSimulator) -> None:
    bills = make_bills(3)
    for bill, stamp in zip(
        bills,
        ["2026-12-31T23:59:59+07:00", "2026-12-31T23:59:59.123+07:00", "20261231T235959Z"],
        strict=True,
    ):
        payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
        payload["trxDateTime"] = stamp
        assert _code(bank.send_payment(payload)) == "2002500", stamp


def test_identical_retry_returns_original(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount, request_id="r-9")
    first = bank.send_payment(payload)
    assert _code(first) == "2002500"
    retry = bank.send_payment({**payload, "flagAdvise": "Y"})
    assert retry.status == 200
    assert retry.body == first.body
    assert _payment_rows() == 1


def test_payment_reused_external_id(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount - 5)
    assert _code(bank.signed_post(PAYMENT, payload, external_id="x-1")) == "4042513"
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    assert _code(bank.signed_post(PAYMENT, payload, external_id="x-1")) == "4092500"
    assert _payment_rows() == 0


def test_stale_timestamp_rejected(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    body = json.dumps(bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)).encode()
    stale = format_timestamp(utcnow() - dt.timedelta(minutes=6))
    response = _post_raw(bank, PAYMENT, body, timestamp=stale)
    assert response.json()["responseCode"] == "4012500"
    assert _payment_rows() == 0


def test_signature_over_received_bytes(bank: BankSimulator) -> None:
    """A body with spaces and escapes verifies, because the bytes as sent are minified."""
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload["additionalInfo"] = {"note": 'Bayar  SPP \u00e9 "x"'}
    body = json.dumps(payload, indent=2, ensure_ascii=True).encode()
    response = _post_raw(bank, PAYMENT, body)
    assert response.json()["responseCode"] == "2002500"


def test_general_error_frees_external_id(bank: BankSimulator, database: str) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    bank.token()
    with get_engine(database).begin() as connection:
        connection.execute(text("ALTER TABLE snap_request_log RENAME TO snap_request_log_away"))
    try:
        reply = bank.signed_post(PAYMENT, payload, external_id="retry-me")
    finally:
        with get_engine(database).begin() as connection:
            connection.execute(
                text("ALTER TABLE snap_request_log_away RENAME TO snap_request_log")
            )
    assert reply.status == 500
    assert _code(reply) == "5002500"
    assert _payment_rows() == 0
    retry = bank.signed_post(PAYMENT, payload, external_id="retry-me")
    assert _code(retry) == "2002500"
    assert _payment_rows() == 1


def test_every_request_audited_without_secrets(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    token = bank.token()
    bank.inquiry(bill.va_number, COMPANY_CODE)
    bank.pay(bill.va_number, COMPANY_CODE, bill.amount - 1)
    bank.pay(bill.va_number, COMPANY_CODE, bill.amount)
    with session_scope() as session:
        rows = session.exec(select(SnapRequestLog).order_by(SnapRequestLog.id)).all()
        external_ids = session.exec(select(SnapExternalId)).all()
    assert [row.response_code for row in rows] == ["2007300", "2002400", "4042513", "2002500"]
    assert len(external_ids) == 3
    dumped = json.dumps([[row.headers, row.body, row.response] for row in rows])
    assert token not in dumped
    assert bank.client_secret not in dumped
    assert "accessToken" not in dumped


def test_paid_va_past_expiry_still_paid(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    assert _code(bank.pay(bill.va_number, COMPANY_CODE, bill.amount)) == "2002500"
    with session_scope(write=True) as session:
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number == bill.va_number)
            .values(expires_at=utcnow() - dt.timedelta(days=1))
        )
    assert _code(bank.pay(bill.va_number, COMPANY_CODE, bill.amount)) == "4042514"
    assert _code(bank.inquiry(bill.va_number, COMPANY_CODE)) == "4042414"


@pytest.mark.parametrize(
    ("age", "bank_time_kept"),
    [
        (dt.timedelta(hours=2), True),
        (dt.timedelta(days=30), False),
        (-dt.timedelta(hours=1), False),
    ],
)
def test_payment_time_from_trx_date_time(
    bank: BankSimulator, age: dt.timedelta, bank_time_kept: bool
) -> None:
    bill = make_bills(1)[0]
    paid_at = (utcnow() - age).replace(microsecond=0)
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount, paid_at=paid_at)
    before = utcnow()
    assert _code(bank.send_payment(payload)) == "2002500"
    with session_scope() as session:
        stored = session.exec(select(Payment.paid_at)).one()
    if bank_time_kept:
        assert stored == paid_at
    else:
        # Implausible bank times are replaced by the time Tagih received the payment.
        assert before - dt.timedelta(seconds=1) <= stored <= utcnow()
