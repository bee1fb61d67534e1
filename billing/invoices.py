"""Issuing invoices from drafts: customers, invoices, lines, VAs and notices in one go."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from sqlmodel import Session, select

from billing.notices import queue_invoice_issued
from billing.va import open_virtual_accounts
from models import Customer, Invoice, InvoiceLine, Organisation, VirtualAccount


@dataclass
class LineDraft:
    description: str
    quantity: int
    unit_price: int  # rupiah
    amount: int  # rupiah
    product_id: int | None = None


@dataclass
class InvoiceDraft:
    number: str
    customer_name: str
    due_date: dt.date
    lines: list[LineDraft]
    phone: str | None = None  # E.164
    email: str | None = None
    description: str = ""
    customer_id: int | None = None  # a known payer (a school's parent)
    student_id: int | None = None
    source_rows: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass
class IssuedInvoice:
    invoice: Invoice
    virtual_account: VirtualAccount
    customer: Customer


def invoice_number_key(number: str) -> str:
    """Fold an invoice number for comparison: no case, surrounding space or invisible characters."""
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFKC", number) if unicodedata.category(ch)[0] != "C"
    )
    return " ".join(cleaned.split()).casefold()


def existing_invoice_numbers(session: Session, organisation: Organisation, keys: list[str]) -> set[str]:
    """Return which of the given number keys already exist in the organisation."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            session.exec(
                select(Invoice.number_key).where(
                    Invoice.organisation_id == organisation.id, Invoice.number_key.in_(chunk)
                )
            ).all()
        )
    return found


def find_or_create_customer(
    session: Session, organisation: Organisation, draft: InvoiceDraft, cache: dict[tuple, Customer]
) -> Customer:
    if draft.customer_id is not None:
        customer = session.get(Customer, draft.customer_id)
        if customer is None or customer.organisation_id != organisation.id:
            raise LookupError(f"customer {draft.customer_id} is not in organisation {organisation.id}")
        return customer
    key = (draft.phone or "", (draft.email or "").lower(), draft.customer_name.casefold())
    if key in cache:
        return cache[key]
    query = select(Customer).where(Customer.organisation_id == organisation.id)
    if draft.phone:
        query = query.where(Customer.phone == draft.phone)
    elif draft.email:
        query = query.where(Customer.email == draft.email)
    else:
        query = query.where(Customer.name == draft.customer_name)
    customer = session.exec(query).first()
    if customer is None:
        customer = Customer(
            organisation_id=organisation.id,
            name=draft.customer_name,
            phone=draft.phone,
            email=draft.email,
        )
        session.add(customer)
        session.flush()
    else:
        if draft.email and not customer.email:
            customer.email = draft.email
        if draft.phone and not customer.phone:
            customer.phone = draft.phone
    cache[key] = customer
    return customer


def issue_invoices(
    session: Session,
    organisation: Organisation,
    drafts: list[InvoiceDraft],
    *,
    batch_id: int | None = None,
    validity_days: int = 60,
) -> list[IssuedInvoice]:
    """Create invoices, their lines, one VA each and their "bill issued" notices.

    The caller owns the transaction, so a failure leaves nothing behind.
    """
    customers: dict[tuple, Customer] = {}
    invoices: list[Invoice] = []
    payers: list[Customer] = []
    for draft in drafts:
        customer = find_or_create_customer(session, organisation, draft, customers)
        invoice = Invoice(
            organisation_id=organisation.id,
            number=draft.number.strip(),
            number_key=invoice_number_key(draft.number),
            customer_id=customer.id,
            student_id=draft.student_id,
            description=draft.description,
            due_date=draft.due_date,
            total=draft.total,
            batch_id=batch_id,
            source_rows=list(draft.source_rows),
        )
        invoices.append(invoice)
        payers.append(customer)
    session.add_all(invoices)
    session.flush()

    lines = [
        InvoiceLine(
            invoice_id=invoice.id,
            position=position,
            product_id=line.product_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        for invoice, draft in zip(invoices, drafts, strict=True)
        for position, line in enumerate(draft.lines, start=1)
    ]
    session.add_all(lines)
    accounts = open_virtual_accounts(session, organisation, invoices, validity_days=validity_days)
    session.flush()

    issued = [
        IssuedInvoice(invoice, account, customer)
        for invoice, account, customer in zip(invoices, accounts, payers, strict=True)
    ]
    for item in issued:
        queue_invoice_issued(session, organisation, item.invoice, item.customer)
    return issued
