"""Forged, stale, replayed and malformed requests: never a 500, never a change of state."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from billing.snap.service import AuditBudget
from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
from models import Payment, SnapRequestLog, VAStatus, VirtualAccount
from models.db import dispose_engines, session_scope
from models.types import utcnow
from tagih.banksim.client import BankSimulator
from tagih.settings import reset_settings_cache
from tests.bank.conftest import COMPANY_CODE, ServerThread, make_bills

PAYMENT = "/snap/v1.0/transfer-va/payment"
INQUIRY = "/snap/v1.0/transfer-va/inquiry"


def _state() -> tuple[int, list[str]]:
    with session_scope() as session:
        payments = session.exec(select(func.count()).select_from(Payment)).one()
        statuses = session.exec(select(VirtualAccount.status).order_by(VirtualAccount.id)).all()
    return payments, list(statuses)


def _signed_headers(bank: BankSimulator, path: str, body: bytes, external_id: str) -> dict:
    token = bank.token()
    stamp = format_timestamp(utcnow())
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-TIMESTAMP": stamp,
        "X-PARTNER-ID": bank.client_id,
        "X-EXTERNAL-ID": external_id,
        "CHANNEL-ID": "95221",
        "X-SIGNATURE": hmac_signature(
            bank.client_secret, string_to_sign("POST", path, token, body, stamp)
        ),
    }


MALFORMED_BODIES = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b'"text"',
    b"{" * 5000 + b"}" * 5000,
    b'{"partnerServiceId": {"$ne": 1}}',
    b'{"partnerServiceId": "   88080", "customerNo": 1e400, "virtualAccountNo": "x"}',
    b'{"partnerServiceId": "\x00\x00", "customerNo": "1", "virtualAccountNo": "1"}',
    b'{"partnerServiceId": true, "customerNo": false, "virtualAccountNo": null}',
    b'{"paidAmount": {"value": ["1"], "currency": {}}, "paymentRequestId": []}',
    '{"customerNo": "\u0661\u0662\u0663"}'.encode(),
    b"\xff\xfe\xfd",
]


@pytest.mark.parametrize("path", [PAYMENT, INQUIRY])
def test_malformed_bodies(bank: BankSimulator, path: str) -> None:
    make_bills(2)
    before = _state()
    for index, body in enumerate(MALFORMED_BODIES):
        headers = _signed_headers(bank, path, body, f"bad-{index}")
        response = bank.client.post(path, content=body, headers=headers)
        assert response.status_code == 400, body[:40]
        assert response.json()["responseCode"].startswith("400")
    assert _state() == before


def test_nul_characters_rejected_and_audited(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload["paymentRequestId"] = "pay\x00ment"
    body = json.dumps(payload).encode()
    signed = bank.client.post(
        PAYMENT, content=body, headers=_signed_headers(bank, PAYMENT, body, "nul-id")
    )
    assert signed.json()["responseCode"] == "4002501"

    # Rejected before the body is parsed, so the raw identity is echoed and audited.
    echoed = {"partnerServiceId": "\x00", "customerNo": "1", "virtualAccountNo": "\x00\x00"}
    unsigned = bank.client.post(PAYMENT, json=echoed)
    assert unsigned.json()["responseCode"] == "4012501"
    assert _state()[0] == 0
    with session_scope() as session:
        logged = session.exec(
            select(SnapRequestLog.virtual_account_no).order_by(SnapRequestLog.id)
        ).all()
    assert logged[-1] == "\ufffd\ufffd"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("paymentRequestId", "abc\ud800"),
        ("referenceNo", "r\udfff"),
        ("channelCode", "\udc00"),
    ],
)
def test_lone_surrogate_rejected(bank: BankSimulator, field: str, value: str) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload[field] = value
    # json.dumps escapes the lone surrogate as \udXXX, as a bank's JSON encoder may.
    body = json.dumps(payload).encode()
    response = bank.client.post(
        PAYMENT, content=body, headers=_signed_headers(bank, PAYMENT, body, f"lone-{field}")
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["responseCode"] == "4002501"
    assert _state()[0] == 0


def test_non_ascii_digits_rejected(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    arabic_indic = str(bill.amount).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload["paidAmount"]["value"] = f"{arabic_indic}.00"
    body = json.dumps(payload, ensure_ascii=False).encode()
    response = bank.client.post(
        PAYMENT, content=body, headers=_signed_headers(bank, PAYMENT, body, "arabic-digits")
    )
    assert response.json()["responseCode"] == "4002501"
    assert _state()[0] == 0


def test_huge_body_rejected(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload["additionalInfo"] = {"padding": "x" * 200_000}
    body = json.dumps(payload).encode()
    response = bank.client.post(
        PAYMENT, content=body, headers=_signed_headers(bank, PAYMENT, body, "huge")
    )
    assert response.status_code == 400
    assert response.json()["responseCode"] == "4002501"
    assert _state()[0] == 0


def test_forged_and_replayed(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    body = json.dumps(payload).encode()
    headers = _signed_headers(bank, PAYMENT, body, "once")
    before = _state()

    tampered = body.replace(b"350000.00", b"350001.00")
    forged = [
        (tampered, headers),
        (body, {**headers, "X-SIGNATURE": "A" * 88}),
        (body, {**headers, "X-SIGNATURE": "%%%"}),
        (body, {**headers, "Authorization": "Bearer nope"}),
        (body, {**headers, "Authorization": ""}),
        (body, {**headers, "X-PARTNER-ID": "other"}),
        (body, {**headers, "X-TIMESTAMP": "2020-01-01T00:00:00+07:00"}),
        (body, {**headers, "X-TIMESTAMP": "not a time"}),
        (body, {key: value for key, value in headers.items() if key != "X-SIGNATURE"}),
    ]
    for content, sent in forged:
        response = bank.client.post(PAYMENT, content=content, headers=sent)
        assert response.status_code == 401
        assert response.json()["responseCode"] in ("4012500", "4012501")
    assert _state() == before

    first = bank.client.post(PAYMENT, content=body, headers=headers)
    assert first.json()["responseCode"] == "2002500"
    replayed = bank.client.post(PAYMENT, content=body, headers=headers)
    assert replayed.json()["responseCode"] == "4092500"
    payments, statuses = _state()
    assert payments == 1
    assert statuses == [VAStatus.PAID]


def test_audit_budget_refills_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    budget = AuditBudget(refill_per_second=1.0, burst=3.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    assert "1 unauthenticated SNAP requests were not stored" in caplog.text
    assert budget.take() is False
    now[0] += 1.0
    assert budget.take() is True
    assert budget.take() is False
    # The count is logged at most once a minute.
    assert caplog.text.count("were not stored") == 1
    now[0] += 60.0
    caplog.clear()
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    assert "3 unauthenticated SNAP requests were not stored" in caplog.text

    # Skips after the last warning are logged by report() once a minute has passed.
    caplog.clear()
    assert budget.take() is False
    budget.report()
    assert caplog.text == ""
    now[0] += 60.0
    budget.report()
    assert "1 unauthenticated SNAP requests were not stored" in caplog.text


def test_unauthenticated_flood_audited_within_budget(bank: BankSimulator, app: FastAPI) -> None:
    app.state.snap_config.unauthenticated_audit.burst = 5.0
    app.state.snap_config.unauthenticated_audit.refill_per_second = 0.001
    bill = make_bills(1)[0]
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)
    payload["additionalInfo"] = {"padding": "x" * 60_000}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer junk"}
    for index in range(20):
        response = bank.client.post(
            PAYMENT, content=body, headers={**headers, "X-EXTERNAL-ID": f"flood-{index}"}
        )
        assert response.json()["responseCode"] == "4012501"
    with session_scope() as session:
        rows = session.exec(select(SnapRequestLog).order_by(SnapRequestLog.id)).all()
    assert len(rows) == 5
    assert all(len(row.body) < 1100 for row in rows)
    assert rows[0].body.endswith(f"<{len(body)} bytes in all>")

    # An authenticated request is audited whole, whatever the budget.
    accepted = bank.pay(bill.va_number, COMPANY_CODE, bill.amount)
    assert accepted.response_code == "2002500"
    with session_scope() as session:
        last = session.exec(select(SnapRequestLog).order_by(SnapRequestLog.id.desc())).first()
    assert last.response_code == "2002500"
    assert "<" not in last.body


def test_locked_database_fails_fast_unaudited(
    bank: BankSimulator,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not database.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_SECONDS", "1")
    reset_settings_cache()
    dispose_engines()
    bill = make_bills(1)[0]
    bank.token()
    payload = bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)

    blocker = sqlite3.connect(make_url(database).database)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        locked = bank.signed_post(PAYMENT, payload, external_id="locked-1")
    finally:
        blocker.rollback()
        blocker.close()
    assert locked.response_code == "5002500"
    # The audit row is not tried after the lock timed out, so the bank waits only once.
    assert "request not audited: the database stayed locked" in caplog.text
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(SnapRequestLog)).one() == 1

    retried = bank.signed_post(PAYMENT, payload, external_id="locked-1")
    assert retried.response_code == "2002500"
    assert _state()[0] == 1


def test_other_prefix_rejected(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    path = "/elsewhere/v1.0/transfer-va/payment"
    body = json.dumps(bank.payment_payload(bill.va_number, COMPANY_CODE, bill.amount)).encode()
    response = bank.client.post(path, content=body, headers=_signed_headers(bank, path, body, "p"))
    assert response.json()["responseCode"] == "4012500"
    assert _state()[0] == 0


def _fuzz_operation(
    operation: Any, server: ServerThread, bank: BankSimulator, va_number: str
) -> None:
    identity = {
        "partnerServiceId": COMPANY_CODE.rjust(8),
        "customerNo": va_number[len(COMPANY_CODE) :],
        "virtualAccountNo": COMPANY_CODE.rjust(8) + va_number[len(COMPANY_CODE) :],
    }
    counter = iter(range(10**6))

    @given(case=operation.as_strategy(), real_va=st.booleans())
    @hypothesis_settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any, real_va: bool) -> None:
        unsigned = httpx.post(
            server.url + case.formatted_path,
            json=case.body if isinstance(case.body, dict | list | str | int) else None,
            headers={k: str(v) for k, v in (case.headers or {}).items() if k.isascii()},
            timeout=10,
        )
        assert unsigned.status_code != 500
        if isinstance(case.body, dict) and real_va and "grantType" not in case.body:
            case.body.update(identity)
        body = json.dumps(case.body).encode()
        path = case.formatted_path
        headers = _signed_headers(bank, path, body, f"fuzz-{next(counter)}")
        signed = bank.client.post(path, content=body, headers=headers)
        assert signed.status_code != 500, signed.text

    run()


def test_schema_fuzz_no_server_error(
    app: FastAPI, server: ServerThread, bank: BankSimulator
) -> None:
    bill = make_bills(1)[0]
    schema = schemathesis.openapi.from_dict(app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    snap = [op for op in operations if op.path.startswith("/snap/")]
    assert len(snap) == 3
    for operation in snap:
        _fuzz_operation(operation, server, bank, bill.va_number)
