"""Hidden columns: values that are not shown are reported, and their rows are not imported."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from billing.imports import import_sheet
from billing.sheets.annotate import annotate_sheet
from models import Invoice, Organisation
from models.db import session_scope
from tests.sheets.conftest import BILL_HEADER, TODAY, bill_row, read, rewrite_member, xlsx
from tests.sheets.test_school import DUE, SCHOOL_HEADER
from tests.sheets.test_school import _check as check_school


def _hide(*letters: str):  # type: ignore[no-untyped-def]
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        for letter in letters:
            sheet.column_dimensions[letter].hidden = True

    return edit


def _with_columns(content: bytes, columns: bytes) -> bytes:
    """Return a copy of an .xlsx whose first worksheet gets the given <cols> element.

    openpyxl writes neither a zero width nor hidden="true", which other programs do.
    """
    return rewrite_member(
        content,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace(b"<sheetData>", columns + b"<sheetData>"),
    )


def _bills_with_note(*notes: str | None) -> list[list]:
    """A bills sheet with an extra "Catatan Internal" column H, one invoice per note."""
    rows = [BILL_HEADER + ["Catatan Internal"]]
    for number, note in enumerate(notes, start=1):
        rows.append(bill_row(f"INV-{number}", f"Pelanggan {number}") + [note])
    return rows


def test_hidden_extra_column_reported() -> None:
    rows = _bills_with_note("diskon 10%", None, "belum lunas")
    result = read(xlsx(rows, edit=_hide("H")))
    assert [(p.code, p.row, p.cell, p.column) for p in result.errors] == [
        ("sheet.hidden_column", 2, "H2", "Catatan Internal")
    ]
    assert result.errors[0].rows == [2, 4]
    assert result.invalid_rows == [2, 4]
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-2"]


def test_hidden_column_message_both_languages() -> None:
    result = read(xlsx(_bills_with_note("diskon 10%", None, "belum lunas"), edit=_hide("H")))
    english = result.errors[0].message.render("en")
    assert "Column H (Catatan Internal) is hidden" in english
    assert "2 rows: 2, 4" in english
    assert "Unhide it and check it, or delete it" in english
    indonesian = result.errors[0].message.render("id")
    assert "Kolom H (Catatan Internal) disembunyikan" in indonesian
    assert "2 baris: 2, 4" in indonesian
    assert "Tampilkan lalu periksa" in indonesian


def test_hidden_column_one_row_message() -> None:
    result = read(xlsx(_bills_with_note(None, "cek lagi"), edit=_hide("H")))
    assert (
        result.errors[0]
        .message.render("en")
        .startswith("Column H (Catatan Internal) is hidden but contains a value in row 3.")
    )
    assert (
        result.errors[0]
        .message.render("id")
        .startswith("Kolom H (Catatan Internal) disembunyikan tetapi berisi nilai di baris 3.")
    )


def test_hidden_used_column_blocks_rows() -> None:
    rows = [BILL_HEADER, bill_row("INV-1"), bill_row("INV-2", "Siti Rahma")]
    result = read(xlsx(rows, edit=_hide("B")))
    assert [(p.code, p.cell, p.column) for p in result.errors] == [
        ("sheet.hidden_column", "B2", "Email")
    ]
    assert "Column B (Email)" in result.errors[0].message.render("en")
    assert result.invoices == []
    assert result.invalid_rows == [2, 3]


def test_hidden_empty_column_passes() -> None:
    result = read(xlsx(_bills_with_note(None, None), edit=_hide("H", "I", "J")))
    assert result.ok, [problem.to_json("en") for problem in result.errors]
    assert len(result.invoices) == 2


def test_hidden_column_without_header() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet["J3"] = "x"
        sheet.column_dimensions["J"].hidden = True

    rows = [BILL_HEADER, bill_row("INV-1"), bill_row("INV-2", "Siti Rahma")]
    result = read(xlsx(rows, edit=edit))
    assert [(p.code, p.cell, p.column) for p in result.errors] == [
        ("sheet.hidden_column", "J3", None)
    ]
    text = result.errors[0].message.render("en")
    assert text.startswith("Column J is hidden but contains a value in row 3.")
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-1"]


@pytest.mark.parametrize(
    "columns",
    [
        b'<cols><col min="8" max="8" width="0" customWidth="1"/></cols>',
        b'<cols><col max="8" min="8" hidden="true"/></cols>',
        b'<cols><col min="1" max="7" width="12.5"/><col min="8" max="9" hidden="1"/></cols>',
    ],
)
def test_hidden_column_xml_variants(columns: bytes) -> None:
    result = read(_with_columns(xlsx(_bills_with_note("diskon")), columns))
    assert [(p.code, p.cell) for p in result.errors] == [("sheet.hidden_column", "H2")]


def test_narrow_column_not_hidden() -> None:
    columns = b'<cols><col min="8" max="8" width="0.5" customWidth="1"/></cols>'
    result = read(_with_columns(xlsx(_bills_with_note("diskon")), columns))
    assert result.ok, [problem.to_json("en") for problem in result.errors]


def test_hidden_range_to_last_column() -> None:
    """Hiding every column right of the data (H to XFD) is one range in the file."""

    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet.column_dimensions.group("H", "XFD", hidden=True)

    result = read(xlsx(_bills_with_note(None, "lunas"), edit=edit))
    assert [(p.code, p.cell) for p in result.errors] == [("sheet.hidden_column", "H3")]


def test_hidden_row_not_counted_twice() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet.column_dimensions["H"].hidden = True
        sheet.row_dimensions[2].hidden = True

    result = read(xlsx(_bills_with_note("diskon", None), edit=edit))
    assert [(p.code, p.row) for p in result.errors] == [("sheet.hidden_row", 2)]
    assert [invoice.draft.number for invoice in result.invoices] == ["INV-2"]


def test_hidden_column_rows_listed_up_to_ten() -> None:
    rows = _bills_with_note(*(["lunas"] * 12))
    result = read(xlsx(rows, edit=_hide("H")))
    text = result.errors[0].message.render("en")
    assert "12 rows: 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …" in text
    assert result.errors[0].rows == list(range(2, 14))


def test_annotated_copy_names_hidden_column() -> None:
    content = xlsx(_bills_with_note("diskon", None), edit=_hide("H"))
    result = read(content)
    sheet = load_workbook(io.BytesIO(annotate_sheet(content, result, "en")))["Tagihan"]
    assert sheet["I1"].value == "Tagih check"
    assert "Column H (Catatan Internal) is hidden" in sheet["I2"].value
    assert sheet["I3"].value == "OK: will be imported"


def test_import_valid_rows_skips_hidden_values(shop: Organisation) -> None:
    content = xlsx(_bills_with_note("diskon", None, None), edit=_hide("H"))
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, shop.id)
        result = import_sheet(
            session, organisation, "a.xlsx", content, today=TODAY, skip_invalid=True
        )
    assert result.imported == 2
    assert result.skipped_rows == [2]
    with session_scope() as session:
        numbers = sorted(session.exec(select(Invoice.number)))
    assert numbers == ["INV-2", "INV-3"]


def test_hidden_fee_component_reported(school: Organisation) -> None:
    """A hidden fee column would bill an amount that staff never saw on screen."""
    header = SCHOOL_HEADER[:5] + ["Denda"]
    rows = [header, ["1001", "Ani Lestari", "4A", DUE, 350000, 50000],
            ["1002", "Bima Lestari", "2B", DUE, 350000, None]]  # fmt: skip
    result = check_school(school, xlsx(rows, edit=_hide("F")))
    assert [(p.code, p.cell, p.column) for p in result.errors] == [
        ("sheet.hidden_column", "F2", "Denda")
    ]
    assert [invoice.student.nis for invoice in result.invoices if invoice.student] == ["1002"]
