"""A parent's open bills, for every child together and per child."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, or_, select

from billing.school.students import children_of
from models import Customer, Invoice, InvoiceLine, InvoiceStatus, Student, VirtualAccount

OPEN_STATUSES = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)


@dataclass
class OpenBill:
    invoice: Invoice
    va_number: str | None
    lines: list[InvoiceLine]


@dataclass
class ChildBills:
    """The open bills of one child; student is None for bills not tied to a student."""

    student: Student | None
    bills: list[OpenBill] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(bill.invoice.total for bill in self.bills)


@dataclass
class ParentBills:
    children: list[ChildBills]

    @property
    def total(self) -> int:
        return sum(child.total for child in self.children)

    @property
    def count(self) -> int:
        return sum(len(child.bills) for child in self.children)

    def for_student(self, student_id: int) -> ChildBills | None:
        for child in self.children:
            if child.student is not None and child.student.id == student_id:
                return child
        return None


def open_bills_for_parent(session: Session, customer_id: int) -> ParentBills:
    """Return the unpaid bills a parent sees, grouped by child in name order.

    That is every open invoice addressed to the parent and every open invoice of their
    children (archived children included), also when the other parent is the payer. A
    child with no open bill is listed with an empty group, so "all children" shows them.
    """
    parent = session.get(Customer, customer_id)
    if parent is None:
        return ParentBills(children=[])
    children = children_of(session, customer_id, include_archived=True)
    child_ids = [child.id for child in children]
    condition = Invoice.customer_id == customer_id
    if child_ids:
        condition = or_(condition, col(Invoice.student_id).in_(child_ids))
    rows = session.exec(
        select(Invoice, VirtualAccount.number)
        .join(VirtualAccount, VirtualAccount.invoice_id == Invoice.id, isouter=True)
        .where(
            Invoice.organisation_id == parent.organisation_id,
            col(Invoice.status).in_(OPEN_STATUSES),
            condition,
        )
        .order_by(Invoice.due_date, Invoice.id)
    ).all()
    lines = _lines_of(session, [invoice.id for invoice, _ in rows])
    groups = {child.id: ChildBills(child) for child in children if child.active}
    other = ChildBills(None)
    for invoice, va_number in rows:
        bill = OpenBill(invoice, va_number, lines.get(invoice.id, []))
        if invoice.student_id is not None and invoice.student_id not in groups:
            archived = next((c for c in children if c.id == invoice.student_id), None)
            if archived is not None:
                groups[archived.id] = ChildBills(archived)
        groups.get(invoice.student_id, other).bills.append(bill)  # type: ignore[arg-type]
    ordered = sorted(groups.values(), key=lambda group: group.student.name)  # type: ignore[union-attr]
    return ParentBills(children=ordered + ([other] if other.bills else []))


def _lines_of(session: Session, invoice_ids: list[int]) -> dict[int, list[InvoiceLine]]:
    found: dict[int, list[InvoiceLine]] = {}
    if not invoice_ids:
        return found
    lines = session.exec(
        select(InvoiceLine)
        .where(col(InvoiceLine.invoice_id).in_(invoice_ids))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    ).all()
    for line in lines:
        found.setdefault(line.invoice_id, []).append(line)
    return found
