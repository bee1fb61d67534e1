"""Creating organisations and their first super admin."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from billing.contacts import checked_email
from billing.errors import NotFound, UserError
from billing.phones import normalise_phone
from models import Organisation, OrgKind, StaffRole, StaffUser

SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
# ASCII digits only: str.isdigit() and \d also take other scripts' digits, which no bank
# can send in a VA number.
COMPANY_CODE_PATTERN = re.compile(r"[0-9]{1,8}")


def create_organisation(
    session: Session,
    *,
    slug: str,
    kind: str,
    name: str,
    company_code: str,
    admin_phone: str,
    admin_name: str = "",
    admin_email: str | None = None,
    language: str = "id",
) -> Organisation:
    """Create an organisation with its super admin; raise UserError on any invalid value."""
    if not SLUG_PATTERN.fullmatch(slug):
        raise UserError(
            "org.slug_invalid",
            "The slug {slug} is invalid: use 2 to 63 lower-case letters, digits and dashes.",
            slug=slug,
        )
    if kind not in {k.value for k in OrgKind}:
        raise UserError(
            "org.kind_invalid", "The kind {kind} is invalid: use invoice or school.", kind=kind
        )
    if not name.strip():
        raise UserError(
            "org.name_missing",
            "The organisation name is missing: give the name customers and parents will see.",
        )
    code = company_code.strip()
    if not COMPANY_CODE_PATTERN.fullmatch(code):
        raise UserError(
            "org.company_code_invalid",
            "The company code {code} is invalid: use 1 to 8 digits, as the bank assigned it.",
            code=company_code,
        )
    phone = normalise_phone(admin_phone)
    if phone is None:
        raise UserError(
            "org.admin_phone_invalid",
            "The phone number {phone} is not a valid mobile number. "
            "Write it as 0812xxxxxxx or +62812xxxxxxx.",
            phone=admin_phone,
        )
    email = checked_email(admin_email)
    if session.exec(select(Organisation).where(Organisation.slug == slug)).first():
        raise UserError(
            "org.slug_taken", "An organisation with the slug {slug} already exists.", slug=slug
        )
    if _company_code_taken(session, code):
        raise UserError(
            "org.company_code_taken",
            "The company code {code} already belongs to another organisation.",
            code=code,
        )
    overlapping = _overlapping_organisation(session, code)
    if overlapping is not None:
        raise UserError(
            "org.company_code_overlaps",
            "The company code {code} overlaps the code {other} of {name}: one starts with the "
            "other, so their VA numbers would collide. Ask the bank for a code that does not "
            "start with {other} and that {other} does not start with.",
            code=code,
            other=overlapping.company_code,
            name=overlapping.name,
        )
    organisation = Organisation(
        slug=slug, kind=OrgKind(kind), name=name.strip(), company_code=code, language=language
    )
    session.add(organisation)
    session.flush()
    session.add(
        StaffUser(
            organisation_id=organisation.id,
            name=admin_name,
            phone=phone,
            email=email,
            role=StaffRole.SUPER_ADMIN,
        )
    )
    session.flush()
    return organisation


def _company_code_taken(session: Session, code: str) -> bool:
    """Return whether another organisation has this company code, leading zeros ignored.

    Banks pad partnerServiceId with spaces or zeros, so "777" and "0777" are the same code
    on the wire and must not belong to two organisations.
    """
    code_key = code.lstrip("0") or "0"
    codes = session.exec(select(Organisation.company_code)).all()
    return any((existing.lstrip("0") or "0") == code_key for existing in codes)


def _overlapping_organisation(session: Session, code: str) -> Organisation | None:
    """Return an organisation whose company code starts with this one, or that this one
    starts with, compared digit for digit as stored.

    A VA number is the company code as stored followed by a zero-padded customerNo, so with
    codes 88081 and 880810 the first VA of each is 8808100000000001, and with 0 and 02 VAs
    of both start with 0. Codes 0880 and 88081 never share a VA number.
    """
    for organisation in session.exec(select(Organisation)).all():
        other = organisation.company_code
        if other.startswith(code) or code.startswith(other):
            return organisation
    return None


def get_organisation(session: Session, slug: str) -> Organisation:
    organisation = session.exec(select(Organisation).where(Organisation.slug == slug)).first()
    if organisation is None:
        raise NotFound(
            "org.not_found",
            "Organisation {slug} was not found. Check the slug with `tagih org list`.",
            slug=slug,
        )
    return organisation
