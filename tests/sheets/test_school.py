"""School sheets: bills per student with fee component columns, and student registration."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from billing.imports import check_sheet, import_sheet
from models import Customer, Invoice, InvoiceLine, Organisation, Student, StudentGuardian
from models.db import session_scope
from tests.sheets.conftest import BILL_HEADER, TODAY, bill_row, xlsx

SCHOOL_HEADER = ["NIS", "Nama Siswa", "Kelas", "Jatuh Tempo", "SPP Januari", "Uang Kegiatan",
                 "Total"]  # fmt: skip
DUE = dt.date(2031, 1, 10)
STUDENTS_HEADER = ["NIS", "Nama Siswa", "Kelas", "Nama Orang Tua", "No. HP Orang Tua",
                   "Email Orang Tua", "Nama Orang Tua 2", "No. HP Orang Tua 2"]  # fmt: skip


def _check(organisation: Organisation, content: bytes, **options):  # type: ignore[no-untyped-def]
    with session_scope() as session:
        found = session.get(Organisation, organisation.id)
        return check_sheet(session, found, "sekolah.xlsx", content, today=TODAY, **options)


def _import(organisation: Organisation, content: bytes, **options):  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        found = session.get(Organisation, organisation.id)
        return import_sheet(session, found, "sekolah.xlsx", content, today=TODAY, **options)


def test_school_bills_per_component(school: Organisation) -> None:
    rows = [
        ["Tagihan Januari 2031"],
        ["Data siswa", None, None, None, "Komponen biaya"],
        SCHOOL_HEADER,
        ["1001", "Ani Lestari", "4A", DUE, 350000, 75000, 425000],
        [1002, "bima lestari", "2B", DUE, 350000, None, None],
    ]
    result = _import(school, xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.sheet_type == "school_bills"
    assert result.header_row == 3
    data = result.to_json("en")["invoices"]
    assert [invoice["student"]["nis"] for invoice in data] == ["1001", "1002"]
    assert data[0]["customer"] == "Ibu Sari"
    assert data[0]["phone"] == "+6281311110001"
    assert data[0]["number"] == "1001-20310110"
    assert [(line["product"], line["amount"]) for line in data[0]["lines"]] == [
        ("SPP Januari", 350000),
        ("Uang Kegiatan", 75000),
    ]
    assert data[1]["total"] == 350000
    with session_scope() as session:
        invoices = session.exec(select(Invoice).order_by(Invoice.id)).all()
        customers = session.exec(select(Customer)).all()
        lines = session.exec(select(InvoiceLine)).all()
    assert [invoice.student_id for invoice in invoices] == [1, 2]
    assert len(customers) == 1  # both bills go to the one mother
    assert len(lines) == 3
    again = _import(school, xlsx(rows))
    assert again.imported == 0
    assert sorted(again.existing) == ["1001-20310110", "1002-20310110"]


def test_school_bills_reject_unknown_and_mismatched(school: Organisation) -> None:
    rows = [
        SCHOOL_HEADER,
        ["1001", "Ani Lestari", "4A", DUE, 350000, 75000, 400000],
        ["1002", "Citra", "2B", DUE, 350000, None, None],
        ["9999", "Dodi", "1A", DUE, 350000, None, None],
        ["1001", "Ani Lestari", "4A", DUE, 100000, None, None],
    ]
    result = _check(school, xlsx(rows))
    codes = {(problem.row, problem.code) for problem in result.errors}
    assert (2, "school.total_mismatch") in codes
    assert (3, "school.name_mismatch") in codes
    assert (4, "school.student_unknown") in codes
    assert (5, "school.duplicate_student") in codes
    assert result.invoices == []


def test_school_forced_type(school: Organisation) -> None:
    rows = [SCHOOL_HEADER, ["1001", "Ani Lestari", "4A", DUE, 350000, None, None]]
    result = _check(school, xlsx(rows), sheet_type="bills")
    assert result.sheet_type == "school_bills"
    assert result.ok


@pytest.mark.parametrize("sheet_type", [None, "bills"])
def test_school_rejects_invoice_sheet(school: Organisation, sheet_type: str | None) -> None:
    """A merchant invoice sheet names no student, so a school cannot bill from it."""
    rows = [BILL_HEADER, bill_row("INV-1", "Ibu Sari", phone="081311110001")]
    result = _import(school, xlsx(rows), sheet_type=sheet_type)
    assert result.file_error is not None
    assert result.file_error.code == "sheet.school_bills_need_nis"
    text = result.file_error.message.render("en")
    assert text.startswith("sekolah.xlsx has no NIS (student number) column")
    assert "Get a template > Bill template" in text
    assert "Unduh template > Template tagihan" in result.file_error.message.render("id")
    assert result.imported == 0
    with session_scope() as session:
        assert session.exec(select(Invoice)).all() == []
        assert len(session.exec(select(Customer)).all()) == 1  # only the registered mother


def test_shop_rejects_student_list(shop: Organisation) -> None:
    result = _check(
        shop,
        xlsx(
            [STUDENTS_HEADER, ["2001", "Dewi", "1A", "Pak Joko", "081255550001", None, None, None]]
        ),
    )
    assert result.file_error is not None
    assert result.file_error.code == "sheet.type_not_allowed"
    assert result.file_error.message.render("en") == (
        "sekolah.xlsx looks like a student list, which this organisation does not upload. "
        "Get the right template (Get a template), fill it in and send it again."
    )


def test_students_registration_siblings_and_two_parents(school: Organisation) -> None:
    rows = [
        STUDENTS_HEADER,
        ["2001", "Dewi Anggraini", "1A", "Pak Joko", "0812-5555-0001", "joko@example.com",
         "Bu Rina", "0812-5555-0002"],
        ["2002", "Eko Anggraini", "3B", "Pak Joko", "+62 812 5555 0001", None, None, None],
        ["2003", "Fajar Hidayat", "3B", "Bu Sinta", "0812-5555-0003", None, None, None],
        ["2003", "Fajar Hidayat", "3B", "Pak Hadi", "0812-5555-0004", None, None, None],
    ]  # fmt: skip
    result = _import(school, xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.sheet_type == "students"
    assert result.imported == 3
    with session_scope() as session:
        students = {s.nis: s for s in session.exec(select(Student))}
        links = session.exec(select(StudentGuardian, Customer).join(Customer)).all()
    by_student: dict[int, list[tuple[str, bool]]] = {}
    for link, customer in links:
        by_student.setdefault(link.student_id, []).append((customer.name, link.is_payer))
    assert sorted(by_student[students["2001"].id]) == [("Bu Rina", False), ("Pak Joko", True)]
    assert by_student[students["2002"].id] == [("Pak Joko", True)]
    assert sorted(by_student[students["2003"].id]) == [("Bu Sinta", True), ("Pak Hadi", False)]
    with session_scope() as session:
        joko = session.exec(select(Customer).where(Customer.name == "Pak Joko")).all()
    assert len(joko) == 1


def test_students_registration_conflicts(school: Organisation) -> None:
    rows = [
        STUDENTS_HEADER,
        ["3001", "Gita", "1A", "Pak Budi", "0812-6666-0001", None, None, None],
        ["3002", "Hana", "1A", "Bu Wati", "0812-6666-0001", None, None, None],
        ["3003", "Indra", "1A", "Pak Umar", None, None, None, None],
        ["1001", "Bukan Ani", "4A", "Bu Lina", "0812-6666-0003", None, None, None],
    ]
    result = _check(school, xlsx(rows))
    codes = {(problem.row, problem.code) for problem in result.errors}
    assert (3, "contact.phone_two_names") in codes
    assert (4, "contact.no_contact") in codes
    assert (5, "school.nis_taken") in codes
    conflict = next(p for p in result.errors if p.code == "contact.phone_two_names")
    assert conflict.rows == [2, 3]


def test_customers_registration(shop: Organisation) -> None:
    rows = [
        ["Nama Pelanggan", "No. HP", "Email", "Bahasa"],
        ["PT Satu", "0812-7777-0001", "satu@example.com", "Indonesia"],
        ["PT Dua", "0812-7777-0002", None, "English"],
        ["PT Tiga", "0812-7777-0001", None, None],
        ["PT Dua", "0812 7777 0002", None, "English"],
        ["PT Empat", None, "empat@example.com", None],
    ]
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        result = import_sheet(session, organisation, "c.xlsx", xlsx(rows), skip_invalid=True)
    assert result.sheet_type == "customers"
    assert result.imported == 2
    assert [(p.row, p.code, p.rows) for p in result.errors] == [
        (4, "contact.phone_two_names", [2, 4]),
        (5, "customer.duplicate", [3, 5]),
    ]
    assert result.skipped_rows == [2, 4, 5]
    with session_scope() as session:
        languages = {c.name: c.language for c in session.exec(select(Customer))}
    assert languages == {"PT Dua": "en", "PT Empat": None}


def test_school_class_mismatch_warned(school: Organisation) -> None:
    rows = [
        SCHOOL_HEADER,
        ["1001", "Ani Lestari", "4a", DUE, 350000, None, None],
        ["1002", "Bima Lestari", "1A", DUE, 350000, None, None],
    ]
    result = _check(school, xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert len(result.invoices) == 2
    assert [(p.code, p.row, p.cell) for p in result.warnings] == [
        ("school.class_mismatch", 3, "C3")
    ]
    warning = result.warnings[0].message
    assert warning.render("en") == (
        "Student 1002 (Bima Lestari) is registered in class 2B, but this row says 1A. The row "
        "is still billed. If the student changed class, update the student list, otherwise "
        "check the NIS."
    )
    indonesian = warning.render("id")
    assert "kelas 2B" in indonesian
    assert "1A" in indonesian
