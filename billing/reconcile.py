"""Matching a bank statement against the payments Tagih recorded.

A statement is a CSV or .xlsx file with one credit per row: date, VA number, amount and the
bank's reference. Each row is either matched to a payment, or it is a payment at the bank
that Tagih lacks (recorded after staff confirm it). Tagih payments in the statement's date
range that the bank does not show are listed too.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook as OutputWorkbook
from openpyxl.styles import Font
from sqlmodel import Session, select

from billing.errors import UserError
from billing.payments import Bill, closed_case, record_payment
from billing.sheets.intake import open_workbook
from billing.sheets.values import CellError, cell_text, is_blank, parse_amount, parse_date
from billing.snap.codes import Case
from billing.snap.messages import Identity, PaymentRequest
from billing.xlsx import text_row
from locales import N_, Msg, format_rupiah, msg, normalise_language, tr
from models import Customer, Invoice, Organisation, Payment, VirtualAccount
from models.types import utcnow

MAX_STATEMENT_AMOUNT = 10**13
STATEMENT_PARTNER = "statement"
_HEADER_WORDS = {
    "date": ("date", "tanggal", "tgl", "transaction date", "tanggal transaksi"),
    "va": ("va", "va number", "no va", "nomor va", "virtual account", "no. va", "va no"),
    "amount": ("amount", "jumlah", "nominal", "credit", "kredit", "mutasi"),
    "reference": ("reference", "referensi", "ref", "no ref", "no. ref", "reference no"),
}


@dataclass
class StatementLine:
    row: int  # as the spreadsheet or text editor numbers it
    date: dt.date
    va_number: str
    amount: int  # rupiah
    reference: str


@dataclass
class Reconciliation:
    matched: list[tuple[StatementLine, Payment]] = field(default_factory=list)
    # At the bank but not in Tagih; `recordable` can be recorded on confirmation.
    recordable: list[StatementLine] = field(default_factory=list)
    unrecordable: list[tuple[StatementLine, Msg]] = field(default_factory=list)
    not_at_bank: list[Payment] = field(default_factory=list)
    recorded: list[Payment] = field(default_factory=list)
    problems: list[tuple[int, Msg]] = field(default_factory=list)  # (row, why it was skipped)
    account_numbers: dict[int, str] = field(default_factory=dict)  # VA id to number
    timezone: str = "Asia/Jakarta"


def _fold(header: Any) -> str:
    return re.sub(r"[\s._:]+", " ", cell_text(header).casefold()).strip()


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    for index, row in enumerate(rows[:30]):
        columns: dict[str, int] = {}
        for column, value in enumerate(row):
            folded = _fold(value)
            for name, words in _HEADER_WORDS.items():
                if folded in words and name not in columns:
                    columns[name] = column
        if {"date", "va", "amount"} <= set(columns):
            return index, columns
    return None


def _rows_from_csv(content: bytes) -> list[list[Any]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    # Title lines come before the header in many exports, so look at the first lines together.
    head = "\n".join(text.splitlines()[:30])
    delimiter = max(",;\t", key=head.count)
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _rows_from_xlsx(filename: str, content: bytes, settings: Any) -> list[list[Any]]:
    workbook = open_workbook(filename, content, settings)
    for layout in workbook.sheets:
        if layout.hidden:
            continue
        rows = workbook.reader.get_sheet_by_name(layout.name).to_python(skip_empty_area=False)
        if rows:
            return [list(row) for row in rows]
    return []


def read_statement(
    filename: str, content: bytes, settings: Any
) -> tuple[list[StatementLine], list[tuple[int, Msg]]]:
    """Read statement rows; return the lines and the rows skipped with the reason.

    Raises UserError when the file has no row with date, VA number and amount headers.
    """
    if filename.lower().endswith((".csv", ".txt")):
        rows = _rows_from_csv(content)
    else:
        rows = _rows_from_xlsx(filename, content, settings)
    found = _find_header(rows)
    if found is None:
        raise UserError(
            "reconcile.no_header",
            "No header row with date, VA number and amount columns was found in {filename}. "
            "Export the statement with those columns.",
            filename=filename,
        )
    header_index, columns = found
    lines: list[StatementLine] = []
    problems: list[tuple[int, Msg]] = []
    for offset, cells in enumerate(rows[header_index + 1 :], start=header_index + 2):

        def cell(name: str, cells: list[Any] = cells) -> Any:
            column = columns.get(name)
            return cells[column] if column is not None and column < len(cells) else None

        if all(is_blank(cell(name)) for name in ("date", "va", "amount")):
            continue
        va_number = re.sub(r"[\s.-]", "", cell_text(cell("va")))
        if not va_number.isdigit():
            problems.append(
                (
                    offset,
                    msg("The VA number {value} is not a number.", value=cell_text(cell("va"))),
                )
            )
            continue
        try:
            amount = parse_amount(cell("amount"), maximum=MAX_STATEMENT_AMOUNT)
            date = parse_date(cell("date"), date1904=False)
        except CellError as error:
            problems.append((offset, error.message))
            continue
        reference = cell_text(cell("reference"))[:64]
        lines.append(StatementLine(offset, date, va_number, amount, reference))
    return lines, problems


def _accounts_by_number(
    session: Session, organisation: Organisation, numbers: list[str]
) -> dict[str, VirtualAccount]:
    found: dict[str, VirtualAccount] = {}
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        for account in session.exec(
            select(VirtualAccount).where(
                VirtualAccount.organisation_id == organisation.id,
                VirtualAccount.number.in_(chunk),
            )
        ).all():
            found[account.number] = account
    return found


def _payments_by_account(session: Session, account_ids: list[int]) -> dict[int, Payment]:
    found: dict[int, Payment] = {}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start : start + 500]
        for payment in session.exec(
            select(Payment).where(Payment.virtual_account_id.in_(chunk))
        ).all():
            found[payment.virtual_account_id] = payment
    return found


def _payments_in_range(
    session: Session, organisation: Organisation, first: dt.date, last: dt.date
) -> list[Payment]:
    zone = ZoneInfo(organisation.timezone)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return list(
        session.exec(
            select(Payment)
            .where(
                Payment.organisation_id == organisation.id,
                Payment.paid_at >= start,
                Payment.paid_at < end,
            )
            .order_by(Payment.paid_at)
        ).all()
    )


def reconcile(
    session: Session,
    organisation: Organisation,
    lines: list[StatementLine],
    *,
    confirm: bool = False,
) -> Reconciliation:
    """Match statement lines to payments; with confirm=True record what the bank has extra.

    The caller owns the transaction: open it with session_scope(write=True) when confirming,
    so the VA rows are locked while their payments are recorded.
    """
    result = Reconciliation(timezone=organisation.timezone)
    accounts = _accounts_by_number(
        session, organisation, sorted({line.va_number for line in lines})
    )
    payments = _payments_by_account(session, [a.id for a in accounts.values() if a.id])
    seen_accounts: set[int] = set()
    for line in lines:
        account = accounts.get(line.va_number)
        if account is None:
            why = msg("VA {va} does not belong to this organisation.", va=line.va_number)
            result.unrecordable.append((line, why))
            continue
        payment = payments.get(account.id or 0)
        if payment is not None and account.id not in seen_accounts:
            seen_accounts.add(account.id or 0)
            if payment.amount == line.amount:
                result.matched.append((line, payment))
            else:
                why = msg(
                    "Tagih recorded {recorded} for VA {va}, the bank shows {amount}.",
                    recorded=format_rupiah(payment.amount),
                    va=line.va_number,
                    amount=format_rupiah(line.amount),
                )
                result.unrecordable.append((line, why))
            continue
        if payment is not None:
            why = msg("VA {va} appears twice in the statement.", va=line.va_number)
            result.unrecordable.append((line, why))
            continue
        _check_recordable(session, account, line, result, confirm=confirm)

    if lines:
        first = min(line.date for line in lines)
        last = max(line.date for line in lines)
        matched_ids = {payment.id for _line, payment in result.matched}
        statement_accounts = {
            accounts[line.va_number].id for line in lines if line.va_number in accounts
        }
        result.not_at_bank = [
            payment
            for payment in _payments_in_range(session, organisation, first, last)
            if payment.id not in matched_ids
            and payment.virtual_account_id not in statement_accounts
            and payment.id not in {p.id for p in result.recorded}
        ]
        for payment in result.not_at_bank:
            account = session.get(VirtualAccount, payment.virtual_account_id)
            result.account_numbers[payment.virtual_account_id] = account.number if account else ""
    return result


def _check_recordable(
    session: Session,
    account: VirtualAccount,
    line: StatementLine,
    result: Reconciliation,
    *,
    confirm: bool,
) -> None:
    locked = session.exec(
        select(VirtualAccount).where(VirtualAccount.id == account.id).with_for_update()
    ).one()
    invoice = session.get(Invoice, locked.invoice_id)
    assert invoice is not None
    customer = session.get(Customer, invoice.customer_id)
    organisation = session.get(Organisation, locked.organisation_id)
    assert customer is not None and organisation is not None
    bill = Bill(locked, invoice, customer, organisation)
    closed = closed_case(bill, utcnow())
    if closed is Case.EXPIRED:
        why = msg("VA {va} is closed (voided or expired) in Tagih.", va=line.va_number)
        result.unrecordable.append((line, why))
        return
    if locked.amount != line.amount:
        why = msg(
            "The bill behind VA {va} is {expected}, the bank shows {amount}.",
            va=line.va_number,
            expected=format_rupiah(locked.amount),
            amount=format_rupiah(line.amount),
        )
        result.unrecordable.append((line, why))
        return
    result.recordable.append(line)
    if not confirm:
        return
    request = PaymentRequest(
        identity=Identity(locked.company_code, locked.customer_no, locked.number),
        payment_request_id=f"statement:{line.reference or line.va_number}"[:128],
        paid_amount=line.amount,
        currency="IDR",
        paid_amount_echo={"value": f"{line.amount}.00", "currency": "IDR"},
        trx_id=None,
        reference_no=line.reference or None,
        channel_code=None,
        trx_date_time=None,
        flag_advise=None,
    )
    zone = ZoneInfo(organisation.timezone)
    paid_at = dt.datetime.combine(line.date, dt.time(12), zone)
    payment = record_payment(
        session,
        bill,
        request,
        partner_id=STATEMENT_PARTNER,
        paid_at=paid_at,
        raw_request={"statement_row": line.row, "reference": line.reference},
        source="statement",
    )
    result.recorded.append(payment)


def summary(result: Reconciliation, language: str | None) -> str:
    """Return the chat and console message that sums up a reconciliation."""
    language = normalise_language(language)
    lines = [
        tr(language, "Matched: {count} payments.", count=len(result.matched)),
        tr(
            language,
            "At the bank but not in Tagih: {count}.",
            count=len(result.recordable) + len(result.unrecordable),
        ),
        tr(language, "In Tagih but not at the bank: {count}.", count=len(result.not_at_bank)),
    ]
    if result.recorded:
        lines.append(tr(language, "Recorded now: {count}.", count=len(result.recorded)))
    elif result.recordable:
        lines.append(
            tr(
                language,
                "{count} of them can be recorded; run again with --confirm to record them.",
                count=len(result.recordable),
            )
        )
    if result.problems:
        lines.append(tr(language, "Rows skipped: {count}.", count=len(result.problems)))
    return "\n".join(lines)


_RESULT_LABELS = {
    "matched": N_("matched"),
    "recorded": N_("recorded"),
    "bank_only": N_("at bank only"),
    "tagih_only": N_("in Tagih only"),
    "skipped": N_("skipped"),
}
_SHEET_HEADERS = (
    N_("Result"),
    N_("Statement row"),
    N_("Date"),
    N_("Virtual Account"),
    N_("Amount (Rp)"),
    N_("Bank reference"),
    N_("Tagih payment"),
    N_("Note"),
)


def build_workbook(result: Reconciliation, language: str | None) -> bytes:
    """Write the reconciliation as an .xlsx: one row per statement line or Tagih payment."""
    language = normalise_language(language)
    workbook = OutputWorkbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = tr(language, "Reconciliation")[:31]
    rows: list[list[Any]] = [[tr(language, text) for text in _SHEET_HEADERS]]
    labels = {key: tr(language, text) for key, text in _RESULT_LABELS.items()}
    for line, payment in result.matched:
        rows.append(_line_row(labels["matched"], line, payment.payment_request_id, ""))
    recorded_rows = {payment.raw_request.get("statement_row") for payment in result.recorded}
    for line in result.recordable:
        state = labels["recorded"] if line.row in recorded_rows else labels["bank_only"]
        rows.append(_line_row(state, line, "", ""))
    for line, why in result.unrecordable:
        rows.append(_line_row(labels["bank_only"], line, "", why.render(language)))
    for payment in result.not_at_bank:
        rows.append(
            [
                labels["tagih_only"],
                None,
                payment.paid_at.astimezone(ZoneInfo(result.timezone)).date(),
                result.account_numbers.get(payment.virtual_account_id, ""),
                payment.amount,
                payment.reference_no or "",
                payment.payment_request_id,
                "",
            ]
        )
    for row, why in result.problems:
        rows.append([labels["skipped"], row, None, "", None, "", "", why.render(language)])
    # References, VA numbers and notes come from the statement and the bank.
    for values in rows:
        sheet.append(text_row(sheet, values))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGH", (16, 10, 12, 20, 14, 18, 24, 50), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _line_row(state: str, line: StatementLine, payment_id: str, note: str) -> list[Any]:
    return [
        state,
        line.row,
        line.date,
        line.va_number,
        line.amount,
        line.reference,
        payment_id,
        note,
    ]
