"""One customer per phone: the e-mail address that every invoice to a phone number uses.

Issuing matches an invoice's payer by phone first (billing.invoices), so invoices that share
a phone share one customer and one e-mail address. This module settles that address before
the preview, so the preview shows what will be stored and warns about each unused address.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.sheets.result import Problem, SheetInvoice
from locales import msg


@dataclass(frozen=True)
class RegisteredPayer:
    """A customer already in the database, found by the phone an invoice gives."""

    name: str
    email: str


def settle_payer_emails(
    invoices: list[SheetInvoice], registered: dict[str, RegisteredPayer]
) -> list[Problem]:
    """Give the invoices of each phone one e-mail address and warn for each one that differed.

    The registered customer's address wins, because a sheet of bills does not change a
    registered customer. Otherwise the address on the lowest row wins, because the customer
    is created with it. `registered` maps E.164 phones to customers that have an address.
    """
    by_phone: dict[str, list[SheetInvoice]] = {}
    for invoice in invoices:
        draft = invoice.draft
        if draft.customer_id is None and draft.phone:
            by_phone.setdefault(draft.phone, []).append(invoice)
    warnings = []
    for phone, group in by_phone.items():
        payer = registered.get(phone)
        first = None
        if payer is not None:
            chosen = payer.email
        else:
            first = _first_with_email(group)
            if first is None:
                continue
            chosen = first.draft.email or ""
        for invoice in group:
            email = invoice.draft.email
            if email and email.casefold() != chosen.casefold():
                warnings.append(_email_differs(invoice, phone, chosen, payer, first))
            invoice.draft.email = chosen
    return warnings


def _first_with_email(group: list[SheetInvoice]) -> SheetInvoice | None:
    with_email = [invoice for invoice in group if invoice.draft.email]
    if not with_email:
        return None
    return min(with_email, key=_email_row)


def _email_row(invoice: SheetInvoice) -> int:
    source = invoice.email_source
    return source.row if source is not None else invoice.rows[0]


def _email_differs(
    invoice: SheetInvoice,
    phone: str,
    chosen: str,
    payer: RegisteredPayer | None,
    first: SheetInvoice | None,
) -> Problem:
    email = invoice.draft.email
    if payer is not None:
        message = msg(
            "The e-mail {email} differs from {chosen}, the e-mail of {name}, who is registered "
            "with the phone {phone}. Notices for invoice {number} go to {chosen}, because a "
            "sheet of bills does not change a registered customer.",
            email=email,
            chosen=chosen,
            name=payer.name,
            phone=phone,
            number=invoice.draft.number,
        )
    else:
        assert first is not None
        message = msg(
            "The e-mail {email} differs from {chosen}, given for the same phone {phone} on row "
            "{first_row}. One phone number is one customer, so notices for invoice {number} "
            "go to {chosen}. If {email} is right, write it on every row with this phone.",
            email=email,
            chosen=chosen,
            phone=phone,
            first_row=_email_row(first),
            number=invoice.draft.number,
        )
    source = invoice.email_source
    return Problem(
        "customer.email_differs",
        message,
        row=source.row if source is not None else invoice.rows[0],
        column=source.column if source is not None else None,
        value=email,
        cell=source.cell if source is not None else None,
    )
