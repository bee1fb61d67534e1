"""Invoice bills: rows sharing an invoice number form one invoice, one product line per row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from billing.invoices import InvoiceDraft, LineDraft, invoice_number_key
from billing.sheets.contacts import parse_email, parse_name, read_phone
from billing.sheets.context import ParseContext, name_key
from billing.sheets.headers import Field
from billing.sheets.intake import column_letter
from billing.sheets.reader import Problems, RowReader, SheetData, iter_with_deadline
from billing.sheets.result import CellRef, SheetInvoice
from billing.sheets.values import (
    CellError,
    cell_text,
    clean_text,
    is_ambiguous_day_month,
    parse_amount,
    parse_date,
    parse_quantity,
)
from locales import format_rupiah, msg

MAX_NUMBER_LENGTH = 64
MAX_PRODUCT_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 500
# Line amounts below this are unusual enough to mention: digits may be missing.
SMALL_AMOUNT = 10_000


@dataclass
class BillRow:
    """One row of a bills sheet, parsed; None marks a blank (or unusable) cell."""

    number: int
    invoice_number: str
    customer: str | None
    email: str | None
    phone: str | None
    due_date: dt.date | None
    description: str
    line: LineDraft | None
    new_product: str | None
    valid: bool
    merged: set[int] = field(default_factory=set)


def parse_bills(
    data: SheetData, context: ParseContext, problems: Problems, deadline: float
) -> list[SheetInvoice]:
    """Read every row and group them into invoices; invoices with any error are left out."""
    groups: dict[str, list[BillRow]] = {}
    for row in iter_with_deadline(data.rows, deadline):
        reader = RowReader(data, row, problems)
        parsed = _parse_row(reader, context)
        if parsed is not None:
            groups.setdefault(invoice_number_key(parsed.invoice_number), []).append(parsed)
    invoices = []
    for rows in groups.values():
        invoice = _build_invoice(data, rows, problems, context)
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def _parse_number(value: Any) -> str:
    number = cell_text(value)
    if not number:
        raise CellError(
            msg(
                "The invoice number is missing. Give every row the number of the invoice it "
                "belongs to; rows of one invoice repeat its number."
            ),
            "missing",
        )
    if len(number) > MAX_NUMBER_LENGTH:
        raise CellError(
            msg(
                "The invoice number {value} is longer than {limit} characters. Shorten it.",
                value=number,
                limit=MAX_NUMBER_LENGTH,
            ),
            "too_long",
        )
    return number


def _parse_row(reader: RowReader, context: ParseContext) -> BillRow | None:
    number = reader.parse(Field.NUMBER, _parse_number)
    if number is None:
        _parse_line(reader, context)  # report the line's own problems too
        return None
    customer = reader.parse(Field.CUSTOMER, parse_name) or None
    email = reader.parse(Field.EMAIL, parse_email)
    phone, _ = read_phone(reader, Field.PHONE)
    due_date = read_due_date(reader, context) if reader.has(Field.DUE_DATE) else None
    description = clean_text(reader.raw(Field.DESCRIPTION))[:MAX_DESCRIPTION_LENGTH]
    line, new_product = _parse_line(reader, context)
    merged = reader.row.merged or set()
    return BillRow(
        reader.row.number,
        number,
        customer,
        email,
        phone,
        due_date,
        description,
        line,
        new_product,
        not reader.failed,
        merged,
    )


def read_due_date(reader: RowReader, context: ParseContext) -> dt.date | None:
    """Parse the row's due date, warning when day-first text could be meant month first."""
    parser = partial(parse_due_date, date1904=reader.data.date1904, context=context)
    due = reader.parse(Field.DUE_DATE, parser)
    if due is not None and is_ambiguous_day_month(reader.raw(Field.DUE_DATE)):
        reader.warn(
            Field.DUE_DATE,
            "date.day_first",
            msg(
                "{value} was read day first, as day {day} of month {month} ({date}). If the "
                "month comes first in this sheet, swap the day and the month.",
                value=reader.raw(Field.DUE_DATE),
                day=due.day,
                month=due.month,
                date=due.isoformat(),
            ),
        )
    return due


def parse_due_date(value: Any, *, date1904: bool, context: ParseContext) -> dt.date:
    due = parse_date(value, date1904=date1904)
    if due < context.today:
        raise CellError(
            msg(
                "The due date {date} is in the past. Enter a date from today on.",
                date=due.isoformat(),
            ),
            "past",
        )
    if due > context.latest_due:
        years = context.latest_due.year - context.today.year
        raise CellError(
            msg(
                "The due date {date} is more than {years} years from today, so it looks like "
                "a placeholder. Enter the real due date, {latest} at the latest.",
                date=due.isoformat(),
                years=years,
                latest=context.latest_due.isoformat(),
            ),
            "too_far",
        )
    return due


def _parse_line(reader: RowReader, context: ParseContext) -> tuple[LineDraft | None, str | None]:
    """Read product, quantity, unit price and amount; a product's price fills the gaps."""
    product = clean_text(reader.raw(Field.PRODUCT))
    if not product:
        reader.fail(
            Field.PRODUCT,
            "product.missing",
            msg("The product is missing. Write what the line bills for."),
        )
        return None, None
    if len(product) > MAX_PRODUCT_LENGTH:
        reader.fail(
            Field.PRODUCT,
            "product.too_long",
            msg(
                "The product name is {length} characters long; the limit is {limit}. Shorten "
                "it, and put the details in the Keterangan / Description column.",
                length=len(product),
                limit=MAX_PRODUCT_LENGTH,
            ),
        )
        return None, None
    if reader.unusable(Field.QUANTITY, Field.UNIT_PRICE, Field.AMOUNT):
        return None, None
    amount_of = partial(parse_amount, maximum=context.max_amount)
    quantity = reader.parse(Field.QUANTITY, parse_quantity) if reader.has(Field.QUANTITY) else 1
    unit_price = (
        reader.parse(Field.UNIT_PRICE, amount_of) if reader.has(Field.UNIT_PRICE) else None
    )
    amount = reader.parse(Field.AMOUNT, amount_of) if reader.has(Field.AMOUNT) else None
    if (
        quantity is None
        or (unit_price is None and reader.has(Field.UNIT_PRICE))
        or (amount is None and reader.has(Field.AMOUNT))
    ):
        return None, None
    known = context.products.get(name_key(product))
    if unit_price is None and amount is None:
        if known is None or not known.price:
            column = Field.AMOUNT if reader.column(Field.AMOUNT) is not None else Field.UNIT_PRICE
            reader.fail(
                column,
                "amount.missing",
                msg(
                    "The amount is missing, and {product} has no price in your product list. "
                    "Enter the amount in rupiah.",
                    product=product,
                ),
            )
            return None, None
        unit_price = known.price
    line = _line_amounts(reader, product, quantity, unit_price, amount)
    if line is None:
        return None, None
    if line.amount < SMALL_AMOUNT:
        reader.warn(
            Field.AMOUNT if reader.column(Field.AMOUNT) is not None else Field.UNIT_PRICE,
            "amount.small",
            msg(
                "The amount {amount} is unusually small. Check that no digits are missing.",
                amount=format_rupiah(line.amount),
            ),
        )
    line.product_id = known.id if known else None
    return line, (None if known else product)


def _line_amounts(
    reader: RowReader, product: str, quantity: int, unit_price: int | None, amount: int | None
) -> LineDraft | None:
    if unit_price is not None and amount is not None:
        if unit_price * quantity != amount:
            reader.fail(
                Field.AMOUNT,
                "amount.mismatch",
                msg(
                    "The amount {amount} is not quantity {quantity} times the unit price "
                    "{price}. Correct one of the three.",
                    amount=format_rupiah(amount),
                    quantity=quantity,
                    price=format_rupiah(unit_price),
                ),
            )
            return None
        return LineDraft(product, quantity, unit_price, amount)
    if unit_price is not None:
        return LineDraft(product, quantity, unit_price, unit_price * quantity)
    assert amount is not None
    if amount % quantity:
        reader.fail(
            Field.AMOUNT,
            "amount.indivisible",
            msg(
                "The amount {amount} cannot be split evenly over quantity {quantity}. "
                "Enter the unit price as well.",
                amount=format_rupiah(amount),
                quantity=quantity,
            ),
        )
        return None
    return LineDraft(product, quantity, amount // quantity, amount)


_CUSTOMER_FIELDS = (
    ("customer", Field.CUSTOMER),
    ("email", Field.EMAIL),
    ("phone", Field.PHONE),
    ("due_date", Field.DUE_DATE),
)


def _build_invoice(
    data: SheetData, rows: list[BillRow], problems: Problems, context: ParseContext
) -> SheetInvoice | None:
    """Merge the rows of one invoice number, rejecting conflicts and exact repeats."""
    number = rows[0].invoice_number
    row_numbers = [row.number for row in rows]
    values, conflict = _merge_customer_fields(data, rows, problems)
    repeated = _report_repeated_rows(data, rows, problems)
    complete = all(row.valid for row in rows) and _report_missing(data, rows, values, problems)
    if conflict or repeated or not complete:
        problems.invalid_rows.update(row_numbers)
        return None
    lines = [row.line for row in rows if row.line is not None]
    total = sum(line.amount for line in lines)
    if total > context.max_amount:
        problems.error(
            "invoice.total_too_large",
            msg(
                "Invoice {number} totals {total}, above the limit of {limit} per bill. "
                "Split it into several invoices.",
                number=number,
                total=format_rupiah(total),
                limit=format_rupiah(context.max_amount),
            ),
            row=rows[0].number,
            rows=row_numbers,
        )
        return None
    draft = InvoiceDraft(
        number=number,
        customer_name=values["customer"][0],
        due_date=values["due_date"][0],
        lines=lines,
        phone=values.get("phone", (None, 0))[0],
        email=values.get("email", (None, 0))[0],
        description=next((row.description for row in rows if row.description), ""),
        source_rows=row_numbers,
    )
    new_products = sorted({row.new_product for row in rows if row.new_product})
    return SheetInvoice(
        draft=draft,
        new_products=new_products,
        email_source=_source(data, values, "email", Field.EMAIL),
        name_source=_source(data, values, "customer", Field.CUSTOMER),
    )


def _source(
    data: SheetData, values: dict[str, tuple[Any, int]], attribute: str, column: Field
) -> CellRef | None:
    """Return the cell that a merged customer field was taken from."""
    if attribute not in values:
        return None
    row = values[attribute][1]
    index = data.header.columns[column]
    return CellRef(row, data.header.title(index), f"{column_letter(index + 1)}{row}")


def _merge_customer_fields(
    data: SheetData, rows: list[BillRow], problems: Problems
) -> tuple[dict[str, tuple[Any, int]], bool]:
    """Take each customer field from the first row that fills it; report rows that differ.

    Returns the values with the row each came from, and whether any row disagreed.
    """
    number = rows[0].invoice_number
    values: dict[str, tuple[Any, int]] = {}
    conflict = False
    for row in rows:
        for attribute, column in _CUSTOMER_FIELDS:
            if conflict and attribute != "customer" and _names_conflict(values, row):
                continue  # two customers under one number: the other fields differ too
            value = getattr(row, attribute)
            if value is None:
                continue
            first = values.get(attribute)
            if first is None:
                values[attribute] = (value, row.number)
            elif _differs(first[0], value):
                conflict = True
                _report_conflict(data, problems, number, attribute, column, first, (value, row))
    return values, conflict


def _report_repeated_rows(data: SheetData, rows: list[BillRow], problems: Problems) -> bool:
    """Report every row that repeats an earlier line of the invoice exactly."""
    seen: dict[tuple, int] = {}
    repeated = False
    for row in rows:
        if row.line is None:
            continue
        signature = (row.line.description.casefold(), row.line.quantity, row.line.amount,
                     row.description)  # fmt: skip
        if signature not in seen:
            seen[signature] = row.number
            continue
        repeated = True
        problems.error(
            "invoice.repeated_row",
            msg(
                "Row {row} repeats row {first} exactly (invoice {number}). Delete it, or if "
                "the customer really buys twice, set the quantity to 2 on one row.",
                row=row.number,
                first=seen[signature],
                number=row.invoice_number,
            ),
            row=row.number,
            column=data.header.title(data.header.columns[Field.NUMBER]),
            value=row.invoice_number,
            rows=[seen[signature], row.number],
        )
    return repeated


def _report_missing(
    data: SheetData, rows: list[BillRow], values: dict[str, tuple[Any, int]], problems: Problems
) -> bool:
    """Report a missing name, due date or contact; return whether the invoice has them all."""
    first_row = rows[0].number
    complete = True
    if "customer" not in values:
        complete = False
        problems.error(
            "customer.missing",
            msg("The customer name is missing. Enter the name of the customer to bill."),
            row=first_row,
            column=_title(data, Field.CUSTOMER),
        )
    if "due_date" not in values:
        complete = False
        problems.error(
            "due_date.missing",
            msg("The due date is missing. Enter it as dd/mm/yyyy."),
            row=first_row,
            column=_title(data, Field.DUE_DATE),
        )
    if "phone" not in values and "email" not in values:
        complete = False
        problems.error(
            "customer.no_contact",
            msg(
                "Invoice {number} has no phone number and no e-mail address, so the bill "
                "cannot reach the customer. Add at least one.",
                number=rows[0].invoice_number,
            ),
            row=first_row,
            column=_title(data, Field.PHONE) or _title(data, Field.EMAIL),
        )
    return complete


def _names_conflict(values: dict[str, tuple[Any, int]], row: BillRow) -> bool:
    first = values.get("customer")
    return first is not None and row.customer is not None and _differs(first[0], row.customer)


def _differs(first: Any, second: Any) -> bool:
    if isinstance(first, str) and isinstance(second, str):
        return name_key(first) != name_key(second)
    return bool(first != second)


def _title(data: SheetData, name: Field) -> str | None:
    index = data.header.columns.get(name)
    return data.header.title(index) if index is not None else None


def _report_conflict(
    data: SheetData,
    problems: Problems,
    number: str,
    attribute: str,
    column: Field,
    first: tuple[Any, int],
    second: tuple[Any, BillRow],
) -> None:
    first_value, first_row = first
    value, row = second
    shown_first = first_value.isoformat() if isinstance(first_value, dt.date) else first_value
    shown = value.isoformat() if isinstance(value, dt.date) else value
    if attribute == "customer":
        message = msg(
            "Invoice number {number} is used for two customers: {first} (row {first_row}) and "
            "{second} (row {row}). Give each invoice its own number.",
            number=number,
            first=shown_first,
            first_row=first_row,
            second=shown,
            row=row.number,
        )
    else:
        message = msg(
            "Rows {first_row} and {row} of invoice {number} disagree on {column}: {first} and "
            "{second}. One invoice has one customer and one due date: make them the same, or "
            "give the rows different invoice numbers.",
            first_row=first_row,
            row=row.number,
            number=number,
            column=_title(data, column) or column.value,
            first=shown_first,
            second=shown,
        )
    problems.error(
        f"invoice.conflict_{attribute}",
        message,
        row=row.number,
        column=_title(data, column),
        value=shown,
        rows=[first_row, row.number],
    )
