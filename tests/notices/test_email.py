"""E-mail through a local aiosmtpd server: parts, the receipt PDF and SMTP errors."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from sqlmodel import select

from billing.notices import queue_notice
from bot.channels.email import EmailChannel, SmtpConfig
from jobs.channels import ChannelRegistry
from jobs.sender import Sender
from models import (
    Customer,
    Invoice,
    Notice,
    NoticeKind,
    NoticeStatus,
    Organisation,
)
from models.db import session_scope
from models.types import utcnow
from tests.notices.helpers import FakeClock, issue_bill, make_school, mark_paid

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)


class Mailbox:
    """An aiosmtpd handler that keeps messages, or rejects recipients with a given reply."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.reject_with: str | None = None

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server, session: Session, envelope: Envelope, address: str, options
    ) -> str:  # type: ignore[no-untyped-def]
        if self.reject_with:
            return self.reject_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server, session: Session, envelope: Envelope
    ) -> str:  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted"


def _free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check that it started, so it
    # needs a real port number rather than 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def _sender(port: int) -> Sender:
    channel = EmailChannel(SmtpConfig(host="127.0.0.1", port=port, starttls=False, timeout=5))
    clock = FakeClock()
    return Sender(ChannelRegistry([channel]), clock=clock, sleep=clock.sleep)


def _email_only_payer(school) -> None:  # type: ignore[no-untyped-def]
    with session_scope(write=True) as session:
        customer = session.get(Customer, school.parent_ids[0])
        assert customer is not None
        customer.phone = None


async def test_bill_email_has_text_and_html(database: str, mailbox) -> None:  # type: ignore[no-untyped-def]
    handler, port = mailbox
    school = make_school()
    _email_only_payer(school)
    issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    result = await _sender(port).send_due()
    assert result["sent"] == 1
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["To"] == "ani@example.com"
    assert message["Subject"] == "SD Harapan: tagihan SPP-C"
    assert message["Message-ID"].startswith("<tagih-notice-")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert "8808 0000 0000 0001" in plain.get_content()
    assert "<p>" in html.get_content()
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
    assert notice.provider_message_id == message["Message-ID"]


async def test_receipt_email_attaches_pdf(database: str, mailbox) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("billing.receipts")
    handler, port = mailbox
    school = make_school()
    _email_only_payer(school)
    invoice_id = issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    # The bill notice goes out before the payment, which would make it obsolete.
    await _sender(port).send_due()
    paid_at = utcnow()
    with session_scope(write=True) as session:
        payment = mark_paid(session, invoice_id, paid_at=paid_at, request_id="req-1")
        organisation = session.get(Organisation, school.organisation_id)
        customer = session.get(Customer, school.parent_ids[0])
        invoice = session.get(Invoice, invoice_id)
        assert organisation is not None
        assert invoice is not None
        queue_notice(
            session,
            organisation,
            kind=NoticeKind.RECEIPT,
            customer=customer,
            invoice=invoice,
            payload={"payment_id": payment.id},
        )
    await _sender(port).send_due()
    subjects = sorted(message["Subject"] for message in handler.messages)
    assert subjects == ["SD Harapan: kwitansi tagihan SPP-C", "SD Harapan: tagihan SPP-C"]
    receipt = next(message for message in handler.messages if "kwitansi" in message["Subject"])
    attachments = list(receipt.iter_attachments())
    assert [part.get_content_type() for part in attachments] == ["application/pdf"]
    assert attachments[0].get_filename() == "kwitansi-SPP-C.pdf"
    assert attachments[0].get_content().startswith(b"%PDF")
    assert "Kwitansi terlampir." in receipt.get_body(preferencelist=("plain",)).get_content()


async def test_rejected_recipient_is_permanent(database: str, mailbox) -> None:  # type: ignore[no-untyped-def]
    handler, port = mailbox
    handler.reject_with = "550 5.1.1 No such user"
    school = make_school()
    _email_only_payer(school)
    issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    result = await _sender(port).send_due()
    assert result["failed"] == 1
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
    assert notice.status == NoticeStatus.FAILED
    assert notice.last_error == "recipient refused: [550]"


async def test_greylisted_recipient_is_retried(database: str, mailbox) -> None:  # type: ignore[no-untyped-def]
    handler, port = mailbox
    handler.reject_with = "451 4.7.1 Try again later"
    school = make_school()
    _email_only_payer(school)
    issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    sender = _sender(port)
    assert (await sender.send_due())["retry"] == 1
    handler.reject_with = None
    later = utcnow() + dt.timedelta(hours=1)
    assert (await sender.send_due(now=later))["sent"] == 1
    assert len(handler.messages) == 1


async def test_unreachable_server_is_retried(database: str) -> None:
    school = make_school()
    _email_only_payer(school)
    issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    # Port 9 (discard) is closed on 127.0.0.1, so the connection is refused.
    result = await _sender(9).send_due()
    assert result["retry"] == 1
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
    assert notice.last_error == "SMTP connection failed: ConnectionRefusedError"
