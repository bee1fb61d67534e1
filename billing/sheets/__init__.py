"""Spreadsheets: safe intake, reading and validation, annotated copies and templates.

`read_upload` turns the bytes of an uploaded file into a SheetResult without touching the
database; billing.imports loads what it needs to know and writes what it returns.
"""

from __future__ import annotations

import time

from billing.sheets.bills import parse_bills
from billing.sheets.context import ParseContext
from billing.sheets.headers import SheetType
from billing.sheets.intake import SheetFileError, open_workbook
from billing.sheets.reader import Problems, read_sheet
from billing.sheets.registrations import parse_customers, parse_students
from billing.sheets.result import Problem, SheetResult
from billing.sheets.school import parse_school_bills
from locales import N_
from tagih.settings import Settings

__all__ = ["ParseContext", "SheetFileError", "SheetResult", "SheetType", "read_upload"]


def read_upload(
    filename: str,
    content: bytes,
    context: ParseContext,
    *,
    settings: Settings,
    sheet_type: SheetType | None = None,
    allowed: set[SheetType] | None = None,
) -> SheetResult:
    """Check and read an uploaded sheet; every problem ends up in the result, never raised."""
    result = SheetResult(filename=filename, today=context.today)
    deadline = time.monotonic() + settings.sheet_max_parse_seconds
    problems = Problems()
    try:
        workbook = open_workbook(filename, content, settings)
        data = read_sheet(
            workbook,
            filename,
            problems,
            forced=sheet_type,
            allowed=allowed or set(SheetType),
            max_rows=settings.sheet_max_rows,
            deadline=deadline,
        )
        result.sheet, result.header_row = data.name, data.header.row
        result.sheet_type = data.sheet_type.value
        if not data.rows:
            raise SheetFileError(
                "sheet.no_rows",
                N_(
                    "The sheet {sheet} has a header on row {row} but no rows below it. "
                    "Fill in at least one row and send it again."
                ),
                sheet=data.name,
                row=data.header.row,
            )
        if data.sheet_type == SheetType.BILLS:
            result.invoices = parse_bills(data, context, problems, deadline)
        elif data.sheet_type == SheetType.SCHOOL_BILLS:
            result.invoices = parse_school_bills(data, context, problems, deadline)
        elif data.sheet_type == SheetType.CUSTOMERS:
            result.customers = parse_customers(data, problems, deadline)
        else:
            result.students = parse_students(data, problems, deadline)
    except SheetFileError as error:
        result.file_error = Problem(error.code, error.msg)
    result.errors = sorted(problems.errors, key=lambda p: p.row or 0)
    result.warnings = problems.warnings
    result.invalid_rows = sorted(problems.invalid_rows)
    result.new_products = sorted({name for i in result.invoices for name in i.new_products})
    return result
