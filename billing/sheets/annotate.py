"""An annotated copy of an uploaded sheet: problem cells marked, a reason column, valid rows."""

from __future__ import annotations

import io
from collections import defaultdict

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from billing.sheets.result import Problem, SheetResult
from locales import tr

ERROR_FILL = PatternFill("solid", fgColor="F8CBAD")
WARNING_FILL = PatternFill("solid", fgColor="FFE699")
VALID_FILL = PatternFill("solid", fgColor="C6EFCE")


def annotate_sheet(content: bytes, result: SheetResult, language: str) -> bytes:
    """Return a copy of the uploaded .xlsx with each problem marked where it is.

    Problem cells are filled red (errors) or yellow (warnings) with the reason as a comment;
    a column after the data gives every row's reasons in the reader's language, and rows
    that will be imported are marked green. Call it only for a result without a file error:
    that file was checked for size and format before.
    """
    if result.file_error is not None or result.sheet is None or result.header_row is None:
        raise ValueError("annotate_sheet needs a sheet that was read; this one has a file error")
    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook[result.sheet]
    note_column = sheet.max_column + 1
    header = sheet.cell(
        row=result.header_row, column=note_column, value=tr(language, "Tagih check")
    )
    header.font = Font(bold=True)
    reasons: dict[int, list[str]] = defaultdict(list)
    for problem, fill in [(p, ERROR_FILL) for p in result.errors] + [
        (p, WARNING_FILL) for p in result.warnings
    ]:
        _mark(sheet, problem, fill, language, reasons)
    for row in _valid_rows(result):
        cell = sheet.cell(row=row, column=note_column)
        cell.fill = VALID_FILL
        if not reasons.get(row):
            cell.value = tr(language, "OK: will be imported")
    for row, texts in reasons.items():
        cell = sheet.cell(row=row, column=note_column, value="\n".join(texts))
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if row in result.invalid_rows:
            cell.fill = ERROR_FILL
    sheet.column_dimensions[sheet.cell(row=1, column=note_column).column_letter].width = 60
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _mark(
    sheet, problem: Problem, fill: PatternFill, language: str, reasons: dict[int, list[str]]
) -> None:  # type: ignore[no-untyped-def]
    if problem.row is None:
        return
    text = problem.message.render(language)
    reasons[problem.row].append(text)
    if problem.cell:
        cell = sheet[problem.cell]
        cell.fill = fill
        cell.comment = Comment(text, "Tagih")
    for other in problem.rows:
        if other != problem.row:
            reasons[other].append(text)


def _valid_rows(result: SheetResult) -> list[int]:
    rows: list[int] = []
    for invoice in result.invoices:
        rows.extend(invoice.rows)
    for customer in result.customers:
        rows.extend(customer.rows)
    for student in result.students:
        rows.extend(student.rows)
    return rows
