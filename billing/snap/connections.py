"""Bank connections: each bank's SNAP credentials, path prefix and conventions.

Rows of the bank_connection table come first; the SNAP_* settings form the default
connection, so a single-bank set-up needs no table rows at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlmodel import Session, select

from billing.snap.keys import load_or_create_dev_key, public_key_pem
from models import BankConnection
from tagih.settings import read_pem

SIGNATURE_ENCODINGS = ("base64", "hex")


@dataclass(frozen=True)
class Connection:
    name: str
    client_id: str
    client_secret: str = field(repr=False)
    bank_public_key: str = field(repr=False)  # PEM
    path_prefix: str = "/snap"
    signature_encoding: str = "base64"
    base_url: str = ""  # the bank's API, for inquiry-status; empty means not configured
    partner_id: str = ""  # expected X-PARTNER-ID; empty means the client id
    company_codes: tuple[str, ...] = ()  # company codes this bank may pay into; empty means any
    id: int | None = None

    @property
    def expected_partner_id(self) -> str:
        return self.partner_id or self.client_id

    def serves_company_code(self, company_code: str) -> bool:
        if not self.company_codes:
            return True
        wanted = normalise_company_code(company_code)
        return any(normalise_company_code(code) == wanted for code in self.company_codes)


class SnapSettings(Protocol):
    """The part of tagih.settings.Settings that the default connection is built from."""

    tagih_env: str
    snap_client_id: str
    snap_client_secret: Any
    snap_bank_public_key: str
    snap_bank_private_key: str
    snap_path_prefix: str
    snap_bank_base_url: str
    snap_dev_key_file: str


def normalise_company_code(code: str) -> str:
    """Fold a partnerServiceId for comparison: banks pad it with spaces or zeros."""
    return code.strip().lstrip("0") or "0"


def normalise_prefix(prefix: str) -> str:
    stripped = prefix.strip().strip("/")
    return f"/{stripped}" if stripped else ""


def dev_private_key(settings: SnapSettings) -> str:
    """Return the bank private key the simulator signs with.

    SNAP_BANK_PRIVATE_KEY when set; in development otherwise a key generated once under
    SNAP_DEV_KEY_FILE, whose public half the server then trusts.
    """
    if settings.snap_bank_private_key:
        return read_pem(settings.snap_bank_private_key)
    if settings.tagih_env == "production":
        raise ValueError("SNAP_BANK_PRIVATE_KEY is not set; the simulator needs it in production.")
    return load_or_create_dev_key(Path(settings.snap_dev_key_file))


def default_connection(settings: SnapSettings) -> Connection:
    """Build the connection that the SNAP_* settings describe."""
    if settings.snap_bank_public_key:
        public_pem = read_pem(settings.snap_bank_public_key)
    elif settings.tagih_env == "production":
        raise ValueError("SNAP_BANK_PUBLIC_KEY is not set; production needs the bank's key.")
    else:
        public_pem = public_key_pem(load_or_create_dev_key(Path(settings.snap_dev_key_file)))
    secret = settings.snap_client_secret
    return Connection(
        name="default",
        client_id=settings.snap_client_id,
        client_secret=secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret,
        bank_public_key=public_pem,
        path_prefix=normalise_prefix(settings.snap_path_prefix),
        base_url=settings.snap_bank_base_url,
    )


def connection_from_row(row: BankConnection) -> Connection:
    return Connection(
        name=row.name,
        client_id=row.client_id,
        client_secret=row.client_secret,
        bank_public_key=row.bank_public_key,
        path_prefix=normalise_prefix(row.path_prefix),
        signature_encoding=row.signature_encoding,
        base_url=row.base_url,
        partner_id=row.partner_id,
        company_codes=tuple(row.company_codes),
        id=row.id,
    )


def find_connection(session: Session, client_id: str, default: Connection) -> Connection | None:
    """Return the active connection of a client id: a table row first, then the default."""
    row = session.exec(
        select(BankConnection).where(
            BankConnection.client_id == client_id,
            BankConnection.active == True,  # noqa: E712
        )
    ).first()
    if row is not None:
        return connection_from_row(row)
    if client_id == default.client_id:
        return default
    return None


def all_connections(session: Session, default: Connection) -> list[Connection]:
    """Return the default connection and every active table row, for jobs that call banks."""
    rows = session.exec(
        select(BankConnection).where(BankConnection.active == True)  # noqa: E712
    ).all()
    found = [connection_from_row(row) for row in rows]
    if all(connection.client_id != default.client_id for connection in found):
        found.insert(0, default)
    return found
