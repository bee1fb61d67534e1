"""Sheet uploads end to end: check against the database, preview, confirm, import.

`check_sheet` reads a file and compares it with what the organisation already has.
`import_sheet` writes it in the caller's transaction, all or nothing unless skip_invalid.
`preview_upload`, `confirm_batch` and `cancel_batch` keep an upload as an ImportBatch
between the preview and the staff's decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from billing.errors import NotFound, UserError
from billing.invoices import count_new_payers, invoice_number_key, issue_invoices
from billing.memory import paused_collection
from billing.sheets import SheetResult, SheetType, read_upload
from billing.sheets.context import (
    KnownProduct,
    KnownStudent,
    ParseContext,
    latest_due_date,
    name_key,
)
from billing.sheets.payers import RegisteredPayer, settle_payer_emails, settle_payer_names
from billing.sheets.registrations import contact_key
from billing.sheets.result import ContactRow, Problem, SheetInvoice, StudentRow
from billing.sheets.school import nis_key
from locales import format_date, format_rupiah, msg, tr, trn
from models import (
    BatchStatus,
    Customer,
    ImportBatch,
    Invoice,
    Organisation,
    OrgKind,
    Product,
    Student,
    StudentGuardian,
)
from models.types import utcnow
from tagih.settings import Settings, get_settings

log = logging.getLogger(__name__)

CHUNK = 500


def allowed_types(organisation: Organisation) -> set[SheetType]:
    if organisation.kind == OrgKind.SCHOOL:
        # Every school bill belongs to a registered student, so schools bill by NIS only.
        return {SheetType.SCHOOL_BILLS, SheetType.STUDENTS}
    return {SheetType.BILLS, SheetType.CUSTOMERS}


def resolve_type(organisation: Organisation, name: str | SheetType | None) -> SheetType | None:
    """Map "bills", "customers" or "students" to the sheet type of this organisation's kind."""
    if name is None or isinstance(name, SheetType):
        return name
    if name == "bills":
        return SheetType.SCHOOL_BILLS if organisation.kind == OrgKind.SCHOOL else SheetType.BILLS
    if name == "customers" and organisation.kind == OrgKind.INVOICE:
        return SheetType.CUSTOMERS
    if name == "students" and organisation.kind == OrgKind.SCHOOL:
        return SheetType.STUDENTS
    raise UserError(
        "sheet.type_invalid",
        "The sheet type {name} does not fit a {kind} organisation. Use bills, or {other}.",
        name=name,
        kind=OrgKind(organisation.kind).value,
        other="students" if organisation.kind == OrgKind.SCHOOL else "customers",
    )


def organisation_today(organisation: Organisation) -> dt.date:
    return dt.datetime.now(ZoneInfo(organisation.timezone)).date()


def load_context(
    session: Session, organisation: Organisation, *, today: dt.date | None, settings: Settings
) -> ParseContext:
    """Load the product catalogue and registered students that rows are checked against."""
    today = today or organisation_today(organisation)
    context = ParseContext(
        today=today,
        max_amount=settings.sheet_max_invoice_amount,
        latest_due=latest_due_date(today, settings.sheet_max_due_years),
    )
    products = session.exec(
        select(Product).where(Product.organisation_id == organisation.id, Product.active)
    )
    for product in products:
        assert product.id is not None
        context.products[product.name_key] = KnownProduct(product.id, product.name, product.price)
    if organisation.kind == OrgKind.SCHOOL:
        context.students = _known_students(session, organisation)
    return context


def _known_students(session: Session, organisation: Organisation) -> dict[str, KnownStudent]:
    payers: dict[int, Customer] = {}
    rows = session.exec(
        select(StudentGuardian, Customer)
        .join(Customer, col(Customer.id) == StudentGuardian.customer_id)
        .join(Student, col(Student.id) == StudentGuardian.student_id)
        .where(Student.organisation_id == organisation.id, StudentGuardian.is_payer)
        .order_by(col(StudentGuardian.id))
    )
    for guardian, customer in rows:
        payers.setdefault(guardian.student_id, customer)
    students = {}
    query = select(Student).where(Student.organisation_id == organisation.id, Student.active)
    for student in session.exec(query):
        assert student.id is not None
        payer = payers.get(student.id)
        students[nis_key(student.nis)] = KnownStudent(
            id=student.id,
            nis=student.nis,
            name=student.name,
            class_name=student.class_name,
            payer_id=payer.id if payer else None,
            payer_name=payer.name if payer else "",
            payer_phone=payer.phone if payer else None,
            payer_email=payer.email if payer else None,
        )
    return students


@paused_collection()
def check_sheet(
    session: Session,
    organisation: Organisation,
    filename: str,
    content: bytes,
    *,
    sheet_type: str | SheetType | None = None,
    today: dt.date | None = None,
    settings: Settings | None = None,
) -> SheetResult:
    """Read an upload and compare it with the organisation's data; write nothing."""
    settings = settings or get_settings()
    forced = resolve_type(organisation, sheet_type)
    context = load_context(session, organisation, today=today, settings=settings)
    result = read_upload(
        filename,
        content,
        context,
        settings=settings,
        sheet_type=forced,
        allowed=allowed_types(organisation),
    )
    if result.file_error is None:
        _check_existing_invoices(session, organisation, result)
        _settle_payers(session, organisation, result)
        _check_existing_customers(session, organisation, result)
        _check_existing_students(session, organisation, result)
        result.errors.sort(key=lambda problem: problem.row or 0)
        result.invalid_rows = sorted(set(result.invalid_rows))
    return result


def _in_chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _check_existing_invoices(
    session: Session, organisation: Organisation, result: SheetResult
) -> None:
    """Skip invoices already issued with the same content; reject numbers already taken."""
    by_key = {_number_key(invoice): invoice for invoice in result.invoices}
    if not by_key:
        return
    found: dict[str, tuple[Invoice, Customer]] = {}
    for keys in _in_chunks(list(by_key)):
        rows = session.exec(
            select(Invoice, Customer)
            .join(Customer, col(Customer.id) == Invoice.customer_id)
            .where(Invoice.organisation_id == organisation.id, col(Invoice.number_key).in_(keys))
        )
        for invoice, customer in rows:
            found[invoice.number_key] = (invoice, customer)
    if not found:
        return
    kept = []
    for key, sheet_invoice in by_key.items():
        existing = found.get(key)
        if existing is None:
            kept.append(sheet_invoice)
        elif _same_invoice(sheet_invoice, *existing):
            result.existing.append(existing[0].number)
            result.warnings.append(_already_issued(sheet_invoice, existing[0]))
        else:
            result.errors.append(_number_taken(sheet_invoice, *existing))
            result.invalid_rows.extend(sheet_invoice.rows)
    result.invoices = kept


def _settle_payers(session: Session, organisation: Organisation, result: SheetResult) -> None:
    """Settle each payer's name and e-mail address and count the customers issuing creates."""
    if result.sheet_type not in (SheetType.BILLS, SheetType.SCHOOL_BILLS):
        return
    phones = sorted({i.draft.phone for i in result.invoices if i.draft.phone})
    registered: dict[str, RegisteredPayer] = {}
    for chunk in _in_chunks(phones):
        query = select(Customer).where(
            Customer.organisation_id == organisation.id, col(Customer.phone).in_(chunk)
        )
        for customer in session.exec(query.order_by(col(Customer.id))):
            # When two customers share a phone, billing.invoices bills the lowest id.
            if customer.phone and customer.phone not in registered:
                registered[customer.phone] = RegisteredPayer(customer.name, customer.email)
    result.warnings.extend(settle_payer_names(result.invoices, registered))
    result.warnings.extend(settle_payer_emails(result.invoices, registered))
    drafts = [invoice.draft for invoice in result.invoices]
    result.new_customers = count_new_payers(session, organisation, drafts)


def _number_key(invoice: SheetInvoice) -> str:
    return invoice_number_key(invoice.draft.number)


def _same_invoice(sheet_invoice: SheetInvoice, invoice: Invoice, customer: Customer) -> bool:
    draft = sheet_invoice.draft
    same_payer = (
        draft.customer_id == customer.id
        if draft.customer_id is not None
        else (
            (draft.phone is not None and draft.phone == customer.phone)
            or (draft.email is not None and draft.email == customer.email)
            or name_key(draft.customer_name) == name_key(customer.name)
        )
    )
    return same_payer and draft.total == invoice.total and draft.due_date == invoice.due_date


def _already_issued(sheet_invoice: SheetInvoice, invoice: Invoice) -> Problem:
    return Problem(
        "invoice.already_issued",
        msg(
            "Invoice {number} was already issued on {date}, so it was not issued again.",
            number=invoice.number,
            date=invoice.created_at.date().isoformat(),
        ),
        row=sheet_invoice.rows[0],
        value=sheet_invoice.draft.number,
        rows=list(sheet_invoice.rows),
    )


def _number_taken(sheet_invoice: SheetInvoice, invoice: Invoice, customer: Customer) -> Problem:
    rows = list(sheet_invoice.rows)
    if invoice.source_rows:
        previous = msg(
            "rows {rows} of an earlier upload",
            rows=", ".join(str(row) for row in invoice.source_rows),
        )
    else:
        previous = msg("an earlier invoice")
    return Problem(
        "invoice.number_taken",
        msg(
            "Invoice number {number} is already used by an invoice to {customer} for {total}, "
            "due {due} ({previous}). Use a new number, or void the existing invoice first.",
            number=invoice.number,
            customer=customer.name,
            total=format_rupiah(invoice.total),
            due=invoice.due_date.isoformat(),
            previous=previous,
        ),
        row=rows[0],
        value=sheet_invoice.draft.number,
        rows=rows,
    )


def _customers_by_contact(
    session: Session, organisation: Organisation, contacts: list[ContactRow]
) -> dict[str, Customer]:
    """Return the organisation's customers that match a contact's phone or e-mail."""
    phones = sorted({c.phone for c in contacts if c.phone})
    emails = sorted({c.email for c in contacts if c.email})
    found: dict[str, Customer] = {}
    for chunk in _in_chunks(phones):
        query = select(Customer).where(
            Customer.organisation_id == organisation.id, col(Customer.phone).in_(chunk)
        )
        for customer in session.exec(query.order_by(col(Customer.id))):
            found.setdefault(f"phone:{customer.phone}", customer)
    for chunk in _in_chunks(emails):
        query = select(Customer).where(
            Customer.organisation_id == organisation.id, col(Customer.email).in_(chunk)
        )
        for customer in session.exec(query.order_by(col(Customer.id))):
            found.setdefault(f"email:{customer.email}", customer)
    return found


def match_customer(found: dict[str, Customer], contact: ContactRow) -> Customer | None:
    if contact.phone and f"phone:{contact.phone}" in found:
        return found[f"phone:{contact.phone}"]
    if contact.email and f"email:{contact.email}" in found:
        return found[f"email:{contact.email}"]
    return None


def _check_existing_customers(
    session: Session, organisation: Organisation, result: SheetResult
) -> None:
    if not result.customers:
        return
    found = _customers_by_contact(session, organisation, result.customers)
    kept = []
    for contact in result.customers:
        customer = match_customer(found, contact)
        if customer is None:
            kept.append(contact)
        elif name_key(customer.name) == name_key(contact.name):
            result.warnings.append(_already_registered(contact))
        else:
            result.errors.append(_contact_taken(contact, customer))
            result.invalid_rows.extend(contact.rows)
    result.customers = kept


def _already_registered(contact: ContactRow) -> Problem:
    return Problem(
        "customer.already_registered",
        msg(
            "{name} is already registered, so row {row} was skipped.",
            name=contact.name,
            row=contact.rows[0],
        ),  # fmt: skip
        row=contact.rows[0],
        value=contact.phone or contact.email,
    )


def _contact_taken(contact: ContactRow, customer: Customer) -> Problem:
    return Problem(
        "customer.contact_taken",
        msg(
            "{contact} is already registered to {registered}, not {name}. Correct the phone "
            "number or e-mail, or change the name to match.",
            contact=contact.phone or contact.email,
            registered=customer.name,
            name=contact.name,
        ),
        row=contact.rows[0],
        value=contact.phone or contact.email,
        rows=list(contact.rows),
    )


def _check_existing_students(
    session: Session, organisation: Organisation, result: SheetResult
) -> None:
    if not result.students:
        return
    registered = {
        nis_key(student.nis): student
        for student in session.exec(
            select(Student).where(Student.organisation_id == organisation.id)
        )
    }
    parents = [parent for student in result.students for parent in student.parents]
    found = _customers_by_contact(session, organisation, parents)
    kept = []
    for student in result.students:
        existing = registered.get(nis_key(student.nis))
        problem = None
        if existing is not None and name_key(existing.name) != name_key(student.name):
            problem = Problem(
                "school.nis_taken",
                msg(
                    "NIS {nis} is already registered to {registered}, not {name}. Check the NIS.",
                    nis=student.nis,
                    registered=existing.name,
                    name=student.name,
                ),
                row=student.rows[0],
                value=student.nis,
                rows=list(student.rows),
            )
        for parent in student.parents:
            customer = match_customer(found, parent)
            if problem is None and customer and name_key(customer.name) != name_key(parent.name):
                problem = _contact_taken(parent, customer)
        if problem is None:
            kept.append(student)
        else:
            result.errors.append(problem)
            result.invalid_rows.extend(student.rows)
    result.students = kept


@paused_collection()
def import_sheet(
    session: Session,
    organisation: Organisation,
    filename: str,
    content: bytes,
    *,
    sheet_type: str | SheetType | None = None,
    skip_invalid: bool = False,
    today: dt.date | None = None,
    batch_id: int | None = None,
    settings: Settings | None = None,
) -> SheetResult:
    """Check a sheet and write what it holds, in the caller's transaction.

    Nothing is written when any row has an error, unless skip_invalid is set: then only the
    invoices (or registrations) without errors are written, and `skipped_rows` names the
    rest. Invoices already issued with the same content are never issued twice.
    """
    settings = settings or get_settings()
    for attempt in range(2):
        result = check_sheet(
            session,
            organisation,
            filename,
            content,
            sheet_type=sheet_type,
            today=today,
            settings=settings,
        )
        result.batch_id = batch_id
        if result.file_error is not None or (result.errors and not skip_invalid):
            result.imported = 0
            result.skipped_rows = list(result.invalid_rows)
            return result
        try:
            with session.begin_nested():
                result.imported = _write(session, organisation, result, batch_id, settings)
        except IntegrityError:
            # Another upload issued one of these numbers meanwhile: check again, once. Rows
            # loaded inside the rolled-back savepoint must not be trusted, so expire them all.
            # NOTE: no test drives this race; it needs two transactions interleaved.
            log.warning("sheet import of organisation %s raced another upload", organisation.id)
            session.expire_all()
            if attempt:
                raise
            continue
        result.skipped_rows = list(result.invalid_rows)
        log.info(
            "sheet imported: organisation %s, type %s, %s written, %s rows skipped",
            organisation.id,
            result.sheet_type,
            result.imported,
            len(result.skipped_rows),
        )
        return result
    raise AssertionError("unreachable")


def _write(
    session: Session,
    organisation: Organisation,
    result: SheetResult,
    batch_id: int | None,
    settings: Settings,
) -> int:
    if result.sheet_type == SheetType.CUSTOMERS:
        return _register_customers(session, organisation, result.customers)
    if result.sheet_type == SheetType.STUDENTS:
        return _register_students(session, organisation, result.students)
    if not result.invoices:
        return 0
    _create_products(session, organisation, result.invoices)
    issued = issue_invoices(
        session,
        organisation,
        [invoice.draft for invoice in result.invoices],
        batch_id=batch_id,
        validity_days=settings.va_validity_days,
    )
    for sheet_invoice, item in zip(result.invoices, issued, strict=True):
        sheet_invoice.va_number = item.virtual_account.number
    return len(issued)


def _create_products(
    session: Session, organisation: Organisation, invoices: list[SheetInvoice]
) -> None:
    """Add the products the sheet names for the first time, priced from their first line."""
    created: dict[str, Product] = {}
    for invoice in invoices:
        for line in invoice.draft.lines:
            if line.product_id is not None or invoice.student is not None:
                continue
            key = name_key(line.description)
            product = created.get(key)
            if product is None:
                product = Product(
                    organisation_id=organisation.id,
                    name=line.description,
                    name_key=key,
                    price=line.unit_price,
                )
                created[key] = product
    if not created:
        return
    session.add_all(created.values())
    session.flush()
    for invoice in invoices:
        for line in invoice.draft.lines:
            product = created.get(name_key(line.description))
            if line.product_id is None and product is not None and invoice.student is None:
                line.product_id = product.id


def _register_customers(
    session: Session, organisation: Organisation, contacts: list[ContactRow]
) -> int:
    customers = [
        Customer(
            organisation_id=organisation.id,
            name=contact.name,
            phone=contact.phone,
            email=contact.email,
            language=contact.language,
        )
        for contact in contacts
    ]
    session.add_all(customers)
    session.flush()
    return len(customers)


def _register_students(
    session: Session, organisation: Organisation, students: list[StudentRow]
) -> int:
    """Create students and parents; a parent shared by siblings is one Customer."""
    registered = {
        nis_key(student.nis): student
        for student in session.exec(
            select(Student).where(Student.organisation_id == organisation.id)
        )
    }
    parents = [parent for student in students for parent in student.parents]
    found = _customers_by_contact(session, organisation, parents)
    created: dict[str, Customer] = {}
    count = 0
    for row in students:
        student = registered.get(nis_key(row.nis))
        if student is None:
            student = Student(
                organisation_id=organisation.id,
                nis=row.nis,
                name=row.name,
                class_name=row.class_name,
            )
            session.add(student)
            session.flush()
            count += 1
        elif row.class_name and row.class_name != student.class_name:
            student.class_name = row.class_name
        links = session.exec(
            select(StudentGuardian).where(StudentGuardian.student_id == student.id)
        ).all()
        linked = {link.customer_id for link in links}
        has_payer = any(link.is_payer for link in links)
        for parent in row.parents:
            customer = match_customer(found, parent) or created.get(contact_key(parent))
            if customer is None:
                customer = Customer(
                    organisation_id=organisation.id,
                    name=parent.name,
                    phone=parent.phone,
                    email=parent.email,
                )
                session.add(customer)
                session.flush()
                created[contact_key(parent)] = customer
            if customer.id in linked:
                continue
            assert student.id is not None and customer.id is not None
            session.add(
                StudentGuardian(
                    student_id=student.id, customer_id=customer.id, is_payer=not has_payer
                )
            )
            linked.add(customer.id)
            has_payer = True
    session.flush()
    return count


# --- upload batches for the chat preview ---------------------------------------------


def preview_upload(
    session: Session,
    organisation: Organisation,
    filename: str,
    content: bytes,
    *,
    uploaded_by: str | None = None,
    sheet_type: str | SheetType | None = None,
    today: dt.date | None = None,
) -> tuple[ImportBatch, SheetResult]:
    """Check an upload and keep it as a batch until staff confirm or cancel it."""
    result = check_sheet(
        session, organisation, filename, content, sheet_type=sheet_type, today=today
    )
    batch = ImportBatch(
        organisation_id=organisation.id,
        filename=filename[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        sheet_type=result.sheet_type or (str(sheet_type) if sheet_type else "bills"),
        content=content if result.file_error is None else None,
        summary=result.to_json("en"),
        status=BatchStatus.PREVIEW if result.file_error is None else BatchStatus.CANCELLED,
        uploaded_by=uploaded_by,
    )
    session.add(batch)
    session.flush()
    result.batch_id = batch.id
    return batch, result


def _open_batch(session: Session, batch_id: int, organisation_id: int | None) -> ImportBatch:
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    if batch is None or (organisation_id is not None and batch.organisation_id != organisation_id):
        raise NotFound(
            "sheet.batch_not_found",
            "Upload {batch} was not found. Send the sheet again.",
            batch=batch_id,
        )
    if batch.status != BatchStatus.PREVIEW:
        raise UserError(
            "sheet.batch_decided",
            "Upload {batch} was already {status}. Send the sheet again to start over.",
            batch=batch_id,
            status=msg("confirmed") if batch.status == BatchStatus.CONFIRMED else msg("cancelled"),
        )
    return batch


def confirm_batch(
    session: Session,
    batch_id: int,
    *,
    only_valid: bool,
    organisation_id: int | None = None,
    today: dt.date | None = None,
) -> SheetResult:
    """Import a previewed upload: everything, or only the rows without errors.

    The sheet is checked again first, so invoices issued since the preview are not doubled.
    """
    batch = _open_batch(session, batch_id, organisation_id)
    organisation = session.get(Organisation, batch.organisation_id)
    assert organisation is not None and batch.content is not None
    sheet_type = batch.sheet_type if batch.sheet_type in [t.value for t in SheetType] else None
    result = import_sheet(
        session,
        organisation,
        batch.filename,
        batch.content,
        sheet_type=SheetType(sheet_type) if sheet_type else None,
        skip_invalid=only_valid,
        today=today,
        batch_id=batch.id,
    )
    if result.file_error is None and (only_valid or not result.errors):
        batch.status = BatchStatus.CONFIRMED
        batch.decided_at = utcnow()
        batch.summary = result.to_json("en")
    session.add(batch)
    return result


def cancel_batch(
    session: Session, batch_id: int, *, organisation_id: int | None = None
) -> ImportBatch:
    """Drop a previewed upload: nothing is imported and its file is discarded."""
    batch = _open_batch(session, batch_id, organisation_id)
    batch.status = BatchStatus.CANCELLED
    batch.decided_at = utcnow()
    batch.content = None
    session.add(batch)
    return batch


def describe_preview(result: SheetResult, language: str) -> str:
    """Summarise a checked sheet in a few lines for a chat reply or the CLI."""
    lines = []
    if result.file_error is not None:
        return result.file_error.message.render(language)
    if result.invoices or result.sheet_type in (SheetType.BILLS, SheetType.SCHOOL_BILLS):
        lines.append(
            trn(
                language,
                "{count} invoice ready, total {total}.",
                "{count} invoices ready, total {total}.",
                len(result.invoices),
                total=format_rupiah(result.total),
            )
        )
        due_dates = sorted({invoice.draft.due_date for invoice in result.invoices})
        if due_dates:
            lines.append(
                tr(
                    language,
                    "Due dates from {first} to {last}.",
                    first=format_date(due_dates[0], language),
                    last=format_date(due_dates[-1], language),
                )
            )
    if result.sheet_type == SheetType.CUSTOMERS:
        lines.append(
            trn(language, "{count} new customer.", "{count} new customers.", len(result.customers))
        )
    elif result.new_customers:
        lines.append(
            trn(language, "{count} new customer.", "{count} new customers.", result.new_customers)
        )
    if result.sheet_type == SheetType.STUDENTS:
        lines.append(trn(language, "{count} student.", "{count} students.", len(result.students)))
    if result.new_products:
        lines.append(tr(language, "New products: {names}.", names=", ".join(result.new_products)))
    if result.existing:
        lines.append(
            tr(
                language,
                "Already issued, not issued again: {numbers}.",
                numbers=", ".join(result.existing),
            )
        )
    if result.errors:
        rows = _row_list(result.invalid_rows)
        count = len(result.errors)
        if len(result.invalid_rows) == 1:
            heading = trn(
                language,
                "{count} problem in row {rows}:",
                "{count} problems in row {rows}:",
                count,
                rows=rows,
            )
        else:
            heading = trn(
                language,
                "{count} problem in rows {rows}:",
                "{count} problems in rows {rows}:",
                count,
                rows=rows,
            )
        lines.append(heading)
        for problem in result.errors:
            lines.append(_problem_line(problem, language))
    for problem in result.warnings:
        lines.append(_problem_line(problem, language, warning=True))
    return "\n".join(lines)


def _row_list(rows: list[int]) -> str:
    shown = ", ".join(str(row) for row in rows[:20])
    return shown + (", …" if len(rows) > 20 else "")


def _problem_line(problem: Problem, language: str, *, warning: bool = False) -> str:
    text = problem.message.render(language)
    if problem.row is None:
        return f"- {text}"
    label = (
        tr(language, "Note, row {row}", row=problem.row)
        if warning
        else tr(language, "Row {row}", row=problem.row)
    )
    if problem.column and problem.cell:
        label = tr(
            language,
            "{row_label}, {column} (cell {cell})",
            row_label=label,
            column=problem.column,
            cell=problem.cell,
        )
    elif problem.column:
        label = tr(language, "{row_label}, {column}", row_label=label, column=problem.column)
    elif problem.cell:
        label = tr(language, "{row_label} (cell {cell})", row_label=label, cell=problem.cell)
    return f"- {label}: {text}"
