"""Sender identity: memberships found by verified phone or e-mail, and e-mail link codes."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlmodel import Session, col, select

from billing.notices import queue_notice
from billing.permissions import Role
from models import (
    ChatIdentity,
    Customer,
    LinkCode,
    NoticeKind,
    Organisation,
    OrgKind,
    StaffUser,
)
from models.types import utcnow

LINK_CODE_TTL = dt.timedelta(minutes=15)
LINK_CODE_MAX_ATTEMPTS = 5
LINK_CODE_DIGITS = 6


@dataclass(frozen=True)
class Membership:
    """One role of one person in one organisation."""

    organisation_id: int
    organisation_name: str
    organisation_kind: OrgKind
    role: Role
    staff_id: int | None = None
    customer_id: int | None = None
    language: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.staff_id is not None


def get_or_create_identity(session: Session, *, channel: str, external_id: str) -> ChatIdentity:
    identity = session.exec(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == external_id
        )
    ).first()
    if identity is None:
        identity = ChatIdentity(channel=channel, external_id=external_id)
        session.add(identity)
        session.flush()
    return identity


def find_memberships(
    session: Session, *, phone: str | None, email: str | None
) -> list[Membership]:
    """List every role the verified phone or e-mail has, staff roles first."""
    if not phone and not email:
        return []
    found = _staff_memberships(session, phone=phone, email=email)
    found += _payer_memberships(session, phone=phone, email=email)
    return found


def _person_filter(model: type[StaffUser] | type[Customer], phone: str | None, email: str | None):  # type: ignore[no-untyped-def]
    if phone and email:
        return (model.phone == phone) | (model.email == email)
    if phone:
        return model.phone == phone
    return model.email == email


def _staff_memberships(
    session: Session, *, phone: str | None, email: str | None
) -> list[Membership]:
    rows = session.exec(
        select(StaffUser, Organisation)
        .join(Organisation, col(Organisation.id) == StaffUser.organisation_id)
        .where(StaffUser.active, _person_filter(StaffUser, phone, email))
        .order_by(col(Organisation.name))
    ).all()
    return [
        Membership(
            organisation_id=organisation.id or 0,
            organisation_name=organisation.name,
            organisation_kind=OrgKind(organisation.kind),
            role=Role(staff.role),
            staff_id=staff.id,
            language=staff.language,
        )
        for staff, organisation in rows
    ]


def _payer_memberships(
    session: Session, *, phone: str | None, email: str | None
) -> list[Membership]:
    rows = session.exec(
        select(Customer, Organisation)
        .join(Organisation, col(Organisation.id) == Customer.organisation_id)
        .where(_person_filter(Customer, phone, email))
        .order_by(col(Organisation.name))
    ).all()
    memberships = []
    for customer, organisation in rows:
        # Customers of a school are its parents; a merchant's customers have no children here.
        is_parent = organisation.kind == OrgKind.SCHOOL
        memberships.append(
            Membership(
                organisation_id=organisation.id or 0,
                organisation_name=organisation.name,
                organisation_kind=OrgKind(organisation.kind),
                role=Role.PARENT if is_parent else Role.CUSTOMER,
                customer_id=customer.id,
                language=customer.language,
            )
        )
    return memberships


def _hash_code(identity_id: int, code: str) -> str:
    # Keyed by the identity so that equal codes of two chats never share a hash.
    return hashlib.sha256(f"{identity_id}:{code}".encode()).hexdigest()


def issue_link_code(session: Session, identity: ChatIdentity, email: str) -> bool:
    """Queue an e-mailed one-time code if the address is registered, and return whether it was.

    The caller sends the same reply either way, so the reply reveals no registered address.
    """
    memberships = find_memberships(session, phone=None, email=email)
    if not memberships:
        return False
    for old in session.exec(
        select(LinkCode).where(
            LinkCode.chat_identity_id == identity.id, col(LinkCode.used_at).is_(None)
        )
    ):
        old.used_at = utcnow()
    code = "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_DIGITS))
    session.add(
        LinkCode(
            chat_identity_id=identity.id or 0,
            email=email,
            code_hash=_hash_code(identity.id or 0, code),
            expires_at=utcnow() + LINK_CODE_TTL,
        )
    )
    first = memberships[0]
    organisation = session.get(Organisation, first.organisation_id)
    assert organisation is not None
    staff = session.get(StaffUser, first.staff_id) if first.staff_id else None
    customer = session.get(Customer, first.customer_id) if first.customer_id else None
    # NOTE: the code sits in clear in the outbox row until the sender e-mails it; the
    # LinkCode row itself keeps only its hash.
    queue_notice(
        session,
        organisation,
        kind=NoticeKind.LINK_CODE,
        staff=staff,
        customer=customer,
        channels=["email"],
        payload={"code": code, "minutes": int(LINK_CODE_TTL.total_seconds() // 60)},
    )
    return True


def check_link_code(session: Session, identity: ChatIdentity, code: str) -> str | None:
    """Return the linked e-mail when the code is right; count a failed attempt otherwise."""
    link = session.exec(
        select(LinkCode)
        .where(LinkCode.chat_identity_id == identity.id, col(LinkCode.used_at).is_(None))
        .order_by(col(LinkCode.id).desc())
    ).first()
    if link is None or link.expires_at < utcnow() or link.attempts >= LINK_CODE_MAX_ATTEMPTS:
        return None
    expected = _hash_code(identity.id or 0, code.strip())
    if not hmac.compare_digest(link.code_hash, expected):
        link.attempts += 1
        return None
    link.used_at = utcnow()
    return link.email
