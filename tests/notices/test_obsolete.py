"""Held notices are checked for still being true when planned, and cancelled otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import select

from billing.digest import queue_daily_digests
from billing.notices import queue_notice
from bot.channels.base import DeliveryError
from bot.core.identity import LinkCodeRequest, issue_link_code
from jobs.channels import ChannelRegistry
from jobs.scheduler import run_job
from jobs.sender import Sender
from models import (
    ChatIdentity,
    Customer,
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    Organisation,
    StaffUser,
)
from models.db import session_scope
from models.types import utcnow
from tests.notices.helpers import ScriptedChannel, issue_bill, jakarta, make_school, mark_paid

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
HOUR = dt.timedelta(hours=1, seconds=1)


def _notices(kind: NoticeKind) -> list[Notice]:
    with session_scope() as session:
        query = select(Notice).where(Notice.kind == kind).order_by(Notice.id)
        return list(session.exec(query).all())


def _set_status(invoice_id: int, status: InvoiceStatus) -> None:
    with session_scope(write=True) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.status = status


async def _hold_all(now: dt.datetime) -> None:
    """Plan every due notice while every channel is off, so each one is held."""
    result = await Sender(ChannelRegistry([])).send_due(now=now)
    assert result["held"] == result["handled"], result


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (InvoiceStatus.PAID, "the bill was paid before its notice could be sent"),
        (InvoiceStatus.VOID, "the bill was voided before its notice could be sent"),
        (
            InvoiceStatus.EXPIRED,
            "the bill's Virtual Account expired before its notice could be sent",
        ),
    ],
)
async def test_held_bill_notice_of_closed_bill_cancelled(
    database: str, status: InvoiceStatus, reason: str
) -> None:
    school = make_school()
    invoice_id = issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    now = utcnow()
    await _hold_all(now)
    _set_status(invoice_id, status)

    sms = ScriptedChannel("sms")
    result = await Sender(ChannelRegistry([sms])).send_due(now=now + HOUR)
    assert result["cancelled"] == 1
    assert sms.delivered == []
    notice = _notices(NoticeKind.INVOICE_ISSUED)[0]
    assert notice.status == NoticeStatus.CANCELLED
    assert notice.last_error == reason


async def test_held_bill_notice_of_overdue_bill_sent(database: str) -> None:
    school = make_school()
    invoice_id = issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    now = utcnow()
    await _hold_all(now)
    _set_status(invoice_id, InvoiceStatus.OVERDUE)

    sms = ScriptedChannel("sms")
    result = await Sender(ChannelRegistry([sms])).send_due(now=now + HOUR)
    assert result["sent"] == 1
    assert "B-1" in sms.delivered[0][1].text


async def test_receipt_and_void_notice_sent_after_hold(database: str) -> None:
    school = make_school()
    paid_id = issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    void_id = issue_bill(school, parent=1, student=2, number="B-2", due=DUE)
    with session_scope(write=True) as session:
        payment = mark_paid(session, paid_id, paid_at=utcnow(), request_id="req-1")
        organisation = session.get(Organisation, school.organisation_id)
        assert organisation is not None
        customer = session.get(Customer, school.parent_ids[1])
        notices = (
            (paid_id, NoticeKind.RECEIPT, {"payment_id": payment.id}),
            (void_id, NoticeKind.INVOICE_VOIDED, {}),
        )
        for invoice_id, kind, payload in notices:
            queue_notice(
                session,
                organisation,
                kind=kind,
                customer=customer,
                invoice=session.get(Invoice, invoice_id),
                payload=payload,
            )
    _set_status(void_id, InvoiceStatus.VOID)
    now = utcnow()
    result = await Sender(ChannelRegistry([])).send_due(now=now)
    # The two bill notices are cancelled at once; the receipt and void notice wait.
    assert result["cancelled"] == 2
    assert result["held"] == 2

    sms = ScriptedChannel("sms")
    result = await Sender(ChannelRegistry([sms])).send_due(now=now + HOUR)
    assert result["sent"] == 2
    assert _notices(NoticeKind.RECEIPT)[0].status == NoticeStatus.SENT
    assert _notices(NoticeKind.INVOICE_VOIDED)[0].status == NoticeStatus.SENT


def _request_link_code(email: str = "admin@example.com") -> None:
    with session_scope(write=True) as session:
        identity = ChatIdentity(channel="telegram", external_id="7001")
        session.add(identity)
        session.flush()
        outcome = issue_link_code(session, identity, email, max_requests=3)
    assert outcome == LinkCodeRequest.QUEUED


def _link_code_notice() -> Notice:
    notices = _notices(NoticeKind.LINK_CODE)
    assert len(notices) == 1
    return notices[0]


async def test_link_code_hold_ends_with_code(database: str) -> None:
    make_school()
    _request_link_code()
    queued = _link_code_notice()
    assert queued.payload["minutes"] == 15
    expires_at = queued.created_at + dt.timedelta(minutes=15)

    await _hold_all(queued.created_at)
    held = _link_code_notice()
    assert held.status == NoticeStatus.PENDING
    # The hold ends a minute before the code does, not an hour later.
    assert held.next_attempt_at == expires_at - dt.timedelta(minutes=1)
    assert held.payload["code"] == queued.payload["code"]

    email = ScriptedChannel("email")
    result = await Sender(ChannelRegistry([email])).send_due(now=held.next_attempt_at)
    assert result["cancelled"] == 1
    assert email.delivered == []
    cancelled = _link_code_notice()
    assert cancelled.status == NoticeStatus.CANCELLED
    assert cancelled.last_error == "the link code expired before it could be sent"
    assert "code" not in cancelled.payload
    assert cancelled.payload["minutes"] == 15


async def test_link_code_not_sent_hours_later(database: str) -> None:
    make_school()
    _request_link_code()
    queued = _link_code_notice()
    email = ScriptedChannel("email")
    later = queued.created_at + dt.timedelta(hours=19, minutes=30)
    result = await Sender(ChannelRegistry([email])).send_due(now=later)
    assert result["cancelled"] == 1
    assert email.delivered == []
    assert "code" not in _link_code_notice().payload


async def test_link_code_sent_in_time_then_dropped(database: str) -> None:
    make_school()
    _request_link_code()
    queued = _link_code_notice()
    email = ScriptedChannel("email")
    soon = queued.created_at + dt.timedelta(minutes=13)
    result = await Sender(ChannelRegistry([email])).send_due(now=soon)
    assert result["sent"] == 1
    assert queued.payload["code"] in email.delivered[0][1].text
    assert "code" not in _link_code_notice().payload


async def test_failed_link_code_drops_code(database: str) -> None:
    make_school()
    _request_link_code()
    email = ScriptedChannel("email", [DeliveryError("mailbox unknown", permanent=True)])
    result = await Sender(ChannelRegistry([email])).send_due()
    assert result["failed"] == 1
    notice = _link_code_notice()
    assert notice.status == NoticeStatus.FAILED
    assert "code" not in notice.payload


async def test_unreachable_link_code_drops_code(database: str, settings_env) -> None:  # type: ignore[no-untyped-def]
    settings_env(notice_hold_days="0")
    make_school()
    _request_link_code()
    result = await Sender(ChannelRegistry([])).send_due()
    assert result["no_channel"] == 1
    notice = _link_code_notice()
    assert notice.status == NoticeStatus.FAILED
    assert "code" not in notice.payload


def _queue_digest(school_id: int, now: dt.datetime) -> None:
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, school_id)
        assert organisation is not None
        assert queue_daily_digests(session, organisation, now=now) == 1


async def test_digest_older_than_a_day_cancelled(database: str) -> None:
    school = make_school()
    _queue_digest(school.organisation_id, jakarta(2031, 3, 10, 17, 30))
    await _hold_all(jakarta(2031, 3, 10, 17, 30))
    sms = ScriptedChannel("sms")
    # Still true the next morning, when quiet hours are over.
    result = await Sender(ChannelRegistry([sms])).send_due(now=jakarta(2031, 3, 11, 8))
    assert result["sent"] == 1

    _queue_digest(school.organisation_id, jakarta(2031, 3, 11, 17, 30))
    await _hold_all(jakarta(2031, 3, 11, 17, 30))
    result = await Sender(ChannelRegistry([sms])).send_due(now=jakarta(2031, 3, 12, 17, 31))
    assert result["cancelled"] == 1
    assert len(sms.delivered) == 1
    latest = _notices(NoticeKind.DIGEST)[-1]
    assert latest.last_error == "the daily summary is more than a day old"


def _queue_fee_preview(school_id: int, queued_at: dt.datetime) -> None:
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, school_id)
        assert organisation is not None
        staff = session.exec(
            select(StaffUser).where(StaffUser.organisation_id == school_id)
        ).first()
        queue_notice(
            session,
            organisation,
            kind=NoticeKind.FEE_PREVIEW,
            staff=staff,
            payload={
                "period": "2031-04",
                "run_date": "2031-04-01",
                "count": 3,
                "total": 1_050_000,
                "already_billed": 0,
                "without_payer": 0,
                "without_payer_students": [],
            },
            now=queued_at,
        )


@pytest.mark.parametrize(
    ("moment", "outcome"),
    [(jakarta(2031, 4, 1, 20), "sent"), (jakarta(2031, 4, 2, 8), "cancelled")],
)
async def test_fee_preview_ends_with_run_date(
    database: str, moment: dt.datetime, outcome: str
) -> None:
    school = make_school()
    _queue_fee_preview(school.organisation_id, jakarta(2031, 3, 25, 9))
    await _hold_all(jakarta(2031, 3, 25, 9))
    sms = ScriptedChannel("sms")
    result = await Sender(ChannelRegistry([sms])).send_due(now=moment)
    assert result[outcome] == 1
    if outcome == "cancelled":
        notice = _notices(NoticeKind.FEE_PREVIEW)[0]
        assert notice.last_error == "the fee run date has passed"
        assert sms.delivered == []


async def test_reminder_older_than_a_day_cancelled(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    sms = ScriptedChannel("sms")
    assert (await Sender(ChannelRegistry([sms])).send_due())["sent"] == 1
    step_day = DUE - dt.timedelta(days=3)
    queued_at = jakarta(step_day.year, step_day.month, step_day.day, 9)
    assert await run_job("reminders", now=queued_at) == {"queued": 1}
    await _hold_all(queued_at)

    later = queued_at + dt.timedelta(days=1, minutes=1)
    result = await Sender(ChannelRegistry([sms])).send_due(now=later)
    assert result["cancelled"] == 1
    assert len(sms.delivered) == 1
    reminder = _notices(NoticeKind.REMINDER)[0]
    assert reminder.status == NoticeStatus.CANCELLED
    # Its text reads "due in 3 days", which is no longer true.
    assert reminder.last_error == (
        "the reminder is more than a day old, so its due-date wording is out of date"
    )
