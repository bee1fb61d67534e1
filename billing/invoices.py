"""Issuing invoices from drafts: customers, invoices, lines, VAs and notices in one go."""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, select

from billing.contacts import checked_email, email_key, email_matches
from billing.notices import default_channels, notice_row, organisation_channels
from billing.va import reserve_customer_numbers, va_expiry
from models import (
    ChatIdentity,
    Customer,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Notice,
    NoticeKind,
    Organisation,
    VAStatus,
    VirtualAccount,
)
from models.types import utcnow

# The reason billing.notices records on a notice whose recipient cannot be reached.


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


@functools.lru_cache(maxsize=65536)
def invoice_number_key(number: str) -> str:
    """Fold an invoice number for comparison: no case, outer space or invisible characters.

    Cached, because checking a sheet folds each number several times.
    """
    if number.isascii() and number.isprintable():
        return " ".join(number.split()).casefold()
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
    _check_emails([draft])
    key = (draft.phone or "", draft.email or "", draft.customer_name.casefold())
    if key in cache:
        return cache[key]
    query = select(Customer).where(Customer.organisation_id == organisation.id)
    if draft.phone:
        query = query.where(Customer.phone == draft.phone)
    elif draft.email:
        query = query.where(email_matches(Customer.email, draft.email))
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


def _check_emails(drafts: list[InvoiceDraft]) -> None:
    """Replace each draft's e-mail address with its stored form, raising UserError if invalid."""
    for draft in drafts:
        draft.email = checked_email(draft.email)


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
        (func.lower(Customer.email), emails, "email"),
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
                value = getattr(customer, tag)
                found.setdefault((tag, email_key(value) if tag == "email" else value), customer)
    return found


def count_new_payers(
    session: Session, organisation: Organisation, drafts: list[InvoiceDraft]
) -> int:
    """Count the customers that issue_invoices would create for these drafts.

    Writes nothing to the database, but replaces each draft's e-mail address with its
    stored form.
    """
    _check_emails(drafts)
    found = _prefetch_customers(session, organisation, drafts)
    new_keys: set[tuple] = set()
    for draft in drafts:
        if draft.customer_id is not None:
            continue
        key = _payer_keys(draft.phone, draft.email, draft.customer_name)[0]
        if key not in new_keys and _known_payer(session, organisation, draft, found) is None:
            new_keys.add(key)
    return len(new_keys)


def _payers(
    session: Session, organisation: Organisation, drafts: list[InvoiceDraft]
) -> list[Customer]:
    """Find or create the customer of every draft; new customers are inserted together."""
    _check_emails(drafts)
    found = _prefetch_customers(session, organisation, drafts)
    payers: list[Customer | dict[str, Any]] = []
    created: list[dict[str, Any]] = []
    for draft in drafts:
        customer = _known_payer(session, organisation, draft, found)
        if customer is None:
            new = {
                "organisation_id": organisation.id,
                "name": draft.customer_name,
                "phone": draft.phone,
                "email": draft.email,
                "created_at": utcnow(),
            }
            created.append(new)
            for key in _payer_keys(draft.phone, draft.email, draft.customer_name):
                found.setdefault(key, new)  # type: ignore[arg-type]
            payers.append(new)
            continue
        if isinstance(customer, Customer) and draft.customer_id is None:
            if draft.email and not customer.email:
                customer.email = draft.email
            if draft.phone and not customer.phone:
                customer.phone = draft.phone
        payers.append(customer)
    if created:
        new_customers = _insert_and_load(session, Customer, organisation, created)
        by_key = {_payer_keys(c.phone, c.email, c.name)[0]: c for c in new_customers}
        payers = [
            by_key[_payer_keys(p["phone"], p["email"], p["name"])[0]] if isinstance(p, dict) else p
            for p in payers
        ]
    return payers  # type: ignore[return-value]


def _payer_keys(phone: str | None, email: str | None, name: str) -> list[tuple]:
    if phone:
        return [("phone", phone)]
    if email:
        return [("email", email)]
    return [("name", name.casefold())]


def _known_payer(
    session: Session, organisation: Organisation, draft: InvoiceDraft, found: dict[tuple, Any]
) -> Customer | dict[str, Any] | None:
    if draft.customer_id is not None:
        customer = found.get(("id", draft.customer_id))
        if customer is None:
            raise LookupError(
                f"customer {draft.customer_id} is not in organisation {organisation.id}"
            )
        return customer
    key = _payer_keys(draft.phone, draft.email, draft.customer_name)[0]
    if key in found or key[0] != "name":
        return found.get(key)
    query = select(Customer).where(
        Customer.organisation_id == organisation.id, Customer.name == draft.customer_name
    )
    customer = session.exec(query).first()
    if customer is not None:
        found[key] = customer
    return customer


def _insert_and_load(
    session: Session, model: type, organisation: Organisation, rows: list[dict[str, Any]]
) -> list[Any]:
    """Insert rows of an organisation with one executemany and return them as objects.

    Building SQLModel objects validates every field and costs far more than the insert
    itself. SQLite also returns generated ids only row by row. So bulk writes go through
    SQLAlchemy Core, and the new rows (ids above the largest one before) are read back.
    """
    table = model.__table__  # type: ignore[attr-defined]
    before = session.execute(select(func.max(table.c.id))).scalar() or 0
    for start in range(0, len(rows), 5000):
        session.execute(insert(table), rows[start : start + 5000])
    query = (
        select(model)
        .where(model.organisation_id == organisation.id, model.id > before)  # type: ignore[attr-defined]
        .order_by(model.id)  # type: ignore[attr-defined]
    )
    return list(session.exec(query))


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
    if not drafts:
        return []
    session.flush()
    with session.no_autoflush:
        payers = _payers(session, organisation, drafts)
        now = utcnow()
        rows = _insert_and_load(
            session,
            Invoice,
            organisation,
            [
                {
                    "organisation_id": organisation.id,
                    "number": draft.number.strip(),
                    "number_key": invoice_number_key(draft.number),
                    "customer_id": customer.id,
                    "student_id": draft.student_id,
                    "description": draft.description,
                    "due_date": draft.due_date,
                    "status": InvoiceStatus.ISSUED,
                    "total": draft.total,
                    "batch_id": batch_id,
                    "source_rows": list(draft.source_rows),
                    "created_at": now,
                }
                for draft, customer in zip(drafts, payers, strict=True)
            ],
        )
        by_key = {invoice.number_key: invoice for invoice in rows}
        ordered = [by_key[invoice_number_key(draft.number)] for draft in drafts]
        lines = [
            {
                "invoice_id": invoice.id,
                "position": position,
                "product_id": line.product_id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
            }
            for invoice, draft in zip(ordered, drafts, strict=True)
            for position, line in enumerate(draft.lines, start=1)
        ]
        session.execute(insert(InvoiceLine.__table__), lines)  # type: ignore[attr-defined]
        accounts = _open_accounts(session, organisation, ordered, validity_days)
        _queue_issued_notices(session, organisation, ordered, payers, now)
    return [
        IssuedInvoice(invoice, account, customer)
        for invoice, account, customer in zip(ordered, accounts, payers, strict=True)
    ]


def _open_accounts(
    session: Session, organisation: Organisation, invoices: list[Invoice], validity_days: int
) -> list[VirtualAccount]:
    """Insert one closed-amount VA per invoice, as billing.va.open_virtual_accounts does."""
    numbers = reserve_customer_numbers(session, organisation, len(invoices))
    now = utcnow()
    rows = []
    for invoice, customer_no in zip(invoices, numbers, strict=True):
        rows.append(
            {
                "organisation_id": organisation.id,
                "invoice_id": invoice.id,
                "company_code": organisation.company_code,
                "customer_no": customer_no,
                "number": organisation.company_code + customer_no,
                "amount": invoice.total,
                "status": VAStatus.OPEN,
                "expires_at": va_expiry(invoice.due_date, now, validity_days),
                "created_at": now,
            }
        )
    accounts = _insert_and_load(session, VirtualAccount, organisation, rows)
    by_invoice = {account.invoice_id: account for account in accounts}
    return [by_invoice[invoice.id] for invoice in invoices]


def _contacts_with_chats(session: Session, payers: list[Customer]) -> set[str]:
    """Return the phones and e-mail addresses among the payers that have a linked chat."""
    found: set[str] = set()
    for column, values in (
        (ChatIdentity.phone, sorted({p.phone for p in payers if p.phone})),
        (ChatIdentity.email, sorted({email_key(p.email) for p in payers if p.email})),
    ):
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            query = select(column).where(column.in_(chunk))  # type: ignore[union-attr]
            found.update(value for value in session.exec(query) if value)
    return found


def _queue_issued_notices(
    session: Session,
    organisation: Organisation,
    invoices: list[Invoice],
    payers: list[Customer],
    now: dt.datetime,
) -> None:
    """Queue the "bill issued" notice of every invoice, in one insert.

    The rows are the ones billing.notices.queue_invoice_issued would add, inserted without
    models: building one Notice object per invoice made a 10,000-row import several times
    slower.
    """
    chatting = _contacts_with_chats(session, payers)
    channels_of: dict[tuple, list[str]] = {}
    rows = []
    for invoice, customer in zip(invoices, payers, strict=True):
        # Without a linked chat, channels depend only on which contacts a person has, so
        # one lookup serves every such payer.
        key: tuple = (customer.phone, customer.email)
        email = email_key(customer.email) if customer.email else None
        if customer.phone not in chatting and email not in chatting:
            key = (bool(customer.phone), bool(customer.email))
        if key not in channels_of:
            available = default_channels(session, phone=customer.phone, email=customer.email)
            channels_of[key] = organisation_channels(
                organisation, NoticeKind.INVOICE_ISSUED, available
            )
        rows.append(
            notice_row(
                organisation,
                kind=NoticeKind.INVOICE_ISSUED,
                person=customer,
                customer_id=customer.id,
                staff_id=None,
                invoice_id=invoice.id,
                payload=None,
                dedupe_key=f"issued:{invoice.id}",
                channels=channels_of[key],
                linked_channels=(),
                now=now,
            )
        )
    for start in range(0, len(rows), 2000):
        session.execute(insert(Notice.__table__), rows[start : start + 2000])  # type: ignore[attr-defined]
