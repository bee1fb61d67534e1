"""Helpers for the notice tests: a school with payers, fake providers and a clock."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import httpx
from sqlmodel import Session, select

from billing.invoices import InvoiceDraft, LineDraft, issue_invoices
from billing.orgs import create_organisation
from bot.channels.base import Address, Delivery, DeliveryError
from bot.channels.sms import JsonGatewayProvider, SmsChannel
from bot.replies import OutboundMessage
from models import (
    ChatIdentity,
    Customer,
    Invoice,
    InvoiceStatus,
    NoticeAttempt,
    Organisation,
    Payment,
    Student,
    StudentGuardian,
    VirtualAccount,
)
from models.db import session_scope

JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """An aware UTC moment given as Asia/Jakarta wall time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=JAKARTA).astimezone(dt.UTC)


@dataclass
class FakeClock:
    """A monotonic clock whose sleep advances time instantly, for the rate limiters."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class ScriptedChannel:
    """A chat provider stand-in that returns the next scripted result for each delivery."""

    def __init__(self, name: str, script: list[DeliveryError | None] | None = None):
        self.name = name
        self.script = list(script or [])
        self.delivered: list[tuple[Address, OutboundMessage]] = []
        self.calls = 0

    async def deliver(self, address: Address, message: OutboundMessage) -> Delivery:
        self.calls += 1
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        self.delivered.append((address, message))
        return Delivery(provider_message_id=f"{self.name}-{self.calls}")


class FakeSmsGateway:
    """An SMS gateway behind httpx.MockTransport that drops requests with a seen key."""

    def __init__(self, responses: list[tuple[int, dict[str, str]]] | None = None):
        self.responses = list(responses or [])
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.responses:
            status, headers = self.responses.pop(0)
            if status >= 300:
                return httpx.Response(status, headers=headers, json={"error": "scripted"})
        key = request.headers.get("idempotency-key") or f"anon-{len(self.requests)}"
        if key not in self.accepted:
            self.accepted[key] = body
        return httpx.Response(200, json={"id": f"sms-{key}"})

    def channel(self) -> SmsChannel:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handle))
        provider = JsonGatewayProvider("http://127.0.0.1:9/sms", "test-token", "TAGIH")
        return SmsChannel(provider, client)


@dataclass
class School:
    organisation_id: int
    parent_ids: list[int]
    student_ids: list[int]


def make_school(*, preferences: dict | None = None) -> School:
    """A school with two parents: Ani has two children, Budi one."""
    with session_scope(write=True) as session:
        organisation = create_organisation(
            session,
            slug="sd-harapan",
            kind="school",
            name="SD Harapan",
            company_code="8808",
            admin_phone="081200000001",
            admin_email="admin@example.com",
        )
        organisation.preferences = preferences or {}
        parents = [
            Customer(
                organisation_id=organisation.id,
                name="Ani",
                phone="+6281200000011",
                email="ani@example.com",
            ),
            Customer(organisation_id=organisation.id, name="Budi", phone="+6281200000022"),
        ]
        session.add_all(parents)
        session.flush()
        students = [
            Student(organisation_id=organisation.id, nis="1001", name="Citra", class_name="3A"),
            Student(organisation_id=organisation.id, nis="1002", name="Dodi", class_name="5B"),
            Student(organisation_id=organisation.id, nis="1003", name="Eka", class_name="3A"),
        ]
        session.add_all(students)
        session.flush()
        for student, parent in zip(students, (parents[0], parents[0], parents[1]), strict=True):
            session.add(StudentGuardian(student_id=student.id, customer_id=parent.id))
        return School(organisation.id, [p.id for p in parents], [s.id for s in students])


def issue_bill(
    school: School,
    *,
    parent: int,
    student: int,
    number: str,
    due: dt.date,
    amount: int = 350_000,
) -> int:
    """Issue one SPP bill and return its invoice id."""
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, school.organisation_id)
        assert organisation is not None
        customer = session.get(Customer, school.parent_ids[parent])
        assert customer is not None
        draft = InvoiceDraft(
            number=number,
            customer_name=customer.name,
            due_date=due,
            lines=[LineDraft("SPP", 1, amount, amount)],
            customer_id=customer.id,
            student_id=school.student_ids[student],
            description="SPP",
        )
        issued = issue_invoices(session, organisation, [draft])
        invoice_id = issued[0].invoice.id
        assert invoice_id is not None
        return invoice_id


def mark_paid(
    session: Session, invoice_id: int, *, paid_at: dt.datetime, request_id: str
) -> Payment:
    """Record a bank payment of a whole invoice and mark the invoice paid."""
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    account = session.exec(
        select(VirtualAccount).where(VirtualAccount.invoice_id == invoice_id)
    ).one()
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = paid_at
    payment = Payment(
        organisation_id=invoice.organisation_id,
        invoice_id=invoice_id,
        virtual_account_id=account.id,
        partner_id="bank-test",
        payment_request_id=request_id,
        amount=invoice.total,
        paid_at=paid_at,
    )
    session.add(payment)
    session.flush()
    return payment


def notice_attempts() -> list[tuple[str, str]]:
    """Return the (channel, status) of every delivery attempt, oldest first."""
    with session_scope() as session:
        rows = session.exec(
            select(NoticeAttempt.channel, NoticeAttempt.status).order_by(NoticeAttempt.id)
        ).all()
    return [(channel, status) for channel, status in rows]


def link_chat(phone: str, channel: str, external_id: str, last_inbound_at=None) -> None:
    with session_scope(write=True) as session:
        session.add(
            ChatIdentity(
                channel=channel,
                external_id=external_id,
                phone=phone,
                last_inbound_at=last_inbound_at,
            )
        )
