"""Due dates: placeholders far in the future, and text dates that read both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import func, select

from billing.imports import check_sheet, import_sheet
from models import Invoice
from models.db import session_scope
from models.org import Organisation
from tests.sheets.conftest import BILL_HEADER, TODAY, bill_row, read, xlsx


def _placeholder_sheet() -> bytes:
    rows = [
        BILL_HEADER,
        bill_row("INV-1", due="31/12/9999"),
        bill_row("INV-2", "Siti Rahma", phone="085712345678", due=dt.date(9999, 12, 31)),
        bill_row("INV-3", "Andi Wijaya", phone="087812345678"),
    ]
    return xlsx(rows)


def test_placeholder_due_date_rejected() -> None:
    result = read(_placeholder_sheet())
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-3"]
    assert [(p.code, p.row, p.cell) for p in result.errors] == [
        ("too_far", 2, "E2"),
        ("too_far", 3, "E3"),
    ]
    problem = result.errors[0].to_json("en")
    assert problem["value"] == "31/12/9999"
    assert problem["column"] == "Jatuh Tempo"
    assert "9999-12-31" in problem["message"]
    assert "2036-12-04" in problem["message"]
    assert "Jatuh tempo 9999-12-31" in result.errors[0].message.render("id")


def test_due_date_limit_from_settings() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", due=dt.date(2028, 12, 5))]
    assert read(xlsx(rows)).ok
    result = read(xlsx(rows), sheet_max_due_years=2)
    assert [p.code for p in result.errors] == ["too_far"]
    assert "2 years" in result.errors[0].message.render("en")


def test_due_date_limit_edge() -> None:
    rows = [BILL_HEADER, bill_row("INV-1", due=dt.date(2036, 12, 4))]
    assert read(xlsx(rows)).ok
    rows = [BILL_HEADER, bill_row("INV-1", due=dt.date(2036, 12, 5))]
    assert [p.code for p in read(xlsx(rows)).errors] == ["too_far"]


def test_placeholder_import_matches_check(shop: Organisation) -> None:
    content = _placeholder_sheet()
    with session_scope() as session:
        organisation = session.get(Organisation, shop.id)
        checked = check_sheet(session, organisation, "a.xlsx", content, today=TODAY)
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        imported = import_sheet(session, organisation, "a.xlsx", content, today=TODAY)
    assert checked.invalid_rows == [2, 3]
    assert imported.imported == 0
    assert imported.skipped_rows == [2, 3]
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(Invoice)).one() == 0


def test_placeholder_skipped_with_skip_invalid(shop: Organisation) -> None:
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        result = import_sheet(
            session, organisation, "a.xlsx", _placeholder_sheet(), today=TODAY, skip_invalid=True
        )
    assert result.imported == 1
    assert result.skipped_rows == [2, 3]


@pytest.mark.parametrize(
    ("due", "read_as"),
    [
        ("03/04/2031", dt.date(2031, 4, 3)),
        ("3-4-31", dt.date(2031, 4, 3)),
        ("Senin, 12.01.2032 14:30", dt.date(2032, 1, 12)),
    ],
)
def test_ambiguous_text_date_warned(due: str, read_as: dt.date) -> None:
    result = read(xlsx([BILL_HEADER, bill_row("INV-1", due=due)]))
    assert result.ok
    assert result.invoices[0].draft.due_date == read_as
    assert [(p.code, p.row, p.cell) for p in result.warnings] == [("date.day_first", 2, "E2")]
    warning = result.warnings[0].to_json("en")
    assert warning["value"] == due
    assert warning["column"] == "Jatuh Tempo"
    assert f"day {read_as.day} of month {read_as.month}" in warning["message"]
    assert read_as.isoformat() in warning["message"]
    indonesian = result.warnings[0].message.render("id")
    assert f"tanggal {read_as.day} bulan {read_as.month}" in indonesian


@pytest.mark.parametrize(
    "due",
    ["15/04/2031", "04/04/2031", "2031/04/03", "3 April 2031", dt.date(2031, 4, 3), 47941],
)
def test_unambiguous_date_not_warned(due: object) -> None:
    result = read(xlsx([BILL_HEADER, bill_row("INV-1", due=due)]))
    assert result.ok
    assert result.warnings == []
