"""Voiding a wrong invoice, after staff confirm it."""

from __future__ import annotations

from billing.errors import PermissionDenied
from billing.invoices_void import VOIDABLE, find_invoice, status_name, void_invoice
from billing.permissions import Action
from bot.core.callbacks import Op
from bot.core.menu import button, menu_step
from bot.core.states import State
from bot.core.turn import Question, Step, Turn
from bot.flows.merchant.common import staff_name
from bot.replies import Text
from locales import format_rupiah, tr
from models import Customer, Invoice


async def ask_void_number(turn: Turn) -> Step:
    turn.require(Action.INVOICE_VOID)

    return Step(
        [Text(tr(turn.language, "Type the number of the invoice to void."))],
        State.AWAIT_VOID_NUMBER,
    )


async def confirm_void(turn: Turn) -> Step:
    turn.require(Action.INVOICE_VOID)
    invoice = find_invoice(turn.session, turn.org, turn.inbound.text)
    if invoice.status not in VOIDABLE:
        status = status_name(invoice.status).render(turn.language)
        text = tr(
            turn.language,
            "Invoice {number} is {status} and cannot be voided.",
            number=invoice.number,
            status=status,
        )
        return Step([Text(text)])

    customer = turn.session.get(Customer, invoice.customer_id)
    text = tr(
        turn.language,
        "Void invoice {number} for {customer}, {amount}? Its VA closes and the customer is told.",
        number=invoice.number,
        customer=customer.name if customer else "-",
        amount=format_rupiah(invoice.total),
    )
    keep = button(tr(turn.language, "No, keep it"), Op.VOID_ABORT, value=invoice.id)
    buttons = (
        button(tr(turn.language, "Yes, void it"), Op.VOID_CONFIRM, value=invoice.id),
        keep,
    )
    data = {"invoice_id": invoice.id}
    return Step([Text(text, buttons)], State.CONFIRM_VOID, data, Question(keep.payload))


async def void_confirmed(turn: Turn) -> Step:
    turn.require(Action.INVOICE_VOID)
    callback = turn.inbound.callback
    assert callback is not None
    invoice = turn.session.get(Invoice, callback.value) if callback.value else None
    if invoice is None or invoice.organisation_id != turn.org.id:
        raise PermissionDenied(
            "chat.invoice_other_org", "This invoice is not in your organisation."
        )

    void_invoice(
        turn.session, turn.org, invoice.number, reason="voided in chat", actor=staff_name(turn)
    )
    intro = tr(
        turn.language,
        "Invoice {number} is void. Its VA is closed and the customer will be told.",
        number=invoice.number,
    )
    return menu_step(turn, intro)


async def void_aborted(turn: Turn) -> Step:
    return menu_step(turn, tr(turn.language, "Nothing was voided."))
