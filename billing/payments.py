"""Payment decisions: which VA a bank request is about, and whether a payment is taken.

A payment is recorded with the VA row locked, and the invoice, VA, payment and notices
change in the caller's transaction, so they commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, literal, null, union_all, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from billing.notices import payment_notice_rows
from billing.snap.codes import Case
from billing.snap.connections import Connection, normalise_company_code
from billing.snap.messages import Identity, InquiryRequest, PaymentRequest
from billing.snap.signature import JAKARTA
from models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Notice,
    Organisation,
    Payment,
    SnapRequestLog,
    VAStatus,
    VirtualAccount,
)


@dataclass
class Bill:
    """A VA with its invoice, payer and organisation, loaded for one request."""

    account: VirtualAccount
    invoice: Invoice
    customer: Customer
    organisation: Organisation


@dataclass
class PaymentOutcome:
    case: Case
    bill: Bill | None = None
    payment: Payment | None = None  # the new payment, or the earlier one of an identical retry
    replayed: bool = False  # an identical retry: return payment.response unchanged


def _wait_for_organisation(session: Session, company_code: str) -> bool:
    """Take a shared lock on the organisation of a company code; False when there is none.

    An open import holds this row (it advanced va_sequence), so the lock waits until the
    import commits or rolls back, after which its VAs are visible.
    """
    query = (
        select(Organisation.id)
        .where(func.ltrim(Organisation.company_code, "0") == company_code)
        .with_for_update(read=True)
    )
    return session.exec(query).first() is not None


@functools.cache
def _bill_query(*, padded: bool, lock: bool) -> Any:
    """Build the bill lookup once for each form; the company code and customerNo are bound.

    The exact company code uses the unique index, and padded=True also matches codes stored
    with leading zeros.
    """
    company_code = bindparam("company_code")
    if padded:
        company_match = func.ltrim(Organisation.company_code, "0") == company_code
    else:
        company_match = Organisation.company_code == company_code
    query = (
        select(VirtualAccount, Invoice, Customer, Organisation)
        .join(Organisation, Organisation.id == VirtualAccount.organisation_id)
        .join(Invoice, Invoice.id == VirtualAccount.invoice_id)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(
            company_match,
            VirtualAccount.company_code == Organisation.company_code,
            VirtualAccount.customer_no.in_(bindparam("customer_nos", expanding=True)),
        )
    )
    if lock:
        # Only the VA row: locking the organisation would serialise all its payments.
        query = query.with_for_update(of=VirtualAccount)
    return query


def _query_bill(
    session: Session, company_code: str, identity: Identity, *, padded: bool, lock: bool
) -> Bill | None:
    # A customerNo sent as a JSON number lost its leading zeros, so padded forms match too.
    customer_no = identity.customer_no
    candidates = sorted({customer_no.zfill(width) for width in range(len(customer_no), 21)})
    parameters = {"company_code": company_code, "customer_nos": candidates}
    rows = session.exec(_bill_query(padded=padded, lock=lock), params=parameters).all()
    if not rows:
        return None
    exact = [row for row in rows if row[0].customer_no == customer_no]
    return Bill(*(exact or rows)[0])


def find_bill(
    session: Session, identity: Identity, *, connection: Connection, lock: bool = False
) -> Bill | None:
    """Find the VA of a request under its company code, locking the row when asked.

    Returns None when the bank may not pay into that company code or no such VA exists.
    """
    company_code = normalise_company_code(identity.partner_service_id)
    if not connection.serves_company_code(company_code):
        return None
    for padded in (False, True):
        bill = _query_bill(session, company_code, identity, padded=padded, lock=lock)
        if bill is not None:
            return bill
    if not _wait_for_organisation(session, company_code):
        return None
    return _query_bill(session, company_code, identity, padded=True, lock=lock)


def closed_case(bill: Bill, now: dt.datetime) -> Case | None:
    """Return why a VA takes no payment (paid, voided or expired), or None when it is open.

    SNAP's order puts a voided or expired VA before a paid one. A paid VA whose expiry time
    has passed since is still reported as paid, because it was paid while open.
    """
    account = bill.account
    if account.status in (VAStatus.CLOSED, VAStatus.EXPIRED):
        return Case.EXPIRED
    if bill.invoice.status in (InvoiceStatus.VOID, InvoiceStatus.EXPIRED):
        return Case.EXPIRED
    if account.status == VAStatus.PAID or bill.invoice.status == InvoiceStatus.PAID:
        return Case.ALREADY_PAID
    if account.expires_at is not None and account.expires_at <= now:
        return Case.EXPIRED
    return None


# An inquiry Tagih accepted; its request id names the payment that follows it.
ACCEPTED_INQUIRY = (SnapRequestLog.service == "inquiry", SnapRequestLog.response_code == "2002400")
_SAME_REQUEST_ID = (
    SnapRequestLog.partner_id == bindparam("partner_id"),
    SnapRequestLog.request_id == bindparam("request_id"),
)


def _names_other_va(numbers: Iterable[str | None], account: VirtualAccount) -> bool:
    """Tell whether VA numbers of earlier accepted inquiries include another VA's."""
    return any(number != account.number for number in numbers if number)


def _inquiry_id_reused(
    session: Session, partner_id: str, request: InquiryRequest, account: VirtualAccount
) -> bool:
    """Tell whether an accepted inquiry with this inquiryRequestId was about another VA."""
    query = select(SnapRequestLog.virtual_account_no).where(*ACCEPTED_INQUIRY, *_SAME_REQUEST_ID)
    parameters = {"partner_id": partner_id, "request_id": request.inquiry_request_id}
    return _names_other_va(session.exec(query, params=parameters).all(), account)


def decide_inquiry(
    session: Session, request: InquiryRequest, *, connection: Connection, now: dt.datetime
) -> tuple[Case, Bill | None]:
    """Decide an inquiry; an open bill notes the time, so the status check can follow it up."""
    bill = find_bill(session, request.identity, connection=connection)
    if bill is None:
        return Case.NOT_FOUND, None
    if _inquiry_id_reused(session, connection.client_id, request, bill.account):
        return Case.INCONSISTENT, bill
    closed = closed_case(bill, now)
    if closed is not None:
        return closed, bill
    if request.amount is not None and request.amount != bill.account.amount:
        return Case.INVALID_AMOUNT, bill
    bill.account.last_inquiry_at = now
    session.add(bill.account)
    return Case.SUCCESS, bill


# Earlier uses of a paymentRequestId by the same bank: a payment (only its id, because
# almost every payment is new) and accepted inquiries, whose inquiryRequestId the payment
# that follows them reuses. One statement, so a new payment costs one round trip here.
_EARLIER_USES = union_all(
    select(
        literal("payment").label("kind"),
        Payment.id.label("payment_id"),
        null().label("va_number"),
    ).where(
        Payment.partner_id == bindparam("partner_id"),
        Payment.payment_request_id == bindparam("request_id"),
    ),
    select(
        literal("inquiry"),
        null(),
        SnapRequestLog.virtual_account_no,
    ).where(*ACCEPTED_INQUIRY, *_SAME_REQUEST_ID),
)


def _earlier_uses(
    session: Session, partner_id: str, request_id: str
) -> tuple[Payment | None, set[str]]:
    """Return the earlier payment with this request id, and the VAs of accepted inquiries."""
    parameters = {"partner_id": partner_id, "request_id": request_id}
    rows = session.execute(_EARLIER_USES, parameters).all()
    payment_ids = [row.payment_id for row in rows if row.kind == "payment"]
    inquired = {row.va_number for row in rows if row.kind == "inquiry" and row.va_number}
    earlier = session.get(Payment, payment_ids[0]) if payment_ids else None
    return earlier, inquired


def decide_payment(
    session: Session,
    request: PaymentRequest,
    *,
    connection: Connection,
    now: dt.datetime,
    raw_request: dict[str, Any],
    source: str = "snap",
    paid_at: dt.datetime | None = None,
    response_for: Callable[[Bill], dict[str, Any]] | None = None,
) -> PaymentOutcome:
    """Decide a payment in SNAP's order and record it when accepted.

    The VA row stays locked until the caller's transaction ends. An accepted payment is
    added to the session with the VA and invoice marked paid and its notices queued, and
    response_for(bill) builds the response stored with an accepted payment, for retries.
    """
    bill = find_bill(session, request.identity, connection=connection, lock=True)
    if bill is None:
        return PaymentOutcome(Case.NOT_FOUND)

    earlier, inquired = _earlier_uses(session, connection.client_id, request.payment_request_id)
    if earlier is not None:
        if earlier.raw_request.get("fingerprint") == request.fingerprint():
            return PaymentOutcome(Case.SUCCESS, bill, earlier, replayed=True)
        return PaymentOutcome(Case.INCONSISTENT, bill)
    # paymentRequestId repeats the inquiryRequestId of the inquiry before it, so an inquiry
    # accepted under this id for another VA makes the payment inconsistent.
    if _names_other_va(inquired, bill.account):
        return PaymentOutcome(Case.INCONSISTENT, bill)

    closed = closed_case(bill, now)
    if closed is not None:
        return PaymentOutcome(closed, bill)
    if request.paid_amount != bill.account.amount:
        return PaymentOutcome(Case.INVALID_AMOUNT, bill)

    payment = record_payment(
        session,
        bill,
        request,
        partner_id=connection.client_id,
        paid_at=paid_at or now,
        raw_request={**raw_request, "fingerprint": request.fingerprint()},
        source=source,
        response=response_for(bill) if response_for else None,
    )
    return PaymentOutcome(Case.SUCCESS, bill, payment)


def record_payment(
    session: Session,
    bill: Bill,
    request: PaymentRequest,
    *,
    partner_id: str,
    paid_at: dt.datetime,
    raw_request: dict[str, Any],
    source: str,
    response: dict[str, Any] | None = None,
) -> Payment:
    """Mark the bill paid, add the payment and queue the receipt and the staff notices.

    Every write is a Core statement with bound values, because flushing models cost more
    CPU than the rest of a payment. The bill's loaded VA and invoice get the new values as
    committed state, so the session has nothing left to flush for them. The returned Payment
    is not attached to the session.
    """
    account, invoice = bill.account, bill.invoice
    session.execute(_CLOSE_VA, {"va_id": account.id, "paid_at": paid_at})
    session.execute(_MARK_INVOICE_PAID, {"invoice_id": invoice.id, "paid_at": paid_at})
    set_committed_value(account, "status", VAStatus.PAID)
    set_committed_value(account, "closed_at", paid_at)
    set_committed_value(invoice, "status", InvoiceStatus.PAID)
    set_committed_value(invoice, "paid_at", paid_at)

    values = {
        "organisation_id": bill.organisation.id,
        "invoice_id": invoice.id,
        "virtual_account_id": account.id,
        "partner_id": partner_id,
        "payment_request_id": request.payment_request_id,
        "amount": request.paid_amount,
        "paid_at": paid_at,
        "reference_no": request.reference_no,
        "trx_id": request.trx_id,
        "channel_code": request.channel_code,
        "source": source,
        "raw_request": raw_request,
        "response": response or {},
        "created_at": paid_at,
    }
    payment_id = session.execute(_INSERT_PAYMENT, values).scalar_one()
    payment = Payment(id=payment_id, **values)

    rows = payment_notice_rows(
        session,
        bill.organisation,
        bill.customer,
        invoice,
        payment_id=payment_id,
        receipt_number=receipt_number(payment),
        now=paid_at,
    )
    session.execute(insert(Notice.__table__), rows)  # type: ignore[attr-defined]
    return payment


_VA_TABLE = VirtualAccount.__table__  # type: ignore[attr-defined]
_INVOICE_TABLE = Invoice.__table__  # type: ignore[attr-defined]
_PAYMENT_TABLE = Payment.__table__  # type: ignore[attr-defined]
_CLOSE_VA = (
    update(_VA_TABLE)
    .where(_VA_TABLE.c.id == bindparam("va_id"))
    .values(status=VAStatus.PAID, closed_at=bindparam("paid_at"))
)
_MARK_INVOICE_PAID = (
    update(_INVOICE_TABLE)
    .where(_INVOICE_TABLE.c.id == bindparam("invoice_id"))
    .values(status=InvoiceStatus.PAID, paid_at=bindparam("paid_at"))
)
_INSERT_PAYMENT = insert(_PAYMENT_TABLE).returning(_PAYMENT_TABLE.c.id)


def receipt_number(payment: Payment) -> str:
    """Return the receipt (kwitansi) number of a payment: KW-<paid date>-<payment id>."""
    return f"KW-{payment.paid_at.astimezone(JAKARTA):%Y%m%d}-{payment.id:06d}"


def company_code_of_va(session: Session, va_number: str) -> str | None:
    """Return the company code of a VA number known to this database, or None."""
    account = session.exec(
        select(VirtualAccount).where(VirtualAccount.number == va_number.replace(" ", ""))
    ).first()
    return account.company_code if account else None
