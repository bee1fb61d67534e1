"""Cells for the .xlsx files Tagih writes, so that text from data never becomes a formula.

openpyxl 3.1.5 infers a cell's type from its value: a string that starts with "=" becomes a
formula, and one equal to an error code such as "#N/A" becomes an error cell. Names, invoice
numbers and bank references come from users and banks, so every writer stores strings through
these helpers. A string cell is saved as an inline string with no formula element, so a
spreadsheet shows the text and has nothing to evaluate. That is why text starting with "+", "-"
or "@" is kept unchanged here, with no apostrophe in front as CSV exports need.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE


def set_cell_value(cell: Cell, value: Any) -> Cell:
    """Store `value` in `cell`, keeping a string a string cell whatever it starts with.

    Control characters that XML cannot carry (a name pasted with one, say) become U+FFFD,
    because openpyxl raises IllegalCharacterError on them and the whole file would fail.
    """
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def write_cell(sheet: Any, row: int, column: int, value: Any) -> Cell:
    """Store `value` in the cell at `row` and `column` of a normal worksheet."""
    return set_cell_value(sheet.cell(row=row, column=column), value)


def text_cell(sheet: Any, value: Any) -> Any:
    """Return `value` ready for `sheet.append`: a string becomes a string cell of `sheet`.

    Other values are returned unchanged, because openpyxl infers numbers, dates and None
    correctly. It works for normal and write-only worksheets.
    """
    if not isinstance(value, str):
        return value
    return set_cell_value(WriteOnlyCell(sheet), value)


def text_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """Return a row for `sheet.append` with every string as a string cell."""
    return [text_cell(sheet, value) for value in values]
