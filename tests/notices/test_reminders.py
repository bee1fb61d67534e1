"""Reminders over a simulated month: steps, siblings, catch-up, quiet hours and opt-out."""

from __future__ import annotations

import datetime as dt

from sqlmodel import select

from billing.reminders import set_reminders_paused
from jobs.channels import ChannelRegistry
from jobs.scheduler import run_job
from jobs.sender import Sender
from models import (
    Invoice,
    InvoiceStatus,
    Notice,
    NoticeKind,
    NoticeStatus,
    ReminderSent,
    VAStatus,
    VirtualAccount,
)
from models.db import session_scope
from tests.notices.helpers import (
    JAKARTA,
    FakeClock,
    FakeSmsGateway,
    School,
    ScriptedChannel,
    issue_bill,
    jakarta,
    link_chat,
    make_school,
)

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
ANI_CHAT = "5001"  # Ani's linked Telegram chat
BUDI = "+6281200000022"  # Budi has no linked chat, so he gets SMS


def _at(offset_days: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment `offset_days` from the due date at a Jakarta wall-clock hour."""
    day = DUE + dt.timedelta(days=offset_days)
    return jakarta(day.year, day.month, day.day, hour, minute)


def _family_bills(school: School) -> dict[str, int]:
    """Ani pays for Citra and Dodi (siblings), Budi for Eka; all due on DUE."""
    return {
        "citra": issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE),
        "dodi": issue_bill(school, parent=0, student=1, number="SPP-D", due=DUE),
        "eka": issue_bill(school, parent=1, student=2, number="SPP-E", due=DUE),
    }


def _mark_paid(invoice_id: int, when: dt.datetime) -> None:
    with session_scope(write=True) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = when
        account = session.exec(
            select(VirtualAccount).where(VirtualAccount.invoice_id == invoice_id)
        ).one()
        account.status = VAStatus.PAID


def _steps_sent(invoice_id: int) -> list[int]:
    with session_scope() as session:
        steps = session.exec(
            select(ReminderSent.step).where(ReminderSent.invoice_id == invoice_id)
        ).all()
    return sorted(steps)


def _reminder_notices() -> list[Notice]:
    with session_scope() as session:
        query = select(Notice).where(Notice.kind == NoticeKind.REMINDER).order_by(Notice.id)
        return list(session.exec(query).all())


class Month:
    """Drives the reminder job and the sender hour by hour, recording what arrives when."""

    def __init__(self) -> None:
        self.telegram = ScriptedChannel("telegram")
        self.sms = FakeSmsGateway()
        clock = FakeClock()
        self.sender = Sender(
            ChannelRegistry([self.telegram, self.sms.channel()]),
            clock=clock,
            sleep=clock.sleep,
        )
        self.arrivals: list[tuple[dt.datetime, str, str, str]] = []  # time, channel, to, text

    async def tick(self, now: dt.datetime) -> None:
        await run_job("overdue", now=now)
        await run_job("reminders", now=now)
        seen_telegram = len(self.telegram.delivered)
        seen_sms = len(self.sms.accepted)
        await self.sender.send_due(now=now)
        for address, message in self.telegram.delivered[seen_telegram:]:
            self.arrivals.append((now, "telegram", address.value, message.text))
        for body in list(self.sms.accepted.values())[seen_sms:]:
            self.arrivals.append((now, "sms", body["to"], body["text"]))

    async def run(self, start: dt.datetime, end: dt.datetime) -> None:
        now = start
        while now <= end:
            await self.tick(now)
            now += dt.timedelta(hours=1)

    def reminders(self, to: str) -> list[tuple[dt.datetime, str]]:
        """Return the reminders one chat id or phone number received, with their times."""
        return [
            (moment, text)
            for moment, via, recipient, text in self.arrivals
            if recipient == to and ("pengingat" in text or "belum dibayar" in text)
        ]


async def test_month_of_reminders_for_siblings(database: str) -> None:
    school = make_school()
    link_chat("+6281200000011", "telegram", ANI_CHAT)
    bills = _family_bills(school)
    month = Month()

    await month.run(_at(-10, 0), _at(-1, 9))
    _mark_paid(bills["eka"], _at(-1, 10))
    await month.run(_at(-1, 10), _at(20, 0))

    ani = month.reminders(ANI_CHAT)
    assert [moment for moment, _ in ani] == [_at(-3, 9), _at(0, 9), _at(1, 9), _at(7, 9)]
    for _, text in ani:
        assert "SPP-C" in text
        assert "SPP-D" in text
        assert "SPP untuk Citra" in text
        assert "SPP untuk Dodi" in text
        assert "Rp700.000" in text
    assert "jatuh tempo 3 hari lagi" in ani[0][1]
    assert "jatuh tempo hari ini" in ani[1][1]
    assert "terlambat 1 hari" in ani[2][1]
    assert "terlambat 7 hari" in ani[3][1]

    budi = month.reminders(BUDI)
    assert [moment for moment, _ in budi] == [_at(-3, 9)]
    assert _steps_sent(bills["citra"]) == [-3, 0, 1, 7]
    assert _steps_sent(bills["dodi"]) == [-3, 0, 1, 7]
    assert _steps_sent(bills["eka"]) == [-3]
    assert all(moment.astimezone(JAKARTA).hour == 9 for moment, _ in ani + budi)


async def test_reminder_job_twice_sends_once(database: str) -> None:
    school = make_school()
    _family_bills(school)
    first = await run_job("reminders", now=_at(-3, 9))
    again = await run_job("reminders", now=_at(-3, 9, 5))
    later = await run_job("reminders", now=_at(-3, 10))
    assert first == {"queued": 2}
    assert again == {"skipped": f"already ran for reminders:{_at(-3, 9):%Y-%m-%dT%H:%M}Z"}
    assert later == {"queued": 0}
    assert len(_reminder_notices()) == 2


async def test_catch_up_sends_latest_useful_step(database: str) -> None:
    school = make_school()
    bills = _family_bills(school)
    month = Month()
    # The worker was down from four days before the due date until two days after it.
    await month.run(_at(2, 10), _at(8, 0))
    assert _steps_sent(bills["citra"]) == [1, 7]
    assert [moment for moment, _ in month.reminders(BUDI)] == [_at(2, 10), _at(7, 9)]


async def test_catch_up_skips_stale_step(database: str) -> None:
    school = make_school()
    bills = _family_bills(school)
    month = Month()
    await month.run(_at(5, 10), _at(8, 0))
    assert _steps_sent(bills["citra"]) == [7]
    assert [moment for moment, _ in month.reminders(BUDI)] == [_at(7, 9)]


async def test_quiet_hours_defer_sending(database: str) -> None:
    school = make_school(preferences={"reminder_hour": 20})
    _family_bills(school)
    month = Month()
    assert await run_job("reminders", now=_at(-3, 19)) == {"queued": 0}
    assert await run_job("reminders", now=_at(-3, 20)) == {"queued": 2}

    result = await month.sender.send_due(now=_at(-3, 21, 5))
    reminders = _reminder_notices()
    assert result["deferred"] == 2
    assert all(notice.status == NoticeStatus.PENDING for notice in reminders)
    assert all(notice.next_attempt_at == _at(-2, 7) for notice in reminders)

    assert (await month.sender.send_due(now=_at(-2, 6, 59)))["handled"] == 0
    assert (await month.sender.send_due(now=_at(-2, 7)))["sent"] == 2


async def test_reminder_hour_in_quiet_hours_never_sends(database: str) -> None:
    school = make_school(preferences={"reminder_hour": 22})
    _family_bills(school)
    for moment in (_at(-3, 22), _at(-3, 23), _at(-2, 6), _at(-2, 12)):
        assert await run_job("reminders", now=moment) == {"queued": 0}


async def test_opt_out_and_resume(database: str) -> None:
    school = make_school()
    bills = _family_bills(school)
    with session_scope(write=True) as session:
        assert set_reminders_paused(session, [school.parent_ids[1]], True) == 1
    month = Month()
    await month.run(_at(-4, 0), _at(-1, 0))
    assert _steps_sent(bills["eka"]) == []
    assert _steps_sent(bills["citra"]) == [-3]

    with session_scope(write=True) as session:
        assert set_reminders_paused(session, [school.parent_ids[1]], False) == 1
    await month.run(_at(-1, 1), _at(0, 12))
    # The step missed while paused is still recent, so it is caught up the next morning.
    assert _steps_sent(bills["eka"]) == [-3, 0]
    assert [moment for moment, _ in month.reminders(BUDI)] == [_at(-1, 9), _at(0, 9)]


async def test_paid_bill_dropped_before_sending(database: str) -> None:
    school = make_school()
    bills = _family_bills(school)
    assert await run_job("reminders", now=_at(0, 9)) == {"queued": 2}
    _mark_paid(bills["eka"], _at(0, 9, 10))
    month = Month()
    result = await month.sender.send_due(now=_at(0, 9, 20))
    # Budi's reminder and the unsent bill notice of the paid bill are both cancelled.
    assert result["cancelled"] == 2
    budi = [notice for notice in _reminder_notices() if notice.recipient_name == "Budi"]
    assert budi[0].status == NoticeStatus.CANCELLED
    assert budi[0].last_error == "every bill in this reminder is paid, voided or expired"


async def test_overdue_and_expired_never_reminded(database: str) -> None:
    school = make_school()
    bills = _family_bills(school)
    assert await run_job("overdue", now=_at(1, 0, 30)) == {"marked": 3}
    with session_scope() as session:
        invoice = session.get(Invoice, bills["citra"])
        assert invoice is not None
        assert invoice.status == InvoiceStatus.OVERDUE
        account = session.exec(
            select(VirtualAccount).where(VirtualAccount.invoice_id == bills["citra"])
        ).one()
        expires_at = account.expires_at
    assert expires_at is not None
    assert await run_job("va-expiry", now=expires_at + dt.timedelta(minutes=1)) == {"expired": 3}
    with session_scope() as session:
        invoice = session.get(Invoice, bills["citra"])
        assert invoice is not None
        assert invoice.status == InvoiceStatus.EXPIRED
    day = (expires_at + dt.timedelta(days=1)).astimezone(JAKARTA)
    moment = jakarta(day.year, day.month, day.day, 9)
    assert await run_job("reminders", now=moment) == {"queued": 0}


async def test_organisation_reminder_steps(database: str) -> None:
    school = make_school(preferences={"reminder_steps": [-1, 2], "reminder_hour": 8})
    bills = _family_bills(school)
    month = Month()
    await month.run(_at(-5, 0), _at(5, 0))
    assert _steps_sent(bills["eka"]) == [-1, 2]
    assert [moment for moment, _ in month.reminders(BUDI)] == [_at(-1, 8), _at(2, 8)]
