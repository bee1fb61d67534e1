"""The daily digest, the jobs command, run keys and the scheduler lock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlmodel import select

from billing.notices import render_notice
from jobs.scheduler import JOBS, SchedulerLock, build_scheduler, run_job, run_worker
from models import (
    JobRun,
    Notice,
    NoticeAttempt,
    NoticeKind,
    NoticeStatus,
    StaffRole,
    StaffUser,
)
from models.db import session_scope
from tagih.cli.jobs import jobs_group
from tests.notices.helpers import issue_bill, jakarta, make_school, mark_paid

DUE = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)


def _today_at(hour: int, minute: int = 0) -> dt.datetime:
    day = DUE - dt.timedelta(days=5)
    return jakarta(day.year, day.month, day.day, hour, minute)


def _add_finance(organisation_id: int) -> None:
    with session_scope(write=True) as session:
        session.add(
            StaffUser(
                organisation_id=organisation_id,
                name="Fina",
                phone="+6281200000099",
                email="fina@example.com",
                role=StaffRole.FINANCE,
                language="en",
            )
        )


def _digests() -> list[Notice]:
    with session_scope() as session:
        query = select(Notice).where(Notice.kind == NoticeKind.DIGEST).order_by(Notice.id)
        return list(session.exec(query).all())


async def test_digest_sums_the_day(database: str) -> None:
    school = make_school()
    _add_finance(school.organisation_id)
    first = issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    issue_bill(school, parent=0, student=1, number="SPP-D", due=DUE, amount=400_000)
    issue_bill(school, parent=1, student=2, number="SPP-E", due=DUE)
    with session_scope(write=True) as session:
        mark_paid(session, first, paid_at=_today_at(10), request_id=f"req-{first}")
    with session_scope(write=True) as session:
        notices = session.exec(select(Notice).order_by(Notice.id)).all()
        for notice in notices[:2]:
            notice.status = NoticeStatus.FAILED
        # Only the first one's last attempt was today.
        session.add(
            NoticeAttempt(
                notice_id=notices[0].id,
                channel="sms",
                status="failed",
                error="SMS gateway rejected the message: HTTP 400",
                created_at=_today_at(12),
            )
        )

    assert await run_job("digest", now=_today_at(16, 45)) == {"queued": 0}
    assert await run_job("digest", now=_today_at(17)) == {"queued": 2}
    assert await run_job("digest", now=_today_at(17, 15)) == {"queued": 0}

    digests = _digests()
    assert sorted(notice.recipient_name for notice in digests) == ["", "Fina"]
    figures = digests[0].payload
    assert figures["paid_count"] == 1
    assert figures["paid_total"] == 350_000
    assert figures["open_count"] == 2
    assert figures["open_total"] == 750_000
    assert figures["overdue_count"] == 0
    assert figures["failed_count"] == 1
    fina = next(notice for notice in digests if notice.recipient_name == "Fina")
    with session_scope() as session:
        message = render_notice(session, fina, "email")
    assert "Paid today: 1 bills, Rp350.000" in message.text
    assert "Outstanding: 2 bills, Rp750.000" in message.text
    assert "Failed deliveries: 1" in message.text
    assert message.subject.startswith("SD Harapan: daily summary for ")


def test_jobs_run_command(database: str) -> None:
    school = make_school()
    issue_bill(school, parent=0, student=0, number="SPP-C", due=DUE)
    runner = CliRunner()
    at = (DUE - dt.timedelta(days=3)).isoformat() + "T09:00"
    first = runner.invoke(jobs_group, ["run", "reminders", "--at", at])
    second = runner.invoke(jobs_group, ["run", "reminders", "--at", at])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["result"] == {"queued": 1}
    assert json.loads(second.output)["result"] == {"queued": 0}
    with session_scope() as session:
        runs = session.exec(select(JobRun.job)).all()
    assert runs == ["reminders", "reminders"]


def test_jobs_run_rejects_bad_time(database: str) -> None:
    result = CliRunner().invoke(jobs_group, ["run", "reminders", "--at", "tomorrow"])
    assert result.exit_code == 2
    assert "'tomorrow' is not a valid time" in result.output


def test_jobs_run_payment_status(database: str) -> None:
    result = CliRunner().invoke(jobs_group, ["run", "payment-status"])
    assert result.exit_code == 0, result.output
    assert "result" in json.loads(result.output)


def test_scheduler_lock_elects_one_worker(database: str) -> None:
    if not database.startswith("postgresql"):
        pytest.skip("the advisory lock exists on PostgreSQL only")
    first, second = SchedulerLock(), SchedulerLock()
    try:
        assert first.held() is True
        assert second.held() is False
        assert first.held() is True
        first.release()
        assert second.held() is True
    finally:
        first.release()
        second.release()


def test_scheduler_lock_on_sqlite_always_held(sqlite_database: str) -> None:
    assert SchedulerLock().held() is True


async def test_worker_starts_and_stops(sqlite_database: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_soon(stop.set)
    await run_worker(stop)
    assert stop.is_set()


def test_scheduler_registers_every_job() -> None:
    scheduler = build_scheduler(SchedulerLock())
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(JOBS)
