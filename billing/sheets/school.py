"""School bills: one row per registered student, one amount column per fee component."""

from __future__ import annotations

from functools import partial
from typing import Any

from billing.invoices import InvoiceDraft, LineDraft, invoice_number_key
from billing.sheets.bills import MAX_NUMBER_LENGTH, read_due_date
from billing.sheets.context import KnownStudent, ParseContext, name_key
from billing.sheets.headers import Field
from billing.sheets.reader import Problems, RowReader, SheetData, iter_with_deadline
from billing.sheets.result import SheetInvoice, StudentRef
from billing.sheets.values import CellError, cell_text, clean_text, is_blank, parse_amount
from locales import format_rupiah, msg


def nis_key(nis: str) -> str:
    return invoice_number_key(nis)


def component_columns(data: SheetData) -> list[int]:
    """Columns whose header names no known field: each is a fee component."""
    return list(data.header.extra)


def parse_school_bills(
    data: SheetData, context: ParseContext, problems: Problems, deadline: float
) -> list[SheetInvoice]:
    components = component_columns(data)
    if not components:
        problems.error(
            "school.no_components",
            msg(
                "The sheet has no fee component columns. Add one column per component, with "
                "its name as the header (for example SPP Januari) and the amount per student."
            ),
        )
        return []
    invoices: list[SheetInvoice] = []
    first_row_of: dict[str, int] = {}
    for row in iter_with_deadline(data.rows, deadline):
        reader = RowReader(data, row, problems)
        invoice = _parse_row(reader, context, components)
        nis = cell_text(reader.raw(Field.NIS))
        if nis:
            key = nis_key(nis)
            if key in first_row_of:
                first = first_row_of[key]
                problems.error(
                    "school.duplicate_student",
                    msg(
                        "Student {nis} appears in rows {first} and {row}. Put all of a "
                        "student's fees in one row, one column per component.",
                        nis=nis,
                        first=first,
                        row=row.number,
                    ),
                    row=row.number,
                    column=data.header.title(data.header.columns[Field.NIS]),
                    value=nis,
                    rows=[first, row.number],
                )
                invoices = [i for i in invoices if i.draft.source_rows != [first]]
                continue
            first_row_of[key] = row.number
        if invoice is not None and not reader.failed:
            invoices.append(invoice)
    return invoices


def _parse_row(
    reader: RowReader, context: ParseContext, components: list[int]
) -> SheetInvoice | None:
    nis = cell_text(reader.raw(Field.NIS))
    if not nis:
        reader.fail(
            Field.NIS,
            "school.nis_missing",
            msg("The student number (NIS) is missing. Enter the NIS of the student to bill."),
        )
        return None
    student = context.students.get(nis_key(nis))
    if student is None:
        reader.fail(
            Field.NIS,
            "school.student_unknown",
            msg(
                "No student with NIS {nis} is registered. Register the student and a parent "
                "first (students sheet), or correct the NIS.",
                nis=nis,
            ),
        )
        return None
    _check_name(reader, student)
    _check_class(reader, student)
    if student.payer_id is None:
        reader.fail(
            Field.NIS,
            "school.no_payer",
            msg(
                "Student {nis} ({name}) has no parent registered to pay. Register a parent "
                "with the students sheet first.",
                nis=nis,
                name=student.name,
            ),
        )
    due = None
    if reader.column(Field.DUE_DATE) is not None:
        due = read_due_date(reader, context)
    lines = _component_lines(reader, context, components)
    number = _invoice_number(reader, nis, due)
    if reader.failed or due is None or number is None:
        return None
    if not lines:
        reader.fail(
            Field.NIS,
            "school.no_amounts",
            msg(
                "Row {row} has no amount in any fee component column. Enter at least one "
                "amount, or delete the row.",
                row=reader.row.number,
            ),
        )
        return None
    total = sum(line.amount for line in lines)
    if not _total_matches(reader, total):
        return None
    draft = InvoiceDraft(
        number=number,
        customer_name=student.payer_name,
        due_date=due,
        lines=lines,
        phone=student.payer_phone,
        email=student.payer_email,
        description=clean_text(reader.raw(Field.DESCRIPTION)),
        customer_id=student.payer_id,
        student_id=student.id,
        source_rows=[reader.row.number],
    )
    return SheetInvoice(
        draft=draft, student=StudentRef(student.nis, student.name, student.class_name)
    )


def _check_name(reader: RowReader, student: KnownStudent) -> None:
    column = Field.STUDENT if reader.column(Field.STUDENT) is not None else Field.CUSTOMER
    name = clean_text(reader.raw(column))
    if name and name_key(name) != name_key(student.name):
        reader.fail(
            column,
            "school.name_mismatch",
            msg(
                "NIS {nis} belongs to {registered}, not {name}. Check the NIS and the name.",
                nis=student.nis,
                registered=student.name,
                name=name,
            ),
        )


def _check_class(reader: RowReader, student: KnownStudent) -> None:
    """Warn when the row's class differs from the student's registered class.

    The row is still billed, because a student who changed class owes the same fees and the
    class is kept in the student list.
    """
    class_name = clean_text(reader.raw(Field.CLASS))
    if not class_name or not student.class_name:
        return
    if name_key(class_name) == name_key(student.class_name):
        return
    reader.warn(
        Field.CLASS,
        "school.class_mismatch",
        msg(
            "Student {nis} ({name}) is registered in class {registered}, but this row says "
            "{class_name}. The row is still billed. If the student changed class, update the "
            "student list, otherwise check the NIS.",
            nis=student.nis,
            name=student.name,
            registered=student.class_name,
            class_name=class_name,
        ),
    )


def _component_lines(
    reader: RowReader, context: ParseContext, components: list[int]
) -> list[LineDraft]:
    lines = []
    for index in components:
        value = reader.raw_at(index)
        if is_blank(value) or value == 0:
            continue  # blank or zero means the component is not billed
        amount = reader.parse_at(index, partial(parse_amount, maximum=context.max_amount))
        if amount is not None:
            lines.append(LineDraft(reader.data.header.title(index), 1, amount, amount))
    return lines


def _invoice_number(reader: RowReader, nis: str, due: Any) -> str | None:
    if reader.has(Field.NUMBER):
        number = cell_text(reader.raw(Field.NUMBER))
        if len(number) <= MAX_NUMBER_LENGTH:
            return number
        reader.fail(
            Field.NUMBER,
            "invoice.number_too_long",
            msg(
                "The invoice number {value} is longer than {limit} characters. Shorten it.",
                value=number,
                limit=MAX_NUMBER_LENGTH,
            ),
        )
        return None
    if due is None:
        return None
    # Without a number column, a student's bill is named by NIS and due date, so uploading
    # the same sheet twice finds the bills already issued.
    return f"{nis}-{due:%Y%m%d}"


def _total_matches(reader: RowReader, total: int) -> bool:
    if not reader.has(Field.AMOUNT):
        return True
    try:
        stated = parse_amount(reader.raw(Field.AMOUNT), maximum=10**15)
    except CellError:
        return True  # a total column that is not a number is ignored like any extra column
    if stated == total:
        return True
    reader.fail(
        Field.AMOUNT,
        "school.total_mismatch",
        msg(
            "The total {stated} is not the sum of the fee components, {total}. "
            "Correct the amounts or the total.",
            stated=format_rupiah(stated),
            total=format_rupiah(total),
        ),
    )
    return False
