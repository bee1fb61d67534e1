"""Sender identity: memberships found by verified phone or e-mail, and e-mail link codes."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, func, select

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
LINK_CODE_WINDOW = dt.timedelta(hours=1)  # requests and wrong guesses are limited per window


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


class LinkCodeRequest(enum.Enum):
    """Outcome of a request for an e-mailed link code."""

    QUEUED = "queued"  # a code was queued for the registered address
    UNREGISTERED = "unregistered"  # no one has that address, so nothing was sent
    EMAIL_LIMITED = "email_limited"  # the address had its quota of codes this hour
    LIMITED = "limited"  # this chat had its quota of requests this hour


def _window_start() -> dt.datetime:
    return utcnow() - LINK_CODE_WINDOW


def _count_requests(session: Session, condition: Any) -> int:
    query = (
        select(func.count())
        .select_from(LinkCode)
        .where(condition, col(LinkCode.created_at) >= _window_start())
    )
    return int(session.exec(query).one())


def issue_link_code(
    session: Session, identity: ChatIdentity, email: str, *, max_requests: int
) -> LinkCodeRequest:
    """Queue an e-mailed one-time code if the address is registered and within its quota.

    Each chat may request `max_requests` codes an hour, whatever the address, and each
    address receives at most `max_requests` codes an hour, whichever chat sends the request. Every
    request is stored as a LinkCode row so that it counts, also one for an address no one
    registered (with an empty e-mail and already used). The caller must send the same reply
    for every outcome except LIMITED, which depends only on the chat's own requests, so no
    reply reveals whether an address is registered.

    Call it inside session_scope(write=True). The counts hold under concurrent requests
    because the chat's row, then the rows of the people with the address, are locked first.
    """
    _lock_identity(session, identity)
    if _count_requests(session, LinkCode.chat_identity_id == identity.id) >= max_requests:
        return LinkCodeRequest.LIMITED
    memberships = find_memberships(session, phone=None, email=email)
    if not memberships:
        _store_request(session, identity, email="", used=True)
        return LinkCodeRequest.UNREGISTERED
    _lock_people(session, email)
    if _count_requests(session, LinkCode.email == email) >= max_requests:
        _store_request(session, identity, email=email, used=True)
        return LinkCodeRequest.EMAIL_LIMITED
    for old in session.exec(
        select(LinkCode).where(
            LinkCode.chat_identity_id == identity.id, col(LinkCode.used_at).is_(None)
        )
    ):
        old.used_at = utcnow()
    code = _store_request(session, identity, email=email, used=False)
    first = memberships[0]
    organisation = session.get(Organisation, first.organisation_id)
    assert organisation is not None
    staff = session.get(StaffUser, first.staff_id) if first.staff_id else None
    customer = session.get(Customer, first.customer_id) if first.customer_id else None
    # NOTE: the code sits in clear in the outbox row until the notice is sent, cancelled or
    # fails, when the sender removes it. The LinkCode row itself keeps only its hash.
    queue_notice(
        session,
        organisation,
        kind=NoticeKind.LINK_CODE,
        staff=staff,
        customer=customer,
        channels=["email"],
        payload={"code": code, "minutes": int(LINK_CODE_TTL.total_seconds() // 60)},
    )
    return LinkCodeRequest.QUEUED


def _lock_identity(session: Session, identity: ChatIdentity) -> None:
    """Lock the chat's row, so that two requests from one chat count their codes in turn.

    SQLite ignores FOR UPDATE, and there the write lock of session_scope(write=True) does it.
    """
    session.exec(
        select(ChatIdentity.id).where(ChatIdentity.id == identity.id).with_for_update()
    ).one()


def _lock_people(session: Session, email: str) -> None:
    """Lock every staff and customer row with the address, so that chats asking for the
    same address count its codes in turn.

    Every request locks them in the same order, staff before customers and each by id, so
    two requests cannot deadlock.
    """
    for model in (StaffUser, Customer):
        query = (
            select(model.id).where(model.email == email).order_by(col(model.id)).with_for_update()
        )
        session.exec(query).all()


def _store_request(session: Session, identity: ChatIdentity, *, email: str, used: bool) -> str:
    """Add a LinkCode row for one request and return its code in clear."""
    code = "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_DIGITS))
    now = utcnow()
    session.add(
        LinkCode(
            chat_identity_id=identity.id or 0,
            email=email,
            code_hash=_hash_code(identity.id or 0, code),
            expires_at=now + LINK_CODE_TTL,
            used_at=now if used else None,
            created_at=now,
        )
    )
    return code


def link_failures_exhausted(
    session: Session, identity: ChatIdentity, *, max_failures: int
) -> bool:
    """Return whether the chat made `max_failures` wrong guesses this hour, across its codes."""
    query = select(func.coalesce(func.sum(LinkCode.attempts), 0)).where(
        LinkCode.chat_identity_id == identity.id,
        col(LinkCode.created_at) >= _window_start(),
    )
    return int(session.exec(query).one()) >= max_failures


def check_link_code(
    session: Session, identity: ChatIdentity, code: str, *, max_failures: int
) -> str | None:
    """Return the linked e-mail when the code is right; count a failed attempt otherwise.

    Every code fails once the chat used up `max_failures` wrong guesses this hour, so a new
    code does not bring new guesses.
    """
    link = session.exec(
        select(LinkCode)
        .where(LinkCode.chat_identity_id == identity.id, col(LinkCode.used_at).is_(None))
        .order_by(col(LinkCode.id).desc())
    ).first()
    if link is None or link.expires_at < utcnow() or link.attempts >= LINK_CODE_MAX_ATTEMPTS:
        return None
    if link_failures_exhausted(session, identity, max_failures=max_failures):
        return None
    expected = _hash_code(identity.id or 0, code.strip())
    if not hmac.compare_digest(link.code_hash, expected):
        link.attempts += 1
        return None
    link.used_at = utcnow()
    return link.email
