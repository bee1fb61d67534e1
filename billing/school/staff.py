"""Staff management: the super admin adds, changes and removes staff of a school or merchant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, select

from billing.contacts import checked_email, email_matches
from billing.errors import NotFound, UserError
from billing.permissions import Action
from billing.phones import normalise_phone
from billing.school.actors import Actor, clean_classes, require_school
from billing.school.sheet import RowProblem, SheetRejected, SheetResult, cell_text, read_rows
from locales import N_, normalise_language
from models import Organisation, StaffRole, StaffUser

# Role names staff type in chat or in a sheet, in both languages.
ROLE_NAMES = {
    "super admin": StaffRole.SUPER_ADMIN,
    "super_admin": StaffRole.SUPER_ADMIN,
    "superadmin": StaffRole.SUPER_ADMIN,
    "finance": StaffRole.FINANCE,
    "keuangan": StaffRole.FINANCE,
    "bendahara": StaffRole.FINANCE,
    "admin": StaffRole.ADMIN,
    "tata usaha": StaffRole.ADMIN,
    "teacher": StaffRole.TEACHER,
    "guru": StaffRole.TEACHER,
    "wali kelas": StaffRole.TEACHER,
}

ROLE_LABELS = {
    StaffRole.SUPER_ADMIN: N_("super admin"),
    StaffRole.FINANCE: N_("finance"),
    StaffRole.ADMIN: N_("admin"),
    StaffRole.TEACHER: N_("teacher"),
}


@dataclass
class StaffInput:
    """One staff member as typed in chat, on the command line or in a sheet row."""

    name: str
    phone: str | None
    role: str
    email: str | None = None
    classes: list[str] | None = None
    language: str | None = None


def parse_role(value: str) -> StaffRole:
    role = ROLE_NAMES.get(" ".join(str(value).split()).casefold())
    if role is None:
        raise UserError(
            "school.role_invalid",
            "The role {role} is invalid: use super admin, finance, admin or teacher.",
            role=value,
        )
    return role


def checked_phone(phone: str | None) -> str | None:
    """Return the E.164 form of a phone number, None for no number; raise when invalid."""
    if not phone:
        return None
    normalised = normalise_phone(phone)
    if normalised is None:
        raise UserError(
            "school.phone_invalid",
            "The phone number {phone} is not a valid mobile number. "
            "Write it as 0812xxxxxxx or +62812xxxxxxx.",
            phone=phone,
        )
    return normalised


def _validated(entry: StaffInput) -> tuple[str, str | None, str | None, StaffRole, list[str]]:
    name = " ".join(entry.name.split())
    if not name:
        raise UserError("school.staff_name_missing", "The staff member's name is missing.")
    phone = checked_phone(entry.phone)
    email = checked_email(entry.email)
    if phone is None and email is None:
        raise UserError(
            "school.contact_missing",
            "{name} needs a phone number or an e-mail address to use the chat.",
            name=name,
        )
    role = parse_role(entry.role)
    classes = clean_classes(entry.classes)
    if role is StaffRole.TEACHER and not classes:
        raise UserError(
            "school.teacher_classes_missing",
            "Teacher {name} needs at least one class, for example 7A.",
            name=name,
        )
    return name, phone, email, role, classes if role is StaffRole.TEACHER else []


def _check_fits_organisation(organisation: Organisation, entry: StaffInput) -> None:
    """Raise when a merchant is given a teacher or classes, which only schools have."""
    role = parse_role(entry.role)
    if role is StaffRole.TEACHER or clean_classes(entry.classes):
        require_school(organisation)


def _find_by_contact(
    session: Session, organisation: Organisation, phone: str | None, email: str | None
) -> StaffUser | None:
    query = select(StaffUser).where(StaffUser.organisation_id == organisation.id)
    if phone:
        return session.exec(query.where(StaffUser.phone == phone)).first()
    if email:
        return session.exec(query.where(email_matches(StaffUser.email, email))).first()
    return None


def _active_super_admins(session: Session, organisation: Organisation) -> list[StaffUser]:
    return list(
        session.exec(
            select(StaffUser).where(
                StaffUser.organisation_id == organisation.id,
                StaffUser.role == StaffRole.SUPER_ADMIN,
                StaffUser.active == True,  # noqa: E712
            )
        ).all()
    )


def _keep_one_super_admin(session: Session, organisation: Organisation, staff: StaffUser) -> None:
    """Raise when the change would leave the school without an active super admin."""
    others = [s for s in _active_super_admins(session, organisation) if s.id != staff.id]
    if staff.role == StaffRole.SUPER_ADMIN and staff.active and not others:
        raise UserError(
            "school.last_super_admin",
            "{name} is the last super admin. Add another super admin first.",
            name=staff.name or staff.phone or staff.email or "-",
        )


def add_staff(
    session: Session, organisation: Organisation, actor: Actor, entry: StaffInput
) -> StaffUser:
    """Add a staff member, or bring back a removed one with the same phone or e-mail."""
    actor.require(Action.STAFF_MANAGE)
    _check_fits_organisation(organisation, entry)
    name, phone, email, role, classes = _validated(entry)
    staff = _find_by_contact(session, organisation, phone, email)
    if staff is not None and staff.active:
        raise UserError(
            "school.staff_exists",
            "{contact} is already registered as staff ({name}). Change that entry instead.",
            contact=phone or email,
            name=staff.name,
        )
    if staff is None:
        staff = StaffUser(organisation_id=organisation.id, role=role)
        session.add(staff)
    staff.name, staff.phone, staff.email = name, phone, email
    staff.role, staff.classes, staff.active = role, classes, True
    staff.language = entry.language or staff.language
    session.flush()
    return staff


def get_staff(session: Session, organisation: Organisation, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id)
    if staff is None or staff.organisation_id != organisation.id or not staff.active:
        raise NotFound(
            "school.staff_missing", "Staff member {id} was not found.", id=str(staff_id)
        )
    return staff


def find_staff(session: Session, organisation: Organisation, contact: str) -> StaffUser:
    """Find an active staff member by phone number or e-mail address."""
    phone = normalise_phone(contact)
    query = select(StaffUser).where(
        StaffUser.organisation_id == organisation.id,
        StaffUser.active == True,  # noqa: E712
    )
    if phone is not None:
        query = query.where(StaffUser.phone == phone)
    else:
        query = query.where(email_matches(StaffUser.email, contact))
    staff = session.exec(query).first()
    if staff is None:
        raise NotFound(
            "school.staff_not_found",
            "No active staff member has the phone number {phone}.",
            phone=contact,
        )
    return staff


def change_staff(
    session: Session, organisation: Organisation, actor: Actor, staff: StaffUser, entry: StaffInput
) -> StaffUser:
    """Replace a staff member's name, contact, role and classes."""
    actor.require(Action.STAFF_MANAGE)
    _check_fits_organisation(organisation, entry)
    name, phone, email, role, classes = _validated(entry)
    other = _find_by_contact(session, organisation, phone, email)
    if other is not None and other.id != staff.id:
        raise UserError(
            "school.staff_exists",
            "{contact} is already registered as staff ({name}). Change that entry instead.",
            contact=phone or email,
            name=other.name,
        )
    if role != StaffRole.SUPER_ADMIN:
        _keep_one_super_admin(session, organisation, staff)
    staff.name, staff.phone, staff.email = name, phone, email
    staff.role, staff.classes = role, classes
    staff.language = entry.language or staff.language
    session.flush()
    return staff


def remove_staff(
    session: Session, organisation: Organisation, actor: Actor, staff: StaffUser
) -> StaffUser:
    """Deactivate a staff member; their posts and events stay."""
    actor.require(Action.STAFF_MANAGE)
    _keep_one_super_admin(session, organisation, staff)
    staff.active = False
    session.flush()
    return staff


def list_staff(session: Session, organisation: Organisation, actor: Actor) -> list[StaffUser]:
    actor.require(Action.STAFF_MANAGE)
    return list(
        session.exec(
            select(StaffUser)
            .where(
                StaffUser.organisation_id == organisation.id,
                StaffUser.active == True,  # noqa: E712
            )
            .order_by(StaffUser.role, StaffUser.name)
        ).all()
    )


STAFF_SHEET_ALIASES = {
    "name": {"name", "nama", "nama lengkap", "full name"},
    "phone": {"phone", "no hp", "no. hp", "nomor hp", "telepon", "no telepon", "whatsapp"},
    "email": {"email", "e-mail", "surel"},
    "role": {"role", "peran", "jabatan"},
    "classes": {"classes", "class", "kelas"},
    "language": {"language", "bahasa"},
}


def import_staff_sheet(
    session: Session, organisation: Organisation, actor: Actor, content: bytes
) -> SheetResult:
    """Add or change every staff member of a staff sheet.

    A row whose phone or e-mail belongs to active staff changes that entry. Classes are
    separated by commas: "7A, 7B". Any problem row raises SheetRejected, listing every
    problem, and the caller's transaction rolls back so nothing is half-saved.
    """
    actor.require(Action.STAFF_MANAGE)
    rows = read_rows(content, STAFF_SHEET_ALIASES, {"name", "role"})
    result = SheetResult()
    entries: list[tuple[int, StaffInput]] = []
    for row in rows:
        entry = StaffInput(
            name=cell_text(row.values.get("name")),
            phone=cell_text(row.values.get("phone")) or None,
            role=cell_text(row.values.get("role")),
            email=cell_text(row.values.get("email")) or None,
            classes=re.split(r"[,;]", cell_text(row.values.get("classes"))),
            language=normalise_language(cell_text(row.values.get("language")) or None)
            if row.values.get("language")
            else None,
        )
        try:
            _check_fits_organisation(organisation, entry)
            _validated(entry)
        except UserError as error:
            result.problems.append(
                RowProblem(row.row, _problem_column(error.code), _problem_value(entry), error.msg)
            )
            continue
        entries.append((row.row, entry))
    if result.problems:
        raise SheetRejected(result)
    for row_number, entry in entries:
        _, phone, email, _, _ = _validated(entry)
        existing = _find_by_contact(session, organisation, phone, email)
        try:
            if existing is not None and existing.active:
                change_staff(session, organisation, actor, existing, entry)
                result.updated += 1
            else:
                add_staff(session, organisation, actor, entry)
                result.created += 1
        except UserError as error:
            result.problems.append(RowProblem(row_number, "", _problem_value(entry), error.msg))
    if result.problems:
        raise SheetRejected(result)
    return result


def _problem_column(code: str) -> str:
    return {
        "school.staff_name_missing": "name",
        "school.phone_invalid": "phone",
        "contact.email_invalid": "email",
        "school.contact_missing": "phone",
        "school.role_invalid": "role",
        "school.teacher_classes_missing": "classes",
        "school.not_a_school": "role",
    }.get(code, "")


def _problem_value(entry: StaffInput) -> str:
    return entry.phone or entry.email or entry.name
