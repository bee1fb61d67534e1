"""An annotated copy of an uploaded sheet: problem cells marked, a reason column, valid rows."""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from billing.sheets.intake import column_letter, open_workbook
from billing.sheets.result import Problem, SheetResult
from billing.xlsx import set_cell_value, text_cell, write_cell
from locales import tr
from tagih.settings import Settings, get_settings

ERROR_FILL = PatternFill("solid", fgColor="F8CBAD")
WARNING_FILL = PatternFill("solid", fgColor="FFE699")
VALID_FILL = PatternFill("solid", fgColor="C6EFCE")
NOTE_WIDTH = 60
# Sheets reaching past this row are rebuilt in openpyxl's write-only mode, because loading
# and saving a whole workbook is slow and large. In one run of 100,000 rows of 9 columns
# (openpyxl 3.1.5 without lxml, 2 shared vCPUs), the full copy took 21 CPU seconds and about
# 400 MB, the rebuild 10 CPU seconds and 80 MB.
LARGE_SHEET_ROWS = 20_000


@dataclass
class _Notes:
    """The marks of a copy: reasons per Excel row, and the fill and comment of marked cells."""

    reasons: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    cells: dict[int, dict[int, tuple[PatternFill, str]]] = field(
        default_factory=lambda: defaultdict(dict)
    )  # row, then 1-based column
    valid_rows: set[int] = field(default_factory=set)
    invalid_rows: set[int] = field(default_factory=set)


def annotate_sheet(
    content: bytes,
    result: SheetResult,
    language: str,
    *,
    settings: Settings | None = None,
    rebuild_above: int = LARGE_SHEET_ROWS,
) -> bytes:
    """Return a copy of the uploaded .xlsx with each problem marked where it is.

    Problem cells are filled red (errors) or yellow (warnings) with the reason as a comment;
    a column after the data gives every row's reasons in the reader's language, and rows
    that will be imported are marked green. Call it only for a result without a file error:
    that file was checked for size and format before.

    Up to `rebuild_above` rows, the copy is the uploaded workbook itself, with every sheet,
    style and merge. A longer sheet is rebuilt from its values alone: the checked sheet only,
    with dates, identifier number formats and the header row frozen, but without the other
    sheets, merges, hidden rows and columns, or cell styles. `settings` are the limits the
    rebuild checks the file against again, as when it was read.
    """
    if result.file_error is not None or result.sheet is None or result.header_row is None:
        raise ValueError("annotate_sheet needs a sheet that was read; this one has a file error")
    notes = _collect_notes(result, language)
    if _last_row(result, notes) > rebuild_above:
        return _rebuild(content, result, language, notes, settings or get_settings())
    return _annotate_in_place(content, result, language, notes)


def _collect_notes(result: SheetResult, language: str) -> _Notes:
    notes = _Notes(invalid_rows=set(result.invalid_rows))
    for problem, fill in [(p, ERROR_FILL) for p in result.errors] + [
        (p, WARNING_FILL) for p in result.warnings
    ]:
        _add_problem(notes, problem, fill, language)
    for invoice in result.invoices:
        notes.valid_rows.update(invoice.rows)
    for customer in result.customers:
        notes.valid_rows.update(customer.rows)
    for student in result.students:
        notes.valid_rows.update(student.rows)
    return notes


def _add_problem(notes: _Notes, problem: Problem, fill: PatternFill, language: str) -> None:
    if problem.row is None:
        return
    text = problem.message.render(language)
    notes.reasons[problem.row].append(text)
    if problem.cell:
        letters, row = coordinate_from_string(problem.cell)
        # A later problem on the same cell replaces the earlier fill and comment.
        notes.cells[row][column_index_from_string(letters)] = (fill, text)
    for other in problem.rows:
        if other != problem.row:
            notes.reasons[other].append(text)


def _last_row(result: SheetResult, notes: _Notes) -> int:
    rows = [result.header_row or 0, *notes.reasons, *notes.cells, *notes.valid_rows]
    return max(rows)


def _annotate_in_place(content: bytes, result: SheetResult, language: str, notes: _Notes) -> bytes:
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[result.sheet]
    note_column = sheet.max_column + 1
    header = write_cell(sheet, result.header_row, note_column, tr(language, "Tagih check"))
    header.font = Font(bold=True)
    for row, marked in notes.cells.items():
        for column, (fill, text) in marked.items():
            cell = sheet.cell(row=row, column=column)
            cell.fill = fill
            cell.comment = Comment(text, "Tagih")
    for row in notes.valid_rows:
        cell = sheet.cell(row=row, column=note_column)
        cell.fill = VALID_FILL
        if not notes.reasons.get(row):
            set_cell_value(cell, tr(language, "OK: will be imported"))
    for row, texts in notes.reasons.items():
        # Reasons quote uploaded values, so they are stored as text whatever they start with.
        cell = write_cell(sheet, row, note_column, "\n".join(texts))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row in notes.invalid_rows:
            cell.fill = ERROR_FILL
    sheet.column_dimensions[column_letter(note_column)].width = NOTE_WIDTH
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rebuild(
    content: bytes, result: SheetResult, language: str, notes: _Notes, settings: Settings
) -> bytes:
    """Write the checked sheet's values and the notes to a new workbook, row by row."""
    assert result.sheet is not None and result.header_row is not None
    checked = open_workbook(result.filename, content, settings)
    layout = next(layout for layout in checked.sheets if layout.name == result.sheet)
    rows = checked.reader.get_sheet_by_name(result.sheet).to_python(skip_empty_area=False)
    width = max((len(row) for row in rows), default=0)
    note_column = width + 1
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(result.sheet)
    sheet.column_dimensions[column_letter(note_column)].width = NOTE_WIDTH
    sheet.freeze_panes = f"A{result.header_row + 1}"
    ok_text = tr(language, "OK: will be imported")
    for index, values in enumerate(rows):
        number = index + 1
        # Uploaded text such as "=1+1" must stay text in the copy, not become a formula.
        cells: list[Any] = [None if value == "" else text_cell(sheet, value) for value in values]
        cells.extend([None] * (width - len(cells)))
        for column, formats in layout.display_formats.items():
            code = formats.get(number)
            if code is not None and column <= width and _is_number(cells[column - 1]):
                cells[column - 1] = _styled(sheet, cells[column - 1], number_format=code)
        for column, (fill, text) in notes.cells.get(number, {}).items():
            if column <= width:
                cells[column - 1] = _styled(sheet, cells[column - 1], fill=fill, comment=text)
        cells.append(_note_cell(sheet, result, language, notes, number, ok_text))
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _note_cell(
    sheet: Any, result: SheetResult, language: str, notes: _Notes, number: int, ok_text: str
) -> Any:
    if number == result.header_row:
        cell = text_cell(sheet, tr(language, "Tagih check"))
        cell.font = Font(bold=True)
        return cell
    texts = notes.reasons.get(number)
    if texts:
        cell = text_cell(sheet, "\n".join(texts))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if number in notes.invalid_rows:
            cell.fill = ERROR_FILL
        elif number in notes.valid_rows:
            cell.fill = VALID_FILL
        return cell
    if number in notes.valid_rows:
        cell = text_cell(sheet, ok_text)
        cell.fill = VALID_FILL
        return cell
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _styled(
    sheet: Any,
    value: Any,
    *,
    number_format: str | None = None,
    fill: PatternFill | None = None,
    comment: str | None = None,
) -> Cell:
    """Return a write-only cell for `value`, keeping the style of a cell styled before."""
    cell = value if isinstance(value, Cell) else set_cell_value(WriteOnlyCell(sheet), value)
    if number_format is not None:
        cell.number_format = number_format
    if fill is not None:
        cell.fill = fill
    if comment is not None:
        cell.comment = Comment(comment, "Tagih")
    return cell
