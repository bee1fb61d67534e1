"""Invoices that share a phone share one customer: its name, e-mail address and preview count."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from billing.imports import check_sheet, describe_preview, import_sheet
from billing.sheets import SheetResult
from models import Customer, Notice
from models.db import session_scope
from models.org import Organisation
from tests.sheets.conftest import BILL_HEADER, TODAY, bill_row, xlsx

PHONE = "+6281234567890"
FAMILY = "keluarga@example.com"


def _same_customer_sheet(*emails: str | None) -> bytes:
    rows = [BILL_HEADER]
    for number, email in enumerate(emails, start=1):
        rows.append(bill_row(f"INV-{number}", email=email, due=dt.date(2031, 1, number)))
    return xlsx(rows)


def _check(shop: Organisation, content: bytes) -> SheetResult:
    with session_scope() as session:
        organisation = session.get(Organisation, shop.id)
        return check_sheet(session, organisation, "a.xlsx", content, today=TODAY)


def _import(shop: Organisation, content: bytes) -> SheetResult:
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        return import_sheet(session, organisation, "a.xlsx", content, today=TODAY)


def _customers() -> list[tuple[str, str | None, str | None]]:
    with session_scope() as session:
        return [(c.name, c.phone, c.email) for c in session.exec(select(Customer))]


def test_one_phone_counts_one_new_customer(shop: Organisation) -> None:
    content = _same_customer_sheet("budi1@example.com", "budi2@example.com", "budi3@example.com")
    result = _check(shop, content)
    assert result.ok
    assert result.new_customers == 1
    assert result.to_json("en")["new_customers"] == 1
    assert "1 new customer." in describe_preview(result, "en")
    assert "1 pelanggan baru." in describe_preview(result, "id")


def test_differing_email_warned_first_row_wins(shop: Organisation) -> None:
    content = _same_customer_sheet("budi1@example.com", "budi2@example.com", "budi3@example.com")
    result = _check(shop, content)
    assert [(p.code, p.row, p.cell) for p in result.warnings] == [
        ("customer.email_differs", 3, "B3"),
        ("customer.email_differs", 4, "B4"),
    ]
    text = result.warnings[0].message.render("en")
    assert "budi2@example.com" in text
    assert "budi1@example.com" in text
    assert PHONE in text
    assert "row 2" in text
    assert "go to budi1@example.com" in text
    indonesian = result.warnings[0].message.render("id")
    assert "budi2@example.com" in indonesian
    assert "budi1@example.com" in indonesian
    emails = [invoice.draft.email for invoice in result.invoices]
    assert emails == ["budi1@example.com"] * 3


def test_import_keeps_chosen_email(shop: Organisation) -> None:
    content = _same_customer_sheet("budi1@example.com", "budi2@example.com", "budi3@example.com")
    result = _import(shop, content)
    assert result.imported == 3
    assert _customers() == [("Budi Santoso", PHONE, "budi1@example.com")]
    with session_scope() as session:
        recipients = set(session.exec(select(Notice.recipient_email)))
    assert recipients == {"budi1@example.com"}


def test_email_on_later_row_not_dropped(shop: Organisation) -> None:
    content = _same_customer_sheet(None, "budi2@example.com")
    result = _check(shop, content)
    assert result.warnings == []
    assert [invoice.draft.email for invoice in result.invoices] == ["budi2@example.com"] * 2
    _import(shop, content)
    assert _customers() == [("Budi Santoso", PHONE, "budi2@example.com")]


def test_registered_email_wins_with_warning(shop: Organisation) -> None:
    with session_scope(write=True) as session:
        session.add(Customer(organisation_id=shop.id, name="Budi Santoso", phone=PHONE,
                             email="budi.lama@example.com"))  # fmt: skip
    result = _check(shop, _same_customer_sheet("budi.baru@example.com", None))
    assert result.new_customers == 0
    assert [(p.code, p.row, p.value) for p in result.warnings] == [
        ("customer.email_differs", 2, "budi.baru@example.com")
    ]
    text = result.warnings[0].message.render("en")
    assert "budi.lama@example.com" in text
    assert "Budi Santoso" in text
    assert "does not change a registered customer" in text
    assert [invoice.draft.email for invoice in result.invoices] == ["budi.lama@example.com"] * 2


def test_registered_without_email_takes_sheet_email(shop: Organisation) -> None:
    with session_scope(write=True) as session:
        session.add(Customer(organisation_id=shop.id, name="Budi Santoso", phone=PHONE))
    content = _same_customer_sheet("budi@example.com")
    result = _check(shop, content)
    assert result.warnings == []
    assert result.new_customers == 0
    _import(shop, content)
    assert _customers() == [("Budi Santoso", PHONE, "budi@example.com")]


def test_distinct_phones_counted_apart(shop: Organisation) -> None:
    rows = [
        BILL_HEADER,
        bill_row("INV-1"),
        bill_row("INV-2", "Siti Rahma", phone="085712345678"),
        bill_row("INV-3", "Andi Wijaya", phone=None, email="andi@example.com"),
        bill_row("INV-4", "Andi Wijaya", phone=None, email="andi@example.com"),
    ]
    result = _check(shop, xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.new_customers == 3
    _import(shop, xlsx(rows))
    assert len(_customers()) == 3


def _two_names_sheet() -> bytes:
    rows = [
        BILL_HEADER,
        bill_row("INV-1", "Budi Santoso"),
        bill_row("INV-2", "Siti Rahma", email="budi@example.com"),
        bill_row("INV-3", "  budi   SANTOSO ", email="budi@example.com"),
    ]
    return xlsx(rows)


def test_second_name_on_phone_warned(shop: Organisation) -> None:
    result = _check(shop, _two_names_sheet())
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [(p.code, p.row, p.cell, p.value, p.rows) for p in result.warnings] == [
        ("customer.name_differs", 3, "A3", "Siti Rahma", [2, 3])
    ]
    english = result.warnings[0].message.render("en")
    assert f"The phone {PHONE} is given for Budi Santoso on row 2" in english
    assert "and for Siti Rahma on row 3" in english
    assert "invoice INV-2 is billed to Budi Santoso" in english
    assert "write their own phone number on row 3" in english
    indonesian = result.warnings[0].message.render("id")
    assert f"Nomor HP {PHONE} dipakai untuk Budi Santoso di baris 2" in indonesian
    assert "invoice INV-2 ditagihkan ke Budi Santoso" in indonesian


def test_second_name_shown_in_preview(shop: Organisation) -> None:
    result = _check(shop, _two_names_sheet())
    assert [invoice.draft.customer_name for invoice in result.invoices] == ["Budi Santoso"] * 3
    assert result.new_customers == 1
    english = describe_preview(result, "en")
    assert "- Note, row 3, Nama Pelanggan (cell A3): The phone" in english
    indonesian = describe_preview(result, "id")
    assert "dipakai untuk Budi Santoso di baris 2 dan untuk Siti Rahma di baris 3" in indonesian


def test_second_name_imported_as_one_customer(shop: Organisation) -> None:
    result = _import(shop, _two_names_sheet())
    assert result.imported == 3
    assert _customers() == [("Budi Santoso", PHONE, "budi@example.com")]


def test_lowest_row_name_wins(shop: Organisation) -> None:
    """Rows of a later invoice may come first: the name on the lowest row is kept."""
    rows = [
        BILL_HEADER,
        bill_row("INV-2", "Siti Rahma", email=FAMILY),
        bill_row("INV-1", "Budi Santoso", email=FAMILY),
        bill_row("INV-2", "Siti Rahma", product="Buku", email=FAMILY),
    ]
    result = _check(shop, xlsx(rows))
    assert [(p.row, p.value, p.rows) for p in result.warnings] == [(3, "Budi Santoso", [2, 3])]
    assert "is billed to Siti Rahma" in result.warnings[0].message.render("en")


def test_each_other_name_warned(shop: Organisation) -> None:
    rows = [
        BILL_HEADER,
        bill_row("INV-1", "Budi Santoso", email=FAMILY),
        bill_row("INV-2", "Siti Rahma", email=FAMILY),
        bill_row("INV-3", "Andi Wijaya", email=FAMILY),
    ]
    result = _check(shop, xlsx(rows))
    assert [(p.code, p.row, p.value) for p in result.warnings] == [
        ("customer.name_differs", 3, "Siti Rahma"),
        ("customer.name_differs", 4, "Andi Wijaya"),
    ]


def test_registered_name_wins(shop: Organisation) -> None:
    with session_scope(write=True) as session:
        session.add(Customer(organisation_id=shop.id, name="Budi Santoso", phone=PHONE))
    rows = [
        BILL_HEADER,
        bill_row("INV-1", "Siti Rahma", email=FAMILY),
        bill_row("INV-2", "budi santoso", email=FAMILY),
    ]
    result = _check(shop, xlsx(rows))
    assert result.new_customers == 0
    assert [(p.code, p.row, p.value, p.rows) for p in result.warnings] == [
        ("customer.name_differs", 2, "Siti Rahma", [2])
    ]
    english = result.warnings[0].message.render("en")
    assert f"The phone {PHONE} is registered to Budi Santoso, but row 2 gives it for" in english
    assert "invoice INV-1 is billed to Budi Santoso" in english
    indonesian = result.warnings[0].message.render("id")
    assert f"Nomor HP {PHONE} terdaftar atas nama Budi Santoso" in indonesian
    assert [invoice.draft.customer_name for invoice in result.invoices] == ["Budi Santoso"] * 2


def test_distinct_phones_not_warned(shop: Organisation) -> None:
    rows = [
        BILL_HEADER,
        bill_row("INV-1", "Budi Santoso", email=FAMILY),
        bill_row("INV-2", "Siti Rahma", phone="085712345678"),
    ]
    result = _check(shop, xlsx(rows))
    assert result.warnings == []
    assert [invoice.draft.customer_name for invoice in result.invoices] == [
        "Budi Santoso",
        "Siti Rahma",
    ]
