"""Invoice lookup for staff: status, VA, delivery per channel and payment."""

from __future__ import annotations

from sqlmodel import col, select

from billing.invoices_void import find_invoice, status_name
from billing.permissions import Action
from billing.va import format_va
from bot.core.callbacks import Op
from bot.core.formatting import invoice_subjects, va_status_name
from bot.core.menu import button
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.replies import Text
from locales import format_date, format_datetime, format_rupiah, tr
from models import Customer, Invoice, Notice, NoticeAttempt, Payment, VirtualAccount


async def ask_invoice_number(turn: Turn) -> Step:
    turn.require(Action.INVOICE_LOOKUP)

    return Step(
        [Text(tr(turn.language, "Type the invoice number, for example INV-001."))],
        State.AWAIT_INVOICE_NUMBER,
    )


async def show_invoice(turn: Turn) -> Step:
    turn.require(Action.INVOICE_LOOKUP)
    invoice = find_invoice(turn.session, turn.org, turn.inbound.text)

    text = describe_for_staff(turn, invoice)
    return Step([Text(text, (button(tr(turn.language, "Menu"), Op.HOME),))])


def describe_for_staff(turn: Turn, invoice: Invoice) -> str:
    """Status, VA, delivery per channel and payment of one invoice."""
    session = turn.session
    customer = session.get(Customer, invoice.customer_id)
    account = session.exec(
        select(VirtualAccount).where(VirtualAccount.invoice_id == invoice.id)
    ).first()
    subject = invoice_subjects(session, [invoice]).get(invoice.id or 0, "")
    lines = [
        f"{invoice.number} — {customer.name if customer else ''}",
        subject,
        tr(
            turn.language,
            "Status: {status}",
            status=status_name(invoice.status).render(turn.language),
        ),
        tr(
            turn.language,
            "Amount: {amount}, due {date}",
            amount=format_rupiah(invoice.total),
            date=format_date(invoice.due_date, turn.language),
        ),
    ]
    if account is not None:
        lines.append(
            tr(
                turn.language,
                "VA: {number} ({status})",
                number=format_va(account.number),
                status=va_status_name(account.status, turn.language),
            )
        )
    lines.append(_delivery_line(turn, invoice))
    lines.append(_payment_line(turn, invoice))
    return "\n".join(line for line in lines if line)


def _delivery_line(turn: Turn, invoice: Invoice) -> str:
    query = (
        select(NoticeAttempt.channel, NoticeAttempt.status)
        .join(Notice, col(Notice.id) == NoticeAttempt.notice_id)
        .where(Notice.invoice_id == invoice.id)
        .order_by(col(NoticeAttempt.id))
    )
    latest: dict[str, str] = {}
    for channel, status in turn.session.exec(query):
        latest[channel] = status
    if not latest:
        return tr(turn.language, "Delivery: no notice sent yet")
    parts = ", ".join(f"{channel} {status}" for channel, status in latest.items())
    return tr(turn.language, "Delivery: {channels}", channels=parts)


def _payment_line(turn: Turn, invoice: Invoice) -> str:
    payment = turn.session.exec(select(Payment).where(Payment.invoice_id == invoice.id)).first()
    if payment is None:
        return tr(turn.language, "Payment: none yet")
    return tr(
        turn.language,
        "Payment: {amount} on {time}, bank reference {reference}",
        amount=format_rupiah(payment.amount),
        time=format_datetime(payment.paid_at, turn.language, turn.org.timezone),
        reference=payment.reference_no or "-",
    )
