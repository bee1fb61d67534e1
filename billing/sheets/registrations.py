"""Registration sheets: a merchant's customers, a school's students with their parents."""

from __future__ import annotations

from typing import Any

from billing.sheets.contacts import parse_email, parse_name, read_phone
from billing.sheets.context import name_key
from billing.sheets.headers import Field
from billing.sheets.reader import Problems, RowReader, SheetData, iter_with_deadline
from billing.sheets.result import ContactRow, StudentRow
from billing.sheets.school import nis_key
from billing.sheets.values import cell_text, clean_text
from locales import msg

LANGUAGE_WORDS = {
    "id": "id", "indonesia": "id", "bahasa indonesia": "id", "indonesian": "id", "ind": "id",
    "en": "en", "english": "en", "inggris": "en", "bahasa inggris": "en", "eng": "en",
}  # fmt: skip


def contact_key(contact: ContactRow) -> str:
    """Identify a payer by phone, or by e-mail when there is no phone."""
    return contact.phone or f"email:{contact.email}"


class ContactBook:
    """Payers seen so far in the file, to catch one phone given for two different people."""

    def __init__(self, data: SheetData, problems: Problems):
        self.data = data
        self.problems = problems
        self.seen: dict[str, ContactRow] = {}

    def check(self, contact: ContactRow, row: int, column: Field) -> bool:
        key = contact_key(contact)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = contact
            return True
        if name_key(first.name) == name_key(contact.name):
            return True
        index = self.data.header.columns.get(column)
        self.problems.error(
            "contact.phone_two_names",
            msg(
                "{contact} is given for {first} (row {first_row}) and for {name} (row {row}). "
                "One phone number or e-mail address belongs to one person: correct one of them.",
                contact=contact.phone or contact.email,
                first=first.name,
                first_row=first.rows[0],
                name=contact.name,
                row=row,
            ),
            row=row,
            column=self.data.header.title(index) if index is not None else None,
            value=contact.phone or contact.email,
            rows=[first.rows[0], row],
        )
        return False


def read_contact(
    reader: RowReader, name_field: Field, phone_field: Field, email_field: Field, *, required: bool
) -> ContactRow | None:
    """Read a name with its phone and e-mail; at least one of the two must be there."""
    name = reader.parse(name_field, parse_name) or ""
    phone, _ = read_phone(reader, phone_field)
    email = reader.parse(email_field, parse_email)
    if not name and not phone and not email and not required:
        return None
    if not name:
        reader.fail(name_field, "contact.name_missing", msg("The name is missing. Enter it."))
        return None
    if phone is None and email is None:
        if reader.failed:
            return None
        reader.fail(
            phone_field if reader.column(phone_field) is not None else email_field,
            "contact.no_contact",
            msg(
                "{name} has no phone number and no e-mail address, so no bill can reach them. "
                "Add at least one.",
                name=name,
            ),
        )
        return None
    return ContactRow(name=name, phone=phone, email=email, rows=[reader.row.number])


def parse_language(value: Any) -> str | None:
    text = clean_text(value).casefold()
    return LANGUAGE_WORDS.get(text) if text else None


def parse_customers(data: SheetData, problems: Problems, deadline: float) -> list[ContactRow]:
    customers: list[ContactRow] = []
    book = ContactBook(data, problems)
    first_row_of: dict[str, int] = {}
    for row in iter_with_deadline(data.rows, deadline):
        reader = RowReader(data, row, problems)
        contact = read_contact(reader, Field.CUSTOMER, Field.PHONE, Field.EMAIL, required=True)
        language = parse_language(reader.raw(Field.LANGUAGE))
        if contact is None or reader.failed:
            continue
        contact.language = language
        key = contact_key(contact)
        if not book.check(contact, row.number, Field.PHONE):
            # One phone for two names: neither row can be trusted.
            customers = [c for c in customers if c.rows != [first_row_of.get(key)]]
            problems.invalid_rows.add(first_row_of.get(key, row.number))
            continue
        if key in first_row_of:
            problems.error(
                "customer.duplicate",
                msg(
                    "Rows {first} and {row} register the same customer ({contact}). "
                    "Delete one of them.",
                    first=first_row_of[key],
                    row=row.number,
                    contact=contact.phone or contact.email,
                ),
                row=row.number,
                rows=[first_row_of[key], row.number],
            )
            problems.invalid_rows.discard(first_row_of[key])
            continue
        first_row_of[key] = row.number
        customers.append(contact)
    return customers


def parse_students(data: SheetData, problems: Problems, deadline: float) -> list[StudentRow]:
    """Read students with up to two parents per row; a repeated NIS adds a parent."""
    students: dict[str, StudentRow] = {}
    failed: set[str] = set()
    book = ContactBook(data, problems)
    name_field = Field.STUDENT if Field.STUDENT in data.header.columns else Field.CUSTOMER
    phone_field = Field.PARENT_PHONE if Field.PARENT_PHONE in data.header.columns else Field.PHONE
    email_field = Field.PARENT_EMAIL if Field.PARENT_EMAIL in data.header.columns else Field.EMAIL
    for row in iter_with_deadline(data.rows, deadline):
        reader = RowReader(data, row, problems)
        nis = cell_text(reader.raw(Field.NIS))
        name = reader.parse(name_field, parse_name) or ""
        if not nis:
            reader.fail(Field.NIS, "school.nis_missing_register",
                        msg("The student number (NIS) is missing. Enter it."))  # fmt: skip
        if not name:
            reader.fail(name_field, "school.student_name_missing",
                        msg("The student's name is missing. Enter it."))  # fmt: skip
        parents = [read_contact(reader, Field.PARENT, phone_field, email_field, required=True),
                   read_contact(reader, Field.PARENT2, Field.PARENT2_PHONE, Field.PARENT2_EMAIL,
                                required=False)]  # fmt: skip
        found = [parent for parent in parents if parent is not None]
        if reader.failed or not nis:
            if nis:
                failed.add(nis_key(nis))
            continue
        if not all(book.check(parent, row.number, Field.PARENT_PHONE) for parent in found):
            failed.add(nis_key(nis))
            continue
        class_name = clean_text(reader.raw(Field.CLASS))[:32]
        _add_student(data, problems, students, nis, name, class_name, found, row.number)
    for key in failed:
        students.pop(key, None)
    return list(students.values())


def _add_student(
    data: SheetData,
    problems: Problems,
    students: dict[str, StudentRow],
    nis: str,
    name: str,
    class_name: str,
    parents: list[ContactRow],
    row: int,
) -> None:
    key = nis_key(nis)
    student = students.get(key)
    if student is None:
        students[key] = StudentRow(nis, name, class_name, parents, [row])
        return
    if name_key(student.name) != name_key(name):
        problems.error(
            "school.nis_two_students",
            msg(
                "NIS {nis} is given to {first} (row {first_row}) and to {name} (row {row}). "
                "Each student has their own NIS: correct one of them.",
                nis=nis,
                first=student.name,
                first_row=student.rows[0],
                name=name,
                row=row,
            ),
            row=row,
            column=data.header.title(data.header.columns[Field.NIS]),
            value=nis,
            rows=[student.rows[0], row],
        )
        return
    known = {contact_key(parent) for parent in student.parents}
    added = [parent for parent in parents if contact_key(parent) not in known]
    if not added:
        problems.error(
            "school.repeated_student_row",
            msg(
                "Row {row} repeats student {nis} with the same parents as row {first}. Delete it.",
                row=row,
                nis=nis,
                first=student.rows[0],
            ),
            row=row,
            rows=[student.rows[0], row],
        )
        return
    student.parents.extend(added)
    student.rows.append(row)
