"""Annotated copies: long sheets are rebuilt row by row with the same marks and notes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from billing.sheets.annotate import ERROR_FILL, VALID_FILL, annotate_sheet
from tests.sheets.conftest import BILL_HEADER, bill_row, read, xlsx

SAMPLE = "42_mixed_row_errors_with_title_offset.xlsx"


def _load(content: bytes, sheet: str):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(content))[sheet]


def _shown(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def test_rebuilt_copy_matches_full_copy(samples_dir: Path) -> None:
    content = (samples_dir / SAMPLE).read_bytes()
    result = read(content)
    assert result.sheet is not None
    full = _load(annotate_sheet(content, result, "id"), result.sheet)
    rebuilt = _load(annotate_sheet(content, result, "id", rebuild_above=0), result.sheet)
    assert rebuilt.max_row == full.max_row
    assert rebuilt.max_column == full.max_column
    for row in range(1, full.max_row + 1):
        for column in range(1, full.max_column + 1):
            expected, actual = full.cell(row, column), rebuilt.cell(row, column)
            where = expected.coordinate
            if not (isinstance(expected.value, str) and expected.value.startswith("=")):
                assert _shown(actual.value) == _shown(expected.value), where
            if expected.comment is not None:
                assert actual.comment is not None, where
                assert actual.comment.text == expected.comment.text, where
            if expected.fill.fgColor.rgb in (ERROR_FILL.fgColor.rgb, VALID_FILL.fgColor.rgb):
                assert actual.fill.fgColor.rgb == expected.fill.fgColor.rgb, where


def test_rebuilt_copy_layout(samples_dir: Path) -> None:
    content = (samples_dir / SAMPLE).read_bytes()
    result = read(content)
    assert result.sheet is not None and result.header_row == 3
    copy = load_workbook(io.BytesIO(annotate_sheet(content, result, "en", rebuild_above=0)))
    assert copy.sheetnames == [result.sheet]
    sheet = copy[result.sheet]
    note = sheet.max_column
    assert sheet.freeze_panes == "A4"
    assert sheet.cell(row=3, column=note).value == "Tagih check"
    assert sheet.cell(row=3, column=note).font.bold
    assert sheet.cell(row=4, column=note).value == "OK: will be imported"
    assert sheet.column_dimensions[sheet.cell(row=1, column=note).column_letter].width == 60


def test_rebuilt_copy_keeps_identifier_format() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        sheet["D2"].number_format = "000000"
        workbook.create_sheet("Catatan")

    rows = [BILL_HEADER, bill_row(1002), bill_row("INV-2", amount=0)]
    content = xlsx(rows, edit=edit)
    result = read(content)
    copy = load_workbook(io.BytesIO(annotate_sheet(content, result, "en", rebuild_above=0)))
    assert copy.sheetnames == ["Tagihan"]
    sheet = copy["Tagihan"]
    assert sheet["D2"].value == 1002
    assert sheet["D2"].number_format == "000000"
    assert sheet["E2"].is_date
    assert sheet["G3"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb
    assert "The amount is 0" in sheet["G3"].comment.text
    assert "The amount is 0" in sheet["H3"].value
    assert sheet["H3"].fill.fgColor.rgb == ERROR_FILL.fgColor.rgb


def test_short_sheet_copied_whole() -> None:
    def edit(workbook, sheet):  # type: ignore[no-untyped-def]
        workbook.create_sheet("Catatan")

    content = xlsx([BILL_HEADER, bill_row("INV-1", amount=0)], edit=edit)
    copy = load_workbook(io.BytesIO(annotate_sheet(content, read(content), "en")))
    assert copy.sheetnames == ["Tagihan", "Catatan"]
