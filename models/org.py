"""Organisations, their staff, customers and products."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class OrgKind(StrEnum):
    INVOICE = "invoice"
    SCHOOL = "school"


class StaffRole(StrEnum):
    SUPER_ADMIN = "super_admin"
    FINANCE = "finance"
    ADMIN = "admin"
    TEACHER = "teacher"


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(64), unique=True, index=True)
    kind: OrgKind = Field(sa_type=String(16))
    name: str = Field(sa_type=String(200))
    # SNAP partnerServiceId: the bank's company code for this organisation's VAs (digits only).
    company_code: str = Field(sa_type=String(8), unique=True)
    timezone: str = Field(default="Asia/Jakarta", sa_type=String(64))
    language: str = Field(default="id", sa_type=String(8))
    # Last customerNo handed out under the company code; VA numbers are never reused.
    va_sequence: int = 0
    # Per-organisation choices: notice channels per event, reminder steps, and so on.
    preferences: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"
    __table_args__ = (UniqueConstraint("organisation_id", "phone"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(default="", sa_type=String(200))
    phone: str | None = Field(default=None, sa_type=String(20), index=True)  # E.164
    email: str | None = Field(default=None, sa_type=String(254), index=True)
    role: StaffRole = Field(sa_type=String(16))
    # Teachers only: the classes whose news and calendar they may post.
    classes: list[str] = Field(default_factory=list, sa_type=JSON)
    language: str | None = Field(default=None, sa_type=String(8))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Customer(SQLModel, table=True):
    """A payer: a merchant's customer buyer, or a parent at a school."""

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(sa_type=String(200))
    phone: str | None = Field(default=None, sa_type=String(20), index=True)  # E.164
    email: str | None = Field(default=None, sa_type=String(254), index=True)
    language: str | None = Field(default=None, sa_type=String(8))
    reminders_paused: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Product(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation_id", "name_key"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(sa_type=String(200))
    # Name folded for comparison: lower case, single spaces, no invisible characters.
    name_key: str = Field(sa_type=String(200))
    price: int | None = None  # rupiah
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
