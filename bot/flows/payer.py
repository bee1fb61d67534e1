"""Payer flows for customers and parents: bills, how to pay, history, receipts, reminders."""

from __future__ import annotations

import re

from sqlmodel import col, select

from billing.errors import NotFound
from billing.invoices_void import find_invoice
from billing.permissions import Action
from billing.school.bills import ChildBills, open_bills_for_parent
from bot.core import registry, services
from bot.core.callbacks import Op
from bot.core.formatting import bill_lines, invoice_subjects, rupiah, virtual_accounts
from bot.core.menu import button, menu_step
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.replies import Document, Text
from locales import N_, format_datetime, format_rupiah, tr, trn
from models import (
    Customer,
    Invoice,
    InvoiceStatus,
    OrgKind,
    Payment,
    VirtualAccount,
)

OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.OVERDUE)
MAX_HISTORY = 20
MAX_RECEIPT_BUTTONS = 10
PDF = "application/pdf"
RECEIPT_PHRASE = re.compile(
    r"(?i)\b(?:kwitansi|kuitansi|receipt|bukti\s+bayar)\b\s*(?P<number>\S+)?"
)


def _customer_id(turn: Turn) -> int:
    assert turn.membership is not None and turn.membership.customer_id is not None
    return turn.membership.customer_id


def _open_invoices(turn: Turn) -> list[Invoice]:
    query = (
        select(Invoice)
        .where(Invoice.customer_id == _customer_id(turn), col(Invoice.status).in_(OPEN))
        .order_by(col(Invoice.due_date), col(Invoice.id))
    )
    return list(turn.session.exec(query).all())


# --- My bills ----------------------------------------------------------------------------


async def my_bills(turn: Turn) -> Step:
    turn.require(Action.MY_BILLS)
    assert turn.membership is not None
    if turn.membership.organisation_kind == OrgKind.SCHOOL:
        return _parent_bills_step(turn)
    invoices = _open_invoices(turn)
    subjects = invoice_subjects(turn.session, invoices)
    accounts = virtual_accounts(turn.session, invoices)
    bills = [
        bill_lines(
            invoice,
            subjects.get(invoice.id or 0, ""),
            _va_number(accounts.get(invoice.id or 0)),
            turn.language,
        )
        for invoice in invoices
    ]

    text = _no_bills(turn)
    if invoices:
        text = _total_line(turn, invoices) + "\n\n" + "\n".join(bills)
    buttons = (
        button(tr(turn.language, "How to pay"), Op.MENU, key="howto"),
        button(tr(turn.language, "Menu"), Op.HOME),
    )
    return Step([Text(text, buttons)])


def _parent_bills_step(turn: Turn) -> Step:
    """List a parent's open bills per child, including bills another guardian pays."""
    found = open_bills_for_parent(turn.session, _customer_id(turn))
    children = [group.student for group in found.children if group.student is not None]
    groups = found.children
    callback = turn.inbound.callback
    chosen = callback is not None and callback.op is Op.CHILD and bool(callback.value)
    if chosen:
        assert callback is not None and callback.value is not None
        group = found.for_student(callback.value)
        groups = [group] if group is not None else []

    text = _parent_bills_text(turn, groups, per_child=len(found.children) > 1 and not chosen)
    buttons = [button(tr(turn.language, "How to pay"), Op.MENU, key="howto")]
    if len(children) > 1:
        if chosen:
            buttons.append(button(tr(turn.language, "All children"), Op.MENU, key="bills"))
        buttons += [button(child.name, Op.CHILD, value=child.id) for child in children]
    buttons.append(button(tr(turn.language, "Menu"), Op.HOME))
    return Step([Text(text, tuple(buttons))])


def _parent_bills_text(turn: Turn, groups: list[ChildBills], *, per_child: bool) -> str:
    invoices = [bill.invoice for group in groups for bill in group.bills]
    if not invoices:
        return _no_bills(turn)
    lines = [_total_line(turn, invoices)]
    for group in groups:
        lines.append("")
        if per_child:
            lines.append(_child_heading(turn, group))
        for bill in group.bills:
            subject = bill.invoice.description or ", ".join(
                line.description for line in bill.lines
            )
            lines.append(bill_lines(bill.invoice, subject, bill.va_number, turn.language))
    return "\n".join(lines).rstrip()


def _child_heading(turn: Turn, group: ChildBills) -> str:
    name = group.student.name if group.student is not None else tr(turn.language, "Other bills")
    if not group.bills:
        return tr(turn.language, "{name}: no open bills", name=name)
    return f"{name}: {rupiah(group.total)}"


def _total_line(turn: Turn, invoices: list[Invoice]) -> str:
    return trn(
        turn.language,
        "Total owed: {total} ({count} bill)",
        "Total owed: {total} ({count} bills)",
        len(invoices),
        total=rupiah(sum(invoice.total for invoice in invoices)),
    )


def _no_bills(turn: Turn) -> str:
    return tr(turn.language, "You have no open bills. Thank you!")


def _va_number(account: VirtualAccount | None) -> str | None:
    return account.number if account is not None else None


async def how_to_pay(turn: Turn) -> Step:
    turn.require(Action.MY_BILLS)

    text = tr(
        turn.language,
        "How to pay a bill. Each bill has its own VA number; pay exactly the amount shown.\n\n"
        "Bank mobile app: open Transfer, choose Virtual Account, enter the VA number, "
        "check the name and amount, then confirm with your PIN.\n\n"
        "Internet banking: log in, open Transfer, choose Virtual Account, enter the VA "
        "number, check the details and confirm with your token.\n\n"
        "From another bank: choose a transfer to another bank (online or BI-FAST), pick "
        "the bank that issued the VA, enter the VA number as the account number, and "
        "transfer exactly the amount.",
    )
    return Step([Text(text, (button(tr(turn.language, "My bills"), Op.MENU, key="bills"),))])


# --- History and receipts --------------------------------------------------------------


def _paid(turn: Turn, limit: int) -> list[tuple[Invoice, Payment]]:
    query = (
        select(Invoice, Payment)
        .join(Payment, col(Payment.invoice_id) == Invoice.id)
        .where(Invoice.customer_id == _customer_id(turn))
        .order_by(col(Payment.paid_at).desc())
        .limit(limit)
    )
    return [(invoice, payment) for invoice, payment in turn.session.exec(query)]


async def payment_history(turn: Turn) -> Step:
    turn.require(Action.PAYMENT_HISTORY)
    paid = _paid(turn, MAX_HISTORY)

    if not paid:
        return Step(
            [
                Text(
                    tr(turn.language, "No payments yet."),
                    (button(tr(turn.language, "Menu"), Op.HOME),),
                )
            ]
        )
    lines = [tr(turn.language, "Your latest payments:")]
    for invoice, payment in paid:
        when = format_datetime(payment.paid_at, turn.language, turn.org.timezone)
        lines.append(
            tr(
                turn.language,
                "• {number}: {amount} paid on {time}",
                number=invoice.number,
                amount=format_rupiah(payment.amount),
                time=when,
            )
        )
    return Step([Text("\n".join(lines), _receipt_buttons(turn, paid))])


def _receipt_buttons(turn: Turn, paid: list[tuple[Invoice, Payment]]) -> tuple:
    buttons = [
        button(
            tr(turn.language, "Receipt {number}", number=invoice.number),
            Op.RECEIPT,
            value=invoice.id,
        )
        for invoice, _payment in paid[:MAX_RECEIPT_BUTTONS]
    ]
    return tuple(buttons)


async def receipts(turn: Turn) -> Step:
    turn.require(Action.RECEIPT_DOWNLOAD)
    paid = _paid(turn, MAX_RECEIPT_BUTTONS)

    if not paid:
        return Step(
            [
                Text(
                    tr(turn.language, "No payments yet."),
                    (button(tr(turn.language, "Menu"), Op.HOME),),
                )
            ]
        )
    text = tr(turn.language, "Which receipt? Tap one, or type kwitansi and the invoice number.")
    return Step([Text(text, _receipt_buttons(turn, paid))], State.AWAIT_RECEIPT_NUMBER)


async def receipt_for_button(turn: Turn) -> Step:
    turn.require(Action.RECEIPT_DOWNLOAD)
    callback = turn.inbound.callback
    assert callback is not None
    invoice = turn.session.get(Invoice, callback.value) if callback.value else None

    return _receipt_step(turn, invoice)


async def receipt_for_text(turn: Turn) -> Step:
    turn.require(Action.RECEIPT_DOWNLOAD)
    match = RECEIPT_PHRASE.search(turn.inbound.text)
    number = match.group("number") if match else turn.inbound.text.strip()
    if not number:
        return await receipts(turn)

    return _receipt_step(turn, find_invoice(turn.session, turn.org, number))


def _receipt_step(turn: Turn, invoice: Invoice | None) -> Step:
    if invoice is None or invoice.customer_id != _customer_id(turn):
        raise NotFound("chat.receipt_not_found", "No paid invoice of yours has that number.")
    if invoice.status != InvoiceStatus.PAID:
        text = tr(
            turn.language,
            "Invoice {number} is not paid yet, so it has no receipt.",
            number=invoice.number,
        )
        return Step([Text(text)])
    content = services.render_receipt_pdf(turn.session, invoice.id or 0, turn.language)
    caption = tr(turn.language, "Receipt for invoice {number}.", number=invoice.number)
    return Step([Document(f"kwitansi-{invoice.number}.pdf", content, PDF, caption)])


# --- Reminders -------------------------------------------------------------------------


async def reminder_settings(turn: Turn) -> Step:
    turn.require(Action.MY_BILLS)
    customer = turn.session.get(Customer, _customer_id(turn))
    assert customer is not None

    if customer.reminders_paused:
        text = tr(turn.language, "Reminders are paused. You still get new bills and receipts.")
        action = button(tr(turn.language, "Resume reminders"), Op.REMINDERS, key="resume")
    else:
        text = tr(turn.language, "Reminders are on: we remind you before and after each due date.")
        action = button(tr(turn.language, "Pause reminders"), Op.REMINDERS, key="pause")
    return Step([Text(text, (action, button(tr(turn.language, "Menu"), Op.HOME)))])


async def _set_paused(turn: Turn, paused: bool) -> Step:
    turn.require(Action.MY_BILLS)
    services.set_reminders_paused(turn.session, [_customer_id(turn)], paused)

    if paused:
        text = tr(
            turn.language, "Reminders paused. Type mulai or start reminders to turn them back on."
        )
    else:
        text = tr(turn.language, "Reminders are back on.")
    return menu_step(turn, text)


async def reminders_button(turn: Turn) -> Step:
    callback = turn.inbound.callback
    return await _set_paused(turn, callback is not None and callback.key == "pause")


async def pause_reminders(turn: Turn) -> Step:
    return await _set_paused(turn, True)


async def resume_reminders(turn: Turn) -> Step:
    return await _set_paused(turn, False)


# --- Registration ----------------------------------------------------------------------


def register() -> None:
    entries = [
        ("bills", N_("My bills"), my_bills, Action.MY_BILLS, 10),
        ("howto", N_("How to pay"), how_to_pay, Action.MY_BILLS, 20),
        ("history", N_("Payment history"), payment_history, Action.PAYMENT_HISTORY, 30),
        ("receipts", N_("Receipts"), receipts, Action.RECEIPT_DOWNLOAD, 40),
        ("reminders", N_("Reminders"), reminder_settings, Action.MY_BILLS, 50),
    ]
    for key, title, handler, action, order in entries:
        registry.register_menu_entry(key, title, handler, action=action, order=order)
    registry.register_op(Op.CHILD, my_bills)
    registry.register_op(Op.RECEIPT, receipt_for_button)
    registry.register_op(Op.REMINDERS, reminders_button)
    registry.register_state_handler(State.AWAIT_RECEIPT_NUMBER, receipt_for_text)

    phrases = [
        (r"^\s*(stop|berhenti)\s*[.!]?\s*$", pause_reminders),
        (
            r"^\s*(mulai|start reminders|resume reminders|lanjutkan pengingat)\s*[.!]?\s*$",
            resume_reminders,
        ),
        (RECEIPT_PHRASE.pattern, receipt_for_text),
        (
            r"\b(berapa\s+tagihan|tagihan\s+(saya|anak|ku)|how\s+much\s+do\s+i\s+owe|my\s+bills?"
            r"|what\s+do\s+i\s+owe|sisa\s+tagihan)\b",
            my_bills,
        ),
        (r"\b(cara\s+(mem)?bayar|how\s+(do\s+i|to|can\s+i)\s+pay)\b", how_to_pay),
        (r"\b(riwayat|payment\s+history|history)\b", payment_history),
    ]
    for pattern, handler in phrases:
        registry.register_phrase(pattern, handler, action=Action.MY_BILLS)
