"""How Tagih authenticates its inquiry-status calls to the bank, checked by the simulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from billing.snap.connections import default_connection
from billing.snap.keys import generate_private_key_pem, public_key_pem
from billing.snap.signature import format_timestamp, hmac_signature, string_to_sign
from jobs.payment_status import (
    STATUS_PATH,
    TOKEN_PATH,
    AccessTokens,
    check_pending_payments,
    tagih_private_key,
)
from models import VirtualAccount
from models.db import session_scope
from models.types import utcnow
from tagih.banksim.ledger import Ledger
from tagih.banksim.server import create_simulator_app
from tagih.settings import get_settings, reset_settings_cache
from tests.bank.conftest import make_bills
from tests.fakes.servers import ServerThread


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that also records the path of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await super().handle_async_request(request)


def _bank_app(tmp_path: Path, **options: object) -> FastAPI:
    secret = get_settings().snap_client_secret.get_secret_value()
    return create_simulator_app(
        Ledger(tmp_path / "ledger.sqlite3"), client_secret=secret, **options
    )


@contextmanager
def _serve(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    """Serve the simulator and point the default bank connection at it."""
    with ServerThread(app) as running:
        monkeypatch.setenv("SNAP_BANK_BASE_URL", running.url + "/snap")
        reset_settings_cache()
        yield running


@pytest.fixture
def bank_app(tmp_path: Path) -> FastAPI:
    return _bank_app(tmp_path)


@pytest.fixture
def bank_api(
    bank_app: FastAPI, monkeypatch: pytest.MonkeyPatch, database: str
) -> Iterator[ServerThread]:
    with _serve(bank_app, monkeypatch) as running:
        yield running


def _inquired_bills(count: int) -> None:
    """Create open bills whose inquiry came half an hour ago, so the job asks about them."""
    bills = make_bills(count)
    with session_scope(write=True) as session:
        session.exec(
            update(VirtualAccount)
            .where(VirtualAccount.number.in_([bill.va_number for bill in bills]))
            .values(last_inquiry_at=utcnow() - dt.timedelta(minutes=30))
        )


async def test_token_requested_once(bank_api: ServerThread) -> None:
    _inquired_bills(2)
    transport = RecordingTransport()
    tokens = AccessTokens()

    first = await check_pending_payments(transport=transport, tokens=tokens)
    second = await check_pending_payments(transport=transport, tokens=tokens)

    assert first["not_paid"] == 2
    assert first["errors"] == 0
    assert second["not_paid"] == 2
    assert transport.paths.count("/snap" + TOKEN_PATH) == 1
    assert transport.paths.count("/snap" + STATUS_PATH) == 4


async def test_revoked_token_renewed(bank_app: FastAPI, bank_api: ServerThread) -> None:
    _inquired_bills(1)
    transport = RecordingTransport()
    tokens = AccessTokens()
    await check_pending_payments(transport=transport, tokens=tokens)
    bank_app.state.tokens.revoke_all()

    result = await check_pending_payments(transport=transport, tokens=tokens)

    assert result["not_paid"] == 1
    assert result["errors"] == 0
    assert transport.paths.count("/snap" + TOKEN_PATH) == 2


async def test_unknown_tagih_key_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    other_key = public_key_pem(generate_private_key_pem())
    app = _bank_app(tmp_path, tagih_public_key_pem=other_key)
    _inquired_bills(1)
    transport = RecordingTransport()

    with _serve(app, monkeypatch):
        result = await check_pending_payments(transport=transport, tokens=AccessTokens())

    assert result["errors"] == 1
    assert result["checked"] == 0
    assert transport.paths == ["/snap" + TOKEN_PATH]


async def _granted_token() -> str:
    connection = default_connection(get_settings())
    async with httpx.AsyncClient() as client:
        return await AccessTokens().get(client, connection, tagih_private_key(get_settings()))


def _signed_headers(token: str, body: bytes, *, secret: str | None = None) -> dict[str, str]:
    timestamp = format_timestamp(utcnow())
    message = string_to_sign("POST", "/snap" + STATUS_PATH, token, body, timestamp)
    key = secret or get_settings().snap_client_secret.get_secret_value()
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-TIMESTAMP": timestamp,
        "X-SIGNATURE": hmac_signature(key, message),
    }


STATUS_BODY = b'{"partnerServiceId":"   88080","customerNo":"1","virtualAccountNo":"   880801"}'


@pytest.mark.parametrize(
    ("case", "expected_code"),
    [
        ("valid", "4042612"),
        ("no token", "4012601"),
        ("unknown token", "4012601"),
        ("wrong secret", "4012600"),
        ("token left out of signature", "4012600"),
    ],
)
async def test_status_call_checks(bank_api: ServerThread, case: str, expected_code: str) -> None:
    token = await _granted_token()
    headers = _signed_headers(token, STATUS_BODY)
    if case == "no token":
        headers = _signed_headers("", STATUS_BODY)
        del headers["Authorization"]
    elif case == "unknown token":
        headers = _signed_headers("not-granted", STATUS_BODY)
    elif case == "wrong secret":
        headers = _signed_headers(token, STATUS_BODY, secret="another-secret")
    elif case == "token left out of signature":
        headers["X-SIGNATURE"] = _signed_headers("", STATUS_BODY)["X-SIGNATURE"]

    async with httpx.AsyncClient(base_url=bank_api.url) as client:
        response = await client.post("/snap" + STATUS_PATH, content=STATUS_BODY, headers=headers)

    assert response.json()["responseCode"] == expected_code
    assert response.status_code == int(expected_code[:3])


async def test_stale_timestamp_rejected(bank_api: ServerThread) -> None:
    token = await _granted_token()
    headers = _signed_headers(token, STATUS_BODY)
    stale = format_timestamp(utcnow() - dt.timedelta(minutes=10))
    message = string_to_sign("POST", "/snap" + STATUS_PATH, token, STATUS_BODY, stale)
    secret = get_settings().snap_client_secret.get_secret_value()
    headers.update({"X-TIMESTAMP": stale, "X-SIGNATURE": hmac_signature(secret, message)})

    async with httpx.AsyncClient(base_url=bank_api.url) as client:
        response = await client.post("/snap" + STATUS_PATH, content=STATUS_BODY, headers=headers)

    assert response.json()["responseCode"] == "4012600"
