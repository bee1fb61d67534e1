"""A school with staff of every role, students in three classes, and their parents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlmodel import Session, select

from billing.orgs import create_organisation
from billing.permissions import Role
from billing.school.actors import Actor
from billing.school.staff import StaffInput, add_staff
from billing.school.students import add_parent, add_student, link_parent
from models import Customer, Organisation, StaffUser, Student
from models.db import session_scope

SLUG = "smp-harapan"


@dataclass
class School:
    """Ids of the seeded rows, so each test reloads the rows inside its own session."""

    organisation_id: int
    actors: dict[str, Actor]
    students: dict[str, int]  # NIS -> student id
    parents: dict[str, int]  # name -> customer id


@contextmanager
def write() -> Iterator[Session]:
    with session_scope(write=True) as session:
        yield session


def organisation_of(session: Session, school: School) -> Organisation:
    organisation = session.get(Organisation, school.organisation_id)
    assert organisation is not None
    return organisation


def seed_school(language: str = "id") -> School:
    with write() as session:
        organisation = create_organisation(
            session,
            slug=SLUG,
            kind="school",
            name="SMP Harapan",
            company_code="8808",
            admin_phone="081200000001",
            admin_name="Bu Sari",
            language=language,
        )
        super_admin = session.exec(
            select(StaffUser).where(StaffUser.organisation_id == organisation.id)
        ).one()
        operator = Actor.from_staff(super_admin)
        actors = {"super_admin": operator}
        staff = [
            StaffInput("Pak Budi", "081200000002", "finance"),
            StaffInput("Bu Rina", "081200000003", "admin", email="rina@example.com"),
            StaffInput("Pak Joko", "081200000004", "guru", classes=["7a"]),
        ]
        for entry in staff:
            member = add_staff(session, organisation, operator, entry)
            actors[str(member.role)] = Actor.from_staff(member)
        students = {}
        for nis, name, class_name in [
            ("1001", "Ani", "7A"),
            ("1002", "Bayu", "7B"),
            ("1003", "Citra", "8A"),
            ("1004", "Dewi", "7A"),
        ]:
            student = add_student(
                session, organisation, operator, nis=nis, name=name, class_name=class_name
            )
            students[nis] = student.id
        parents = {}
        for name, phone, language_of_parent in [
            ("Ibu Ani", "081300000001", "id"),
            ("Mr Bayu", "081300000002", "en"),
            ("Ibu Citra", "081300000003", None),
        ]:
            parent = add_parent(
                session,
                organisation,
                operator,
                name=name,
                phone=phone,
                language=language_of_parent,
            )
            parents[name] = parent.id
        links = [
            ("1001", "Ibu Ani"),
            ("1002", "Ibu Ani"),
            ("1002", "Mr Bayu"),
            ("1003", "Ibu Citra"),
        ]
        for nis, parent_name in links:
            link_parent(
                session,
                organisation,
                operator,
                student=session.get(Student, students[nis]),
                parent=session.get(Customer, parents[parent_name]),
            )
        return School(organisation.id, actors, students, parents)


@pytest.fixture
def school(database: str) -> School:
    return seed_school()


@pytest.fixture
def sqlite_school(sqlite_database: str) -> School:
    return seed_school()


ROLES = [Role.SUPER_ADMIN, Role.FINANCE, Role.ADMIN, Role.TEACHER]
