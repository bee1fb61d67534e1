"""Staff flows: template, sheet upload and preview, lookup, report, void, products, customers."""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from billing.errors import PermissionDenied, UserError
from billing.invoices_void import VOIDABLE, find_invoice, status_name, void_invoice
from billing.permissions import Action, is_allowed
from billing.phones import normalise_phone
from billing.va import format_va
from bot.core import registry, services
from bot.core.callbacks import Op
from bot.core.engine import update_tag
from bot.core.formatting import invoice_subjects, va_status_name
from bot.core.menu import button, menu_step, role_name
from bot.core.services import PreviewView, Problem, RegistrationSaved
from bot.core.states import State
from bot.core.turn import Step, Turn
from bot.replies import Button, Document, Reply, Text
from locales import N_, format_date, format_datetime, format_rupiah, tr, trn
from models import (
    BatchStatus,
    Customer,
    ImportBatch,
    Invoice,
    Notice,
    NoticeAttempt,
    OrgKind,
    Payment,
    Product,
    VirtualAccount,
)

log = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_PROBLEMS_SHOWN = 200  # the adapters split long text; the annotated sheet has them all
MAX_EXISTING_SHOWN = 50  # invoice numbers listed as already issued before "and N more"
MAX_LISTED = 30
INVOICE_ONLY = frozenset({OrgKind.INVOICE})
SCHOOL_ONLY = frozenset({OrgKind.SCHOOL})

# The actions a role needs to import each sheet type, by billing.sheets SheetType value.
SHEET_ACTIONS: dict[str, tuple[Action, ...]] = {
    "bills": (Action.BILLS_UPLOAD,),
    "school_bills": (Action.BILLS_UPLOAD,),
    "customers": (Action.CUSTOMER_MANAGE,),
    "students": (Action.STUDENT_MANAGE, Action.PARENT_MANAGE),
}
REGISTRATION_TYPES = frozenset({"customers", "students"})
UPLOAD_ACTIONS = frozenset({Action.BILLS_UPLOAD, Action.CUSTOMER_MANAGE, Action.STUDENT_MANAGE})
REJECTIONS = {
    "bills": N_(
        "This is a bill sheet. Issuing bills is a finance task that your role ({role}) "
        "cannot do, so nothing was saved. Ask finance staff to send the sheet."
    ),
    "customers": N_(
        "This is a customer sheet. Registering customers is an admin task that your role "
        "({role}) cannot do, so nothing was saved. Ask an admin to send the sheet."
    ),
    "students": N_(
        "This is a student and parent sheet. Registering students and parents is an admin "
        "task that your role ({role}) cannot do, so nothing was saved. "
        "Ask an admin to send the sheet."
    ),
}
TEMPLATE_TITLES = {
    "bills": N_("Bill template"),
    "customers": N_("Customer template"),
    "students": N_("Student template"),
}


def _staff_name(turn: Turn) -> str:
    return turn.identity.phone or turn.identity.email or turn.identity.external_id


def _may_import(turn: Turn, sheet_type: str | None) -> bool:
    assert turn.membership is not None
    actions = SHEET_ACTIONS.get(sheet_type or "")
    return actions is not None and all(
        is_allowed(turn.membership.role, action) for action in actions
    )


def _importable(turn: Turn) -> frozenset[str]:
    """Return the sheet types this person's role may import."""
    return frozenset(name for name in SHEET_ACTIONS if _may_import(turn, name))


def _require_import(turn: Turn, sheet_type: str) -> None:
    """Raise PermissionDenied unless the role may import sheets of this type."""
    for action in SHEET_ACTIONS.get(sheet_type, (Action.BILLS_UPLOAD,)):
        turn.require(action)


# --- Template and upload ---------------------------------------------------------------


def _template_names(turn: Turn) -> list[str]:
    """Return the templates this person can use: bills, customers or students."""
    kind = OrgKind(turn.org.kind)
    fitting = {
        "bills": "school_bills" if kind is OrgKind.SCHOOL else "bills",
        "customers": "customers" if kind is OrgKind.INVOICE else None,
        "students": "students" if kind is OrgKind.SCHOOL else None,
    }
    names = [name for name, sheet_type in fitting.items() if _may_import(turn, sheet_type)]
    return names or ["bills"]


async def send_template(turn: Turn) -> Step:
    """Send the only template the role can use, or ask which one when there are several."""
    turn.require(Action.TEMPLATE_DOWNLOAD)
    names = _template_names(turn)

    if len(names) == 1:
        return _template_step(turn, names[0])
    buttons = tuple(
        button(tr(turn.language, TEMPLATE_TITLES[name]), Op.TEMPLATE, key=name) for name in names
    )
    return Step([Text(tr(turn.language, "Which template do you need?"), buttons)])


async def template_chosen(turn: Turn) -> Step:
    turn.require(Action.TEMPLATE_DOWNLOAD)
    callback = turn.inbound.callback
    assert callback is not None
    if callback.key not in _template_names(turn):
        return await send_template(turn)

    return _template_step(turn, callback.key)


def _template_step(turn: Turn, name: str) -> Step:
    content = services.build_template(turn.session, turn.org, name)
    caption = tr(turn.language, "Fill in this sheet and send it back here as a file.")
    prefix = "template" if name == "bills" else f"template-{name}"
    return Step([Document(f"{prefix}-{turn.org.slug}.xlsx", content, XLSX, caption)])


async def ask_upload(turn: Turn) -> Step:
    if not _importable(turn):
        turn.require(Action.BILLS_UPLOAD)

    reply = tr(turn.language, "Send the filled sheet (.xlsx) here as a file.")
    return Step([Text(reply)], State.AWAIT_UPLOAD)


async def receive_sheet(turn: Turn) -> Step:
    """Check an uploaded sheet of any type the role may import and show its preview.

    A file without a recognised header is passed on to the next document handler when the
    role cannot upload bills, because such staff also send sheets that other flows read.
    """
    importable = _importable(turn)
    if not importable:
        turn.require(Action.BILLS_UPLOAD)
    document = turn.inbound.document
    assert document is not None and document.content is not None
    preview = services.preview_upload(
        turn.session,
        turn.org,
        filename=document.filename,
        content=document.content,
        uploaded_by=_staff_name(turn),
        language=turn.language,
        importable=importable,
    )

    if preview.rejected:
        assert turn.membership is not None
        log.info(
            "update %s: %s sheet rejected for role %s",
            update_tag(turn.inbound),
            preview.sheet_type,
            turn.membership.role,
        )
        rejection = REJECTIONS.get(preview.sheet_type or "", REJECTIONS["bills"])
        role = role_name(turn.membership.role, turn.language)
        return menu_step(turn, tr(turn.language, rejection, role=role))
    if preview.file_error is not None:
        text = tr(turn.language, "I could not read this file: {error}", error=preview.file_error)
        unrecognised = preview.file_error_code == "sheet.no_header"
        if unrecognised and "bills" not in importable:
            log.info("update %s: no sheet header found, file passed on", update_tag(turn.inbound))
            raise registry.DocumentDeclined(Step([Text(text)]))
        return Step([Text(text)])
    earlier = _earlier_preview(turn, preview.batch_id)
    if earlier is not None and preview.batch_id:
        return _conflict_step(turn, old=earlier, new=preview.batch_id)
    return preview_step(turn, preview)


def _earlier_preview(turn: Turn, new_batch_id: int | None) -> int | None:
    """Return this person's latest upload still waiting for an answer, other than the new one.

    The batch table is the record, so a preview still counts after the person used the menu.
    """
    query = (
        select(ImportBatch.id)
        .where(
            ImportBatch.organisation_id == turn.org.id,
            ImportBatch.uploaded_by == _staff_name(turn),
            ImportBatch.status == BatchStatus.PREVIEW,
            ImportBatch.id != new_batch_id,
        )
        .order_by(col(ImportBatch.id).desc())
    )
    return turn.session.exec(query).first()


def _conflict_step(turn: Turn, *, old: int, new: int) -> Step:
    text = tr(
        turn.language,
        "The preview of your earlier sheet is still waiting for an answer. "
        "What should happen to it?",
    )
    replace = tr(turn.language, "Cancel it, use new")
    keep = tr(turn.language, "Keep the earlier one")
    buttons = (
        button(replace, Op.REPLACE_PREVIEW, key=str(old), value=new),
        button(keep, Op.KEEP_PREVIEW, key=str(old), value=new),
    )
    return Step([Text(text, buttons)], State.PREVIEW_CONFLICT, {"old": old, "new": new})


def preview_step(turn: Turn, preview: PreviewView) -> Step:
    """Summarise a checked sheet, attach the annotated copy and ask what to send or save."""
    registration = preview.sheet_type in REGISTRATION_TYPES
    if registration:
        summary = _registration_text(turn, preview)
    else:
        summary = _preview_text(turn, preview)
    replies: list[Reply] = [Text(summary)]
    if preview.annotated:
        caption = tr(turn.language, "Rows with problems are marked in this copy of your sheet.")
        name = f"checked-{preview.batch_id}.xlsx"
        replies.append(Document(name, preview.annotated, XLSX, caption))

    batch_id = preview.batch_id
    if registration:
        all_title = tr(turn.language, "Save all")
        valid_title = tr(turn.language, "Save only valid rows")
    else:
        all_title = tr(turn.language, "Send all")
        valid_title = tr(turn.language, "Send only valid rows")
    buttons = []
    if preview.ready_count and not preview.problems:
        buttons.append(button(all_title, Op.PREVIEW_SEND_ALL, value=batch_id))
    if preview.ready_count and preview.problems:
        buttons.append(button(valid_title, Op.PREVIEW_SEND_VALID, value=batch_id))
    buttons.append(button(tr(turn.language, "Cancel"), Op.PREVIEW_CANCEL, value=batch_id))
    replies.append(Text(tr(turn.language, "What should I do with this sheet?"), tuple(buttons)))
    return Step(replies, State.PREVIEW, {"batch_id": batch_id})


def _registration_text(turn: Turn, preview: PreviewView) -> str:
    """Describe a customers or students sheet: who is new, who is known, every problem."""
    language = turn.language
    students = preview.students
    if students is None:
        lines = [
            trn(
                language,
                "Customer sheet checked: {count} new customer, {known} already registered.",
                "Customer sheet checked: {count} new customers, {known} already registered.",
                preview.new_customers,
                known=preview.registered_customers,
            )
        ]
    else:
        lines = _students_lines(turn, preview)
    if not preview.ready_count and not preview.problems:
        text = tr(
            language, "Everyone in this sheet is already registered, so there is nothing to save."
        )
        lines.append(text)
    if preview.problems:
        text = trn(
            language,
            "{count} problem. Rows with problems are not saved:",
            "{count} problems. Rows with problems are not saved:",
            len(preview.problems),
        )
        lines.append(text)
    lines.extend(_problem_lines(turn, preview.problems))
    return "\n".join(lines)


def _students_lines(turn: Turn, preview: PreviewView) -> list[str]:
    language = turn.language
    students = preview.students
    assert students is not None
    lines = [
        trn(
            language,
            "Student sheet checked: {count} new student, {known} already registered.",
            "Student sheet checked: {count} new students, {known} already registered.",
            students.new_students,
            known=students.known_students,
        ),
        tr(
            language,
            "Parents: {new} new, {known} already registered.",
            new=students.new_parents,
            known=students.known_parents,
        ),
    ]
    if students.known_students:
        text = tr(
            language,
            "Students already registered are kept. Their class is updated and new parents "
            "are linked to them.",
        )
        lines.append(text)
    if students.shared_parents:
        lines.append(tr(language, "Parents shared by siblings:"))
        for parent in students.shared_parents[:MAX_LISTED]:
            lines.append(f"• {parent.name}: {', '.join(parent.students)}")
        hidden = len(students.shared_parents) - MAX_LISTED
        if hidden > 0:
            lines.append(tr(language, "…and {count} more.", count=hidden))
    return lines


def _problem_lines(turn: Turn, problems: list[Problem]) -> list[str]:
    """List at most MAX_PROBLEMS_SHOWN problems, because the annotated sheet marks them all."""
    lines = [_problem_line(turn, problem) for problem in problems[:MAX_PROBLEMS_SHOWN]]
    hidden = len(problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        more = tr(turn.language, "…and {count} more, marked in the attached sheet.", count=hidden)
        lines.append(more)
    return lines


def _preview_text(turn: Turn, preview: PreviewView) -> str:
    lines = [
        tr(
            turn.language,
            "Sheet checked: {count} invoices ready, total {total}, {new} new customers.",
            count=preview.invoice_count,
            total=format_rupiah(preview.total),
            new=preview.new_customers,
        )
    ]
    if preview.existing:
        lines.append(_existing_line(turn, preview.existing))
        if not preview.invoice_count and not preview.problems:
            text = tr(
                turn.language,
                "Every invoice in this sheet was issued before, so there is nothing to send.",
            )
            lines.append(text)
    if preview.problems:
        text = tr(
            turn.language,
            "{count} problems in {rows} rows. Those rows are not sent:",
            count=len(preview.problems),
            rows=preview.invalid_rows,
        )
        lines.append(text)
    lines.extend(_problem_lines(turn, preview.problems))
    return "\n".join(lines)


def _existing_line(turn: Turn, numbers: list[str]) -> str:
    listed = ", ".join(numbers[:MAX_EXISTING_SHOWN])
    hidden = len(numbers) - MAX_EXISTING_SHOWN
    if hidden > 0:
        listed = tr(turn.language, "{numbers} and {count} more", numbers=listed, count=hidden)
    return tr(turn.language, "Already issued, not issued again: {numbers}.", numbers=listed)


def _problem_line(turn: Turn, problem: Problem) -> str:
    if problem.row is None:
        return f"• {problem.message}"
    where = tr(turn.language, "Row {row}", row=problem.row)
    column = f", {problem.column}" if problem.column else ""
    return f"• {where}{column}: {problem.message}"


def _waiting_batch(turn: Turn, batch_id: int | None) -> ImportBatch:
    batch = turn.session.get(ImportBatch, batch_id) if batch_id else None
    waiting = batch is not None and batch.status == BatchStatus.PREVIEW
    if batch is None or not waiting or batch.organisation_id != turn.org.id:
        raise UserError("chat.preview_gone", "This preview was already sent or cancelled.")
    return batch


async def send_batch(turn: Turn) -> Step:
    callback = turn.inbound.callback
    assert callback is not None
    batch = _waiting_batch(turn, callback.value)
    _require_import(turn, batch.sheet_type)
    only_valid = callback.op is Op.PREVIEW_SEND_VALID
    if batch.sheet_type in REGISTRATION_TYPES:
        return _save_registrations(turn, batch, only_valid=only_valid)
    issued = services.confirm_batch(turn.session, turn.org, batch.id or 0, only_valid=only_valid)

    if issued is None:
        text = tr(
            turn.language,
            "Some rows still have problems, so nothing was sent. Send only the valid rows, "
            "or fix the sheet and send it again.",
        )
        return menu_step(turn, text)
    text = tr(
        turn.language, "Done: {count} invoices issued. Customers are being notified.", count=issued
    )
    return menu_step(turn, text)


def _save_registrations(turn: Turn, batch: ImportBatch, *, only_valid: bool) -> Step:
    saved = services.confirm_registration(
        turn.session, turn.org, batch.id or 0, only_valid=only_valid
    )

    if saved is None:
        text = tr(
            turn.language,
            "Some rows still have problems, so nothing was saved. Save only the valid rows, "
            "or fix the sheet and send it again.",
        )
        return menu_step(turn, text)
    return menu_step(turn, _saved_text(turn, batch.sheet_type, saved))


def _saved_text(turn: Turn, sheet_type: str, saved: RegistrationSaved) -> str:
    language = turn.language
    if sheet_type == "customers":
        lines = [
            trn(
                language,
                "Done: {count} new customer saved.",
                "Done: {count} new customers saved.",
                saved.customers,
            )
        ]
    else:
        lines = [
            trn(
                language,
                "Done: {count} new student saved, with {parents} new parents and {links} "
                "student-parent links.",
                "Done: {count} new students saved, with {parents} new parents and {links} "
                "student-parent links.",
                saved.students,
                parents=saved.customers,
                links=saved.guardian_links,
            )
        ]
    if saved.skipped_rows:
        rows = [str(row) for row in saved.skipped_rows]
        listed = ", ".join(rows[:MAX_EXISTING_SHOWN])
        hidden = len(rows) - MAX_EXISTING_SHOWN
        if hidden > 0:
            listed = tr(language, "{numbers} and {count} more", numbers=listed, count=hidden)
        lines.append(tr(language, "Rows not saved: {rows}.", rows=listed))
    return "\n".join(lines)


async def cancel_preview(turn: Turn) -> Step:
    callback = turn.inbound.callback
    assert callback is not None
    batch = _waiting_batch(turn, callback.value)
    _require_import(turn, batch.sheet_type)
    services.cancel_batch(turn.session, turn.org, batch.id or 0)

    if batch.sheet_type in REGISTRATION_TYPES:
        return menu_step(turn, tr(turn.language, "Cancelled. Nothing was saved."))
    return menu_step(turn, tr(turn.language, "Cancelled. Nothing was sent."))


async def settle_conflict(turn: Turn) -> Step:
    """Drop one of two waiting previews and show the other one again."""
    callback = turn.inbound.callback
    assert callback is not None
    old, new = int(callback.key or 0), callback.value or 0
    drop, keep = (old, new) if callback.op is Op.REPLACE_PREVIEW else (new, old)
    dropped = _waiting_batch(turn, drop)
    _require_import(turn, dropped.sheet_type)
    survivor = _waiting_batch(turn, keep)
    _require_import(turn, survivor.sheet_type)
    services.cancel_batch(turn.session, turn.org, dropped.id or 0)
    filename, content = survivor.filename, survivor.content

    if not content:
        reply = tr(turn.language, "Please send that sheet again.")
        return Step([Text(reply)], State.AWAIT_UPLOAD)
    # The kept upload is checked again as a fresh batch, so its preview is current.
    services.cancel_batch(turn.session, turn.org, survivor.id or 0)
    preview = services.preview_upload(
        turn.session,
        turn.org,
        filename=filename,
        content=content,
        uploaded_by=_staff_name(turn),
        language=turn.language,
        importable=_importable(turn),
    )
    if preview.batch_id is None:
        return menu_step(turn, tr(turn.language, "Please send that sheet again."))
    return preview_step(turn, preview)


# --- Invoice lookup --------------------------------------------------------------------


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


# --- Report ----------------------------------------------------------------------------

RANGES = {
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "last_30_days": N_("Last 30 days"),
}
_RANGE_TEXT = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s*(?:-|–|s/d|to|sampai)\s*(\d{1,2})/(\d{1,2})/(\d{4})"
)


async def ask_report_range(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)

    buttons = tuple(
        button(tr(turn.language, title), Op.REPORT_RANGE, key=key) for key, title in RANGES.items()
    )
    text = tr(
        turn.language, "Which period? Choose one, or type dates like 01/11/2026 - 30/11/2026."
    )
    return Step([Text(text, buttons)], State.AWAIT_REPORT_RANGE)


def named_range(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if key == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return end.replace(day=1), end
    if key == "last_30_days":
        return today - dt.timedelta(days=29), today
    return today.replace(day=1), today


def parse_range(text: str) -> tuple[dt.date, dt.date] | None:
    """Read "01/11/2026 - 30/11/2026" (day first); None when the text is not such a range."""
    match = _RANGE_TEXT.search(text)
    if match is None:
        return None
    day1, month1, year1, day2, month2, year2 = (int(part) for part in match.groups())
    try:
        start, end = dt.date(year1, month1, day1), dt.date(year2, month2, day2)
    except ValueError:
        return None
    return (start, end) if start <= end else None


async def report_for_button(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)
    callback = turn.inbound.callback
    assert callback is not None
    today = dt.datetime.now(ZoneInfo(turn.org.timezone)).date()

    start, end = named_range(callback.key, today)
    return _report_step(turn, start, end)


async def report_for_text(turn: Turn) -> Step:
    turn.require(Action.REPORT_DOWNLOAD)
    period = parse_range(turn.inbound.text)

    if period is None:
        text = tr(
            turn.language, "I could not read those dates. Type them like 01/11/2026 - 30/11/2026."
        )
        return Step([Text(text)], State.AWAIT_REPORT_RANGE)
    return _report_step(turn, *period)


def _report_step(turn: Turn, start: dt.date, end: dt.date) -> Step:
    content = services.build_invoice_report(
        turn.session, turn.org, start=start, end=end, language=turn.language
    )
    caption = tr(
        turn.language,
        "Invoices from {start} to {end}.",
        start=format_date(start, turn.language),
        end=format_date(end, turn.language),
    )
    filename = f"invoices-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Step([Document(filename, content, XLSX, caption)])


# --- Void ------------------------------------------------------------------------------


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
    buttons = (
        button(tr(turn.language, "Yes, void it"), Op.VOID_CONFIRM, value=invoice.id),
        button(tr(turn.language, "No, keep it"), Op.VOID_ABORT, value=invoice.id),
    )
    return Step([Text(text, buttons)], State.CONFIRM_VOID, {"invoice_id": invoice.id})


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
        turn.session, turn.org, invoice.number, reason="voided in chat", actor=_staff_name(turn)
    )
    intro = tr(
        turn.language,
        "Invoice {number} is void. Its VA is closed and the customer will be told.",
        number=invoice.number,
    )
    return menu_step(turn, intro)


async def void_aborted(turn: Turn) -> Step:
    return menu_step(turn, tr(turn.language, "Nothing was voided."))


# --- Products --------------------------------------------------------------------------


async def list_products(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    products = turn.session.exec(
        select(Product)
        .where(Product.organisation_id == turn.org.id, Product.active)
        .order_by(col(Product.name))
    ).all()

    heading = tr(turn.language, "Products ({count}):", count=len(products))
    items = [
        f"{product.name} — {format_rupiah(product.price) if product.price is not None else '-'}"
        for product in products
    ]
    add = button(tr(turn.language, "Add a product"), Op.ADD_PRODUCT)
    return _listing_step(turn, heading, items, add)


def _listing_step(turn: Turn, heading: str, items: list[str], add: Button) -> Step:
    """List the first MAX_LISTED items under a heading, with an add button and the menu."""
    lines = [heading] + [f"• {item}" for item in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        lines.append(tr(turn.language, "…and {count} more.", count=len(items) - MAX_LISTED))
    buttons = (add, button(tr(turn.language, "Menu"), Op.HOME))
    return Step([Text("\n".join(lines), buttons)])


async def ask_product_name(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)

    return Step([Text(tr(turn.language, "Type the product name."))], State.AWAIT_PRODUCT_NAME)


def fold_name(name: str) -> str:
    return " ".join(name.split()).casefold()


async def take_product_name(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    name = " ".join(turn.inbound.text.split())[:200]
    exists = turn.session.exec(
        select(Product.id).where(
            Product.organisation_id == turn.org.id, Product.name_key == fold_name(name)
        )
    ).first()

    if exists is not None:
        text = tr(
            turn.language, "A product named {name} already exists. Type another name.", name=name
        )
        return Step([Text(text)], State.AWAIT_PRODUCT_NAME)
    text = tr(turn.language, "Type the price of {name} in rupiah, for example 150000.", name=name)
    return Step([Text(text)], State.AWAIT_PRODUCT_PRICE, {"name": name})


def parse_rupiah(text: str) -> int | None:
    """Read a whole-rupiah price typed in chat: 150000, 150.000, Rp 150.000."""
    cleaned = re.sub(r"(?i)^\s*(rp|idr)\.?\s*", "", text.strip())
    cleaned = re.sub(r"[.,]00$", "", cleaned)
    if not re.fullmatch(r"\d{1,3}([.,]\d{3})+|\d+", cleaned):
        return None
    return int(re.sub(r"[.,]", "", cleaned))


async def take_product_price(turn: Turn) -> Step:
    turn.require(Action.PRODUCT_MANAGE)
    name = str(turn.data.get("name", ""))
    price = parse_rupiah(turn.inbound.text)

    if price is None or not name:
        text = tr(turn.language, "That is not a price. Type whole rupiah, for example 150000.")
        return Step([Text(text)], State.AWAIT_PRODUCT_PRICE, turn.data)
    turn.session.add(
        Product(organisation_id=turn.org.id or 0, name=name, name_key=fold_name(name), price=price)
    )
    intro = tr(
        turn.language, "Product {name} added at {price}.", name=name, price=format_rupiah(price)
    )
    return menu_step(turn, intro)


# --- Customers -------------------------------------------------------------------------


async def list_customers(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    query = (
        select(Customer)
        .where(Customer.organisation_id == turn.org.id)
        .order_by(col(Customer.name))
    )
    customers = turn.session.exec(query).all()

    heading = tr(turn.language, "Customers ({count}):", count=len(customers))
    items = [
        f"{customer.name} — {customer.phone or customer.email or '-'}" for customer in customers
    ]
    add = button(tr(turn.language, "Add a customer"), Op.ADD_CUSTOMER)
    return _listing_step(turn, heading, items, add)


async def ask_customer_name(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)

    return Step([Text(tr(turn.language, "Type the customer's name."))], State.AWAIT_CUSTOMER_NAME)


async def take_customer_name(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    name = " ".join(turn.inbound.text.split())[:200]

    text = tr(turn.language, "Type the phone number or e-mail address of {name}.", name=name)
    return Step([Text(text)], State.AWAIT_CUSTOMER_CONTACT, {"name": name})


async def take_customer_contact(turn: Turn) -> Step:
    turn.require(Action.CUSTOMER_MANAGE)
    text = turn.inbound.text.strip()
    name = str(turn.data.get("name", ""))
    phone = normalise_phone(text)
    email = (
        text.lower() if phone is None and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text) else None
    )

    if phone is None and email is None:
        reply = tr(
            turn.language,
            "{value} is neither a mobile number nor an e-mail address. "
            "Type it like 0812xxxxxxx or nama@contoh.co.id.",
            value=text,
        )
        return Step([Text(reply)], State.AWAIT_CUSTOMER_CONTACT, turn.data)
    if _customer_exists(turn, phone, email):
        reply = tr(turn.language, "A customer with {value} already exists.", value=phone or email)
        return menu_step(turn, reply)
    turn.session.add(
        Customer(organisation_id=turn.org.id or 0, name=name, phone=phone, email=email)
    )
    return menu_step(turn, tr(turn.language, "Customer {name} added.", name=name))


def _customer_exists(turn: Turn, phone: str | None, email: str | None) -> bool:
    query = select(Customer.id).where(Customer.organisation_id == turn.org.id)
    query = query.where(Customer.phone == phone) if phone else query.where(Customer.email == email)
    return turn.session.exec(query).first() is not None


# --- Registration ----------------------------------------------------------------------


def register() -> None:
    entries = [
        ("template", N_("Get a template"), send_template, Action.TEMPLATE_DOWNLOAD, 10),
        ("upload", N_("Upload a bill sheet"), ask_upload, Action.BILLS_UPLOAD, 20),
        ("lookup", N_("Look up an invoice"), ask_invoice_number, Action.INVOICE_LOOKUP, 30),
        ("report", N_("Download the report"), ask_report_range, Action.REPORT_DOWNLOAD, 40),
        ("void", N_("Void an invoice"), ask_void_number, Action.INVOICE_VOID, 50),
    ]
    for key, title, handler, action, order in entries:
        registry.register_menu_entry(key, title, handler, action=action, order=order)
    kind_entries = [
        (
            "upload_customers",
            N_("Upload a customer sheet"),
            ask_upload,
            Action.CUSTOMER_MANAGE,
            INVOICE_ONLY,
            21,
        ),
        (
            "upload_students",
            N_("Upload a student sheet"),
            ask_upload,
            Action.STUDENT_MANAGE,
            SCHOOL_ONLY,
            21,
        ),
        ("products", N_("Products"), list_products, Action.PRODUCT_MANAGE, INVOICE_ONLY, 60),
        ("customers", N_("Customers"), list_customers, Action.CUSTOMER_MANAGE, INVOICE_ONLY, 70),
    ]
    for key, title, handler, action, kinds, order in kind_entries:
        registry.register_menu_entry(key, title, handler, action=action, kinds=kinds, order=order)
    # Files sent in the states of other flow modules go to those modules' handlers first.
    registry.register_document_handler(
        receive_sheet, action=UPLOAD_ACTIONS, states=[str(state) for state in State]
    )
    ops = {
        Op.TEMPLATE: template_chosen,
        Op.PREVIEW_SEND_ALL: send_batch,
        Op.PREVIEW_SEND_VALID: send_batch,
        Op.PREVIEW_CANCEL: cancel_preview,
        Op.REPLACE_PREVIEW: settle_conflict,
        Op.KEEP_PREVIEW: settle_conflict,
        Op.REPORT_RANGE: report_for_button,
        Op.VOID_CONFIRM: void_confirmed,
        Op.VOID_ABORT: void_aborted,
        Op.ADD_PRODUCT: ask_product_name,
        Op.ADD_CUSTOMER: ask_customer_name,
    }
    for op, handler in ops.items():
        registry.register_op(op, handler)
    states = {
        State.AWAIT_INVOICE_NUMBER: show_invoice,
        State.AWAIT_REPORT_RANGE: report_for_text,
        State.AWAIT_VOID_NUMBER: confirm_void,
        State.AWAIT_PRODUCT_NAME: take_product_name,
        State.AWAIT_PRODUCT_PRICE: take_product_price,
        State.AWAIT_CUSTOMER_NAME: take_customer_name,
        State.AWAIT_CUSTOMER_CONTACT: take_customer_contact,
    }
    for state, handler in states.items():
        registry.register_state_handler(state, handler)
