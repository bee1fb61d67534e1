"""Checks that text from data reads back from an .xlsx as the same text, never as a formula."""

from __future__ import annotations

import io

from openpyxl import load_workbook

# Text a customer, a product list or a bank statement may carry. openpyxl 3.1.5 stores a
# plain string starting with "=" as a formula and "#N/A" as an error cell. The others start
# with the classic CSV injection prefixes.
FORMULA_LIKE = (
    "=1+1",
    '=HYPERLINK("http://evil.example.com","x")',
    "+62812",
    "-5",
    "@SUM(A1)",
    "#N/A",
)


def formula_cells(content: bytes) -> list[str]:
    """Return "sheet!A1" for every cell of the .xlsx that openpyxl reads as a formula."""
    workbook = load_workbook(io.BytesIO(content))
    return [
        f"{sheet.title}!{cell.coordinate}"
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def string_values(content: bytes, sheet: str | None = None) -> list[str]:
    """Return the values of the string cells of one sheet, or of every sheet."""
    workbook = load_workbook(io.BytesIO(content))
    sheets = [workbook[sheet]] if sheet is not None else workbook.worksheets
    return [
        cell.value
        for found in sheets
        for row in found.iter_rows()
        for cell in row
        if cell.data_type == "s" and isinstance(cell.value, str)
    ]
