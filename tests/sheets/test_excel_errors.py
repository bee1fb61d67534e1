"""Cells that show an Excel error (#REF!, #N/A) are reported by cell and error, in any column."""

from __future__ import annotations

import pytest

from billing.sheets.headers import SheetType
from billing.sheets.templates import COLUMNS
from models import Organisation
from tests.sheets.conftest import BILL_HEADER, bill_row, read, rewrite_member, xlsx
from tests.sheets.test_school import DUE as SCHOOL_DUE
from tests.sheets.test_school import SCHOOL_HEADER
from tests.sheets.test_school import _check as check_school

SHEET = "xl/worksheets/sheet1.xml"
TEMPLATE_HEADER = [column.title for column in COLUMNS[SheetType.BILLS]]


def _as_text(*cells: str):  # type: ignore[no-untyped-def]
    """Store the named cells as text, as a file whose error codes were typed as words."""

    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        for name in cells:
            sheet[name].data_type = "s"

    return edit


def _template_row(number: str, amount: object) -> list:
    return [number, "Budi Santoso", "budi@example.com", "081234567890", SCHOOL_DUE,
            "SPP Januari 2031", 1, 350000, amount, None]  # fmt: skip


@pytest.mark.parametrize("error", ["#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NAME?"])
def test_error_in_amount_named(error: str) -> None:
    rows = [TEMPLATE_HEADER, _template_row("INV-1", error), _template_row("INV-2", 350000)]
    result = read(xlsx(rows))
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-2"]
    assert [(problem.code, problem.cell) for problem in result.errors] == [
        ("sheet.excel_error", "I2")
    ]
    problem = result.errors[0]
    assert problem.row == 2
    assert problem.column == "Jumlah (Rp) / Amount"
    assert problem.value == error
    assert problem.message.render("en") == (
        f"Cell I2 shows the Excel error {error}. Fix the formula, or type the value."
    )
    assert error in problem.message.render("id")
    assert result.invalid_rows == [2]


def test_cached_formula_error_named() -> None:
    def cache_error(xml: bytes) -> bytes:
        return xml.replace(b'<c r="G2"><f>B9/0</f><v></v></c>',
                           b'<c r="G2" t="e"><f>B9/0</f><v>#DIV/0!</v></c>')  # fmt: skip

    rows = [BILL_HEADER, bill_row("INV-1", amount="=B9/0")]
    content = rewrite_member(xlsx(rows), SHEET, cache_error)
    result = read(content)
    assert result.invoices == []
    assert [(problem.code, problem.cell, problem.value) for problem in result.errors] == [
        ("sheet.excel_error", "G2", "#DIV/0!")
    ]


@pytest.mark.parametrize(
    ("column", "cell"),
    [(0, "A2"), (2, "C2"), (3, "D2"), (4, "E2"), (5, "F2")],
)
def test_error_in_any_column_named(column: int, cell: str) -> None:
    row = bill_row("INV-1")
    row[column] = "#REF!"
    result = read(xlsx([BILL_HEADER, row]))
    assert result.invoices == []
    assert [(problem.code, problem.cell) for problem in result.errors] == [
        ("sheet.excel_error", cell)
    ]


def test_error_typed_as_text_named() -> None:
    row = bill_row("INV-1", amount="#N/A")
    result = read(xlsx([BILL_HEADER, row], edit=_as_text("G2")))
    assert [(problem.code, problem.cell, problem.value) for problem in result.errors] == [
        ("sheet.excel_error", "G2", "#N/A")
    ]


def test_error_outside_header_columns_ignored() -> None:
    rows = [BILL_HEADER, [*bill_row("INV-1"), "#REF!"]]
    result = read(xlsx(rows))
    assert result.ok, [problem.to_json("en") for problem in result.errors]


def test_school_error_in_component_named(school: Organisation) -> None:
    rows = [
        SCHOOL_HEADER,
        ["1001", "Ani Lestari", "4A", SCHOOL_DUE, 350000, "#VALUE!", None],
        ["#REF!", "Bima Lestari", "2B", SCHOOL_DUE, 350000, None, None],
    ]
    result = check_school(school, xlsx(rows))
    assert result.invoices == []
    assert [(problem.code, problem.cell) for problem in result.errors] == [
        ("sheet.excel_error", "F2"),
        ("sheet.excel_error", "A3"),
    ]
