"""One customer per phone: the name and e-mail address that every invoice to a phone uses.

Issuing matches an invoice's payer by phone first (billing.invoices), so invoices that share
a phone share one customer, with one name and one e-mail address. This module settles both
before the preview, so the preview shows what will be stored and warns about each name or
address that is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.sheets.context import name_key
from billing.sheets.result import CellRef, Problem, SheetInvoice
from locales import Msg, msg


@dataclass(frozen=True)
class RegisteredPayer:
    """A customer already in the database, found by the phone an invoice gives."""

    name: str
    email: str | None


def _by_phone(invoices: list[SheetInvoice]) -> dict[str, list[SheetInvoice]]:
    """Group by phone the invoices without a customer id, which issuing matches by phone."""
    groups: dict[str, list[SheetInvoice]] = {}
    for invoice in invoices:
        draft = invoice.draft
        if draft.customer_id is None and draft.phone:
            groups.setdefault(draft.phone, []).append(invoice)
    return groups


def settle_payer_names(
    invoices: list[SheetInvoice], registered: dict[str, RegisteredPayer]
) -> list[Problem]:
    """Give the invoices of each phone one customer name and warn for each one that differed.

    The registered customer's name wins, because a sheet of bills does not change a
    registered customer. Otherwise the name on the lowest row wins, because the customer is
    created with it. `registered` maps E.164 phones to customers.
    """
    warnings = []
    for phone, group in _by_phone(invoices).items():
        payer = registered.get(phone)
        first = None
        if payer is not None:
            chosen = payer.name
        else:
            first = min(group, key=_name_row)
            chosen = first.draft.customer_name
        for invoice in group:
            if name_key(invoice.draft.customer_name) != name_key(chosen):
                warnings.append(_name_differs(invoice, phone, chosen, first))
            invoice.draft.customer_name = chosen
    return warnings


def _name_row(invoice: SheetInvoice) -> int:
    source = invoice.name_source
    return source.row if source is not None else invoice.rows[0]


def _name_differs(
    invoice: SheetInvoice, phone: str, chosen: str, first: SheetInvoice | None
) -> Problem:
    name = invoice.draft.customer_name
    row = _name_row(invoice)
    if first is None:
        message = msg(
            "The phone {phone} is registered to {registered}, but row {row} gives it for "
            "{name}. One phone number is one customer, so invoice {number} is billed to "
            "{registered}. If {name} is someone else, write their own phone number on row {row}.",
            phone=phone,
            registered=chosen,
            row=row,
            name=name,
            number=invoice.draft.number,
        )
        rows = [row]
    else:
        message = msg(
            "The phone {phone} is given for {first} on row {first_row} and for {name} on row "
            "{row}. One phone number is one customer, so invoice {number} is billed to {first}. "
            "If {name} is someone else, write their own phone number on row {row}.",
            phone=phone,
            first=chosen,
            first_row=_name_row(first),
            name=name,
            row=row,
            number=invoice.draft.number,
        )
        rows = [_name_row(first), row]
    return _warning("customer.name_differs", message, invoice.name_source, row, name, rows)


def _warning(
    code: str, message: Msg, source: CellRef | None, row: int, value: str, rows: list[int]
) -> Problem:
    return Problem(
        code,
        message,
        row=row,
        column=source.column if source is not None else None,
        value=value,
        cell=source.cell if source is not None else None,
        rows=rows,
    )


def settle_payer_emails(
    invoices: list[SheetInvoice], registered: dict[str, RegisteredPayer]
) -> list[Problem]:
    """Give the invoices of each phone one e-mail address and warn for each one that differed.

    The registered customer's address wins, because a sheet of bills does not change a
    registered customer. Otherwise the address on the lowest row wins, because the customer
    is created with it. `registered` maps E.164 phones to customers; only those with an
    address decide it.
    """
    warnings = []
    for phone, group in _by_phone(invoices).items():
        payer = registered.get(phone)
        first = None
        if payer is not None and payer.email:
            chosen = payer.email
        else:
            payer = None
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
    row = source.row if source is not None else invoice.rows[0]
    return _warning("customer.email_differs", message, source, row, email or "", [])
