"""Students and their parents, news posts, calendar events and recurring fees."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Student(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation_id", "nis"),)

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    nis: str = Field(sa_type=String(32))  # student number, kept as text
    name: str = Field(sa_type=String(200))
    class_name: str = Field(default="", sa_type=String(32), index=True)
    active: bool = True
    archived_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StudentGuardian(SQLModel, table=True):
    """Links a student to a parent (a Customer row of the school)."""

    __tablename__ = "student_guardian"
    __table_args__ = (UniqueConstraint("student_id", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    relation: str = Field(default="parent", sa_type=String(24))
    is_payer: bool = True


class NewsPost(SQLModel, table=True):
    __tablename__ = "news_post"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    author_staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    title_id: str = Field(default="", sa_type=String(200))
    title_en: str = Field(default="", sa_type=String(200))
    body_id: str = Field(default="", sa_type=Text)
    body_en: str = Field(default="", sa_type=Text)
    photo: bytes | None = Field(default=None, sa_type=LargeBinary)
    audience: list[str] = Field(default_factory=list, sa_type=JSON)  # class names; empty = school
    withdrawn_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalendarEvent(SQLModel, table=True):
    __tablename__ = "calendar_event"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    title_id: str = Field(default="", sa_type=String(200))
    title_en: str = Field(default="", sa_type=String(200))
    start_date: dt.date = Field(index=True)
    end_date: dt.date
    start_time: dt.time | None = None
    audience: list[str] = Field(default_factory=list, sa_type=JSON)  # class names; empty = school
    created_by_staff_id: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecurringFee(SQLModel, table=True):
    """A monthly fee (SPP) billed automatically to the students of chosen classes."""

    __tablename__ = "recurring_fee"

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    component: str = Field(sa_type=String(200))
    amount: int  # rupiah
    day_of_month: int
    classes: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True
    last_billed_period: str | None = Field(default=None, sa_type=String(7))  # YYYY-MM
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
