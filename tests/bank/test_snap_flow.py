"""The SNAP endpoints end to end through the simulator: token, inquiry, payment."""

from __future__ import annotations

from sqlmodel import select

from models import (
    ChatIdentity,
    Customer,
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    Organisation,
    Payment,
    StaffRole,
    StaffUser,
    VAStatus,
    VirtualAccount,
)
from models.db import session_scope
from tagih.banksim.client import BankSimulator
from tests.bank.conftest import COMPANY_CODE, make_bills


def _add_people(bill_phone: str) -> None:
    """Link chats for the payer and finance staff, and add staff who get no payment notice."""
    with session_scope(write=True) as session:
        organisation = session.exec(select(Organisation)).one()
        session.add_all(
            [
                StaffUser(
                    organisation_id=organisation.id,
                    name="Rina Finance",
                    email="rina@example.com",
                    role=StaffRole.FINANCE,
                    language="en",
                ),
                StaffUser(
                    organisation_id=organisation.id,
                    name="Old Finance",
                    phone="+6281298760000",
                    role=StaffRole.FINANCE,
                    active=False,
                ),
                StaffUser(
                    organisation_id=organisation.id,
                    name="Guru",
                    phone="+6281298761111",
                    role=StaffRole.TEACHER,
                ),
                ChatIdentity(channel="telegram", external_id="501", phone=bill_phone),
                ChatIdentity(channel="console", external_id="c-1", email="rina@example.com"),
                ChatIdentity(channel="telegram", external_id="502", email="rina@example.com"),
            ]
        )


def test_payment_notices_follow_linked_chats(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    with session_scope() as session:
        invoice = session.get(Invoice, bill.invoice_id)
        payer_phone = session.get(Customer, invoice.customer_id).phone
    _add_people(payer_phone)

    reply = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, request_id="req-chats")
    assert reply.response_code == "2002500", reply.body

    with session_scope() as session:
        payment = session.exec(select(Payment)).one()
        notices = session.exec(select(Notice).order_by(Notice.id)).all()
        staff_names = {staff.id: staff.name for staff in session.exec(select(StaffUser)).all()}
    receipts = [n for n in notices if n.kind == NoticeKind.RECEIPT]
    assert len(receipts) == 1
    assert receipts[0].channels == ["telegram", "whatsapp", "sms"]
    assert receipts[0].payload["payment_id"] == payment.id
    assert receipts[0].dedupe_key == f"receipt:{payment.id}"

    staff_notices = {
        staff_names[n.staff_id]: n for n in notices if n.kind == NoticeKind.STAFF_PAYMENT
    }
    assert set(staff_notices) == {"Sari", "Budi Finance", "Rina Finance"}
    rina = staff_notices["Rina Finance"]
    assert rina.channels == ["console", "telegram", "email"]
    assert rina.language == "en"
    assert rina.recipient_email == "rina@example.com"
    assert rina.status == NoticeStatus.PENDING
    assert staff_notices["Budi Finance"].channels == ["whatsapp", "sms"]
    assert all(n.payload == {"payment_id": payment.id} for n in staff_notices.values())


def test_inquiry_shows_bill(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    reply = bank.inquiry(bill.va_number, COMPANY_CODE)
    assert reply.response_code == "2002400"
    data = reply.body["virtualAccountData"]
    assert data["inquiryStatus"] == "00"
    assert data["totalAmount"] == {"value": "350000.00", "currency": "IDR"}
    assert data["virtualAccountName"] == "Pelanggan 1"
    assert data["inquiryReason"]["indonesia"]


def test_payment_marks_invoice_paid(bank: BankSimulator) -> None:
    bill = make_bills(1)[0]
    reply = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, request_id="req-1")
    assert reply.response_code == "2002500", reply.body
    assert reply.body["virtualAccountData"]["paymentFlagStatus"] == "00"
    with session_scope() as session:
        invoice = session.get(Invoice, bill.invoice_id)
        assert invoice.status == InvoiceStatus.PAID
        account = session.exec(select(VirtualAccount)).one()
        assert account.status == VAStatus.PAID
        payments = session.exec(select(Payment)).all()
        assert len(payments) == 1
        kinds = sorted(n.kind for n in session.exec(select(Notice)).all())
    assert NoticeKind.RECEIPT in kinds
    assert kinds.count(NoticeKind.STAFF_PAYMENT) == 2

    again = bank.pay(bill.va_number, COMPANY_CODE, bill.amount, request_id="req-2")
    assert again.response_code == "4042514"
