"""What reading a sheet produces: invoices or registrations, problems and warnings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from billing.invoices import InvoiceDraft
from billing.sheets.values import display_value
from locales import Msg


@dataclass
class Problem:
    """An error or warning tied to an Excel row (1-based) and column, when there is one."""

    code: str
    message: Msg
    row: int | None = None
    column: str | None = None  # the header text as the user wrote it
    value: Any = None
    cell: str | None = None  # "C12"
    rows: list[int] = field(default_factory=list)  # every row involved, for duplicates

    def to_json(self, language: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "row": self.row,
            "column": self.column,
            "value": display_value(self.value),
            "message": self.message.render(language),
            "code": self.code,
        }
        if self.cell:
            data["cell"] = self.cell
        if self.rows:
            data["rows"] = self.rows
        return data


@dataclass
class StudentRef:
    nis: str
    name: str
    class_name: str = ""


@dataclass(frozen=True)
class CellRef:
    """Where a value was read: its Excel row, the header text of its column and its cell."""

    row: int
    column: str | None = None
    cell: str | None = None  # "B12"


@dataclass
class SheetInvoice:
    """An invoice read from the sheet, ready to issue."""

    draft: InvoiceDraft
    student: StudentRef | None = None
    va_number: str | None = None
    new_products: list[str] = field(default_factory=list)
    email_source: CellRef | None = None  # the cell the draft's e-mail address was read from
    name_source: CellRef | None = None  # the cell the draft's customer name was read from

    @property
    def rows(self) -> list[int]:
        return self.draft.source_rows

    def to_json(self) -> dict[str, Any]:
        draft = self.draft
        data: dict[str, Any] = {
            "number": draft.number,
            "customer": draft.customer_name,
            "email": draft.email,
            "phone": draft.phone,
            "due_date": draft.due_date.isoformat(),
            "total": draft.total,
            "lines": [
                {
                    "product": line.description,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": line.amount,
                }
                for line in draft.lines
            ],
            "rows": list(draft.source_rows),
        }
        if draft.description:
            data["description"] = draft.description
        if self.student is not None:
            data["student"] = {
                "nis": self.student.nis,
                "name": self.student.name,
                "class": self.student.class_name,
            }
        if self.va_number is not None:
            data["va_number"] = self.va_number
        return data


@dataclass
class ContactRow:
    """A customer (or parent) to register, with the rows it came from."""

    name: str
    phone: str | None
    email: str | None
    language: str | None = None
    rows: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phone": self.phone,
            "email": self.email,
            "language": self.language,
            "rows": self.rows,
        }


@dataclass
class StudentRow:
    """A student to register, with up to two parents; the first parent pays."""

    nis: str
    name: str
    class_name: str
    parents: list[ContactRow]
    rows: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "nis": self.nis,
            "name": self.name,
            "class": self.class_name,
            "parents": [parent.to_json() for parent in self.parents],
            "rows": self.rows,
        }


@dataclass
class SheetResult:
    """The outcome of checking or importing one uploaded sheet."""

    filename: str
    sheet_type: str | None = None
    sheet: str | None = None
    header_row: int | None = None
    file_error: Problem | None = None
    invoices: list[SheetInvoice] = field(default_factory=list)
    customers: list[ContactRow] = field(default_factory=list)
    students: list[StudentRow] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Invoice numbers already issued with the same content: skipped, never issued twice.
    existing: list[str] = field(default_factory=list)
    new_products: list[str] = field(default_factory=list)
    # Customers that issuing the invoices creates; None until checked against the database.
    new_customers: int | None = None
    invalid_rows: list[int] = field(default_factory=list)
    imported: int | None = None
    skipped_rows: list[int] = field(default_factory=list)
    batch_id: int | None = None
    today: dt.date | None = None

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors

    @property
    def total(self) -> int:
        return sum(invoice.draft.total for invoice in self.invoices)

    def to_json(self, language: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": self.ok,
            "file_error": self.file_error.to_json(language) if self.file_error else None,
            "sheet": self.sheet,
            "sheet_type": self.sheet_type,
            "header_row": self.header_row,
            "invoices": [invoice.to_json() for invoice in self.invoices],
            "invoice_count": len(self.invoices),
            "total": self.total,
            "errors": [problem.to_json(language) for problem in self.errors],
            "warnings": [problem.to_json(language) for problem in self.warnings],
            "invalid_rows": self.invalid_rows,
            "existing": self.existing,
            "new_products": self.new_products,
        }
        if self.new_customers is not None:
            data["new_customers"] = self.new_customers
        if self.sheet_type in ("customers", "students"):
            data["customers"] = [customer.to_json() for customer in self.customers]
            data["students"] = [student.to_json() for student in self.students]
        if self.imported is not None:
            data["imported"] = self.imported
            data["skipped_rows"] = self.skipped_rows
        if self.batch_id is not None:
            data["batch_id"] = self.batch_id
        return data
