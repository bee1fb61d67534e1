"""The acting person (Actor) and the checks every school function starts with."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from billing.errors import NotFound, UserError
from billing.permissions import Action, Role, require
from billing.phones import normalise_phone
from models import Organisation, OrgKind, StaffUser


@dataclass(frozen=True)
class Actor:
    """A staff member (or the operator at the command line) with their role and classes."""

    role: Role
    staff_id: int | None = None
    classes: tuple[str, ...] = ()

    @classmethod
    def from_staff(cls, staff: StaffUser) -> Actor:
        return cls(Role(staff.role), staff.id, tuple(staff.classes or ()))

    def require(self, action: Action, *, classes: list[str] | None = None) -> None:
        require(self.role, action, classes=classes, allowed_classes=list(self.classes))


# The `tagih` command line runs with the operator's full rights, as the super admin would.
OPERATOR = Actor(Role.SUPER_ADMIN)


def require_school(organisation: Organisation) -> None:
    if organisation.kind != OrgKind.SCHOOL:
        raise UserError(
            "school.not_a_school",
            "{name} is not a school, so it has no students, news or calendar.",
            name=organisation.name,
        )


def actor_for_phone(session: Session, organisation: Organisation, phone: str) -> Actor:
    """Find the active staff member with this phone and return them as an Actor."""
    normalised = normalise_phone(phone)
    staff = None
    if normalised is not None:
        staff = session.exec(
            select(StaffUser).where(
                StaffUser.organisation_id == organisation.id,
                StaffUser.phone == normalised,
                StaffUser.active == True,  # noqa: E712
            )
        ).first()
    if staff is None:
        raise NotFound(
            "school.staff_not_found",
            "No active staff member has the phone number {phone}.",
            phone=phone,
        )
    return Actor.from_staff(staff)


def class_key(name: str) -> str:
    """Fold a class name for comparison: "7a " and "7A" are one class.

    Students registered from a sheet keep the class as typed, so every comparison with a
    student's class goes through this fold.
    """
    return " ".join(str(name).split()).upper()


def clean_classes(classes: list[str] | tuple[str, ...] | None) -> list[str]:
    """Fold and de-duplicate class names, keeping their order: ["7a ", "7A"] -> ["7A"]."""
    seen: list[str] = []
    for name in classes or ():
        cleaned = class_key(name)
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
    return seen
