"""`tagih bank`: the bank simulator, and the bank connections that Tagih accepts."""

from __future__ import annotations

import sys

import click
import httpx
from sqlmodel import select

from billing.orgs import COMPANY_CODE_PATTERN
from billing.payments import company_code_of_va
from billing.snap.connections import SIGNATURE_ENCODINGS, normalise_prefix
from locales import Msg, format_rupiah, tr
from models import BankConnection
from models.db import session_scope
from tagih.banksim.client import BankReply, BankSimulator, new_request_id
from tagih.banksim.ledger import DEFAULT_LEDGER, Ledger
from tagih.cli.common import cli_language, print_json
from tagih.settings import (
    MIN_CLIENT_SECRET_LENGTH,
    SettingsError,
    check_rsa_key,
    get_settings,
)

_URL_HELP = "Tagih's base URL (default PUBLIC_BASE_URL)."
_CODE_HELP = "The VA's company code; looked up in the local database when left out."


@click.group("bank")
def bank_group() -> None:
    """Play the bank against Tagih, and manage bank connections."""


def _company_code(va_number: str, given: str | None) -> str:
    if given:
        return given
    with session_scope() as session:
        found = company_code_of_va(session, va_number)
    if found is None:
        click.echo(
            tr(
                cli_language(),
                "VA {va} is not in the local database; give its company code with --company-code.",
                va=va_number,
            ),
            err=True,
        )
        sys.exit(2)
    return found


def _simulator(url: str | None) -> BankSimulator:
    return BankSimulator.from_settings(get_settings(), base_url=url)


def _show(reply: BankReply, as_json: bool) -> None:
    if as_json:
        print_json({"status": reply.status, "body": reply.body})
    else:
        language = cli_language()
        data = reply.body.get("virtualAccountData") or {}
        reason = data.get("inquiryReason") or data.get("paymentFlagReason") or {}
        text = reason.get("indonesia" if language == "id" else "english", "")
        code = reply.response_code or str(reply.status)
        click.echo(f"{code} {reply.body.get('responseMessage', '')}")
        if text:
            click.echo(text)
        if data.get("virtualAccountName"):
            click.echo(tr(language, "Name: {name}", name=data["virtualAccountName"]))
        amount = (data.get("totalAmount") or data.get("paidAmount") or {}).get("value")
        if isinstance(amount, str) and amount.endswith(".00") and amount[:-3].isdigit():
            click.echo(tr(language, "Amount: {amount}", amount=format_rupiah(int(amount[:-3]))))
    sys.exit(0 if reply.accepted else 1)


def _unreachable(url: str, error: Exception) -> None:
    click.echo(
        tr(
            cli_language(),
            "Could not reach Tagih at {url}: {error}. Start it with `tagih serve`.",
            url=url,
            error=type(error).__name__,
        ),
        err=True,
    )
    sys.exit(3)


@bank_group.command("inquiry")
@click.argument("va")
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--company-code", default=None, help=_CODE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print Tagih's response as JSON.")
def inquiry(va: str, url: str | None, company_code: str | None, as_json: bool) -> None:
    """Ask Tagih for the bill behind VA, as a bank does when a payer types the number."""
    code = _company_code(va, company_code)
    with _simulator(url) as bank:
        try:
            reply = bank.inquiry(va, code)
        except (httpx.HTTPError, RuntimeError) as error:
            _unreachable(bank.base_url, error)
            return
    _show(reply, as_json)


@bank_group.command("pay")
@click.argument("va")
@click.argument("amount", type=click.IntRange(min=0))
@click.option("--url", default=None, help=_URL_HELP)
@click.option("--request-id", default=None, help="paymentRequestId to send (default: random).")
@click.option("--reference", default=None, help="Bank reference number (default: derived).")
@click.option("--company-code", default=None, help=_CODE_HELP)
@click.option(
    "--lost-notice",
    is_flag=True,
    help="Debit the payer but never notify Tagih, as when the bank's notice is lost.",
)
@click.option("--json", "as_json", is_flag=True, help="Print Tagih's response as JSON.")
def pay(
    va: str,
    amount: int,
    url: str | None,
    request_id: str | None,
    reference: str | None,
    company_code: str | None,
    lost_notice: bool,
    as_json: bool,
) -> None:
    """Pay AMOUNT rupiah into VA: a signed SNAP payment notice, as the bank sends it."""
    code = _company_code(va, company_code)
    ledger = Ledger(DEFAULT_LEDGER)
    with _simulator(url) as bank:
        payload = bank.payment_payload(
            va, code, amount, request_id=request_id or new_request_id(), reference_no=reference
        )
        ledger.record(code, payload)
        if lost_notice:
            click.echo(tr(cli_language(), "Debited; the payment notice was not sent."))
            return
        try:
            reply = bank.send_payment(payload)
        except (httpx.HTTPError, RuntimeError) as error:
            _unreachable(bank.base_url, error)
            return
    ledger.set_answer(payload["paymentRequestId"], reply.response_code)
    _show(reply, as_json)


@bank_group.command("serve-simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8700, show_default=True)
def serve_simulator(host: str, port: int) -> None:
    """Run the simulated bank's inquiry-status API (SNAP service 26) from its ledger."""
    import uvicorn

    from tagih.banksim.server import create_simulator_app

    settings = get_settings()
    app = create_simulator_app(
        Ledger(DEFAULT_LEDGER),
        client_secret=settings.snap_client_secret.get_secret_value(),
        path_prefix=normalise_prefix(settings.snap_path_prefix),
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@bank_group.group("connection")
def connection_group() -> None:
    """Bank connections: one per bank, next to the default from the SNAP_* settings."""


@connection_group.command("add")
@click.argument("name")
@click.option("--client-id", required=True, help="The bank's SNAP client id (X-CLIENT-KEY).")
@click.option("--client-secret", required=True, help="HMAC-SHA512 key of the bank's requests.")
@click.option("--public-key", required=True, help="The bank's RSA public key: PEM or a path.")
@click.option("--path-prefix", default="/snap", show_default=True)
@click.option("--encoding", type=click.Choice(SIGNATURE_ENCODINGS), default="base64")
@click.option("--base-url", default="", help="The bank's API, for inquiry-status.")
@click.option("--partner-id", default="", help="X-PARTNER-ID the bank sends (default: client id).")
@click.option("--company-code", "company_codes", multiple=True, help="Company code it may pay.")
@click.option(
    "--replace-default",
    is_flag=True,
    help="Allow the client id of SNAP_CLIENT_ID: the row then replaces the default connection.",
)
def add_connection(
    name: str,
    client_id: str,
    client_secret: str,
    public_key: str,
    path_prefix: str,
    encoding: str,
    base_url: str,
    partner_id: str,
    company_codes: tuple[str, ...],
    replace_default: bool,
) -> None:
    """Add a bank connection."""
    language = cli_language()
    problem = _connection_problem(client_id, client_secret, company_codes, replace_default)
    if problem is not None:
        click.echo(f"Error: {problem.render(language)}", err=True)
        sys.exit(2)
    try:
        public_pem = check_rsa_key("--public-key", public_key, private=False)
    except SettingsError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    with session_scope(write=True) as session:
        taken = session.exec(
            select(BankConnection).where(
                (BankConnection.name == name) | (BankConnection.client_id == client_id)
            )
        ).first()
        if taken is not None:
            click.echo(
                tr(
                    cli_language(),
                    "A bank connection named {name} or with client id {client_id} exists.",
                    name=name,
                    client_id=client_id,
                ),
                err=True,
            )
            sys.exit(1)
        session.add(
            BankConnection(
                name=name,
                client_id=client_id,
                client_secret=client_secret,
                bank_public_key=public_pem,
                path_prefix=normalise_prefix(path_prefix),
                signature_encoding=encoding,
                base_url=base_url,
                partner_id=partner_id,
                company_codes=[code.strip() for code in company_codes],
            )
        )
    click.echo(tr(cli_language(), "Added bank connection {name}.", name=name))


def _connection_problem(
    client_id: str, client_secret: str, company_codes: tuple[str, ...], replace_default: bool
) -> Msg | None:
    """Return what is wrong with the values of a new bank connection, or None."""
    if client_id == get_settings().snap_client_id and not replace_default:
        return Msg(
            "Client id {client_id} is the default connection's (SNAP_CLIENT_ID), and a row "
            "with it would replace that connection. Use the bank's own client id, or pass "
            "--replace-default to replace the default on purpose.",
            {"client_id": client_id},
        )
    if len(client_secret.strip()) < MIN_CLIENT_SECRET_LENGTH:
        return Msg(
            "The client secret is {length} characters long without spaces; use the HMAC "
            "secret the bank issued, at least {minimum} characters.",
            {"length": len(client_secret.strip()), "minimum": MIN_CLIENT_SECRET_LENGTH},
        )
    for code in company_codes:
        if not COMPANY_CODE_PATTERN.fullmatch(code.strip()):
            return Msg(
                "The company code {code} is invalid: use 1 to 8 digits, as the bank assigned it.",
                {"code": code},
            )
    return None


@connection_group.command("list")
def list_connections() -> None:
    """List bank connections (secrets are not shown)."""
    with session_scope() as session:
        rows = session.exec(select(BankConnection).order_by(BankConnection.name)).all()
    for row in rows:
        state = "active" if row.active else "disabled"
        codes = ",".join(row.company_codes) or "*"
        click.echo(f"{row.name}\t{row.client_id}\t{row.path_prefix}\t{codes}\t{state}")


def _set_active(name: str, active: bool) -> None:
    with session_scope(write=True) as session:
        row = session.exec(select(BankConnection).where(BankConnection.name == name)).first()
        if row is None:
            click.echo(
                tr(cli_language(), "Bank connection {name} was not found.", name=name), err=True
            )
            sys.exit(1)
        row.active = active
        session.add(row)


@connection_group.command("disable")
@click.argument("name")
def disable_connection(name: str) -> None:
    """Stop accepting requests from a bank connection."""
    _set_active(name, False)


@connection_group.command("enable")
@click.argument("name")
def enable_connection(name: str) -> None:
    """Accept requests from a disabled bank connection again."""
    _set_active(name, True)


COMMANDS = [bank_group]
