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
    """Fold an invoice number for comparison: no case, outer space or invisible characters."""
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFKC", number) if unicodedata.category(ch)[0] != "C"
    )
    return " ".join(cleaned.split()).casefold()


def existing_invoice_numbers(
    session: Session, organisation: Organisation, keys: list[str]
) -> set[str]:
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
            raise LookupError(
                f"customer {draft.customer_id} is not in organisation {organisation.id}"
            )
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


def _prefetch_customers(
    session: Session, organisation: Organisation, drafts: list[InvoiceDraft]
) -> dict[tuple, Customer]:
    """Load, in a few queries, the customers that the drafts name by id, phone or e-mail."""
    found: dict[tuple, Customer] = {}
    ids = sorted({d.customer_id for d in drafts if d.customer_id is not None})
    phones = sorted({d.phone for d in drafts if d.customer_id is None and d.phone})
    emails = sorted({d.email for d in drafts if d.customer_id is None and not d.phone and d.email})
    for column, values, tag in (
        (Customer.id, ids, "id"),
        (Customer.phone, phones, "phone"),
        (Customer.email, emails, "email"),
    ):
        for start in range(0, len(values), 500):
            query = (
                select(Customer)
                .where(
                    Customer.organisation_id == organisation.id,
                    column.in_(values[start : start + 500]),  # type: ignore[union-attr]
                )
                .order_by(Customer.id)  # type: ignore[arg-type]
            )
            for customer in session.exec(query):
                found.setdefault((tag, getattr(customer, tag)), customer)
    return found


def _payers(
    session: Session, organisation: Organisation, drafts: list[InvoiceDraft]
) -> list[Customer]:
    """Find or create the customer of every draft; new customers are inserted together."""
    found = _prefetch_customers(session, organisation, drafts)
    payers: list[Customer] = []
    created: list[Customer] = []
    for draft in drafts:
        if draft.customer_id is not None:
            customer = found.get(("id", draft.customer_id))
            if customer is None:
                raise LookupError(
                    f"customer {draft.customer_id} is not in organisation {organisation.id}"
                )
        elif draft.phone:
            customer = found.get(("phone", draft.phone))
        elif draft.email:
            customer = found.get(("email", draft.email))
        else:
            customer = found.get(("name", draft.customer_name.casefold()))
            if customer is None:
                query = select(Customer).where(
                    Customer.organisation_id == organisation.id,
                    Customer.name == draft.customer_name,
                )
                customer = session.exec(query).first()
        if customer is None:
            customer = Customer(
                organisation_id=organisation.id,
                name=draft.customer_name,
                phone=draft.phone,
                email=draft.email,
            )
            created.append(customer)
        elif draft.customer_id is None:
            if draft.email and not customer.email:
                customer.email = draft.email
            if draft.phone and not customer.phone:
                customer.phone = draft.phone
        if customer.phone:
            found.setdefault(("phone", customer.phone), customer)
        if customer.email:
            found.setdefault(("email", customer.email), customer)
        found.setdefault(("name", customer.name.casefold()), customer)
        payers.append(customer)
    if created:
        session.add_all(created)
        session.flush()
    return payers


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
    payers = _payers(session, organisation, drafts)
    invoices: list[Invoice] = []
    for draft, customer in zip(drafts, payers, strict=True):
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
