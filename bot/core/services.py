"""Calls into billing modules that other areas own, in the shape the chat flows need.

Each call imports its module when used, so a billing module that is not installed yet turns
into a clear "not available" reply instead of an import error at start-up.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from sqlmodel import Session, col, func, select

from billing.errors import UserError
from models import Customer, Organisation, Student, StudentGuardian


def _module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        raise UserError(
            "chat.feature_unavailable",
            "This feature is not available yet. Please try again later.",
        ) from error


@dataclass
class Problem:
    row: int | None
    column: str
    message: str


@dataclass
class SharedParent:
    """A parent that several students of one registration sheet share."""

    name: str
    students: list[str]


@dataclass
class StudentsView:
    """What saving a students-and-parents sheet registers, next to what the school has."""

    new_students: int
    known_students: int  # NIS and name already registered, so class and parents get updated
    new_parents: int
    known_parents: int
    shared_parents: list[SharedParent] = field(default_factory=list)


@dataclass
class PreviewView:
    """The summary of an uploaded sheet that the chat shows before staff decide."""

    batch_id: int | None  # None when the file could not be read or was rejected
    invoice_count: int = 0  # invoices ready to issue
    total: int = 0  # rupiah, of the invoices ready to issue
    new_customers: int = 0  # customers that issuing (or, for a customers sheet, saving) creates
    invalid_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)  # numbers already issued, skipped
    file_error: str | None = None
    file_error_code: str | None = None
    annotated: bytes | None = None
    sheet_type: str | None = None  # a billing.sheets SheetType value
    rejected: bool = False  # the caller may not import this sheet type, so nothing was kept
    registered_customers: int = 0  # rows of a customers sheet already registered, skipped
    students: StudentsView | None = None

    @property
    def ready_count(self) -> int:
        """Return how many invoices, customers or students saving the batch would write."""
        if self.sheet_type == "customers":
            return self.new_customers
        if self.students is not None:
            return self.students.new_students + self.students.known_students
        return self.invoice_count


@dataclass
class RegistrationSaved:
    """The rows that confirming a registration batch wrote, counted in the database."""

    customers: int  # new customers, parents included
    students: int
    guardian_links: int
    skipped_rows: list[int] = field(default_factory=list)


def _problem(item: Any, language: str) -> Problem:
    return Problem(row=item.row, column=item.column or "", message=item.message.render(language))


def preview_upload(
    session: Session,
    organisation: Organisation,
    *,
    filename: str,
    content: bytes,
    uploaded_by: str,
    language: str,
    importable: frozenset[str],
) -> PreviewView:
    """Check an uploaded sheet into a waiting batch and describe it, with an annotated copy.

    A readable sheet whose type is not in `importable` is rejected, and its batch is rolled
    back so that nothing of it is kept.
    """
    imports = _module("billing.imports")
    savepoint = session.begin_nested()
    try:
        batch, result = imports.preview_upload(
            session, organisation, filename, content, uploaded_by=uploaded_by
        )
    except BaseException:
        savepoint.rollback()
        raise
    if result.file_error is None and result.sheet_type not in importable:
        savepoint.rollback()
        return PreviewView(batch_id=None, sheet_type=result.sheet_type, rejected=True)
    savepoint.commit()
    if result.file_error is not None:
        return PreviewView(
            batch_id=None,
            file_error=result.file_error.message.render(language),
            file_error_code=result.file_error.code,
            sheet_type=result.sheet_type,
        )
    view = PreviewView(
        batch_id=batch.id,
        invoice_count=len(result.invoices),
        total=result.total,
        # Set only for a bill sheet. A customers sheet gets its count below.
        new_customers=result.new_customers or 0,
        invalid_rows=len(result.invalid_rows),
        problems=[_problem(item, language) for item in result.errors],
        existing=list(result.existing),
        annotated=_annotated(content, result, language) if result.errors else None,
        sheet_type=result.sheet_type,
    )
    if result.sheet_type == "customers":
        view.new_customers = len(result.customers)
        view.registered_customers = sum(
            1 for item in result.warnings if item.code == "customer.already_registered"
        )
    elif result.sheet_type == "students":
        view.students = _students_view(session, organisation, result)
    return view


def _students_view(session: Session, organisation: Organisation, result: Any) -> StudentsView:
    """Count the sheet's students and parents that are new or already registered."""
    nis_key = _module("billing.sheets.school").nis_key
    contact_key = _module("billing.sheets.registrations").contact_key
    registered = session.exec(
        select(Student.nis).where(Student.organisation_id == organisation.id)
    ).all()
    known_nis = {nis_key(nis) for nis in registered}
    customers = session.exec(
        select(Customer.phone, Customer.email).where(Customer.organisation_id == organisation.id)
    ).all()
    phones = {phone for phone, _email in customers if phone}
    emails = {email for _phone, email in customers if email}

    parents: dict[str, SharedParent] = {}
    known_parents: set[str] = set()
    known_students = 0
    for student in result.students:
        if nis_key(student.nis) in known_nis:
            known_students += 1
        for parent in student.parents:
            key = contact_key(parent)
            shared = parents.setdefault(key, SharedParent(parent.name, []))
            shared.students.append(student.name)
            if (parent.phone and parent.phone in phones) or (
                parent.email and parent.email in emails
            ):
                known_parents.add(key)
    return StudentsView(
        new_students=len(result.students) - known_students,
        known_students=known_students,
        new_parents=len(parents) - len(known_parents),
        known_parents=len(known_parents),
        shared_parents=[parent for parent in parents.values() if len(parent.students) > 1],
    )


def _annotated(content: bytes, result: Any, language: str) -> bytes | None:
    try:
        annotate = _module("billing.sheets.annotate")
    except UserError:
        return None  # the summary still lists every problem with its row
    return bytes(annotate.annotate_sheet(content, result, language))


def confirm_batch(
    session: Session, organisation: Organisation, batch_id: int, *, only_valid: bool
) -> int | None:
    """Issue the invoices of a waiting batch; return how many, or None if rows still fail."""
    result = _module("billing.imports").confirm_batch(
        session, batch_id, only_valid=only_valid, organisation_id=organisation.id
    )
    if result.file_error is not None or (result.errors and not only_valid):
        return None
    return int(result.imported or 0)


def _registration_counts(session: Session, organisation: Organisation) -> tuple[int, int, int]:
    """Count the organisation's customers, students and student-parent links."""
    customers = session.exec(
        select(func.count())
        .select_from(Customer)
        .where(Customer.organisation_id == organisation.id)
    ).one()
    students = session.exec(
        select(func.count()).select_from(Student).where(Student.organisation_id == organisation.id)
    ).one()
    links = session.exec(
        select(func.count())
        .select_from(StudentGuardian)
        .join(Student, col(Student.id) == StudentGuardian.student_id)
        .where(Student.organisation_id == organisation.id)
    ).one()
    return int(customers), int(students), int(links)


def confirm_registration(
    session: Session, organisation: Organisation, batch_id: int, *, only_valid: bool
) -> RegistrationSaved | None:
    """Save the customers or students of a waiting batch, or return None if rows still fail."""
    before = _registration_counts(session, organisation)
    result = _module("billing.imports").confirm_batch(
        session, batch_id, only_valid=only_valid, organisation_id=organisation.id
    )
    if result.file_error is not None or (result.errors and not only_valid):
        return None
    after = _registration_counts(session, organisation)
    customers, students, links = (now - then for now, then in zip(after, before, strict=True))
    return RegistrationSaved(customers, students, links, list(result.skipped_rows))


def cancel_batch(session: Session, organisation: Organisation, batch_id: int) -> None:
    _module("billing.imports").cancel_batch(session, batch_id, organisation_id=organisation.id)


def build_template(session: Session, organisation: Organisation, name: str = "bills") -> bytes:
    """Return the organisation's template for bills, customers or students as .xlsx bytes."""
    sheet_type = _module("billing.imports").resolve_type(organisation, name)
    templates = _module("billing.sheets.templates")
    return bytes(templates.build_template(session, organisation, sheet_type))


def render_receipt_pdf(session: Session, invoice_id: int, language: str) -> bytes:
    return bytes(_module("billing.receipts").render_receipt_pdf(session, invoice_id, language))


def build_invoice_report(
    session: Session, organisation: Organisation, *, start: dt.date, end: dt.date, language: str
) -> bytes:
    reports = _module("billing.reports")
    report = reports.build_invoice_report(
        session, organisation, start=start, end=end, language=language
    )
    return bytes(report)


def set_reminders_paused(session: Session, customer_ids: list[int], paused: bool) -> None:
    _module("billing.reminders").set_reminders_paused(session, customer_ids, paused)


def record_delivery_status(
    session: Session, provider_message_id: str, status: str, error: str | None = None
) -> None:
    _module("billing.notices").record_delivery_status(session, provider_message_id, status, error)
