"""TOTAL and SUBTOTAL lines among the data: never billed, their amounts checked."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.sheets.headers import SheetType
from billing.sheets.templates import COLUMNS
from models import Organisation
from tests.sheets.conftest import BILL_HEADER, bill_row, read, xlsx
from tests.sheets.test_school import DUE as SCHOOL_DUE
from tests.sheets.test_school import SCHOOL_HEADER
from tests.sheets.test_school import _check as check_school

TEMPLATE_HEADER = [column.title for column in COLUMNS[SheetType.BILLS]]
DUE = dt.date(2031, 1, 15)


def _template_row(number: str, name: str, amount: int) -> list:
    email = f"{name.split()[0].lower()}@example.com"
    return [number, name, email, "081234567890", DUE, "SPP Januari 2031", 1, amount, amount,
            None]  # fmt: skip


def _total_row(label: str, amount: object) -> list:
    return [label, None, None, None, None, None, None, None, amount, None]


def test_total_in_invoice_column_skipped() -> None:
    rows = [
        TEMPLATE_HEADER,
        _template_row("INV-1", "Budi Santoso", 100000),
        _template_row("INV-2", "Siti Rahma", 150000),
        _template_row("INV-3", "Andi Wijaya", 50000),
        _total_row("TOTAL", 300000),
        ["Hormat kami,"],
        ["Bendahara"],
    ]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-1", "INV-2", "INV-3"]
    assert result.total == 300000
    assert [(problem.code, problem.row) for problem in result.warnings] == [
        ("sheet.footer_row", 5),
        ("sheet.footer_row", 6),
        ("sheet.footer_row", 7),
    ]
    note = result.warnings[0].message
    assert note.render("en") == "Row 5 is a total line (TOTAL), so it was not billed."
    assert note.render("id") == "Baris 5 adalah baris total (TOTAL), jadi tidak ditagihkan."


@pytest.mark.parametrize(
    "label",
    ["TOTAL", "total", "Jumlah", "JUMLAH:", "GRAND TOTAL", "SubTotal", "Sub-Total",
     "TOTAL TAGIHAN", "Jumlah Total", "Total (Rp)"],
)  # fmt: skip
def test_total_labels_recognised(label: str) -> None:
    rows = [TEMPLATE_HEADER, _template_row("INV-1", "Budi Santoso", 100000),
            _total_row(label, 100000)]  # fmt: skip
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-1"]
    assert [problem.code for problem in result.warnings] == ["sheet.footer_row"]


def test_total_mismatch_names_both_sums() -> None:
    rows = [
        TEMPLATE_HEADER,
        _template_row("INV-1", "Budi Santoso", 100000),
        _template_row("INV-2", "Siti Rahma", 150000),
        _total_row("TOTAL", "Rp 300.000"),
    ]
    result = read(xlsx(rows))
    assert result.ok
    assert result.total == 250000
    mismatch = [problem for problem in result.warnings if problem.code == "sheet.total_mismatch"]
    assert len(mismatch) == 1
    assert mismatch[0].row == 4
    assert mismatch[0].message.render("en") == (
        "The total Rp300.000 in row 4 is not the sum of the amounts above it, Rp250.000. "
        "Check the amounts: the total line itself is not billed."
    )
    indonesian = mismatch[0].message.render("id")
    assert "Rp300.000" in indonesian
    assert "Rp250.000" in indonesian


def test_subtotals_and_grand_total_match() -> None:
    rows = [
        TEMPLATE_HEADER,
        _template_row("INV-1", "Budi Santoso", 100000),
        _template_row("INV-2", "Siti Rahma", 150000),
        _total_row("Subtotal", 250000),
        _template_row("INV-3", "Andi Wijaya", 50000),
        _total_row("Subtotal", 50000),
        _total_row("Grand Total", 300000),
    ]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert len(result.invoices) == 3
    assert [(problem.code, problem.row) for problem in result.warnings] == [
        ("sheet.footer_row", 4),
        ("sheet.footer_row", 6),
        ("sheet.footer_row", 7),
    ]


def test_total_without_amounts_not_compared() -> None:
    """Lines priced by quantity and unit price leave the amount column empty."""
    header = [*BILL_HEADER[:6], "Qty", "Harga Satuan", "Jumlah (Rp)"]
    first = [*bill_row("INV-1")[:6], 2, 100000, None]
    rows = [header, first, [None, None, None, "TOTAL", None, None, None, None, 999]]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert result.total == 200000
    assert [problem.code for problem in result.warnings] == ["sheet.footer_row"]


def test_named_invoice_total_still_billed() -> None:
    """A customer's invoice really numbered TOTAL is billed like any other."""
    result = read(xlsx([BILL_HEADER, bill_row("TOTAL")]))
    assert result.ok
    assert [invoice.draft.number for invoice in result.invoices] == ["TOTAL"]
    assert result.warnings == []


def test_total_label_inside_text_not_total() -> None:
    rows = [BILL_HEADER, bill_row("Total-01"), bill_row("INV-2", "Siti Rahma")]
    result = read(xlsx(rows))
    assert [invoice.draft.number for invoice in result.invoices] == ["Total-01", "INV-2"]


def test_signature_name_below_total_skipped() -> None:
    rows = [
        TEMPLATE_HEADER,
        _template_row("INV-1", "Budi Santoso", 100000),
        _total_row("JUMLAH", 100000),
        [None],
        ["Siti Aminah"],
        ["Bendahara"],
    ]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert [problem.row for problem in result.warnings] == [3, 5, 6]


def test_school_total_row_checked(school: Organisation) -> None:
    rows = [
        SCHOOL_HEADER,
        ["1001", "Ani Lestari", "4A", SCHOOL_DUE, 350000, 75000, 425000],
        ["1002", "Bima Lestari", "2B", SCHOOL_DUE, 350000, None, 350000],
        ["TOTAL", None, None, None, 700000, 75000, 700000],
    ]
    result = check_school(school, xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert len(result.invoices) == 2
    assert [(problem.code, problem.row) for problem in result.warnings] == [
        ("sheet.footer_row", 4),
        ("sheet.total_mismatch", 4),
    ]
    assert "Rp775.000" in result.warnings[1].message.render("en")
