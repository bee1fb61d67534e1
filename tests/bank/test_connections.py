"""Bank connections from the table: own credentials, path prefix, encoding, company codes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from billing.snap.keys import generate_private_key_pem, public_key_pem
from jobs.payment_status import AccessTokens, check_pending_payments
from models.types import utcnow
from tagih.banksim.client import BankSimulator
from tagih.cli.bank import bank_group
from tagih.settings import get_settings, reset_settings_cache
from tests.bank.conftest import COMPANY_CODE, ServerThread, make_bills


def _bank_key(path: Path) -> tuple[str, Path]:
    """Make a bank key pair; return the private PEM and the file with the public key."""
    private_pem = generate_private_key_pem()
    path.write_text(public_key_pem(private_pem))
    return private_pem, path


def _add(runner: CliRunner, key_file: Path, *extra: str) -> None:
    outcome = runner.invoke(
        bank_group,
        [
            "connection",
            "add",
            "bank-dua",
            "--client-id",
            "bank-dua-client",
            "--client-secret",
            "rahasia-bank-dua",
            "--public-key",
            str(key_file),
            "--path-prefix",
            "/bank2/api",
            "--encoding",
            "hex",
            *extra,
        ],
    )
    assert outcome.exit_code == 0, outcome.output


def test_second_bank_connection(server: ServerThread, tmp_path: Path) -> None:
    bill = make_bills(1)[0]
    private_pem, key_file = _bank_key(tmp_path / "bank2.pem")
    runner = CliRunner()
    _add(runner, key_file, "--company-code", COMPANY_CODE)
    listed = runner.invoke(bank_group, ["connection", "list"])
    assert "bank-dua\tbank-dua-client\t/bank2/api\t88080\tactive" in listed.output
    assert "rahasia" not in listed.output

    with BankSimulator(
        base_url=server.url,
        client_id="bank-dua-client",
        client_secret="rahasia-bank-dua",
        private_key_pem=private_pem,
        path_prefix="/bank2/api",
        signature_encoding="hex",
    ) as bank:
        assert bank.inquiry(bill.va_number, COMPANY_CODE).response_code == "2002400"
        # The default prefix does not take this bank's credentials.
        bank.path_prefix = "/snap"
        assert bank.inquiry(bill.va_number, COMPANY_CODE).response_code == "4012400"
        bank.path_prefix = "/bank2/api"
        bank.signature_encoding = "base64"
        assert bank.inquiry(bill.va_number, COMPANY_CODE).response_code == "4012400"
        bank.signature_encoding = "hex"
        assert bank.pay(bill.va_number, COMPANY_CODE, bill.amount).response_code == "2002500"

    disabled = runner.invoke(bank_group, ["connection", "disable", "bank-dua"])
    assert disabled.exit_code == 0
    with BankSimulator(
        base_url=server.url,
        client_id="bank-dua-client",
        client_secret="rahasia-bank-dua",
        private_key_pem=private_pem,
        path_prefix="/bank2/api",
    ) as bank:
        assert bank.request_token().response_code == "4017300"


def test_connection_limited_to_company_codes(server: ServerThread, tmp_path: Path) -> None:
    bill = make_bills(1)[0]
    private_pem, key_file = _bank_key(tmp_path / "bank2.pem")
    _add(CliRunner(), key_file, "--company-code", "99999")
    with BankSimulator(
        base_url=server.url,
        client_id="bank-dua-client",
        client_secret="rahasia-bank-dua",
        private_key_pem=private_pem,
        path_prefix="/bank2/api",
        signature_encoding="hex",
    ) as bank:
        assert bank.inquiry(bill.va_number, COMPANY_CODE).response_code == "4042412"


def _add_invalid(runner: CliRunner, key_file: Path, **changes: str) -> str:
    values = {
        "--client-id": "bank-tiga-client",
        "--client-secret": "rahasia-bank-tiga",
        "--public-key": str(key_file),
        **changes,
    }
    options = [item for pair in values.items() for item in pair]
    outcome = runner.invoke(bank_group, ["connection", "add", "bank-tiga", *options])
    assert outcome.exit_code == 2, outcome.output
    return outcome.output


def test_invalid_connection_values_rejected(database: str, tmp_path: Path) -> None:
    _, public = _bank_key(tmp_path / "bank3.pem")
    private = tmp_path / "bank3-private.pem"
    private.write_text(generate_private_key_pem())
    ed25519 = tmp_path / "ed25519.pem"
    ed25519.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    binary = tmp_path / "bank3.der"
    binary.write_bytes(bytes(range(256)))
    runner = CliRunner()

    default_id = get_settings().snap_client_id
    assert "is the default connection's" in _add_invalid(
        runner, public, **{"--client-id": default_id}
    )
    assert "characters long without spaces" in _add_invalid(
        runner, public, **{"--client-secret": "short"}
    )
    assert "company code \u0668\u0668\u0660\u0668\u0662 is invalid" in _add_invalid(
        runner, public, **{"--company-code": "\u0668\u0668\u0660\u0668\u0662"}
    )
    assert "--public-key contains a private key" in _add_invalid(runner, private)
    assert "--public-key is not an RSA key" in _add_invalid(runner, ed25519)
    assert "is not a PEM file" in _add_invalid(runner, binary)
    listed = runner.invoke(bank_group, ["connection", "list"])
    assert "bank-tiga" not in listed.output

    replaced = runner.invoke(
        bank_group,
        [
            "connection",
            "add",
            "bank-utama",
            "--client-id",
            default_id,
            "--client-secret",
            "rahasia-bank-utama",
            "--public-key",
            str(public),
            "--replace-default",
        ],
    )
    assert replaced.exit_code == 0, replaced.output


async def test_status_asked_at_inquiring_bank(
    server: ServerThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bill = make_bills(1)[0]
    private_pem, key_file = _bank_key(tmp_path / "bank2.pem")
    runner = CliRunner()
    _add(runner, key_file, "--base-url", "http://127.0.0.1:9/bank-dua")
    monkeypatch.setenv("SNAP_BANK_BASE_URL", "http://127.0.0.1:9/bank-utama")
    reset_settings_cache()
    with BankSimulator(
        base_url=server.url,
        client_id="bank-dua-client",
        client_secret="rahasia-bank-dua",
        private_key_pem=private_pem,
        path_prefix="/bank2/api",
        signature_encoding="hex",
    ) as bank:
        reply = bank.inquiry(bill.va_number, COMPANY_CODE, request_id="inq-dua-1")
        assert reply.response_code == "2002400"

    calls: list[tuple[str, dict]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append((str(request.url), json.loads(request.content or b"{}")))
        if request.url.path.endswith("/access-token/b2b"):
            body = {"responseCode": "2007300", "accessToken": "t-1", "expiresIn": "900"}
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"responseCode": "4042612"})

    result = await check_pending_payments(
        utcnow() + dt.timedelta(minutes=5),
        transport=httpx.MockTransport(answer),
        tokens=AccessTokens(),
    )
    assert result["checked"] == 1
    assert result["not_paid"] == 1
    status_calls = [(url, body) for url, body in calls if url.endswith("/transfer-va/status")]
    assert [url for url, _ in status_calls] == [
        "http://127.0.0.1:9/bank-dua/v1.0/transfer-va/status"
    ]
    assert status_calls[0][1]["inquiryRequestId"] == "inq-dua-1"


def test_connection_without_path_prefix(server: ServerThread, tmp_path: Path) -> None:
    bill = make_bills(1)[0]
    private_pem, key_file = _bank_key(tmp_path / "bank4.pem")
    added = CliRunner().invoke(
        bank_group,
        [
            "connection",
            "add",
            "bank-empat",
            "--client-id",
            "bank-empat-client",
            "--client-secret",
            "rahasia-bank-empat",
            "--public-key",
            str(key_file),
            "--path-prefix",
            "",
        ],
    )
    assert added.exit_code == 0, added.output
    with BankSimulator(
        base_url=server.url,
        client_id="bank-empat-client",
        client_secret="rahasia-bank-empat",
        private_key_pem=private_pem,
        path_prefix="",
    ) as bank:
        assert bank.inquiry(bill.va_number, COMPANY_CODE).response_code == "2002400"
    # The default connection's credentials still need the default prefix.
    with BankSimulator.from_settings(get_settings(), server.url) as default_bank:
        default_bank.path_prefix = ""
        assert default_bank.request_token().response_code == "4017300"
