"""Invoices, their lines, the VA behind each invoice, and sheet import batches."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"
    EXPIRED = "expired"


class VAStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    CLOSED = "closed"  # voided invoice
    EXPIRED = "expired"


class BatchStatus(StrEnum):
    PREVIEW = "preview"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Invoice(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation_id", "number_key"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    number: str = Field(sa_type=String(64))  # as the user typed it
    # Number folded for comparison: no case, surrounding space or invisible characters.
    number_key: str = Field(sa_type=String(64))
    customer_id: int = Field(foreign_key="customer.id", index=True)
    student_id: int | None = Field(default=None, foreign_key="student.id", index=True)
    description: str = Field(default="", sa_type=String(500))
    due_date: dt.date = Field(index=True)
    status: InvoiceStatus = Field(default=InvoiceStatus.ISSUED, sa_type=String(16), index=True)
    total: int  # rupiah
    batch_id: int | None = Field(default=None, foreign_key="import_batch.id")
    source_rows: list[int] = Field(default_factory=list, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    void_reason: str | None = Field(default=None, sa_type=String(500))


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_line"

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    position: int = 0
    product_id: int | None = Field(default=None, foreign_key="product.id")
    description: str = Field(sa_type=String(300))  # product or fee component name
    quantity: int = 1
    unit_price: int  # rupiah
    amount: int  # rupiah


class VirtualAccount(SQLModel, table=True):
    __tablename__ = "virtual_account"
    __table_args__ = (UniqueConstraint("company_code", "customer_no"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", unique=True)
    company_code: str = Field(sa_type=String(8))
    customer_no: str = Field(sa_type=String(20))
    number: str = Field(sa_type=String(28), unique=True)  # company code + customerNo
    amount: int  # rupiah, closed amount
    status: VAStatus = Field(default=VAStatus.OPEN, sa_type=String(16), index=True)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_inquiry_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class ImportBatch(SQLModel, table=True):
    """An uploaded sheet, kept from preview until staff confirm or cancel it."""

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    filename: str = Field(sa_type=String(255))
    sha256: str = Field(sa_type=String(64), index=True)
    sheet_type: str = Field(default="bills", sa_type=String(16))
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: BatchStatus = Field(default=BatchStatus.PREVIEW, sa_type=String(16))
    uploaded_by: str | None = Field(default=None, sa_type=String(64))  # staff phone or "cli"
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
