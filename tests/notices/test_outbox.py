"""The outbox: channel choice, rendering in both languages, sending and fallback."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from billing.notices import queue_notice, record_delivery_status, render_notice
from bot.channels.base import DeliveryError
from jobs.channels import ChannelRegistry
from jobs.sender import Sender
from models import Customer, Notice, NoticeAttempt, NoticeKind, NoticeStatus, Organisation
from models.db import session_scope
from tests.notices.helpers import (
    FakeSmsGateway,
    ScriptedChannel,
    issue_bill,
    link_chat,
    make_school,
)

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)


def _notice(kind: NoticeKind = NoticeKind.INVOICE_ISSUED) -> Notice:
    with session_scope() as session:
        notice = session.exec(select(Notice).where(Notice.kind == kind)).first()
        assert notice is not None
        return notice


def test_bill_issued_rendered_in_indonesian(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=0, student=0, number="SPP-001", due=DUE, amount=1_500_000)
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
        message = render_notice(session, notice, "telegram")
    assert "SPP untuk Citra" in message.text
    assert "Rp1.500.000" in message.text
    assert "8808 0000 0000 0001" in message.text
    assert "mobile banking" in message.text
    assert "Internet banking" in message.text
    assert "Transfer dari bank lain" in message.text
    assert message.subject == "SD Harapan: tagihan SPP-001"


def test_bill_issued_rendered_in_english_for_email(database: str) -> None:
    school = make_school()
    with session_scope(write=True) as session:
        customer = session.get(Customer, school.parent_ids[0])
        assert customer is not None
        customer.language = "en"
    issue_bill(school, parent=0, student=0, number="SPP-001", due=DUE)
    with session_scope() as session:
        notice = session.exec(select(Notice)).one()
        message = render_notice(session, notice, "email")
    assert "SPP for Citra" in message.text
    assert "Rp350.000" in message.text
    assert message.html is not None
    assert "<p>" in message.html
    assert "How to pay:" in message.html


def test_whatsapp_render_carries_template(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=1, student=2, number="SPP-009", due=DUE)
    with session_scope() as session:
        message = render_notice(session, _notice(), "whatsapp")
    assert message.whatsapp_template == "tagih_invoice_issued"
    assert message.whatsapp_template_params[0] == "Budi"
    assert message.whatsapp_template_params[2] == "SPP-009"
    assert message.whatsapp_template_params[5] == "8808 0000 0000 0001"


def test_default_channels_prefer_linked_chat(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    with session_scope() as session:
        notices = session.exec(select(Notice).order_by(Notice.id)).all()
        assert notices[0].channels == ["telegram", "whatsapp", "email", "sms"]
        assert notices[1].channels == ["whatsapp", "sms"]


def test_email_only_person_gets_email(database: str) -> None:
    school = make_school()
    with session_scope(write=True) as session:
        organisation = session.get(Organisation, school.organisation_id)
        customer = Customer(
            organisation_id=school.organisation_id, name="Fajar", email="fajar@example.com"
        )
        session.add(customer)
        session.flush()
        notice = queue_notice(
            session,
            organisation,
            kind=NoticeKind.NEWS,
            customer=customer,
            payload={"title": "Libur", "body": "Sekolah libur."},
        )
        assert notice.channels == ["email"]


def test_organisation_channel_order_per_kind(database: str) -> None:
    school = make_school(preferences={"notice_channels": {"invoice_issued": ["email", "sms"]}})
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    assert _notice().channels == ["email", "sms"]


async def test_sender_delivers_once(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    telegram = ScriptedChannel("telegram")
    sender = Sender(ChannelRegistry([telegram]))
    first = await sender.send_due()
    second = await sender.send_due()
    assert first["sent"] == 1
    assert second["handled"] == 0
    assert len(telegram.delivered) == 1
    address, message = telegram.delivered[0]
    assert address.value == "5001"
    assert "A-1" in message.text
    notice = _notice()
    assert notice.status == NoticeStatus.SENT
    assert notice.channel == "telegram"
    assert notice.provider_message_id == "telegram-1"


async def test_permanent_failure_falls_back(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    telegram = ScriptedChannel("telegram", [DeliveryError("bot blocked", permanent=True)])
    gateway = FakeSmsGateway()
    registry = ChannelRegistry([telegram, gateway.channel()])
    result = await Sender(registry).send_due()
    assert result["fallback"] == 1
    assert result["sent"] == 1
    notice = _notice()
    assert notice.status == NoticeStatus.SENT
    # WhatsApp and e-mail have no settings in this test, so they are skipped.
    assert notice.channel == "sms"
    with session_scope() as session:
        attempts = session.exec(
            select(NoticeAttempt.channel, NoticeAttempt.status).order_by(NoticeAttempt.id)
        ).all()
    assert attempts == [
        ("telegram", "failed"),
        ("whatsapp", "skipped"),
        ("email", "skipped"),
        ("sms", "sent"),
    ]
    assert len(gateway.accepted) == 1
    body = next(iter(gateway.accepted.values()))
    assert body["to"] == "+6281200000011"
    assert "A-1" in body["text"]


async def test_notice_held_while_channels_off(database: str, caplog) -> None:  # type: ignore[no-untyped-def]
    school = make_school()
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    now = dt.datetime.now(dt.UTC)
    result = await Sender(ChannelRegistry([])).send_due(now=now)
    assert result["held"] == 1
    notice = _notice()
    assert notice.status == NoticeStatus.PENDING
    assert notice.last_error == "waiting for a channel to be switched on: whatsapp, sms"
    assert abs(notice.next_attempt_at - (now + dt.timedelta(hours=1))) < dt.timedelta(seconds=1)
    assert "1 notices wait for a channel that is off" in caplog.text
    assert "by channel: sms 1, whatsapp 1." in caplog.text
    with session_scope() as session:
        assert session.exec(select(NoticeAttempt)).all() == []

    # Not due again within the hour; delivered once a channel is switched on.
    sms = ScriptedChannel("sms")
    assert (await Sender(ChannelRegistry([sms])).send_due(now=now))["handled"] == 0
    later = now + dt.timedelta(hours=1, seconds=1)
    result = await Sender(ChannelRegistry([sms])).send_due(now=later)
    assert result["handled"] == 1
    assert len(sms.delivered) == 1
    assert _notice().status == NoticeStatus.SENT


async def test_held_notice_fails_after_hold_days(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=1, student=2, number="B-1", due=DUE)
    after_hold = dt.datetime.now(dt.UTC) + dt.timedelta(days=7, minutes=1)
    result = await Sender(ChannelRegistry([])).send_due(now=after_hold)
    assert result["no_channel"] == 1
    notice = _notice()
    assert notice.status == NoticeStatus.FAILED
    assert notice.last_error == (
        "no channel could reach the recipient within 7 days (off: whatsapp, sms)"
    )


async def test_delivery_status_moves_forward_only(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    await Sender(ChannelRegistry([ScriptedChannel("telegram")])).send_due()
    with session_scope(write=True) as session:
        record_delivery_status(session, "telegram-1", "read")
        record_delivery_status(session, "telegram-1", "delivered")
    assert _notice().status == NoticeStatus.READ
    with session_scope(write=True) as session:
        assert record_delivery_status(session, "unknown-id", "delivered") is None


async def test_failed_status_moves_to_next_channel(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    gateway = FakeSmsGateway()
    sender = Sender(ChannelRegistry([ScriptedChannel("telegram"), gateway.channel()]))
    await sender.send_due()
    with session_scope(write=True) as session:
        record_delivery_status(session, "telegram-1", "failed", "undeliverable")
    assert _notice().status == NoticeStatus.PENDING
    result = await sender.send_due()
    assert result["sent"] == 1
    assert _notice().channel == "sms"
    assert len(gateway.accepted) == 1


async def test_info_logs_hold_no_personal_data(database: str, caplog) -> None:  # type: ignore[no-untyped-def]
    school = make_school()
    link_chat("+6281200000011", "telegram", "5001")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    telegram = ScriptedChannel("telegram", [DeliveryError("bot blocked", permanent=True)])
    gateway = FakeSmsGateway([(503, {})])
    sender = Sender(ChannelRegistry([telegram, gateway.channel()]))
    with caplog.at_level("INFO"):
        await sender.send_due()
        with session_scope(write=True) as session:
            record_delivery_status(session, "unknown", "delivered")
    messages = [record.getMessage() for record in caplog.records]
    assert any("failed" in message for message in messages)
    for message in messages:
        for personal in ("+62812", "6281200000011", "ani@example.com", "Ani", "Citra", "5001"):
            assert personal not in message, message


def test_demo_registry_prints_to_console(database: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from jobs.channels import build_registry
    from jobs.sender import send_due_notices_sync

    school = make_school()
    link_chat("+6281200000011", "console", "+6281200000011")
    issue_bill(school, parent=0, student=0, number="A-1", due=DUE)
    registry = build_registry(console=True)
    assert registry.names() == ["console"]
    result = send_due_notices_sync(registry=registry)
    assert result["sent"] == 1
    printed = capsys.readouterr().out
    assert "--- to +6281200000011 ---" in printed
    assert "SD Harapan: tagihan A-1" in printed
