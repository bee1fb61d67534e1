"""Text from data stays text in the .xlsx files Tagih writes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook

from billing.xlsx import text_row, write_cell
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
