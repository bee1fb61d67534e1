"""Text from data stays text in every .xlsx Tagih writes: templates and annotated copies.

The staff report and the reconciliation report are checked in tests/bank.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from billing.orgs import create_organisation
from billing.sheets.annotate import annotate_sheet
from billing.sheets.headers import SheetType
from billing.sheets.reader import LISTS_SHEET
from billing.sheets.templates import build_template, render_template
from billing.xlsx import text_row, write_cell
from models import Product, RecurringFee, Student
from models.db import session_scope
from tests.sheets.conftest import BILL_HEADER, bill_row, read
from tests.text_cells import FORMULA_LIKE, formula_cells, string_values


@pytest.mark.parametrize("write_only", [False, True])
def test_text_row_keeps_text(write_only: bool) -> None:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Data") if write_only else workbook.active
    sheet.append(text_row(sheet, [*FORMULA_LIKE, 5, None, dt.date(2031, 1, 15)]))
    buffer = io.BytesIO()
    workbook.save(buffer)

    content = buffer.getvalue()
    assert formula_cells(content) == []
    row = next(load_workbook(io.BytesIO(content)).worksheets[0].iter_rows())
    assert [cell.value for cell in row[: len(FORMULA_LIKE)]] == list(FORMULA_LIKE)
    assert [cell.data_type for cell in row[: len(FORMULA_LIKE)]] == ["s"] * len(FORMULA_LIKE)
    assert row[len(FORMULA_LIKE)].value == 5
    assert row[len(FORMULA_LIKE)].data_type == "n"
    assert row[-1].is_date


def test_write_cell_keeps_text() -> None:
    workbook = Workbook()
    sheet = workbook.active
    for row, value in enumerate(FORMULA_LIKE, start=1):
        write_cell(sheet, row, 2, value)
    buffer = io.BytesIO()
    workbook.save(buffer)

    assert formula_cells(buffer.getvalue()) == []
    assert string_values(buffer.getvalue()) == list(FORMULA_LIKE)


@pytest.mark.parametrize("write_only", [False, True])
def test_control_characters_replaced(write_only: bool) -> None:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Data") if write_only else workbook.active
    sheet.append(text_row(sheet, ["Budi\x01Santoso", "tab\tand\nnewline"]))
    buffer = io.BytesIO()
    workbook.save(buffer)

    row = next(load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0].iter_rows())
    assert row[0].value == "Budi\ufffdSantoso"
    assert row[1].value == "tab\tand\nnewline"


def _lists_column(content: bytes, name: str) -> list[str]:
    """Return the values of one dropdown list on the hidden lists sheet."""
    sheet = load_workbook(io.BytesIO(content))[LISTS_SHEET]
    header = [cell.value for cell in sheet[1]]
    column = header.index(name) + 1
    values = []
    for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
        if cell.value is not None:
            assert cell.data_type == "s", cell.coordinate
            values.append(cell.value)
    return values


@pytest.mark.parametrize("sheet_type", list(SheetType))
def test_template_lists_keep_text(sheet_type: SheetType) -> None:
    lists = {
        "products": list(FORMULA_LIKE),
        "components": list(FORMULA_LIKE),
        "classes": list(FORMULA_LIKE),
        "languages": ["id", "en"],
    }
    content = render_template('=HYPERLINK("http://evil.example.com","x")', sheet_type, lists)

    assert formula_cells(content) == []
    assert _lists_column(content, "products") == list(FORMULA_LIKE)
    assert _lists_column(content, "classes") == list(FORMULA_LIKE)
    instructions = load_workbook(io.BytesIO(content))["Petunjuk - Instructions"]
    assert instructions["A1"].value.startswith('=HYPERLINK("http://evil.example.com","x"): ')
    assert instructions["A1"].data_type == "s"


def test_school_bills_template_component_headers() -> None:
    lists = {"components": list(FORMULA_LIKE), "classes": ["4A"], "languages": ["id", "en"]}
    content = render_template("SD Contoh", SheetType.SCHOOL_BILLS, lists)

    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers[4 : 4 + len(FORMULA_LIKE)] == list(FORMULA_LIKE)
    assert formula_cells(content) == []


def test_dropdowns_read_the_lists_sheet() -> None:
    lists = {"products": ["=1+1", "Kertas A4"], "classes": ["=1+1"], "languages": ["id", "en"]}
    for sheet_type in (SheetType.BILLS, SheetType.STUDENTS):
        content = render_template("Toko Contoh", sheet_type, lists)
        sheet = load_workbook(io.BytesIO(content)).worksheets[0]
        sources = [item.formula1 for item in sheet.data_validations.dataValidation]
        assert sources, sheet_type
        for source in sources:
            # A range on the lists sheet, so Excel shows those cells' text as the choices.
            assert source.startswith(f"'{LISTS_SHEET}'!$"), source
            assert "1+1" not in source


def test_dropdown_columns_are_text() -> None:
    lists = {"products": ["=1+1"], "classes": ["=1+1"], "languages": ["id", "en"]}
    bills = load_workbook(io.BytesIO(render_template("Toko", SheetType.BILLS, lists)))
    students = load_workbook(io.BytesIO(render_template("SD", SheetType.STUDENTS, lists)))
    assert bills.worksheets[0]["F2"].number_format == "@"  # product
    assert students.worksheets[0]["C2"].number_format == "@"  # class


def test_templates_from_database_keep_text(sqlite_database: str) -> None:
    with session_scope(write=True) as session:
        shop = create_organisation(
            session,
            slug="toko-contoh",
            kind="invoice",
            name="Toko Contoh",
            company_code="88001",
            admin_phone="0812-0000-0001",
        )
        school = create_organisation(
            session,
            slug="sd-contoh",
            kind="school",
            name="SD Contoh",
            company_code="77001",
            admin_phone="0812-0000-0002",
        )
        for index, name in enumerate(FORMULA_LIKE):
            session.add(
                Product(organisation_id=shop.id, name=name, name_key=name, price=1000 + index)
            )
            session.add(
                Student(organisation_id=school.id, nis=f"10{index}", name="Ani", class_name=name)
            )
        session.add(
            RecurringFee(
                organisation_id=school.id, component="=1+1", amount=150000, day_of_month=10
            )
        )
        session.flush()
        bills = build_template(session, shop, SheetType.BILLS)
        students = build_template(session, school, SheetType.STUDENTS)
        school_bills = build_template(session, school, SheetType.SCHOOL_BILLS)

    for content in (bills, students, school_bills):
        assert formula_cells(content) == []
    assert sorted(_lists_column(bills, "products")) == sorted(FORMULA_LIKE)
    assert sorted(_lists_column(students, "classes")) == sorted(FORMULA_LIKE)
    headers = [cell.value for cell in load_workbook(io.BytesIO(school_bills)).worksheets[0][1]]
    assert "=1+1" in headers


def _upload() -> bytes:
    """Build an upload whose text cells hold formula-like text, as Excel stores typed text."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Tagihan"
    rows = [BILL_HEADER]
    for index, text in enumerate(FORMULA_LIKE, start=1):
        rows.append(bill_row(f"INV-{index:03d}", name=f"Budi {index}", product=text))
    rows.append(bill_row("=1+1", name='=HYPERLINK("http://evil.example.com","x")'))
    rows.append(bill_row("INV-900", phone="@SUM(A1)"))
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("rebuild_above", [10_000, 0], ids=["in-place", "write-only"])
def test_annotated_copy_keeps_text(rebuild_above: int) -> None:
    content = _upload()
    assert formula_cells(content) == []
    result = read(content)
    assert result.sheet is not None

    copy = annotate_sheet(content, result, "en", rebuild_above=rebuild_above)

    assert formula_cells(copy) == []
    texts = string_values(copy, result.sheet)
    for text in FORMULA_LIKE:
        assert text in texts, text
    assert '=HYPERLINK("http://evil.example.com","x")' in texts
    sheet = load_workbook(io.BytesIO(copy))[result.sheet]
    assert sheet.cell(row=8, column=4).value == "=1+1"
    assert sheet.cell(row=8, column=4).data_type == "s"
    assert sheet.cell(row=9, column=3).value == "@SUM(A1)"
    assert sheet.cell(row=9, column=3).comment is not None
