"""Fixtures for sheet tests: organisations, a pinned "today" and workbooks built in memory."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook

from billing.orgs import create_organisation
from billing.sheets import ParseContext, SheetResult, read_upload
from billing.sheets.context import latest_due_date
from models import Customer, Organisation, Student, StudentGuardian
from models.db import session_scope
from tagih.settings import Settings

# The sample sheets bill in 2031; every test reads them as of this day.
TODAY = dt.date(2026, 12, 4)
BILL_HEADER = ["Nama Pelanggan", "Email", "No. HP", "No. Invoice", "Jatuh Tempo", "Produk",
               "Jumlah (Rp)"]  # fmt: skip


def xlsx(rows: list[list[Any]], *, title: str = "Tagihan", edit: Callable | None = None) -> bytes:
    """Build an .xlsx in memory; `edit(workbook, sheet)` may hide rows, merge cells, and so on."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    if edit is not None:
        edit(workbook, sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rewrite_member(content: bytes, member: str, change: Callable[[bytes], bytes]) -> bytes:
    """Return a copy of an .xlsx whose zip member `member` went through `change`.

    For what openpyxl never writes: zero column widths, odd attribute orders, styles.
    """
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == member:
                data = change(data)
            target.writestr(info.filename, data)
    return buffer.getvalue()


def bill_row(
    number: str, name: str = "Budi Santoso", amount: Any = 350000, **changes: Any
) -> list:
    row = {
        "name": name,
        "email": f"{name.split()[0].lower()}@example.com",
        "phone": "081234567890",
        "number": number,
        "due": dt.date(2031, 1, 15),
        "product": "SPP Januari 2031",
        "amount": amount,
    }
    row.update(changes)
    return [row["name"], row["email"], row["phone"], row["number"], row["due"], row["product"],
            row["amount"]]  # fmt: skip


def read(content: bytes, filename: str = "upload.xlsx", **settings: Any) -> SheetResult:
    """Read a sheet with no database behind it: an empty catalogue and no students."""
    config = Settings(_env_file=None, **settings)
    context = ParseContext(
        today=TODAY,
        max_amount=config.sheet_max_invoice_amount,
        latest_due=latest_due_date(TODAY, config.sheet_max_due_years),
    )
    return read_upload(filename, content, context, settings=config)


@pytest.fixture
def shop(database: str) -> Organisation:
    with session_scope(write=True) as session:
        return create_organisation(
            session,
            slug="toko-contoh",
            kind="invoice",
            name="Toko Contoh",
            company_code="88001",
            admin_phone="0812-0000-0001",
        )


@pytest.fixture
def school(database: str) -> Organisation:
    """A school with two registered students; the siblings share their mother."""
    with session_scope(write=True) as session:
        organisation = create_organisation(
            session,
            slug="sd-contoh",
            kind="school",
            name="SD Contoh",
            company_code="77001",
            admin_phone="0812-0000-0002",
        )
        mother = Customer(organisation_id=organisation.id, name="Ibu Sari",
                          phone="+6281311110001", email="sari@example.com")  # fmt: skip
        session.add(mother)
        session.flush()
        for nis, name, class_name in (
            ("1001", "Ani Lestari", "4A"),
            ("1002", "Bima Lestari", "2B"),
        ):
            student = Student(organisation_id=organisation.id, nis=nis, name=name,
                              class_name=class_name)  # fmt: skip
            session.add(student)
            session.flush()
            session.add(StudentGuardian(student_id=student.id, customer_id=mother.id))
        return organisation
