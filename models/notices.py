"""The notice outbox, its delivery attempts, and the keys that stop jobs from repeating."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class NoticeKind(StrEnum):
    INVOICE_ISSUED = "invoice_issued"
    REMINDER = "reminder"
    RECEIPT = "receipt"
    INVOICE_VOIDED = "invoice_voided"
    STAFF_PAYMENT = "staff_payment"
    NEWS = "news"
    DIGEST = "digest"
    LINK_CODE = "link_code"
    FEE_PREVIEW = "fee_preview"


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Notice(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: NoticeKind = Field(sa_type=String(24))
    # Unique when set, so an event that fires twice queues one notice.
    dedupe_key: str | None = Field(default=None, sa_type=String(160), unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id", index=True)
    recipient_name: str = Field(default="", sa_type=String(200))
    recipient_phone: str | None = Field(default=None, sa_type=String(20))
    recipient_email: str | None = Field(default=None, sa_type=String(254))
    language: str = Field(default="id", sa_type=String(8))
    # Channels to try, in order; channel is the one that delivered (or the last one tried).
    channels: list[str] = Field(default_factory=list, sa_type=JSON)
    channel: str | None = Field(default=None, sa_type=String(16))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: NoticeStatus = Field(default=NoticeStatus.PENDING, sa_type=String(16), index=True)
    attempts: int = 0
    next_attempt_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    claimed_until: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    provider_message_id: str | None = Field(default=None, sa_type=String(128), index=True)
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoticeAttempt(SQLModel, table=True):
    """One try of one channel for one notice, with what the provider returned."""

    __tablename__ = "notice_attempt"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    channel: str = Field(sa_type=String(16))
    status: str = Field(sa_type=String(16))
    provider_message_id: str | None = Field(default=None, sa_type=String(128), index=True)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderSent(SQLModel, table=True):
    """One row per (invoice, reminder step): the step is never sent twice."""

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("invoice_id", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    step: int  # days relative to the due date: -3, 0, 1, 7
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class JobRun(SQLModel, table=True):
    """A unique key per scheduled run, so a duplicate trigger does nothing twice."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    run_key: str = Field(sa_type=String(160), unique=True)
    job: str = Field(sa_type=String(64))
    started_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
