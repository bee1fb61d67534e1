"""Payments into VAs, and the SNAP bookkeeping around them: tokens, request ids, audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class BankConnection(SQLModel, table=True):
    """One bank's SNAP credentials and conventions. The SNAP_* settings form the default one."""

    __tablename__ = "bank_connection"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(64), unique=True)
    client_id: str = Field(sa_type=String(128), unique=True)
    # NOTE: stored as given, so anyone who can read the database can sign as this bank. HMAC
    # needs the secret itself; encrypting it with a key kept outside the database is not done.
    client_secret: str = Field(sa_type=String(256))
    bank_public_key: str = Field(default="", sa_type=Text)  # PEM
    path_prefix: str = Field(default="/snap", sa_type=String(64))
    signature_encoding: str = Field(default="base64", sa_type=String(16))
    base_url: str = Field(default="", sa_type=String(255))  # the bank's API, for inquiry-status
    partner_id: str = Field(default="", sa_type=String(128))  # X-PARTNER-ID; empty: client_id
    # Company codes (partnerServiceId) this bank may report payments for; empty means any.
    company_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Payment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("partner_id", "payment_request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    virtual_account_id: int = Field(foreign_key="virtual_account.id", unique=True)
    partner_id: str = Field(sa_type=String(128))  # bank client id that reported the payment
    payment_request_id: str = Field(sa_type=String(128))
    amount: int  # rupiah
    paid_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reference_no: str | None = Field(default=None, sa_type=String(128))
    trx_id: str | None = Field(default=None, sa_type=String(128))
    channel_code: str | None = Field(default=None, sa_type=String(32))
    source: str = Field(default="snap", sa_type=String(24))  # snap, inquiry_status, statement
    # The request as received (headers without secrets, parsed body) and the response sent,
    # so an identical retry gets the original response again.
    raw_request: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SnapAccessToken(SQLModel, table=True):
    __tablename__ = "snap_access_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_type=String(64), unique=True)  # SHA-256 hex, never the token
    client_id: str = Field(sa_type=String(128), index=True)
    expires_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SnapExternalId(SQLModel, table=True):
    """X-EXTERNAL-ID values seen, unique per partner per Asia/Jakarta day."""

    __tablename__ = "snap_external_id"
    __table_args__ = (UniqueConstraint("partner_id", "day", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(sa_type=String(128))
    day: dt.date
    external_id: str = Field(sa_type=String(64))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SnapRequestLog(SQLModel, table=True):
    """Every SNAP request with its answer, secrets removed, for audit and reconciliation."""

    __tablename__ = "snap_request_log"

    id: int | None = Field(default=None, primary_key=True)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    service: str = Field(sa_type=String(32))
    path: str = Field(sa_type=String(255))
    partner_id: str | None = Field(default=None, sa_type=String(128))
    external_id: str | None = Field(default=None, sa_type=String(64))
    virtual_account_no: str | None = Field(default=None, sa_type=String(40), index=True)
    # inquiryRequestId or paymentRequestId, so a reused inquiry id can be recognised.
    request_id: str | None = Field(default=None, sa_type=String(128), index=True)
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    body: str = Field(default="", sa_type=Text)
    http_status: int = 0
    response_code: str = Field(default="", sa_type=String(7))
    response: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
