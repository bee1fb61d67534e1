"""Students and their parents: registering, linking, promoting and archiving."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from billing.contacts import checked_email, email_matches
from billing.errors import NotFound, UserError
from billing.permissions import Action
from billing.phones import normalise_phone
from billing.school.actors import Actor, class_key, clean_classes, require_school
from billing.school.staff import checked_phone
from locales import LANGUAGES
from models import Customer, Organisation, Student, StudentGuardian
from models.types import utcnow

MAX_GUARDIANS = 2
NIS_PATTERN = re.compile(r"[0-9A-Za-z./-]{1,32}")


@dataclass
class PromotionResult:
    moved: dict[str, int]  # new class name -> number of students moved into it
    archived: int


def add_student(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    nis: str,
    name: str,
    class_name: str,
) -> Student:
    """Register a student; the NIS is unique in the school and kept as text."""
    actor.require(Action.STUDENT_MANAGE)
    require_school(organisation)
    nis = nis.strip()
    if not NIS_PATTERN.fullmatch(nis):
        raise UserError(
            "school.nis_invalid",
            "The student number (NIS) {nis} is invalid: use up to 32 letters and digits.",
            nis=nis,
        )
    name = " ".join(name.split())
    classes = clean_classes([class_name])
    if not name or not classes:
        raise UserError(
            "school.student_incomplete",
            "Student {nis} needs a name and a class.",
            nis=nis,
        )
    existing = session.exec(
        select(Student).where(Student.organisation_id == organisation.id, Student.nis == nis)
    ).first()
    if existing is not None:
        raise UserError(
            "school.nis_taken",
            "The student number (NIS) {nis} already belongs to {name}.",
            nis=nis,
            name=existing.name,
        )
    student = Student(organisation_id=organisation.id, nis=nis, name=name, class_name=classes[0])
    session.add(student)
    session.flush()
    return student


def get_student(session: Session, organisation: Organisation, nis: str) -> Student:
    student = session.exec(
        select(Student).where(
            Student.organisation_id == organisation.id, Student.nis == nis.strip()
        )
    ).first()
    if student is None:
        raise NotFound(
            "school.student_not_found",
            "No student has the student number (NIS) {nis}.",
            nis=nis,
        )
    return student


def list_students(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    class_name: str | None = None,
    include_archived: bool = False,
) -> list[Student]:
    actor.require(Action.STUDENT_MANAGE)
    query = select(Student).where(Student.organisation_id == organisation.id)
    if class_name:
        query = query.where(func.upper(Student.class_name) == class_key(class_name))
    if not include_archived:
        query = query.where(Student.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Student.class_name, Student.name)).all())


def school_classes(session: Session, organisation: Organisation) -> list[str]:
    """Return the class names of the school's active students, sorted."""
    names = session.exec(
        select(Student.class_name)
        .where(Student.organisation_id == organisation.id, Student.active == True)  # noqa: E712
        .distinct()
    ).all()
    return sorted({class_key(name) for name in names if name.strip()})


def check_classes_exist(session: Session, organisation: Organisation, classes: list[str]) -> None:
    known = school_classes(session, organisation)
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise UserError(
            "school.class_unknown",
            "No active student is in class {classes}. Known classes: {known}.",
            classes=", ".join(unknown),
            known=", ".join(known) or "-",
        )


def add_parent(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    language: str | None = None,
) -> Customer:
    """Return the school's parent with this phone (or e-mail), creating them when new.

    Siblings share a parent, so a known phone is not a duplicate: the existing parent is
    returned and given any e-mail or language that was missing.
    """
    actor.require(Action.PARENT_MANAGE)
    require_school(organisation)
    normalised = checked_phone(phone)
    email = checked_email(email)
    name = " ".join(name.split())
    if not name or (normalised is None and email is None):
        raise UserError(
            "school.parent_incomplete",
            "A parent needs a name and a phone number or e-mail address.",
        )
    if language is not None and language not in LANGUAGES:
        raise UserError(
            "school.language_invalid",
            "The language {language} is invalid: use id for Indonesian or en for English.",
            language=language,
        )
    query = select(Customer).where(Customer.organisation_id == organisation.id)
    if normalised:
        query = query.where(Customer.phone == normalised)
    else:
        query = query.where(email_matches(Customer.email, email))
    parent = session.exec(query).first()
    if parent is None:
        parent = Customer(
            organisation_id=organisation.id,
            name=name,
            phone=normalised,
            email=email,
            language=language,
        )
        session.add(parent)
    else:
        parent.email = parent.email or email
        parent.language = language or parent.language
    session.flush()
    return parent


def find_parent(session: Session, organisation: Organisation, contact: str) -> Customer:
    """Find a parent of the school by phone number or e-mail address."""
    phone = normalise_phone(contact)
    query = select(Customer).where(Customer.organisation_id == organisation.id)
    if phone is not None:
        query = query.where(Customer.phone == phone)
    else:
        query = query.where(email_matches(Customer.email, contact))
    parent = session.exec(query).first()
    if parent is None:
        raise NotFound(
            "school.parent_not_found",
            "No parent has the phone number or e-mail {contact}.",
            contact=contact,
        )
    return parent


def link_parent(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    student: Student,
    parent: Customer,
    relation: str = "parent",
    is_payer: bool | None = None,
) -> StudentGuardian:
    """Link a parent to a student (at most two parents a student).

    The first parent linked pays the student's bills unless is_payer is given.
    """
    actor.require(Action.PARENT_MANAGE)
    if student.organisation_id != organisation.id or parent.organisation_id != organisation.id:
        raise NotFound(
            "school.student_not_found",
            "No student has the student number (NIS) {nis}.",
            nis=student.nis,
        )
    links = list(
        session.exec(select(StudentGuardian).where(StudentGuardian.student_id == student.id)).all()
    )
    for link in links:
        if link.customer_id == parent.id:
            if is_payer is not None:
                _set_payer(links, link, is_payer)
            return link
    if len(links) >= MAX_GUARDIANS:
        raise UserError(
            "school.guardians_full",
            "{student} already has two parents linked. Unlink one first.",
            student=student.name,
        )
    link = StudentGuardian(
        student_id=student.id,
        customer_id=parent.id,
        relation=relation.strip() or "parent",
        is_payer=False,
    )
    session.add(link)
    _set_payer(links + [link], link, is_payer if is_payer is not None else not links)
    session.flush()
    return link


def _set_payer(links: list[StudentGuardian], link: StudentGuardian, is_payer: bool) -> None:
    """Keep one payer a student: making one parent the payer takes it from the other."""
    if is_payer:
        for other in links:
            other.is_payer = other is link
    else:
        link.is_payer = False


def unlink_parent(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    student: Student,
    parent: Customer,
) -> None:
    actor.require(Action.PARENT_MANAGE)
    link = session.exec(
        select(StudentGuardian).where(
            StudentGuardian.student_id == student.id, StudentGuardian.customer_id == parent.id
        )
    ).first()
    if link is not None and student.organisation_id == organisation.id:
        session.delete(link)
        session.flush()


def payer_for(session: Session, student: Student) -> Customer | None:
    """Return the parent who pays the student's bills: the payer link, else the first link."""
    links = session.exec(
        select(StudentGuardian)
        .where(StudentGuardian.student_id == student.id)
        .order_by(col(StudentGuardian.is_payer).desc(), StudentGuardian.id)
    ).all()
    return session.get(Customer, links[0].customer_id) if links else None


def children_of(
    session: Session, customer_id: int, *, include_archived: bool = False
) -> list[Student]:
    query = (
        select(Student)
        .join(StudentGuardian, StudentGuardian.student_id == Student.id)
        .where(StudentGuardian.customer_id == customer_id)
    )
    if not include_archived:
        query = query.where(Student.active == True)  # noqa: E712
    return list(session.exec(query.order_by(Student.name)).all())


def parents_of_classes(
    session: Session, organisation: Organisation, classes: list[str]
) -> list[Customer]:
    """Return the distinct parents of the active students of these classes (empty: all)."""
    query = (
        select(Customer)
        .join(StudentGuardian, StudentGuardian.customer_id == Customer.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .where(Student.organisation_id == organisation.id, Student.active == True)  # noqa: E712
    )
    if classes:
        query = query.where(func.upper(Student.class_name).in_(classes))
    return list(session.exec(query.distinct().order_by(Customer.id)).all())


def promote_classes(
    session: Session,
    organisation: Organisation,
    actor: Actor,
    *,
    mapping: dict[str, str],
    graduating: list[str] | None = None,
) -> PromotionResult:
    """Move every active student of each old class to its new class, at once.

    Students of graduating classes are archived. Classes named in neither stay as they are,
    so "7A"->"8A" and "8A"->"9A" in one mapping do not chain.
    """
    actor.require(Action.STUDENT_MANAGE)
    moves = {clean_classes([old])[0]: clean_classes([new])[0] for old, new in mapping.items()}
    leaving = set(clean_classes(graduating or []))
    check_classes_exist(session, organisation, sorted(set(moves) | leaving))
    both = sorted(leaving & set(moves))
    if both:
        raise UserError(
            "school.promotion_conflict",
            "Class {classes} cannot both move up and graduate.",
            classes=", ".join(both),
        )
    result = PromotionResult(moved={}, archived=0)
    students = session.exec(
        select(Student).where(
            Student.organisation_id == organisation.id,
            Student.active == True,  # noqa: E712
            func.upper(Student.class_name).in_(sorted(set(moves) | leaving)),
        )
    ).all()
    now = utcnow()
    for student in students:
        old = class_key(student.class_name)
        if old in leaving:
            student.active, student.archived_at = False, now
            result.archived += 1
        else:
            student.class_name = moves[old]
            result.moved[student.class_name] = result.moved.get(student.class_name, 0) + 1
    session.flush()
    return result


def archive_student(
    session: Session, organisation: Organisation, actor: Actor, student: Student
) -> Student:
    """Archive a student who left: no more fees, news or events, but bills and receipts stay."""
    actor.require(Action.STUDENT_MANAGE)
    if student.organisation_id != organisation.id:
        raise NotFound(
            "school.student_not_found",
            "No student has the student number (NIS) {nis}.",
            nis=student.nis,
        )
    if student.active:
        student.active, student.archived_at = False, utcnow()
        session.flush()
    return student


def move_student(
    session: Session, organisation: Organisation, actor: Actor, student: Student, class_name: str
) -> Student:
    """Move one student to another class, for example after a transfer within the school."""
    actor.require(Action.STUDENT_MANAGE)
    if student.organisation_id != organisation.id:
        raise NotFound(
            "school.student_not_found",
            "No student has the student number (NIS) {nis}.",
            nis=student.nis,
        )
    classes = clean_classes([class_name])
    if not classes:
        raise UserError(
            "school.student_incomplete", "Student {nis} needs a name and a class.", nis=student.nis
        )
    student.class_name = classes[0]
    session.flush()
    return student
